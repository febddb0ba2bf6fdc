"""Label feedback (confirmed fraud or legit, from the chargeback process) and the realised quality of the
decisions the service served, measured on the transactions that have since been labelled."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

# The ids the scoring API accepts (and so the only ids a label can match).
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# How far ahead of this host's clock a label's time may be (the sender's clock may run ahead a little).
LABEL_CLOCK_SKEW = timedelta(minutes=5)


def future_label_problem(labelled_at: datetime, now: datetime) -> str | None:
    """A label dated ahead of now: an outcome cannot be known before it happens, and the store would keep
    the record past its retention (it is purged once both times are old)."""
    try:
        in_utc = labelled_at.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 is before the first moment a datetime holds in UTC
        return f"{labelled_at.isoformat()} is out of range"
    if in_utc <= now + LABEL_CLOCK_SKEW:
        return None
    return f"{labelled_at.isoformat()} is in the future (now {now.isoformat(timespec='seconds')})"


def stale_label_problem(labelled_at: datetime, now: datetime, retention_days: float) -> str | None:
    """A label dated before the feedback retention began: its transaction was scored before the label (an
    outcome follows its transaction), so before the retention too, and no such id is kept. Without this the
    stores disagreed: SQLite kept the label, Redis dropped it from its time index at once (retraining never
    saw it)."""
    try:
        in_utc = labelled_at.astimezone(UTC)
    except OverflowError:  # as in future_label_problem
        return f"{labelled_at.isoformat()} is out of range"
    if in_utc >= now - timedelta(days=retention_days):
        return None
    return (
        f"{labelled_at.isoformat()} is older than the feedback retention ({retention_days:g} days, "
        "FRAUD_FEEDBACK_RETENTION_DAYS): a label follows its transaction's scoring, and no scored id is kept "
        "that long"
    )


class LabelContradictions:
    """Remembers the first label each id was given in one submission (a file, a call) to catch a later one
    that contradicts it: the store keeps the first for good and reports the other a mere `conflict`, so a
    correction further down a file was silently lost while the import succeeded."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[bool, int]] = {}

    def earlier(self, transaction_id: str, is_fraud: bool, position: int) -> int | None:
        """The position of an earlier, opposite label of the same id, or None."""
        first, at = self._first.setdefault(transaction_id, (is_fraud, position))
        return None if first == is_fraud else at


def contradiction_problem(transaction_id: str, is_fraud: bool, earlier: str) -> str:
    return (
        f"'{transaction_id}' is labelled {label_name(is_fraud)} here and {label_name(not is_fraud)} at "
        f"{earlier}: give each transaction one label (the first recorded is kept for good)"
    )


class LabelOutcome(StrEnum):
    NEW = "new"  # recorded
    DUPLICATE = "duplicate"  # the same label was already recorded: nothing changed
    CONFLICT = "conflict"  # a different label was already recorded: nothing changed
    UNKNOWN = "unknown"  # no scored transaction with that id (never scored, or past retention)

    @property
    def accepted(self) -> bool:
        """The store holds this label now (a duplicate is a harmless retry)."""
        return self in (LabelOutcome.NEW, LabelOutcome.DUPLICATE)


def label_name(is_fraud: bool) -> str:
    return "fraud" if is_fraud else "legit"


@dataclass(frozen=True, slots=True)
class ScoredTransaction:
    """What the service decided for one transaction id (the first scoring, if it was scored twice)."""

    transaction_id: str
    model_version: int
    probability: float
    decision: bool  # True = fraud
    scored_at: datetime


@dataclass(frozen=True, slots=True)
class LabelInput:
    """A label as submitted; `labelled_at` defaults to when it is recorded."""

    transaction_id: str
    is_fraud: bool
    labelled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LabelResult:
    transaction_id: str
    is_fraud: bool
    outcome: LabelOutcome


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """A recorded label joined with the scoring it judges: a training row for retraining, a realised
    outcome for quality."""

    transaction_id: str
    is_fraud: bool
    labelled_at: datetime
    scored: ScoredTransaction


@dataclass(frozen=True)
class TimeWindow:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def last_days(cls, days: float, end: datetime) -> TimeWindow:
        if not days > 0:
            raise ValueError(f"days must be positive, got {days!r}")
        return cls(end - timedelta(days=days), end)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeWindow:
        return cls(_utc(str(data["start"])), _utc(str(data["end"])))


