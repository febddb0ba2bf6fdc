"""Validate a dataset against the expectation suite and keep the report beside the data."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fraud_detection.application.validation_report import render_html
from fraud_detection.domain.errors import ValidationFailedError
from fraud_detection.domain.ports.reports import Reports
from fraud_detection.domain.ports.validation import DataValidator
from fraud_detection.domain.reports import VALIDATION
from fraud_detection.domain.validation import ValidationReport

HTML_SUFFIX = ".html"


@dataclass(frozen=True)
class ValidationResult:
    report: ValidationReport
    json_uri: str
    html_uri: str
    html: str

    def raise_if_failed(self) -> None:
        if not self.report.success:
            raise ValidationFailedError(
                f"dataset {self.report.dataset_id[:12]} failed validation: {self.report.summary()} "
                f"(report: {self.html_uri})",
                report_uri=self.json_uri,
            )


class ValidateDataset:
    def __init__(self, validator: DataValidator, reports: Reports) -> None:
        self._validator = validator
        self._reports = reports

    def __call__(self, frame: pd.DataFrame, dataset_id: str) -> ValidationResult:
        """Run the suite and store the report (JSON + HTML page) as the dataset's validation report; never
        raises for a failed suite, so callers decide (the pipeline stops, `fraud validate` reports)."""
        report = self._validator.validate(frame, dataset_id)
        page = render_html(report)
        saved = self._reports.save(VALIDATION, dataset_id, report.to_dict(), {HTML_SUFFIX: page.encode()})
        return ValidationResult(report, saved.uri, saved.attachments[HTML_SUFFIX], page)
