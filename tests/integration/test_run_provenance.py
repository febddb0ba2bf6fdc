"""Each training run records its code, who ran it where, and the training settings in effect (found by a
lineage audit: a run carried no commit, no user and none of the settings that move the threshold)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient

from fraud_detection.composition.adapters import make_tracker
from fraud_detection.domain.run_provenance import CODE_VERSION_TAG, COMMIT_TAG, HOST_TAG, USER_TAG
from fraud_detection.infrastructure.mlflow.provenance import checkout_commit
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration


def test_a_run_records_the_commit_the_user_and_the_training_settings(tmp_path):
    settings = Settings(home=tmp_path, review_cost=50.0, split_gap_seconds=3600, code_commit="abc1234")
    tracker = make_tracker(settings)
    with tracker.start_run("train-x", {"dataset_id": "d1"}) as run:
        run.log_params({"seed": 7})  # the trainer's own params stay apart from the settings'
    recorded = MlflowClient(settings.resolved_tracking_uri).get_run(run.run_id).data
    assert recorded.tags[COMMIT_TAG] == "abc1234"
    assert recorded.tags["dataset_id"] == "d1"
    assert recorded.tags[CODE_VERSION_TAG] not in ("", "unknown")
    assert recorded.tags[USER_TAG]
    assert recorded.tags[HOST_TAG]
    assert recorded.params["setting.review_cost"] == "50.0"
    assert recorded.params["setting.split_gap_seconds"] == "3600.0"
    assert recorded.params["setting.promotion_metric"] == settings.promotion_metric
    assert recorded.params["seed"] == "7"
    record = tracker.run_record(run.run_id)  # what `fraud model show` reads back
    assert record is not None
    assert (record.status, record.tags[COMMIT_TAG], record.params["setting.review_cost"]) == (
        "FINISHED",
        "abc1234",
        "50.0",
    )
    assert record.started <= record.ended
    assert record.location == run.location
    assert tracker.run_record("0" * 32) is None  # another store's, or garbage-collected
    MlflowClient(settings.resolved_tracking_uri).delete_run(run.run_id)
    deleted = tracker.run_record(run.run_id)
    assert deleted is not None
    assert deleted.status == "FINISHED (deleted)"  # readable until garbage-collected: not shown as live


def test_a_bad_commit_setting_is_refused():
    with pytest.raises(ValueError, match="code_commit"):
        Settings(code_commit="main; rm -rf /")


def test_the_commit_of_a_checkout_and_whether_it_has_changes(tmp_path):
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    assert checkout_commit(source) is None  # not a checkout (an installed package, the image)
    git("init", "-q")
    assert checkout_commit(source) is None  # inside a repository that does not track it (a venv in one)
    git("add", "a.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    head = git("rev-parse", "HEAD")
    assert checkout_commit(source) == head
    source.write_text("x = 2\n")
    assert checkout_commit(source) == f"{head}+dirty"  # not the code of that commit
    assert checkout_commit(Path("/nonexistent/a.py")) is None
