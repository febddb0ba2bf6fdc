"""Where reports go: one port for validation, quality and drift reports (JSON documents, each with
optional attachments such as a chart or an HTML page), and the latest of a kind for dashboards. A report
saved with `as_latest=False` (a historical drift check) is kept and listed but never becomes the latest."""

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
        self,
        kind: ReportKind[Any],
        name: str,
        document: Document,
        attachments: Attachments = None,
        *,
        as_latest: bool = True,
    ) -> SavedReport:
        """Store `document` as report `name` of `kind`, attachments (by suffix: ".png") first and the
        kind's latest copy last, so the latest never names a report that was not kept. `as_latest=False`
        leaves the latest copy as it was (`SavedReport.latest_uri` is then None)."""

    @abstractmethod
    def latest(self, kind: ReportKind[T]) -> T | None:
        """The newest report of `kind` saved as latest, or None before the first."""

    @abstractmethod
    def recent(self, kind: ReportKind[T], limit: int) -> list[tuple[str, T]]:
        """Up to `limit` stored reports of `kind` as (name, report), the last names first (report names
        start with their time, so this is newest first), whether or not each became the latest."""
