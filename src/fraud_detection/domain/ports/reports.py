"""Where reports go: one port for validation, quality and drift reports (JSON documents, each with
optional attachments such as a chart or an HTML page), and the latest of a kind for dashboards."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fraud_detection.domain.reports import ReportKind

T = TypeVar("T")
Document = Mapping[str, Any]  # JSON-ready
Attachments = Mapping[str, bytes] | None  # by suffix: {".png": ...}


@dataclass(frozen=True)
class SavedReport:
    """Where a saved report went: its document, the kind's latest copy (None for a kind without one, such
    as validation, kept per dataset), and each attachment by suffix."""

    uri: str
    latest_uri: str | None
    attachments: dict[str, str] = field(default_factory=dict)


class Reports(ABC):
    @abstractmethod
    def save(
        self, kind: ReportKind[Any], name: str, document: Document, attachments: Attachments = None
    ) -> SavedReport:
        """Store `document` as report `name` of `kind`, attachments (by suffix: ".png") first and the
        kind's latest copy last, so the latest never names a report that was not kept."""

    @abstractmethod
    def latest(self, kind: ReportKind[T]) -> T | None:
        """The newest report of `kind`, or None before the first."""
