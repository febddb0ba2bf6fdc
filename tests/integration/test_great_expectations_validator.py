"""The Great Expectations adapter against real GE: real rows pass, each kind of bad data fails by name."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.schema import AMOUNT, LABEL, TIME, TRANSACTION_COLUMNS, V_COLUMNS
from fraud_detection.domain.validation import (
    REFERENCE_V_STD,
    ExpectationOutcome,
    ValidationReport,
    ValidationRules,
)
from fraud_detection.infrastructure.great_expectations import GreatExpectationsValidator

pytestmark = pytest.mark.integration

ORDERED = "expect_table_columns_to_match_ordered_list"
TYPE = "expect_column_type_to_be"
NOT_NULL = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
ROWS = "expect_table_row_count_to_be_between"
MEAN = "expect_column_mean_to_be_between"
STDEV = "expect_column_stdev_to_be_between"
MEDIAN = "expect_column_median_to_be_between"

# Schema (order + a type per column), no nulls per column, Time/Amount ranges, Class set, row count,
# fraud rate, mean and std per V column, Amount median and mean.
SUITE_SIZE = 1 + 2 * len(TRANSACTION_COLUMNS) + 3 + 2 + 2 * len(V_COLUMNS) + 2

Pair = tuple[str, str | None]


@pytest.fixture(scope="module")
def validator() -> GreatExpectationsValidator:
    return GreatExpectationsValidator(ValidationRules())


@pytest.fixture(scope="module")
def clean_frame() -> pd.DataFrame:
    """Plausible transactions: two days of Time, V columns at the reference std, Amount with median ~22."""
    rng = np.random.default_rng(7)
    rows = 20_000
    columns: dict[str, np.ndarray] = {TIME: np.sort(rng.uniform(0, 172_792, rows))}
    columns |= {column: rng.normal(0.0, REFERENCE_V_STD[column], rows) for column in V_COLUMNS}
    columns[AMOUNT] = np.round(rng.lognormal(np.log(22.0), 1.2, rows), 2)
    columns[LABEL] = (rng.random(rows) < 0.005).astype(np.float64)
    return pd.DataFrame(columns)[list(TRANSACTION_COLUMNS)]


def failed(report: ValidationReport) -> set[Pair]:
    return {(outcome.expectation, outcome.column) for outcome in report.failures}


def outcome(report: ValidationReport, expectation: str, column: str | None) -> ExpectationOutcome:
    (match,) = [o for o in report.outcomes if (o.expectation, o.column) == (expectation, column)]
    return match


def test_real_rows_pass(validator: GreatExpectationsValidator, real_sample_path: Path) -> None:
    frame = pd.read_csv(real_sample_path).astype(np.float64)

    report = validator.validate(frame, "real-sample")

    assert report.success, report.summary()
    assert report.suite == "transactions"
    assert report.dataset_id == "real-sample"


def test_time_ordered_parts_of_the_real_rows_pass(
    validator: GreatExpectationsValidator, real_sample_path: Path
) -> None:
    """Real V columns move with the time of day: V3 averages +0.63 over day 1 and -0.79 over day 2, so a
    fixed |mean| <= 0.5 refused each day, and the early 60% / late 40% split a user trains and tests on."""
    frame = pd.read_csv(real_sample_path).astype(np.float64).sort_values(TIME, kind="stable")
    split = int(len(frame) * 0.6)
    parts = {
        "day 1": frame[frame[TIME] < 86_400],
        "day 2": frame[frame[TIME] >= 86_400],
        "early 60%": frame.iloc[:split],
        "late 40%": frame.iloc[split:],
    }
    for name, part in parts.items():
        report = validator.validate(part.reset_index(drop=True), name)
        assert report.success, f"{name}: {report.summary()}"


def test_consecutive_real_rows_enriched_with_frauds_pass(
    validator: GreatExpectationsValidator, real_sample_path: Path
) -> None:
    """Frauds sit far out on the PCA columns (V17 near -7): over 3,000-5,000 consecutive real rows at a
    1.5-2.4% fraud rate, which the fraud-rate band accepts, V17's std reached 2-2.5x the reference and 16 of
    54 such windows were refused. The bands are the legitimate rows'."""
    frame = pd.read_csv(real_sample_path).astype(np.float64).sort_values(TIME, kind="stable")
    for start in range(0, len(frame) - 3_000 + 1, 1_500):
        part = frame.iloc[start : start + 3_000].reset_index(drop=True)
        report = validator.validate(part, f"rows {start}+")
        assert report.success, f"rows {start}-{start + 3_000}: {report.summary()}"


