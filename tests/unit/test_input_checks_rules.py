"""Scoring-input checks, rule by rule: an open upper bound, the words for a value below a non-zero minimum,
limits taken from the rules, messages naming the source, and rows counted from 1 by default."""

import numpy as np
import pytest

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.scoring_input import Bounds, ScoringInput
from fraud_detection.domain.validation import ValidationRules


def test_bounds_without_a_maximum_refuse_only_values_below_the_minimum() -> None:
    assert Bounds(0.0).outside(np.array([-0.01, 0.0, 1e12])).tolist() == [True, False, False]


def test_closed_bounds_refuse_both_sides_and_keep_their_ends() -> None:
    outside = Bounds(0.0, 500.0).outside(np.array([-1.0, 0.0, 500.0, 500.01]))
    assert outside.tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("bounds", "value", "problem"),
    [
        (Bounds(0.0), -1.0, "negative value"),
        (Bounds(10.0), 9.5, "below the minimum 10"),
        (Bounds(-5.0, 5.0), -6.0, "below the minimum -5"),
        (Bounds(0.0, 500.0), 501.0, "above the maximum 500"),
    ],
)
def test_the_problem_says_which_limit_a_value_breaks(bounds: Bounds, value: float, problem: str) -> None:
    assert problem in bounds.problem(value)


def test_the_amount_limit_from_the_rules_reaches_the_check() -> None:
    rules = ScoringInput.of(ValidationRules(amount_max=250.0))
    inputs = np.ones((2, len(SCORING_INPUTS)))
    inputs[1, SCORING_INPUTS.index("Amount")] = 250.01
    with pytest.raises(InvalidDataError, match="above the maximum 250") as error:
        rules.check_inputs(inputs, "in.csv")
    assert (error.value.column, error.value.row) == ("Amount", 1)


@pytest.mark.parametrize(
    ("columns", "column"),
    [(("V1", "Amount"), "V2"), ((*SCORING_INPUTS, "colour"), "colour")],
)
def test_column_errors_name_the_source_first(columns: tuple[str, ...], column: str) -> None:
    with pytest.raises(InvalidDataError) as error:
        ScoringInput.check_columns(columns, "batch.csv")
    assert error.value.source == "batch.csv"
    assert str(error.value).startswith(f"batch.csv: column '{column}':")


def test_without_a_first_row_the_first_input_row_is_row_1() -> None:
    inputs = np.ones((3, len(SCORING_INPUTS)))
    inputs[0, SCORING_INPUTS.index("V5")] = np.nan
    with pytest.raises(InvalidDataError, match=r"column 'V5' row 1: missing or non-finite value") as error:
        ScoringInput.of(ValidationRules()).check_inputs(inputs, "in.csv")
    assert error.value.row == 0
