"""The scoring-input rules: columns, finite values, Amount within [0, amount_max], limits from the rules."""

import numpy as np
import pytest

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.scoring_input import Bounds, ScoringInput
from fraud_detection.domain.validation import ValidationRules

RULES = ScoringInput.of(ValidationRules(amount_max=500.0))


def test_the_limits_come_from_the_validation_rules():
    assert RULES.amount == Bounds(0.0, 500.0)
    assert RULES.time == Bounds(0.0)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (("V1", "Amount"), "in.csv: column 'V2': missing columns"),
        ((*SCORING_INPUTS, "Time", "transaction_id", "colour"), "column 'colour': unexpected columns"),
    ],
)
def test_columns_name_what_is_missing_or_unknown(columns, message):
    with pytest.raises(InvalidDataError, match=message):
        ScoringInput.check_columns(columns, "in.csv")


def test_optional_columns_are_accepted():
    ScoringInput.check_columns(("transaction_id", "Time", *SCORING_INPUTS, "Class"), "in.csv")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("V3", np.nan, "missing or non-finite value"),
        ("Amount", np.inf, "missing or non-finite value"),
        ("Amount", -0.01, "negative value"),
        ("Amount", 500.01, "above the maximum 500"),
    ],
)
def test_values_name_column_row_and_problem(column, value, problem):
    inputs = np.ones((5, len(SCORING_INPUTS)))
    inputs[3, SCORING_INPUTS.index(column)] = value
    with pytest.raises(InvalidDataError) as error:
        RULES.check_inputs(inputs, "in.csv", first_row=100)
    assert str(error.value) == f"in.csv: column '{column}' row 104: {problem}"


def test_the_bounds_are_inclusive():
    inputs = np.ones((2, len(SCORING_INPUTS)))
    inputs[:, -1] = [0.0, 500.0]
    RULES.check_inputs(inputs, "in.csv")