def test_frauds_do_not_move_the_pca_bands_but_a_scaled_column_still_fails(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    enriched = clean_frame.copy()
    frauds = enriched.index[:900]  # 4.5%: inside the fraud-rate band
    enriched.loc[frauds, LABEL] = 1.0
    enriched.loc[frauds, "V17"] = -8.0  # where real frauds sit: the whole column's std ~2.3x the reference
    assert validator.validate(enriched, "enriched").success
    scaled = enriched.assign(V4=enriched["V4"] * 10.0)
    assert failed(validator.validate(scaled, "scaled")) == {(STDEV, "V4")}


def test_clean_frame_passes_every_expectation(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    report = validator.validate(clean_frame, "clean")

    assert report.success, report.summary()
    assert report.summary() == f"{SUITE_SIZE}/{SUITE_SIZE} expectations passed"


def test_report_lists_every_expectation_once(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    report = validator.validate(clean_frame, "clean")
    pairs = [(o.expectation, o.column) for o in report.outcomes]

    assert len(pairs) == SUITE_SIZE == len(set(pairs))
    assert pairs[0] == (ORDERED, None)
    for column in TRANSACTION_COLUMNS:
        assert {(TYPE, column), (NOT_NULL, column)} <= set(pairs)
    for column in V_COLUMNS:
        assert {(MEAN, column), (STDEV, column)} <= set(pairs)
    assert {(BETWEEN, TIME), (BETWEEN, AMOUNT), (IN_SET, LABEL), (ROWS, None), (MEAN, LABEL)} <= set(pairs)
    assert {(MEDIAN, AMOUNT), (MEAN, AMOUNT)} <= set(pairs)


def test_outcomes_carry_bounds_and_the_observed_statistic(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    rules = ValidationRules()
    report = validator.validate(clean_frame, "clean")

    v1_std = outcome(report, STDEV, "V1")
    assert v1_std.expected == {
        "min_value": pytest.approx(rules.v_std_ratio_min * REFERENCE_V_STD["V1"]),
        "max_value": pytest.approx(rules.v_std_ratio_max * REFERENCE_V_STD["V1"]),
    }
    legitimate = clean_frame[clean_frame[LABEL] == 0]  # the PCA columns' bands are the legitimate rows'
    assert v1_std.observed == pytest.approx(legitimate["V1"].std())
    assert outcome(report, MEAN, "V2").observed == pytest.approx(legitimate["V2"].mean())
    assert outcome(report, MEDIAN, AMOUNT).observed == pytest.approx(clean_frame[AMOUNT].median())
    assert outcome(report, MEAN, LABEL).observed == pytest.approx(clean_frame[LABEL].mean())
    assert outcome(report, ROWS, None).observed == len(clean_frame)
    assert outcome(report, IN_SET, LABEL).expected == {"value_set": [0, 1]}


def _set(column: str, rows: slice, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[rows], column] = value
        return frame

    return mutate


def _scale(column: str, factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.assign(**{column: frame[column] * factor})


BAD_DATA: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], set[Pair]]] = {
    "missing column": (
        lambda frame: frame.drop(columns=["V3"]),
        {(ORDERED, None), (TYPE, "V3"), (NOT_NULL, "V3"), (MEAN, "V3"), (STDEV, "V3")},
    ),
    "reordered columns": (lambda frame: frame[[AMOUNT, *V_COLUMNS, TIME, LABEL]], {(ORDERED, None)}),
    "nulls": (_set("V7", slice(10, 13), np.nan), {(NOT_NULL, "V7")}),
    "negative amount": (_set(AMOUNT, slice(0, 2), -5.0), {(BETWEEN, AMOUNT)}),
    "amount above max": (_set(AMOUNT, slice(5, 6), 1_000_000.0), {(BETWEEN, AMOUNT)}),
    "class value 2": (_set(LABEL, slice(0, 1), 2.0), {(IN_SET, LABEL)}),
    "too few rows": (lambda frame: frame.head(500), {(ROWS, None)}),
    "fraud rate too high": (_set(LABEL, slice(0, 2_000), 1.0), {(MEAN, LABEL)}),
    "V column scaled x10": (_scale("V4", 10.0), {(STDEV, "V4")}),
    "V column shifted": (lambda frame: frame.assign(V9=frame["V9"] + 3.0), {(MEAN, "V9")}),
    "amount in cents": (_scale(AMOUNT, 100.0), {(MEDIAN, AMOUNT), (MEAN, AMOUNT)}),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_fails_naming_the_expectation(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame, case: str
) -> None:
    mutate, expected = BAD_DATA[case]

    report = validator.validate(mutate(clean_frame.copy()), case)

    assert not report.success
    assert expected <= failed(report), report.summary()
    assert len(report.outcomes) == SUITE_SIZE
    for expectation, column in expected:
        named = f"{expectation}[{column}]" if column else expectation
        assert named in report.summary()


def test_reordered_columns_fail_only_the_order(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    report = validator.validate(clean_frame[[AMOUNT, *V_COLUMNS, TIME, LABEL]], "reordered")

    assert failed(report) == {(ORDERED, None)}
    assert outcome(report, ORDERED, None).observed[0] == AMOUNT


def test_missing_column_fails_its_expectations_with_the_error(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    report = validator.validate(clean_frame.drop(columns=["V3"]), "missing")

    observed = outcome(report, MEAN, "V3").observed
    assert observed.startswith("error:")
    assert "V3" in observed
    assert outcome(report, MEAN, "V4").success


def test_row_expectations_report_unexpected_count_and_values(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    frame = clean_frame.copy()
    frame.loc[frame.index[:3], AMOUNT] = [-5.0, -6.0, -7.0]

    report = validator.validate(frame, "negative")

    observed = outcome(report, BETWEEN, AMOUNT).observed
    assert observed["unexpected_count"] == 3
    assert sorted(observed["unexpected_sample"]) == [-7.0, -6.0, -5.0]


def test_an_error_inside_ge_fails_that_expectation_only(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    frame = clean_frame.assign(V5=clean_frame["V5"].astype(str))  # pandas cannot average strings

    report = validator.validate(frame, "strings")

    assert len(report.outcomes) == SUITE_SIZE
    assert {(TYPE, "V5"), (MEAN, "V5"), (STDEV, "V5")} <= failed(report)
    assert str(outcome(report, MEAN, "V5").observed).startswith("error:")
    assert outcome(report, MEAN, "V6").success


def test_a_run_ge_cannot_finish_fails_every_expectation(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_run(self: object, frame: pd.DataFrame) -> None:
        raise RuntimeError("store unavailable")

    # By path, so collecting this module does not import GE (~3 s).
    monkeypatch.setattr(
        f"{GreatExpectationsValidator.__module__.rsplit('.', 1)[0]}.runtime.SuiteRuntime.run", broken_run
    )

    report = validator.validate(clean_frame, "broken")

    assert len(report.failures) == SUITE_SIZE
    assert all("store unavailable" in str(o.observed) for o in report.outcomes)


def test_the_validator_lets_go_of_the_frame_it_validated(
    validator: GreatExpectationsValidator, clean_frame: pd.DataFrame
) -> None:
    """GE's datasource kept the last frame in its batch caches for as long as the validator lived: the
    whole dataset, after the pipeline had moved on from it."""
    frame = clean_frame.copy()
    validated = weakref.ref(frame)

    assert validator.validate(frame, "let-go").success
    del frame
    gc.collect()

    assert validated() is None


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # pandas' std of inf
def test_report_dict_is_strict_json(validator: GreatExpectationsValidator, clean_frame: pd.DataFrame) -> None:
    frame = clean_frame.copy()
    frame.loc[frame.index[:4], "V2"] = np.nan  # NaN in the unexpected sample, numpy floats everywhere
    frame["V8"] = np.inf

    report = validator.validate(frame, "json")
    text = json.dumps(report.to_dict(), allow_nan=False)

    loaded = json.loads(text)
    assert loaded["statistics"] == {"evaluated": SUITE_SIZE, "failed": len(report.failures)}
    assert loaded["success"] is False
    assert {(o["expectation"], o["column"]) for o in loaded["outcomes"] if not o["success"]} == failed(report)


def test_rules_set_the_bounds_per_validator(
    clean_frame: pd.DataFrame, validator: GreatExpectationsValidator
) -> None:
    strict = GreatExpectationsValidator(ValidationRules(min_rows=50_000, amount_max=500.0))

    report = strict.validate(clean_frame, "strict")

    assert failed(report) == {(ROWS, None), (BETWEEN, AMOUNT)}
    assert outcome(report, ROWS, None).expected["min_value"] == 50_000
    assert validator.validate(clean_frame, "default").success  # its own context is untouched


def test_rules_without_a_reference_std_are_refused() -> None:
    with pytest.raises(ValueError, match="V28"):
        GreatExpectationsValidator(ValidationRules(reference_v_std={"V1": 1.0}))
