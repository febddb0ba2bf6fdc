"""What a row must hold to be scored: one statement for the API's request bodies, batch jobs and the
training suite, so a limit set in the environment (FRAUD_VALIDATION_AMOUNT_MAX) reaches all of them.

The columns: V1..V28 and Amount are required; Time, Class and a transaction_id may come along in a batch
file (the API's body takes Time and a transaction_id); nothing else. The values: every scoring input
finite, Amount within [0, amount_max]. The API also holds a sent Time to at least 0 and a transaction_id to
its id rules, as both are captured for drift and feedback; a batch job captures nothing and reads neither
Time nor Class (a transaction_id is copied to its output as given).
The limits come from `ValidationRules`, which the container builds from settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.schema import AMOUNT, LABEL, TIME
from fraud_detection.domain.validation import ValidationRules

TRANSACTION_ID_COLUMN = "transaction_id"
OPTIONAL_COLUMNS = frozenset({TIME, LABEL, TRANSACTION_ID_COLUMN})
NON_FINITE = "missing or non-finite value"
_AMOUNT_INDEX = SCORING_INPUTS.index(AMOUNT)


@dataclass(frozen=True)
class Bounds:
    """A closed range, open above when `high` is None."""

    low: float
    high: float | None = None

    def outside(self, values: np.ndarray) -> np.ndarray:
        """Mask of the values out of range."""
        below = values < self.low
        return below if self.high is None else below | (values > self.high)

    def problem(self, value: float) -> str:
        """Why `value` (out of range) is refused, in the words error messages use."""
        if value < self.low:
            return "negative value" if self.low == 0 else f"below the minimum {self.low:g}"
        return f"above the maximum {self.high:g}"


@dataclass(frozen=True)
class ScoringInput:
    """The scoring-input rules with their limits."""

    amount: Bounds
    time: Bounds = Bounds(0.0)

    @classmethod
    def of(cls, rules: ValidationRules) -> ScoringInput:
        return cls(amount=Bounds(0.0, rules.amount_max))

    @staticmethod
    def check_columns(columns: Sequence[str], source: str) -> None:
        """Refuse a header missing a scoring input or carrying a column scoring does not know (the
        training header, exact and ordered, is `schema.check_columns`)."""
        missing = [c for c in SCORING_INPUTS if c not in columns]
        if missing:
            raise InvalidDataError(source, f"missing columns {missing}", column=missing[0])
        unknown = [c for c in columns if c not in SCORING_INPUTS and c not in OPTIONAL_COLUMNS]
        if unknown:
            raise InvalidDataError(source, f"unexpected columns {unknown}", column=unknown[0])

    def check_inputs(self, inputs: np.ndarray, source: str, first_row: int = 0) -> None:
        """`inputs`: (n, 29) in SCORING_INPUTS order, its row 0 being row `first_row` of `source`. Raises
        InvalidDataError naming the column and row of the first refused value."""
        bad = ~np.isfinite(inputs)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise InvalidDataError(
                source, NON_FINITE, column=SCORING_INPUTS[column], row=first_row + int(row)
            )
        amounts = inputs[:, _AMOUNT_INDEX]
        outside = self.amount.outside(amounts)
        if outside.any():
            row = int(np.argmax(outside))
            problem = self.amount.problem(float(amounts[row]))
            raise InvalidDataError(source, problem, column=AMOUNT, row=first_row + row)
