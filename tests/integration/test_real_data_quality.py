"""Model quality on the real rows: the pipeline's training must match or beat a plain LGBMClassifier."""

import lightgbm as lgb
import pytest

from fraud_detection.application.evaluate import EvaluateModel
from fraud_detection.application.train import FeatureSplit, TrainModel
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.schema import check_transactions
from fraud_detection.domain.split import SplitPolicy, time_ordered_split
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.lightgbm import LightGBMTrainer
from fraud_detection.infrastructure.sources import FileTransactionSource

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_pipeline_training_beats_a_plain_classifier_on_the_same_split(real_sample_path):
    frame = check_transactions(FileTransactionSource().read(str(real_sample_path)), "real")
    data = FeatureSplit.of(time_ordered_split(frame, SplitPolicy()))

    result = TrainModel(LightGBMTrainer(), TrainingParams(), review_cost=5.0)(data)
    ours = EvaluateModel(review_cost=5.0, top_k=100)(result.model, data.test, result.threshold.threshold)

    plain = lgb.LGBMClassifier(verbose=-1).fit(data.train.features, data.train.labels)
    baseline = average_precision(data.test.labels, plain.predict_proba(data.test.features)[:, 1])

    print(f"real rows, test AUPRC: pipeline {ours.metrics.auprc:.4f}, plain LGBMClassifier {baseline:.4f}")
    assert data.test.frauds >= 30  # enough frauds for the comparison to mean something
    assert ours.metrics.auprc >= baseline