@dataclass
class ConfusionCounts:
    """Served decisions against labels; mutable so a long stream of records is counted in one pass."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    # The label-free estimate of the same rows (domain/drift/estimate.py), shown beside the realised one.
    expected_true_positives: float = 0.0
    expected_frauds: float = 0.0

    def add(self, decision: bool, is_fraud: bool, chance: float = 0.0) -> None:
        """`chance`: the row's calibrated fraud probability (for the estimate)."""
        self.expected_frauds += chance
        if decision:
            self.expected_true_positives += chance
        if decision and is_fraud:
            self.true_positives += 1
        elif decision:
            self.false_positives += 1
        elif is_fraud:
            self.false_negatives += 1
        else:
            self.true_negatives += 1

    @property
    def labelled(self) -> int:
        return self.true_positives + self.false_positives + self.false_negatives + self.true_negatives


@dataclass(frozen=True)
class RealisedQuality:
    """Precision and recall of one model version's served decisions on its labelled transactions. None when
    undefined: precision without any alert among them, recall without any fraud."""

    model_version: int
    labelled: int
    precision: float | None
    recall: float | None
    window: TimeWindow
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    estimated_precision: float | None = None  # from the probabilities of the same rows, no labels used
    estimated_recall: float | None = None

    @classmethod
    def of(cls, model_version: int, counts: ConfusionCounts, window: TimeWindow) -> RealisedQuality:
        tp, fp, fn = counts.true_positives, counts.false_positives, counts.false_negatives
        expected_tp, alerts = counts.expected_true_positives, tp + fp
        return cls(
            model_version=model_version,
            labelled=counts.labelled,
            precision=tp / (tp + fp) if tp + fp else None,
            recall=tp / (tp + fn) if tp + fn else None,
            window=window,
            true_positives=tp,
            false_positives=fp,
            false_negatives=fn,
            true_negatives=counts.true_negatives,
            estimated_precision=expected_tp / alerts if alerts else None,
            estimated_recall=expected_tp / counts.expected_frauds if counts.expected_frauds > 0 else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "labelled": self.labelled,
            "precision": self.precision,
            "recall": self.recall,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
            "estimated_precision": self.estimated_precision,
            "estimated_recall": self.estimated_recall,
        }


def realised_quality(
    records: Iterable[LabelRecord],
    window: TimeWindow,
    calibrate: Callable[[int, float], float] = lambda version, probability: probability,
) -> list[RealisedQuality]:
    """One entry per model version with labelled transactions scored in `window`, by version. `calibrate`
    turns a version's probability into a fraud chance for the estimate (see domain/drift/estimate.py)."""
    counts: dict[int, ConfusionCounts] = {}
    for record in records:
        if window.contains(record.scored.scored_at):
            version = record.scored.model_version
            chance = calibrate(version, record.scored.probability)
            counts.setdefault(version, ConfusionCounts()).add(record.scored.decision, record.is_fraud, chance)
    return [RealisedQuality.of(version, counts[version], window) for version in sorted(counts)]


@dataclass(frozen=True)
class QualityReport:
    """What `quality/latest.json` holds: the window is over when transactions were scored (a cohort of
    served decisions), so a report measured later sees more of that cohort's labels."""

    measured_at: datetime
    window: TimeWindow
    models: tuple[RealisedQuality, ...] = field(default_factory=tuple)

    @property
    def labelled(self) -> int:
        return sum(model.labelled for model in self.models)

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured_at": self.measured_at.isoformat(),
            "window": self.window.to_dict(),
            "labelled": self.labelled,
            "models": [model.to_dict() for model in self.models],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityReport:
        """Raises KeyError, TypeError or ValueError on a document of another shape."""
        window = TimeWindow.from_dict(data["window"])
        models = tuple(
            RealisedQuality(
                model_version=int(entry["model_version"]),
                labelled=int(entry["labelled"]),
                precision=_optional_float(entry.get("precision")),
                recall=_optional_float(entry.get("recall")),
                window=window,
                true_positives=int(entry.get("true_positives", 0)),
                false_positives=int(entry.get("false_positives", 0)),
                false_negatives=int(entry.get("false_negatives", 0)),
                true_negatives=int(entry.get("true_negatives", 0)),
                estimated_precision=_optional_float(entry.get("estimated_precision")),
                estimated_recall=_optional_float(entry.get("estimated_recall")),
            )
            for entry in data["models"]
        )
        return cls(_utc(str(data["measured_at"])), window, models)


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number or null, got {value!r}")
    return float(value)


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
