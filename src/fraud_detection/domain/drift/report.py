"""What a drift check found: the two verdicts (model at risk, input drift), the evidence behind the first,
per-column figures, the performance estimate and the window."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from fraud_detection.domain.drift.estimate import PerformanceEstimate

# "model_at_risk" wins over "input_drift": the report carries both verdicts as booleans as well.
Status = Literal["model_at_risk", "input_drift", "no_drift", "insufficient_data"]


@dataclass(frozen=True)
class ColumnDrift:
    name: str  # an input column, or "score"
    psi: float
    ks_statistic: float
    p_value: float
    drifted: bool


@dataclass(frozen=True)
class AlertRateDrift:
    observed_alerts: int
    window_rows: int
    reference_alerts: int
    reference_rows: int
    p_value: float
    drifted: bool

    @property
    def observed_rate(self) -> float:
        return self.observed_alerts / self.window_rows if self.window_rows else float("nan")

    @property
    def reference_rate(self) -> float:
        return self.reference_alerts / self.reference_rows

    @property
    def relative_change(self) -> float:
        """How far the observed rate moved, as a share of the reference's (infinite from a zero rate)."""
        reference = self.reference_rate
        return abs(self.observed_rate - reference) / reference if reference else float("inf")


@dataclass(frozen=True)
class OutlierDrift:
    """The outlier-pattern test (domain/drift/outliers.py)."""

    outlying_rows: int
    extreme_cells: int
    g_statistic: float
    p_value: float
    drifted: bool
    unusual_columns: tuple[str, ...]  # where the window's outliers deviate more than the reference's
    shift: float = 0.0  # total variation distance between the window's and the reference's cell shares


@dataclass(frozen=True)
class Evidence:
    """One piece of model-at-risk evidence: what was observed against the reference, the effect size that
    decides with its floor, and the p-value where the evidence has one."""

    name: str  # score_distribution, alert_rate, outlier_pattern, estimated_/realised_ precision|recall
    observed: float | None
    reference: float | None
    effect: float | None
    floor: float
    p_value: float | None
    fired: bool
    detail: str


@dataclass(frozen=True)
class DriftWindow:
    """The captured rows checked: those scored by `model_version` between `start` and `end` (ISO, UTC)."""

    rows: int
    start: str | None
    end: str | None
    other_version_rows: int = 0  # rows in the window scored by other versions, left out
    skipped_files: tuple[str, ...] = ()  # captured files that could not be read


@dataclass(frozen=True)
class DriftReport:
    model_name: str
    model_version: int
    status: Status
    reason: str
    window: DriftWindow
    rule: str
    test_alpha: float
    checked_at: str
    columns: tuple[ColumnDrift, ...] = ()
    alert_rate: AlertRateDrift | None = None
    outliers: OutlierDrift | None = None
    evidence: tuple[Evidence, ...] = ()
    estimate: PerformanceEstimate | None = None
    id: str = field(default="")
    # A check of a window that ended before it ran: kept and listed, never the live verdict (drift/latest,
    # /metrics) and never published.
    historical: bool = False

    @property
    def at_risk(self) -> bool:
        """The verdict that publishes DriftDetected and starts a retrain."""
        return self.status == "model_at_risk"

    @property
    def input_drift(self) -> bool:
        """The diagnostic verdict: some input column moved (reported, never a retrain by itself)."""
        return bool(self.drifted_inputs)

    @property
    def drifted_inputs(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.drifted and column.name != "score")

    @property
    def fired_evidence(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.evidence if item.fired)

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["window"]["skipped_files"] = list(self.window.skipped_files)
        document["estimate"] = self.estimate.to_dict() if self.estimate else None
        if self.outliers is not None:
            document["outliers"]["unusual_columns"] = list(self.outliers.unusual_columns)
        document["model_at_risk"] = self.at_risk
        document["input_drift"] = self.input_drift
        document["drifted_inputs"] = list(self.drifted_inputs)
        document["fired_evidence"] = list(self.fired_evidence)
        if self.alert_rate is not None:
            document["alert_rate"] |= {
                "observed_rate": self.alert_rate.observed_rate,
                "reference_rate": self.alert_rate.reference_rate,
            }
        safe: dict[str, Any] = _json_safe(document)
        return safe

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> DriftReport:
        window = dict(document["window"])
        window["skipped_files"] = tuple(window.get("skipped_files", ()))
        alert, outliers, estimate = (
            document.get("alert_rate"),
            document.get("outliers"),
            document.get("estimate"),
        )
        return cls(
            model_name=document["model_name"],
            model_version=int(document["model_version"]),
            status=document["status"],
            reason=document["reason"],
            window=DriftWindow(**window),
            rule=document["rule"],
            test_alpha=_number(document["test_alpha"]),
            checked_at=document["checked_at"],
            columns=tuple(ColumnDrift(**_numbers(c)) for c in document.get("columns", ())),
            alert_rate=None if alert is None else AlertRateDrift(**_numbers(_fields(alert, AlertRateDrift))),
            outliers=None
            if outliers is None
            else OutlierDrift(**_numbers(outliers) | {"unusual_columns": tuple(outliers["unusual_columns"])}),
            evidence=tuple(Evidence(**_fields(item, Evidence)) for item in document.get("evidence", ())),
            estimate=None if estimate is None else PerformanceEstimate.from_dict(estimate),
            id=document.get("id", ""),
            historical=bool(document.get("historical", False)),
        )


def _fields(document: dict[str, Any], kind: type) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {key: value for key, value in document.items() if key in names}


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _numbers(document: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: it is stored as null and read back as NaN."""
    return {key: (float("nan") if value is None else value) for key, value in document.items()}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value
