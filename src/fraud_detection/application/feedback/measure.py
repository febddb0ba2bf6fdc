"""Realised precision and recall of the served decisions, per model version, over labelled transactions
scored in the last N days; the report is stored for `/metrics` (the API exports it) and for history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from fraud_detection.application.feedback.record import utc_now
from fraud_detection.domain.drift.estimate import calibrated
from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.feedback import QualityReport, TimeWindow, realised_quality
from fraud_detection.domain.ports.drift import ReferenceProfiles
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.domain.ports.reports import Reports
from fraud_detection.domain.reports import QUALITY
from fraud_detection.domain.windows import window_days_problem


@dataclass(frozen=True)
class StoredQualityReport:
    report: QualityReport
    latest_uri: str
    copy_uri: str
    days: float

    @property
    def document(self) -> dict[str, Any]:
        return quality_document(self.report, self.days)


def quality_document(report: QualityReport, days: float) -> dict[str, Any]:
    """What is stored (and what `--json` prints): the report and the window's length in days."""
    return report.to_dict() | {"days": days}


def report_name(measured_at: datetime) -> str:
    """A timestamped name: microseconds keep two measurements in one second apart; names sort by time."""
    return f"{measured_at:%Y%m%dT%H%M%S.%f}Z"


class VersionCalibration:
    """A version's probability -> fraud chance, undoing its training's positive weight (read once per
    version from its reference profile; a version without one is taken as calibrated)."""

    def __init__(self, profiles: ReferenceProfiles, model_name: str) -> None:
        self._profiles, self._model_name = profiles, model_name
        self._weights: dict[int, float] = {}

    def __call__(self, version: int, probability: float) -> float:
        if version not in self._weights:
            profile = self._profiles.load(self._model_name, version)
            self._weights[version] = profile.positive_weight if profile else 1.0
        weight = self._weights[version]
        return float(calibrated(np.asarray(probability), weight))


class MeasureRealisedQuality:
    def __init__(
        self,
        store: FeedbackStore,
        reports: Reports,
        clock: Callable[[], datetime] = utc_now,
        calibrate: Callable[[int, float], float] = lambda version, probability: probability,
    ) -> None:
        self._store, self._reports, self._clock = store, reports, clock
        self._calibrate = calibrate

    def __call__(self, days: float) -> StoredQualityReport:
        """Measure over [now - days, now) of scoring time and store the report (a timestamped copy, then
        the latest, which /metrics exports)."""
        if (problem := window_days_problem(days)) is not None:
            raise InvalidDataError("days", problem)
        measured_at = self._clock()
        window = TimeWindow.last_days(days, measured_at)
        models = realised_quality(self._store.labelled_in(window), window, self._calibrate)
        report = QualityReport(measured_at, window, tuple(models))
        saved = self._reports.save(QUALITY, report_name(measured_at), quality_document(report, days))
        return StoredQualityReport(report, saved.latest_uri or saved.uri, saved.uri, days)
