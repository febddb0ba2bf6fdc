"""Drift scenarios: named, documented changes the generator applies, to exercise drift detection.

A scenario is data, not code: a name, a description and `parameters` drawn from `PARAMETER_DOCS`. The
generator reads every parameter it knows, so a hand-made scenario may combine them (e.g. inflation plus a new
fraud pattern). Every registered scenario, with its defaults and the default generator arguments, still
passes the project's validation bands (`ValidationRules`): they model drift, not broken data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fraud_detection.domain.schema import V_COLUMNS

TOP_FRAUD_FEATURES: tuple[str, ...] = ("V14", "V17", "V12", "V10", "V16", "V3", "V7", "V11", "V4")
NEW_PATTERN_FEATURES: tuple[str, ...] = ("V13", "V15", "V22", "V23", "V24", "V25", "V26", "V27", "V28")
QUIET_FEATURES: tuple[str, ...] = ("V15", "V22", "V24")

PARAMETER_DOCS: dict[str, str] = {
    "fraud_rate": "share of frauds in the generated rows; replaces the `fraud_rate` argument",
    "amount_factor": "every Amount is multiplied by this (after the calibrated cap), then rounded to cents",
    "shift_features": "V columns whose values (all rows, both classes) are shifted",
    "shift_std": "size of that shift in standard deviations of each column on the full dataset",
    "pattern_from": "V columns on which frauds stop standing out: they take legit-like values there",
    "pattern_to": (
        "V columns (same count, paired in order) that carry the fraud signal instead: each gets the fraud's "
        "standardised deviation on its `pattern_from` partner, in its own legit scale; every other V column "
        "of a fraud is legit-like too, Amount keeps the fraud distribution"
    ),
}


def _v_columns(scenario: str, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        columns: tuple[str, ...] = (value,)
    elif isinstance(value, Iterable):
        columns = tuple(str(v) for v in value)
    else:
        columns = ()
    unknown = [c for c in columns if c not in V_COLUMNS]
    if unknown or not columns or len(set(columns)) != len(columns):
        raise ValueError(
            f"drift scenario {scenario!r}: parameter {key!r} must list distinct V columns (V1..V28), "
            f"got {value!r}"
        )
    return columns


def _number(scenario: str, key: str, value: object, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"drift scenario {scenario!r}: parameter {key!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < low or (high is not None and number > high):
        band = f"finite and >= {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        raise ValueError(f"drift scenario {scenario!r}: parameter {key!r} must be {band}, got {number:g}")
    return number


@dataclass(frozen=True)
class DriftScenario:
    """A named set of generator changes; `parameters` keys come from `PARAMETER_DOCS`."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.parameters) - set(PARAMETER_DOCS))
        if unknown:
            raise ValueError(
                f"drift scenario {self.name!r}: unknown parameters {unknown}; known: {sorted(PARAMETER_DOCS)}"
            )
        clean: dict[str, Any] = {}
        for key, value in self.parameters.items():
            if key == "fraud_rate":
                clean[key] = _number(self.name, key, value, 0.0, 1.0)
            elif key == "amount_factor":
                clean[key] = _number(self.name, key, value, 0.0)
            elif key == "shift_std":
                clean[key] = _number(self.name, key, value, float("-inf"))
            else:
                clean[key] = _v_columns(self.name, key, value)
        if ("pattern_from" in clean) != ("pattern_to" in clean):
            raise ValueError(f"drift scenario {self.name!r}: give both 'pattern_from' and 'pattern_to'")
        if "pattern_from" in clean:
            source, target = clean["pattern_from"], clean["pattern_to"]
            if len(source) != len(target) or set(source) & set(target):
                raise ValueError(
                    f"drift scenario {self.name!r}: 'pattern_from' and 'pattern_to' must be equally long and "
                    f"disjoint, got {list(source)} and {list(target)}"
                )
        if "shift_features" in clean:
            clean.setdefault("shift_std", 0.5)
        object.__setattr__(self, "parameters", MappingProxyType(clean))

    def __hash__(self) -> int:
        return hash((self.name, self.description, tuple(sorted(self.parameters.items()))))

    @property
    def fraud_rate(self) -> float | None:
        rate = self.parameters.get("fraud_rate")
        return None if rate is None else float(rate)

    @property
    def amount_factor(self) -> float:
        return float(self.parameters.get("amount_factor", 1.0))

    @property
    def shift(self) -> tuple[tuple[str, ...], float]:
        """Columns to shift and by how many reference standard deviations (none by default)."""
        return tuple(self.parameters.get("shift_features", ())), float(self.parameters.get("shift_std", 0.0))

    @property
    def pattern(self) -> tuple[tuple[str, str], ...]:
        """(from, to) pairs of the new fraud pattern; empty when frauds keep their calibrated pattern."""
        source = self.parameters.get("pattern_from", ())
        return tuple(zip(source, self.parameters.get("pattern_to", ()), strict=True))

    def with_overrides(self, **overrides: Any) -> DriftScenario:
        """The same scenario with some of its own parameters changed (others are refused, to catch typos)."""
        foreign = sorted(set(overrides) - set(self.parameters))
        if foreign:
            raise ValueError(
                f"drift scenario {self.name!r} has no parameter(s) {foreign}; "
                f"its parameters: {sorted(self.parameters) or 'none'}"
            )
        return DriftScenario(self.name, self.description, {**self.parameters, **overrides})


SCENARIOS: dict[str, DriftScenario] = {
    scenario.name: scenario
    for scenario in (
        DriftScenario("none", "No drift: the calibrated generator as is (reference data).", {}),
        DriftScenario(
            "covariate_shift",
            "Input drift without concept drift: `shift_features` (default V15, V22, V24, columns that barely "
            "separate fraud, and small enough that a 0.5 std shift keeps |mean| <= 0.5) move by `shift_std` "
            "standard deviations in every row. Detectors of feature drift (PSI, KS) should fire; a model's "
            "quality should barely change.",
            {"shift_features": QUIET_FEATURES, "shift_std": 0.5},
        ),
        DriftScenario(
            "amount_inflation",
            "Prices rise: every Amount is multiplied by `amount_factor` (default 1.5), so the Amount mean "
            "and quantiles scale by it; V columns and labels are unchanged.",
            {"amount_factor": 1.5},
        ),
        DriftScenario(
            "fraud_rate_change",
            "Prior shift: the share of frauds becomes `fraud_rate` (default 0.01, about 6x the usual "
            "0.172%); each class looks as before. Precision at a fixed threshold rises; label-drift checks "
            "should fire.",
            {"fraud_rate": 0.01},
        ),
        DriftScenario(
            "new_fraud_pattern",
            "Concept drift: frauds look legit on the usual top features (`pattern_from`, V14, V17, V12, "
            "V10, V16, V3, V7, V11, V4) and on every other V column, except `pattern_to` (V13, V15, "
            "V22..V28), which now carry their fraud deviations. A model trained on the normal generator "
            "misses most of them.",
            {"pattern_from": TOP_FRAUD_FEATURES, "pattern_to": NEW_PATTERN_FEATURES},
        ),
    )
}


def get_scenario(name: str, **overrides: Any) -> DriftScenario:
    """The registered scenario `name`, with any of its parameters overridden."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown drift scenario {name!r}; valid names: {', '.join(SCENARIOS)}")
    scenario = SCENARIOS[name]
    return scenario.with_overrides(**overrides) if overrides else scenario
