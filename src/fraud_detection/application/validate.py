"""Validate a dataset against the expectation suite and keep the report beside the data."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from fraud_detection.application.validation_report import render_html
from fraud_detection.domain.errors import ValidationFailedError
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.ports.validation import DataValidator
from fraud_detection.domain.validation import ValidationReport


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
    def __init__(self, validator: DataValidator, store: ObjectStore) -> None:
        self._validator = validator
        self._store = store

    def __call__(self, frame: pd.DataFrame, dataset_id: str) -> ValidationResult:
        """Run the suite and store the report (JSON + HTML) under `reports/validation/<id>`; never raises
        for a failed suite, so callers decide (the pipeline stops, `fraud validate` reports)."""
        report = self._validator.validate(frame, dataset_id)
        base = f"reports/validation/{dataset_id}"
        self._store.write_bytes(f"{base}.json", json.dumps(report.to_dict(), indent=2).encode())
        page = render_html(report)
        self._store.write_bytes(f"{base}.html", page.encode())
        return ValidationResult(
            report, self._store.uri_for(f"{base}.json"), self._store.uri_for(f"{base}.html"), page
        )
