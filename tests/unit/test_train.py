import numpy as np
import pytest

from fraud_detection.application.train import FoldedData, TrainModel
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.selection import refit_rounds, rounds_by_mean_loss
from fraud_detection.domain.training import TrainingParams
from tests.builders import transactions
from tests.fakes import FakeTrainer


def folded() -> FoldedData:
    return FoldedData.of(time_ordered_folds(transactions(4_000, 0.03), FoldPolicy()))


def test_the_strategy_with_the_best_out_of_fold_auprc_wins():
    data = folded()
    ratio = (len(data.data) - data.data.frauds) / data.data.frauds
    # the weighted model ranks by -V14 (good), the unweighted one by +V14 (bad)
    trainer = FakeTrainer({1.0: -1.0, ratio**0.5: 1.0})
    result = TrainModel(trainer, TrainingParams(), review_cost=5.0)(data)
    assert [p.scale_pos_weight for p in trainer.calls] == [1.0] * 3 + [ratio**0.5] * 3
    assert result.chosen.strategy == "sqrt_balanced"
    assert result.params.scale_pos_weight == ratio**0.5
    assert trainer.refits[0][1].scale_pos_weight == ratio**0.5  # the refit uses the winner's weight
    assert result.chosen.oof_auprc > result.candidates[0].oof_auprc


def test_ties_keep_the_unweighted_model_and_a_threshold_is_chosen():
    result = TrainModel(FakeTrainer(), TrainingParams(), review_cost=5.0)(folded())
    assert result.chosen.strategy == "none"
    assert 0.0 < result.threshold.threshold < 1.0
    assert result.threshold.alerts > 0


def test_rounds_are_the_minimum_of_the_fold_averaged_loss_within_the_common_length():
    a = np.array([0.5, 0.375, 0.25, 0.375, 0.125])  # its own minimum at 5: beyond the other fold's length
    b = np.array([0.5, 0.125, 0.25, 0.5])
    assert rounds_by_mean_loss([a, b]) == 2  # means 0.5, 0.25, 0.25, 0.4375: the first minimum
    assert rounds_by_mean_loss([a]) == 5
    with pytest.raises(ValueError, match=r"^every fold needs a log-loss curve of at least one round$"):
        rounds_by_mean_loss([])
    with pytest.raises(ValueError, match="at least one round"):
        rounds_by_mean_loss([a, np.array([])])


def test_the_refit_rounds_grow_with_the_rows_and_never_shrink():
    assert refit_rounds(100, 5_000, 10_000) == 200
    assert refit_rounds(100, 10_000, 10_000) == 100
    assert refit_rounds(100, 20_000, 10_000) == 100
    assert refit_rounds(1, 3, 4) == 1
    assert refit_rounds(5, 1, 3) == 15  # a single fitted row is still a valid mean
    with pytest.raises(ValueError, match=r"^mean_fit_rows must be positive$"):
        refit_rounds(100, 0, 10)


def test_taking_rows_keeps_the_feature_columns_and_renumbers_them():
    data = folded().data
    taken = data.take(np.array([5, 2, 9]))
    assert list(taken.features.columns) == list(data.features.columns)
    assert taken.features.index.tolist() == [0, 1, 2]
    assert taken.labels.tolist() == data.labels[[5, 2, 9]].tolist()
    assert taken.amounts.tolist() == data.amounts[[5, 2, 9]].tolist()


@pytest.mark.parametrize(
    ("positions", "shared"),
    [
        ([3, 4, 5, 6], True),  # a fold's fitted rows or evaluation block
        ([0], True),
        ([3, 5, 4, 6], False),  # the ends one run apart, the middle not in order
        ([6, 5, 4, 3], False),
        ([2, 3, 7], False),
        ([], False),
    ],
)
def test_a_run_of_consecutive_rows_is_shared_and_any_other_selection_copied(positions, shared):
    """Each fold copied up to 80% of the features and held the copy through its whole fit."""
    data = folded().data
    taken = data.take(np.array(positions, dtype=np.int64))
    expected = data.features.to_numpy()[positions]
    np.testing.assert_array_equal(taken.features.to_numpy(), expected)
    assert taken.labels.tolist() == data.labels[positions].tolist()
    assert taken.amounts.tolist() == data.amounts[positions].tolist()
    assert taken.features.index.tolist() == list(range(len(positions)))
    assert np.shares_memory(taken.features.to_numpy(), data.features.to_numpy()) is shared
    # one contiguous block of rows: what LightGBM reads without copying it (a column-major frame's run of
    # rows is strided, and LightGBM copied it to bin it)
    assert taken.features.to_numpy().flags.c_contiguous


def test_training_reports_each_fold_and_the_refit_as_it_goes(capsys):
    """A scale probe: 17 minutes of `train` on 2.85M rows with nothing shown between its start and end."""
    from rich.console import Console

    from fraud_detection.entrypoints.cli.progress import ConsoleProgress

    messages: list[str] = []
    data = folded()
    TrainModel(FakeTrainer(), TrainingParams(), review_cost=5.0)(data, messages.append)
    folds = [f"fold {n}/3, fitting on {len(fold.fit):,} rows" for n, fold in enumerate(data.folds.folds, 1)]
    assert [m.split(" (")[0] for m in messages[:-1]] == [
        *(f"none: {fold}" for fold in folds),
        *(f"sqrt_balanced: {fold}" for fold in folds),
    ]
    assert messages[-1].startswith(f"refit on {len(data.data):,} rows, ")
    assert all(m.endswith(" s in)") for m in messages)
    # Piped (CI, a task's log), where a spinner shows nothing: one line each.
    progress = ConsoleProgress(Console(stderr=True, force_terminal=False))
    progress.stage_started("train")
    progress.stage_progress("train", messages[0])
    assert capsys.readouterr().err == f"  train     {messages[0]}\n"


def test_a_long_fit_reports_its_round_every_report_interval():
    """A fold's fit on 2.85M rows ran for minutes between two lines; quick fits add none."""
    ticks = iter(range(1_000_000))  # the clock: a second later at each look
    messages: list[str] = []
    trainer = FakeTrainer(best_round=10)  # 39 rounds a fold
    train = TrainModel(trainer, TrainingParams(), review_cost=5.0, clock=lambda: float(next(ticks)))
    train(folded(), messages.append)
    rounds = [m.split(" (")[0] for m in messages if ": round " in m]
    most = TrainingParams().max_rounds
    assert rounds[:2] == [
        f"none: fold 1/3: round 15 of at most {most}",
        f"none: fold 1/3: round 30 of at most {most}",
    ]
    refit_rounds = trainer.refits[0][2]
    assert f"refit: round 15/{refit_rounds}" in rounds
    assert all(m.endswith(" s in)") for m in messages)
    quiet: list[str] = []
    TrainModel(FakeTrainer(), TrainingParams(), review_cost=5.0)(folded(), quiet.append)
    assert not [m for m in quiet if ": round " in m]  # on the real clock the fake's fits take no time
