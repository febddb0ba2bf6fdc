"""Realised precision and recall of the served decisions, per model version, over labelled transactions
scored in the last N days; the report is stored for `/metrics` (the API exports it) and for history."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fraud_detection.application.feedback.record import utc_now
from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.feedback import QualityReport, TimeWindow, realised_quality
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.domain.ports.storage import ObjectStore

QUALITY_LATEST_KEY = "quality/latest.json"
QUALITY_REPORTS_PREFIX = "quality/reports/"
MAX_DAYS = 36_500  # a window reaching before year 1 cannot be represented


@dataclass(frozen=True)
class StoredQualityReport:
    report: QualityReport
    latest_uri: str
    copy_uri: str


def report_key(measured_at: datetime) -> str:
    """A timestamped copy: microseconds keep two measurements in one second apart; keys sort by time."""
    return f"{QUALITY_REPORTS_PREFIX}{measured_at:%Y%m%dT%H%M%S.%f}Z.json"


class MeasureRealisedQuality:
    def __init__(
        self, store: FeedbackStore, objects: ObjectStore, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store, self._objects, self._clock = store, objects, clock

    def __call__(self, days: float) -> StoredQualityReport:
        """Measure over [now - days, now) of scoring time. Each write is atomic (ObjectStore); the copy is
        written first, so `latest.json` never names a report that was not kept."""
        if not 0 < days < MAX_DAYS:
            raise InvalidDataError("days", f"must be more than 0 and less than {MAX_DAYS}, got {days!r}")
        measured_at = self._clock()
        window = TimeWindow.last_days(days, measured_at)
        models = realised_quality(self._store.labelled_in(window), window)
        report = QualityReport(measured_at, window, tuple(models))
        document = json.dumps(report.to_dict() | {"days": days}, indent=2).encode()
        copy_key = report_key(measured_at)
        self._objects.write_bytes(copy_key, document)
        self._objects.write_bytes(QUALITY_LATEST_KEY, document)
        return StoredQualityReport(
            report, self._objects.uri_for(QUALITY_LATEST_KEY), self._objects.uri_for(copy_key)
        )
