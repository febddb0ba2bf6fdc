"""`fraud model show`: one version's whole record, from the registry, its run and the dataset store."""

import json

import pandas as pd

from fraud_detection.application.champion import set_champion
from fraud_detection.application.version_lineage import DescribeVersion
from fraud_detection.domain.model import REGISTRATION_FAILED_TAG, ModelMetadata
from fraud_detection.domain.run_provenance import COMMIT_TAG, RETRAIN_REASON_TAG, USER_TAG
from fraud_detection.domain.training_config import TRAINING_CONFIG_TAG
from tests.builders import transactions
from tests.fakes import FakeDatasetStore, FakePublisher, FakeRegistry, FakeTracker


def world() -> tuple[FakeRegistry, FakeTracker, FakeDatasetStore, str]:
    registry, tracker, datasets = FakeRegistry(), FakeTracker(), FakeDatasetStore()
    ref = datasets.save(transactions(200, fraud_rate=0.05), "retrain:abc+20-labelled")
    with tracker.start_run("retrain", {RETRAIN_REASON_TAG: "DriftDetected: amount shift"}) as run:
        run.set_tags({COMMIT_TAG: "1d29f2e", USER_TAG: "ops"})
        run.log_params({"setting.review_cost": 5.0, "seed": 42})
    metadata = ModelMetadata("fe-1", 0.25, ref.id.value, {"auprc": 0.88})
    version = registry.register("models:/m", run.run_id, metadata).version
    registry.set_tag(version, TRAINING_CONFIG_TAG, json.dumps({"review_cost": 5.0}))
    registry.set_tag(version, "promotion_decision", "promote")
    registry.set_tag(version, "promotion_reason", "auprc 0.88 > 0.85 on 2,000 new rows")
    set_champion(registry, FakePublisher(), version, "the gate")
    return registry, tracker, datasets, ref.id.value


def test_a_version_is_shown_with_its_data_configuration_run_gate_and_moves():
    registry, tracker, datasets, dataset_id = world()
    document = DescribeVersion(registry, tracker, datasets)(1).as_dict()
    assert document["dataset"] == {
        "id": dataset_id,
        "state": "stored",
        "rows": 200,
        "frauds": 10,
        "source": "retrain:abc+20-labelled",
    }
    assert document["training_config"] == {"review_cost": 5.0}
    assert document["settings"] == {"review_cost": "5.0"}  # the run's `setting.*` params, not its others
    assert document["provenance"] == {
        "commit": "1d29f2e",
        "user": "ops",
        "retrain_reason": "DriftDetected: amount shift",
    }
    assert document["gate"] == {"decision": "promote", "reason": "auprc 0.88 > 0.85 on 2,000 new rows"}
    assert [move["reason"] for move in document["champion_moves"]] == ["the gate"]
    assert document["run"]["status"] == "FINISHED"
    assert document["registration_failed"] is None
    json.dumps(document)  # --json prints it


def test_what_is_gone_or_failed_says_so():
    registry, tracker, datasets, dataset_id = world()
    from fraud_detection.domain.dataset import DatasetId

    datasets.remove(DatasetId(dataset_id), "pruned at 2026-12-06 by ops")
    registry.set_tag(1, REGISTRATION_FAILED_TAG, "challenger alias not set: registry down")
    registry.set_tag(1, TRAINING_CONFIG_TAG, "{edited by hand")
    tracker.runs.clear()  # the run deleted from the tracking store
    lineage = DescribeVersion(registry, tracker, datasets)(1)
    document = lineage.as_dict()
    assert document["dataset"] == {
        "id": dataset_id,
        "state": f"dataset {dataset_id} was removed (pruned at 2026-12-06 by ops)",
    }
    assert document["registration_failed"] == "challenger alias not set: registry down"
    assert document["training_config"] is None
    assert document["run"] is None
    assert document["provenance"] == {}
    assert isinstance(pd.Timestamp(document["created_at"]), pd.Timestamp)


def test_a_store_that_cannot_answer_leaves_the_rest_of_the_record(monkeypatch):
    """The dataset store down (S3) or a corrupt manifest aborted the whole command (a review found it)."""
    from fraud_detection.domain.errors import ServiceUnavailableError

    registry, tracker, datasets, _ = world()

    def down(dataset_id):
        raise ServiceUnavailableError("s3 unreachable")

    monkeypatch.setattr(datasets, "get", down)
    document = DescribeVersion(registry, tracker, datasets)(1).as_dict()
    assert document["dataset"]["state"] == "unknown: s3 unreachable"
    assert document["gate"]["decision"] == "promote"
