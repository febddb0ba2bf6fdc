"""The "transactions" expectation suite: schema, completeness, value ranges and dataset statistics.

The statistical bands come from `ValidationRules`; they catch a wrong file, unit (cents) or PCA scaling that
the per-row schema check in `domain/schema.py` cannot see.
"""

from __future__ import annotations

# GE's documented import path; its __init__ lists no __all__, hence the ignore.
from great_expectations.expectations import (  # type: ignore[attr-defined]
    Expectation,
    ExpectColumnMeanToBeBetween,
    ExpectColumnMedianToBeBetween,
    ExpectColumnStdevToBeBetween,
    ExpectColumnTypeToBe,
    ExpectColumnValuesToBeBetween,
    ExpectColumnValuesToBeInSet,
    ExpectColumnValuesToNotBeNull,
    ExpectTableColumnsToMatchOrderedList,
    ExpectTableRowCountToBeBetween,
)

from fraud_detection.domain.schema import AMOUNT, LABEL, TIME, TRANSACTION_COLUMNS, V_COLUMNS
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.validation import ValidationRules

SUITE_NAME = "transactions"
# Ingest hands over float64 columns (`check_transactions`); any other dtype means the frame skipped it.
COLUMN_TYPE = "float64"
LABEL_VALUES = (0, 1)


def build_expectations(rules: ValidationRules) -> list[Expectation]:
    """The expectations on the whole frame, schema first, so a report reads from structure to statistics."""
    return [*_schema(), *_completeness(), *_ranges(rules), *_statistics(rules)]


def build_legitimate_row_expectations(rules: ValidationRules) -> list[Expectation]:
    """The PCA columns' bands, checked on the legitimate rows (`Class` 0) alone: frauds sit far out (V17
    near -7), so a sample enriched with them had V17's std at 2-2.5x the reference over 3,000-5,000
    consecutive real rows at a 1.5-2.4% fraud rate, which the fraud-rate band accepts: 16 of 54 such
    windows of the real rows were refused. A frame of its own rather than GE's `row_condition`, which
    filtered the frame again for every expectation (validation of 284,807 rows took 1.9 s, not 0.4)."""
    components: list[Expectation] = []
    for column in V_COLUMNS:
        reference = rules.reference_v_std[column]
        components += [
            ExpectColumnMeanToBeBetween(
                column=column,
                min_value=-rules.v_mean_max_stds * reference,
                max_value=rules.v_mean_max_stds * reference,
            ),
            ExpectColumnStdevToBeBetween(
                column=column,
                min_value=rules.v_std_ratio_min * reference,
                max_value=rules.v_std_ratio_max * reference,
            ),
        ]
    return components


def _schema() -> list[Expectation]:
    ordered: list[Expectation] = [ExpectTableColumnsToMatchOrderedList(column_list=list(TRANSACTION_COLUMNS))]
    return ordered + [
        ExpectColumnTypeToBe(column=column, type_=COLUMN_TYPE) for column in TRANSACTION_COLUMNS
    ]


def _completeness() -> list[Expectation]:
    return [ExpectColumnValuesToNotBeNull(column=column) for column in TRANSACTION_COLUMNS]


def _ranges(rules: ValidationRules) -> list[Expectation]:
    """Amount's range and Time's floor are the scoring-input rules (what the API and batch jobs accept);
    training data also bounds Time above, which scoring does not (a client's Time counts from its own
    period's start)."""
    scoring = ScoringInput.of(rules)
    return [
        ExpectColumnValuesToBeBetween(column=TIME, min_value=scoring.time.low, max_value=rules.time_max),
        ExpectColumnValuesToBeBetween(
            column=AMOUNT, min_value=scoring.amount.low, max_value=scoring.amount.high
        ),
        ExpectColumnValuesToBeInSet(column=LABEL, value_set=list(LABEL_VALUES)),
    ]


def _statistics(rules: ValidationRules) -> list[Expectation]:
    table: list[Expectation] = [
        ExpectTableRowCountToBeBetween(min_value=rules.min_rows, max_value=rules.max_rows),
        # The mean of a 0/1 label is the fraud rate.
        ExpectColumnMeanToBeBetween(
            column=LABEL, min_value=rules.fraud_rate_min, max_value=rules.fraud_rate_max
        ),
    ]
    amounts: list[Expectation] = [
        ExpectColumnMedianToBeBetween(
            column=AMOUNT, min_value=rules.amount_median_min, max_value=rules.amount_median_max
        ),
        ExpectColumnMeanToBeBetween(
            column=AMOUNT, min_value=rules.amount_mean_min, max_value=rules.amount_mean_max
        ),
    ]
    return table + amounts
