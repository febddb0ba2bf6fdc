"""What a drift check found: per-column figures, the alert-rate test, the decision and the window."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Status = Literal["drift", "no_drift", "insufficient_data"]


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


@dataclass(frozen=True)
class OutlierDrift:
    """The outlier-pattern test (domain/drift/outliers.py)."""

    outlying_rows: int
    extreme_cells: int
    g_statistic: float
    p_value: float
    drifted: bool
    unusual_columns: tuple[str, ...]  # where the window's outliers deviate more than the reference's


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
    id: str = field(default="")

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.drifted)

    @property
    def drifted_tests(self) -> tuple[str, ...]:
        """Drifted columns, then "alert_rate" and "outlier_pattern" when those tests fired."""
        alert = ("alert_rate",) if self.alert_rate and self.alert_rate.drifted else ()
        outliers = ("outlier_pattern",) if self.outliers and self.outliers.drifted else ()
        return self.drifted_columns + alert + outliers

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["window"]["skipped_files"] = list(self.window.skipped_files)
        if self.outliers is not None:
            document["outliers"]["unusual_columns"] = list(self.outliers.unusual_columns)
        document["drifted_columns"] = list(self.drifted_columns)
        document["drifted_tests"] = list(self.drifted_tests)
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
        alert, outliers = document.get("alert_rate"), document.get("outliers")
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
            id=document.get("id", ""),
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
