"""The synthetic generator: schema, determinism, counts, time, drift scenarios, validation bands, files."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.schema import AMOUNT, LABEL, TIME, TRANSACTION_COLUMNS, V_COLUMNS
from fraud_detection.domain.validation import REFERENCE_V_STD, ValidationRules
from fraud_detection.simulation import (
    SCENARIOS,
    DriftScenario,
    fraud_count,
    generate_transactions,
    get_scenario,
    write_transactions,
)
from fraud_detection.simulation import writer as writer_module
from fraud_detection.simulation.calibration import Calibration, default_calibration
from fraud_detection.simulation.diurnal import sample_times
from fraud_detection.simulation.scenarios import (
    NEW_PATTERN_FEATURES,
    TOP_FRAUD_FEATURES,
)

DAY = 86_400


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate_transactions(5_000, seed=3)


@pytest.fixture(scope="module")
def fraud_rich() -> pd.DataFrame:
    """Enough frauds (2,000) for class statistics."""
    return generate_transactions(100_000, seed=5, fraud_rate=0.02)


def standardised_gap(frame: pd.DataFrame, column: str) -> float:
    legit, fraud = frame[frame[LABEL] == 0][column], frame[frame[LABEL] == 1][column]
    return float((fraud.mean() - legit.mean()) / legit.std())


# --- schema, determinism, counts --------------------------------------------------------------------------


def test_frame_has_the_kaggle_columns_in_order_all_float64(small: pd.DataFrame) -> None:
    assert list(small.columns) == list(TRANSACTION_COLUMNS)
    assert (small.dtypes == np.float64).all()
    assert len(small) == 5_000
    assert set(small[LABEL].unique()) <= {0.0, 1.0}
    assert np.isfinite(small.to_numpy()).all()


def test_same_seed_gives_an_identical_frame(small: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(generate_transactions(5_000, seed=3), small, check_exact=True)


def test_other_seeds_give_other_rows(small: pd.DataFrame) -> None:
    other = generate_transactions(5_000, seed=4)
    assert not np.allclose(other[list(V_COLUMNS)].to_numpy(), small[list(V_COLUMNS)].to_numpy())
    assert not other[TIME].equals(small[TIME])


@pytest.mark.parametrize(
    ("rows", "rate", "expected"),
    [
        (284_807, 0.00172, 490),
        (1_000, 0.00172, 2),
        (100, 0.005, 1),  # 0.5 expected frauds: at least one
        (291, 0.00172, 1),  # 0.50052
        (100, 0.004, 0),  # 0.4: none
        (10, 1.0, 10),
        (1_000, 0.0, 0),
        (0, 0.1, 0),
    ],
)
def test_fraud_count_is_exact(rows: int, rate: float, expected: int) -> None:
    assert fraud_count(rows, rate) == expected
    frame = generate_transactions(rows, seed=1, fraud_rate=rate)
    assert len(frame) == rows
    assert int(frame[LABEL].sum()) == expected


def test_zero_rows_give_an_empty_frame_with_the_schema() -> None:
    frame = generate_transactions(0)
    assert frame.empty
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)


@pytest.mark.parametrize(
    "arguments",
    [{"rows": -1}, {"rows": 2.5}, {"fraud_rate": 1.5}, {"fraud_rate": -0.1}, {"days": 0}, {"start_time": -1}],
)
def test_invalid_arguments_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(arguments))):
        generate_transactions(**{"rows": 100, **arguments})


# --- values -----------------------------------------------------------------------------------------------


def test_amounts_are_non_negative_cents(fraud_rich: pd.DataFrame) -> None:
    amounts = fraud_rich[AMOUNT].to_numpy()
    assert (amounts >= 0).all()
    np.testing.assert_array_equal(np.round(amounts, 2), amounts)
    assert (np.abs(amounts * 100 - np.round(amounts * 100)) < 1e-6).all()
    assert (amounts == 0).any()  # the real data has zero amounts too


def test_amount_is_skewed_like_the_real_data() -> None:
    amounts = generate_transactions(seed=9)[AMOUNT]
    assert 15 <= amounts.median() <= 30  # full dataset: ~22
    assert 70 <= amounts.mean() <= 110  # full dataset: ~88.35


def test_v_columns_have_long_tails(fraud_rich: pd.DataFrame) -> None:
    legit = fraud_rich[fraud_rich[LABEL] == 0]
    kurtosis = legit[list(V_COLUMNS)].kurt()
    assert (kurtosis > 3).sum() >= 15  # a Gaussian has excess kurtosis 0; the real columns reach hundreds


def test_fraud_separates_on_the_real_top_features(fraud_rich: pd.DataFrame) -> None:
    gaps = {column: abs(standardised_gap(fraud_rich, column)) for column in V_COLUMNS}
    top = sorted(gaps, key=gaps.__getitem__, reverse=True)[: len(TOP_FRAUD_FEATURES)]
    assert set(top) == set(TOP_FRAUD_FEATURES)


def test_some_frauds_look_legit_like_in_the_real_data(fraud_rich: pd.DataFrame) -> None:
    """About 1 fraud in 6 sits inside the legit cloud on V14 (real models cannot catch those either)."""
    fraud_v14 = fraud_rich[fraud_rich[LABEL] == 1]["V14"]
    legit_v14 = fraud_rich[fraud_rich[LABEL] == 0]["V14"]
    inside = (fraud_v14 > legit_v14.quantile(0.05)).mean()
    assert 0.1 <= inside <= 0.35


# --- time -------------------------------------------------------------------------------------------------


def test_time_is_whole_seconds_sorted_within_the_days(fraud_rich: pd.DataFrame) -> None:
    times = fraud_rich[TIME].to_numpy()
    np.testing.assert_array_equal(times, np.floor(times))
    assert (np.diff(times) >= 0).all()
    assert times.min() >= 0
    assert times.max() < 2 * DAY
    assert times.max() > 2 * DAY - 3_600  # the whole span is used


def test_start_time_and_days_set_the_span() -> None:
    times = generate_transactions(20_000, seed=2, start_time=2 * DAY, days=0.5)[TIME].to_numpy()
    assert times.min() >= 2 * DAY
    assert times.max() < 2.5 * DAY
    assert (np.diff(times) >= 0).all()


def test_nights_are_quiet_and_relatively_fraudulent(fraud_rich: pd.DataFrame) -> None:
    hour = (fraud_rich[TIME] // 3_600) % 24
    night = hour < 6
    legit_night = night[fraud_rich[LABEL] == 0].mean()
    fraud_night = night[fraud_rich[LABEL] == 1].mean()
    assert legit_night < 0.15  # 6 of 24 hours would hold 25% if uniform; the real data holds ~8%
    assert fraud_night > 2 * legit_night


def test_times_follow_absolute_phase() -> None:
    """A batch starting at night gets few transactions in its first hours, as the rhythm continues."""
    weights = default_calibration().legit.hour_weights
    rng = np.random.default_rng(0)
    times = sample_times(weights, 50_000, start=DAY + 2 * 3_600, seconds=DAY, rng=rng)
    assert times.min() >= DAY + 2 * 3_600
    early = ((times - DAY) // 3_600 < 6).mean()  # 02:00-06:00 of the second day
    late = (((times - DAY) // 3_600 >= 12) & ((times - DAY) // 3_600 < 16)).mean()  # 12:00-16:00
    assert early < late / 3


# --- drift scenarios --------------------------------------------------------------------------------------


def test_the_registry_holds_the_documented_scenarios() -> None:
    assert {"none", "covariate_shift", "amount_inflation", "fraud_rate_change", "new_fraud_pattern"} <= set(
        SCENARIOS
    )
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name
        assert len(scenario.description) > 40


def test_covariate_shift_moves_only_the_chosen_columns_by_shift_std() -> None:
    base = generate_transactions(20_000, seed=11)
    shifted = generate_transactions(20_000, seed=11, scenario="covariate_shift")
    features, shift_std = get_scenario("covariate_shift").shift
    assert set(features).isdisjoint(TOP_FRAUD_FEATURES)
    for column in V_COLUMNS:
        moved = shifted[column].mean() - base[column].mean()
        expected = shift_std * REFERENCE_V_STD[column] if column in features else 0.0
        assert moved == pytest.approx(expected, abs=1e-8), column
    pd.testing.assert_frame_equal(shifted.drop(columns=list(V_COLUMNS)), base.drop(columns=list(V_COLUMNS)))


def test_covariate_shift_features_and_size_are_configurable() -> None:
    scenario = get_scenario("covariate_shift", shift_features=["V5"], shift_std=-1.0)
    base = generate_transactions(10_000, seed=12)
    shifted = generate_transactions(10_000, seed=12, scenario=scenario)
    assert shifted["V5"].mean() - base["V5"].mean() == pytest.approx(-REFERENCE_V_STD["V5"], abs=1e-8)
    pd.testing.assert_series_equal(shifted["V15"], base["V15"])


def test_amount_inflation_scales_amounts_only() -> None:
    base = generate_transactions(20_000, seed=13)
    inflated = generate_transactions(20_000, seed=13, scenario="amount_inflation")
    assert inflated[AMOUNT].mean() / base[AMOUNT].mean() == pytest.approx(1.5, rel=1e-3)
    assert inflated[AMOUNT].median() / base[AMOUNT].median() == pytest.approx(1.5, rel=1e-2)
    pd.testing.assert_frame_equal(inflated.drop(columns=[AMOUNT]), base.drop(columns=[AMOUNT]))
    doubled = generate_transactions(
        20_000, seed=13, scenario=get_scenario("amount_inflation", amount_factor=2)
    )
    assert doubled[AMOUNT].mean() / base[AMOUNT].mean() == pytest.approx(2.0, rel=1e-3)


def test_fraud_rate_change_sets_the_fraud_share_over_the_argument() -> None:
    frame = generate_transactions(50_000, seed=14, fraud_rate=0.001, scenario="fraud_rate_change")
    assert int(frame[LABEL].sum()) == 500
    custom = get_scenario("fraud_rate_change", fraud_rate=0.03)
    assert int(generate_transactions(10_000, seed=14, scenario=custom)[LABEL].sum()) == 300


def test_new_fraud_pattern_moves_the_signal_to_other_features() -> None:
    frame = generate_transactions(40_000, seed=15, fraud_rate=0.03, scenario="new_fraud_pattern")
    for column in TOP_FRAUD_FEATURES:
        assert abs(standardised_gap(frame, column)) < 0.5, column
    gaps = [abs(standardised_gap(frame, column)) for column in NEW_PATTERN_FEATURES]
    assert min(gaps) > 2.0
    assert int(frame[LABEL].sum()) == 1_200


def test_a_scenario_object_and_its_name_give_the_same_frame() -> None:
    by_name = generate_transactions(3_000, seed=16, scenario="new_fraud_pattern")
    by_object = generate_transactions(3_000, seed=16, scenario=SCENARIOS["new_fraud_pattern"])
    pd.testing.assert_frame_equal(by_name, by_object)
    none = generate_transactions(3_000, seed=16, scenario="none")
    pd.testing.assert_frame_equal(none, generate_transactions(3_000, seed=16))


def test_a_hand_made_scenario_combines_parameters() -> None:
    mixed = DriftScenario("mixed", "inflation with more fraud", {"amount_factor": 2.0, "fraud_rate": 0.02})
    base = generate_transactions(10_000, seed=17, fraud_rate=0.02)
    frame = generate_transactions(10_000, seed=17, scenario=mixed)
    assert int(frame[LABEL].sum()) == 200
    assert frame[AMOUNT].sum() / base[AMOUNT].sum() == pytest.approx(2.0, rel=1e-3)


def test_get_scenario_names_the_valid_scenarios_for_an_unknown_one() -> None:
    with pytest.raises(ValueError, match=r"'drifty'.*none, covariate_shift, amount_inflation"):
        get_scenario("drifty")
    with pytest.raises(ValueError, match="drifty"):
        generate_transactions(100, scenario="drifty")


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("amount_inflation", {"shift_std": 1.0}, "has no parameter"),
        ("covariate_shift", {"shift_features": ["V99"]}, "V1..V28"),
        ("covariate_shift", {"shift_features": ["V1", "V1"]}, "distinct"),
        ("covariate_shift", {"shift_std": float("nan")}, "finite"),
        ("fraud_rate_change", {"fraud_rate": 2.0}, r"in \[0, 1\]"),
        ("amount_inflation", {"amount_factor": -1}, ">= 0"),
        ("amount_inflation", {"amount_factor": "big"}, "number"),
        ("new_fraud_pattern", {"pattern_to": ("V13",)}, "equally long"),
        ("new_fraud_pattern", {"pattern_to": TOP_FRAUD_FEATURES}, "disjoint"),
    ],
)
def test_bad_overrides_are_refused(name: str, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_scenario(name, **overrides)


def test_unknown_parameters_of_a_hand_made_scenario_are_refused() -> None:
    with pytest.raises(ValueError, match="shift_sd"):
        DriftScenario("typo", "a typo", {"shift_sd": 1.0})


def test_scenarios_are_immutable() -> None:
    scenario = get_scenario("covariate_shift")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        scenario.parameters["shift_std"] = 3.0  # type: ignore[index]
    assert get_scenario("covariate_shift", shift_std=1.0).shift[1] == 1.0
    assert SCENARIOS["covariate_shift"].shift[1] == 0.5  # the registry is untouched
    assert hash(scenario) == hash(get_scenario("covariate_shift"))


# --- validation bands (ValidationRules), checked with plain pandas ----------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_default_dataset_of_every_scenario_passes_the_validation_bands(name: str) -> None:
    frame = generate_transactions(scenario=name)
    rules = ValidationRules()
    assert rules.min_rows <= len(frame) <= rules.max_rows
    for column in V_COLUMNS:
        assert abs(frame[column].mean()) <= rules.v_mean_max_stds * rules.reference_v_std[column], column
        ratio = frame[column].std() / rules.reference_v_std[column]
        assert rules.v_std_ratio_min <= ratio <= rules.v_std_ratio_max, (column, ratio)
    amounts = frame[AMOUNT]
    assert rules.amount_median_min <= amounts.median() <= rules.amount_median_max
    assert rules.amount_mean_min <= amounts.mean() <= rules.amount_mean_max
    assert amounts.max() <= rules.amount_max
    assert rules.fraud_rate_min <= frame[LABEL].mean() <= rules.fraud_rate_max
    assert frame[TIME].max() <= rules.time_max


def test_default_dataset_matches_the_published_column_figures() -> None:
    frame = generate_transactions(seed=21)
    for column in V_COLUMNS:
        assert abs(frame[column].mean()) < 0.05, column
        assert frame[column].std() / REFERENCE_V_STD[column] == pytest.approx(1.0, abs=0.12), column
    assert int(frame[LABEL].sum()) == 490


# --- files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_write_transactions_round_trips(tmp_path: Path, small: pd.DataFrame, suffix: str) -> None:
    path = write_transactions(small, tmp_path / f"creditcard{suffix}")
    assert path == tmp_path / f"creditcard{suffix}"
    back = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path).astype(np.float64)
    pd.testing.assert_frame_equal(back, small, check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_csv_looks_like_kaggles_file(tmp_path: Path, small: pd.DataFrame, suffix: str) -> None:
    path = write_transactions(small, tmp_path / f"creditcard{suffix}")
    opener = gzip.open if suffix == ".csv.gz" else open
    with opener(path, "rt") as stream:
        header, first = stream.readline().strip(), stream.readline().strip()
    assert header == ",".join(TRANSACTION_COLUMNS)
    time_text, *_, class_text = first.split(",")
    assert time_text.isdigit()  # whole seconds written without ".0", as in Kaggle's file
    assert class_text in {"0", "1"}


def test_write_creates_the_folder_and_replaces_a_file(tmp_path: Path, small: pd.DataFrame) -> None:
    path = tmp_path / "new" / "folder" / "data.parquet"
    write_transactions(small.head(10), path)
    assert path.stat().st_mode & 0o777 == 0o644  # readable like any data file, not private like a temp file
    path.chmod(0o640)
    write_transactions(small, path)
    assert len(pd.read_parquet(path)) == len(small)
    assert path.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its permissions


def _fail_midway(target: object, *_: object, **__: object) -> None:
    data = b"Time,V1,V2\n0,1.5,"
    if isinstance(target, str):
        Path(target).write_bytes(data)
    else:
        target.write(data)  # type: ignore[attr-defined]
    raise OSError("disk full")


@pytest.mark.parametrize(
    ("suffix", "module", "function"),
    [
        (".csv", writer_module.pa_csv, "write_csv"),
        (".csv.gz", writer_module.pa_csv, "write_csv"),
        (".parquet", writer_module.pq, "write_table"),
    ],
)
def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(
    tmp_path: Path,
    small: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    module: object,
    function: str,
) -> None:
    existing = tmp_path / f"creditcard{suffix}"
    existing.write_bytes(b"old content")
    monkeypatch.setattr(module, function, lambda table, target, *a, **k: _fail_midway(target))
    with pytest.raises(OSError, match="disk full"):
        write_transactions(small, existing)
    assert existing.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == [existing.name]
    fresh = tmp_path / f"fresh{suffix}"
    with pytest.raises(OSError, match="disk full"):
        write_transactions(small, fresh)
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir()] == [existing.name]


def test_unsupported_suffix_is_refused_before_writing(tmp_path: Path, small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"data\.json.*\.csv, \.csv\.gz, \.parquet"):
        write_transactions(small, tmp_path / "data.json")
    assert list(tmp_path.iterdir()) == []


def test_a_frame_without_the_schema_is_refused(tmp_path: Path, small: pd.DataFrame) -> None:
    with pytest.raises(InvalidDataError, match="Amount"):
        write_transactions(small.drop(columns=[AMOUNT]), tmp_path / "data.csv")


# --- calibration and marginals ----------------------------------------------------------------------------


def test_packaged_calibration_round_trips_through_its_dict() -> None:
    calibration = default_calibration()
    again = Calibration.from_dict(calibration.to_dict())
    assert again.to_json() == calibration.to_json()
    assert calibration.fraud.disguise is not None
    assert 0.05 < calibration.fraud.disguise.share < 0.3


def test_calibration_of_another_version_is_refused() -> None:
    data = default_calibration().to_dict() | {"version": 99}
    with pytest.raises(ValueError, match="version 99"):
        Calibration.from_dict(data)


def test_generator_accepts_other_calibrations() -> None:
    data = default_calibration().to_dict()
    data["amount_max"] = 50.0
    frame = generate_transactions(2_000, seed=1, calibration=Calibration.from_dict(data))
    assert frame[AMOUNT].max() <= 50.0


def test_marginals_pass_through_their_knots_and_join_their_tails() -> None:
    for column, fit in default_calibration().fraud.marginals.items():
        marginal = fit.marginal
        values = marginal.from_normal(marginal.scores.copy())
        expected = np.expm1(marginal.knots) if marginal.transform == "log1p" else marginal.knots
        np.testing.assert_allclose(values, expected, atol=1e-9, err_msg=column)
        z = np.linspace(-8, 8, 4_001)
        curve = marginal.from_normal(z)
        assert (np.diff(curve) >= -1e-12).all(), column  # a quantile function never decreases
        edge = marginal.scores[[0, -1]]
        np.testing.assert_allclose(
            marginal.from_normal(edge + np.array([-1e-9, 1e-9])), marginal.from_normal(edge), atol=1e-6
        )
