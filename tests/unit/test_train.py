from fraud_detection.application.train import FeatureSplit, TrainModel
from fraud_detection.domain.split import SplitPolicy, time_ordered_split
from fraud_detection.domain.training import TrainingParams
from tests.builders import transactions
from tests.fakes import FakeTrainer


def feature_split():
    return FeatureSplit.of(time_ordered_split(transactions(4_000, 0.03), SplitPolicy()))


def test_the_strategy_with_the_best_validation_auprc_wins():
    data = feature_split()
    ratio = (len(data.train) - data.train.frauds) / data.train.frauds
    # the weighted model ranks by -V14 (good), the unweighted one by +V14 (bad)
    trainer = FakeTrainer({1.0: -1.0, ratio**0.5: 1.0})
    result = TrainModel(trainer, TrainingParams(), review_cost=5.0)(data)
    assert [p.scale_pos_weight for p in trainer.calls] == [1.0, ratio**0.5]
    assert result.chosen.strategy == "sqrt_balanced"
    assert result.params.scale_pos_weight == ratio**0.5
    assert result.chosen.valid_auprc > result.candidates[0].valid_auprc


def test_ties_keep_the_unweighted_model_and_a_threshold_is_chosen():
    result = TrainModel(FakeTrainer(), TrainingParams(), review_cost=5.0)(feature_split())
    assert result.chosen.strategy == "none"
    assert 0.0 < result.threshold.threshold < 1.0
    assert result.threshold.alerts > 0
