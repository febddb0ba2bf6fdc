"""Validation rules (the suite's thresholds) and the report a validator returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Standard deviations of V1..V28 over the full 284,807-row dataset (public `describe()` figures). The suite
# checks each column's std against a band around these, which catches unscaled or swapped PCA columns, and its
# mean against a multiple of them, which catches an offset (columns not centred as the dataset's PCA was).
REFERENCE_V_STD: dict[str, float] = {
    "V1": 1.959, "V2": 1.651, "V3": 1.516, "V4": 1.416, "V5": 1.380, "V6": 1.332, "V7": 1.237,
    "V8": 1.194, "V9": 1.099, "V10": 1.089, "V11": 1.021, "V12": 0.999, "V13": 0.995, "V14": 0.959,
    "V15": 0.915, "V16": 0.876, "V17": 0.849, "V18": 0.838, "V19": 0.814, "V20": 0.771, "V21": 0.735,
    "V22": 0.726, "V23": 0.624, "V24": 0.606, "V25": 0.521, "V26": 0.482, "V27": 0.404, "V28": 0.330,
}  # fmt: skip


@dataclass(frozen=True)
class ValidationRules:
    """Bands wide enough for the full dataset, its fraud-enriched samples and the generator's scenarios,
    narrow enough to catch a wrong file, unit or scaling."""

    min_rows: int = 1_000
    max_rows: int = 50_000_000
    fraud_rate_min: float = 0.0002
    fraud_rate_max: float = 0.05
    time_max: float = 10_000_000.0
    amount_max: float = 100_000.0
    # |mean| of each V column, in reference standard deviations. Real traffic moves with the time of day: on
    # the real rows V3 averages +0.63 over day 1 and -0.79 over day 2 (0.42 and 0.52 std), and up to 1.05
    # std over 3,000 consecutive rows; a fixed 0.5 refused either day, and a time-ordered 60/40 split.
    v_mean_max_stds: float = 1.5
    v_std_ratio_min: float = 0.5
    v_std_ratio_max: float = 2.0
    amount_median_min: float = 5.0
    amount_median_max: float = 100.0
    amount_mean_min: float = 20.0
    amount_mean_max: float = 300.0
    reference_v_std: dict[str, float] = field(default_factory=lambda: dict(REFERENCE_V_STD))


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result: what was expected, what was observed."""

    expectation: str
    column: str | None
    success: bool
    expected: dict[str, Any]
    observed: Any = None

    def describe(self) -> str:
        where = f"[{self.column}]" if self.column else ""
        return f"{self.expectation}{where} expected {self.expected}, observed {self.observed}"


@dataclass(frozen=True)
class ValidationReport:
    dataset_id: str
    suite: str
    outcomes: tuple[ExpectationOutcome, ...]
    validated_at: str

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.success)

    def summary(self) -> str:
        passed = len(self.outcomes) - len(self.failures)
        head = f"{passed}/{len(self.outcomes)} expectations passed"
        if self.success:
            return head
        return head + "; failed: " + "; ".join(f.describe() for f in self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "suite": self.suite,
            "success": self.success,
            "validated_at": self.validated_at,
            "statistics": {"evaluated": len(self.outcomes), "failed": len(self.failures)},
            "outcomes": [asdict(outcome) for outcome in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """The report `to_dict` wrote (success and statistics are derived, so not read back)."""
        outcomes = tuple(ExpectationOutcome(**outcome) for outcome in data["outcomes"])
        return cls(data["dataset_id"], data["suite"], outcomes, data["validated_at"])
