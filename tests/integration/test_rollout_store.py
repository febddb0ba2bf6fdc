"""The rollout state in a real SQLite MLflow registry: the tag round trip, the challenger alias while
active, the tag kept within the SQL column's 5,000 characters, and a store that cannot be reached."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from fraud_detection.domain.errors import RolloutConflictError, ServiceUnavailableError
from fraud_detection.domain.model import CHALLENGER
from fraud_detection.domain.rollout import HISTORY_KEPT, Rollout, Stage
from fraud_detection.infrastructure.mlflow.rollout_store import (
    ROLLOUT_TAG,
    TAG_VALUE_LIMIT,
    MlflowRolloutStore,
    fitted,
)
from tests.fixtures.mlflow_server import MlflowBackend

pytestmark = pytest.mark.integration


@pytest.fixture
def registered(mlflow_sqlite_store: MlflowBackend, tmp_path: Path) -> tuple[MlflowClient, str]:
    """A fresh model name with versions 1..3 (their artifacts are never read here)."""
    client = MlflowClient(mlflow_sqlite_store.tracking_uri, mlflow_sqlite_store.tracking_uri)
    name = f"rollout-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, source=tmp_path.as_uri())
    return client, name


def big_evidence(seed: int) -> dict[str, object]:
    return {f"figure_{seed}_{i}": i / 7 for i in range(60)}


def test_no_rollout_yet_and_no_model_at_all_read_as_none(registered, mlflow_sqlite_store) -> None:
    client, name = registered
    assert MlflowRolloutStore(client, name).load() is None
    assert MlflowRolloutStore(mlflow_sqlite_store.tracking_uri, f"{name}-missing").load() is None


def test_the_state_round_trips_and_the_alias_follows_the_active_challenger(registered) -> None:
    client, name = registered
    store = MlflowRolloutStore(client, name)
    rollout = Rollout.start(name, 2, 1, 1_000.0, shadow_only=True)

    store.save(rollout, replacing=None)
    assert store.load() == rollout
    assert str(client.get_registered_model(name).aliases[CHALLENGER]) == "2"

    canary = rollout.moved(Stage.CANARY, 10.0, "to canary", 2_000.0, {"paired_rows": 12_000})
    store.save(canary, replacing=rollout)
    assert store.load() == canary

    store.save(canary.moved(Stage.ROLLED_BACK, 0.0, "alert storm", 3_000.0), replacing=canary)
    assert CHALLENGER not in client.get_registered_model(name).aliases
    loaded = store.load()
    assert loaded is not None
    assert (loaded.stage, loaded.history[-1].reason) == (Stage.ROLLED_BACK, "alert storm")


def test_finishing_leaves_a_challenger_alias_moved_to_another_version(registered) -> None:
    client, name = registered
    store = MlflowRolloutStore(client, name)
    rollout = Rollout.start(name, 2, 1, 1_000.0)
    store.save(rollout, replacing=None)
    client.set_registered_model_alias(name, CHALLENGER, "3")  # a new training registered v3 meanwhile
    store.save(rollout.moved(Stage.ROLLED_BACK, 0.0, "stop", 2_000.0), replacing=rollout)
    assert str(client.get_registered_model(name).aliases[CHALLENGER]) == "3"


def test_a_long_history_with_evidence_is_kept_within_the_column(registered) -> None:
    client, name = registered
    store = MlflowRolloutStore(client, name)
    rollout = Rollout.start(name, 2, 1, 0.0)
    for step in range(HISTORY_KEPT + 5):
        to = Stage.CANARY if step % 2 else Stage.SHADOW
        rollout = rollout.moved(to, 10.0, "x" * 400 + f" step {step}", float(step + 1), big_evidence(step))
        rollout = Rollout.from_dict(rollout.to_dict() | {"stage": "shadow"})  # stays active

    assert len(json.dumps(rollout.to_dict())) > TAG_VALUE_LIMIT  # it would not fit as is
    store.save(rollout, replacing=None)

    stored = client.get_registered_model(name).tags[ROLLOUT_TAG]
    assert len(stored) <= TAG_VALUE_LIMIT
    loaded = store.load()
    assert loaded is not None
    assert loaded.history[-1] == rollout.history[-1]  # the latest transition whole, evidence and all
    assert loaded.history[0].evidence == {}  # older ones lost their figures first
    assert (loaded.challenger, loaded.stage_since) == (rollout.challenger, rollout.stage_since)


def test_a_write_decided_on_a_state_that_moved_since_is_refused_and_writes_nothing(registered) -> None:
    """An evaluation read shadow and decided to advance; meanwhile an operator (another store: another
    process) rolled back. The advance must not undo the roll-back, nor bring the challenger alias back."""
    client, name = registered
    evaluator, operator = MlflowRolloutStore(client, name), MlflowRolloutStore(client, name)
    read = Rollout.start(name, 2, 1, 1_000.0)
    evaluator.save(read, replacing=None)
    rolled_back = read.moved(Stage.ROLLED_BACK, 0.0, "alert: error rate", 2_000.0)
    operator.save(rolled_back, replacing=operator.load())

    with pytest.raises(RolloutConflictError, match=r"it is now v2 in rolled_back; nothing was written"):
        evaluator.save(read.moved(Stage.CANARY, 10.0, "evidence in", 2_001.0), replacing=read)
    assert evaluator.load() == rolled_back
    assert CHALLENGER not in client.get_registered_model(name).aliases
    with pytest.raises(RolloutConflictError, match="it is now v2 in rolled_back"):  # a second start
        evaluator.save(Rollout.start(name, 3, 1, 3_000.0), replacing=None)


def test_a_compacted_history_still_reads_as_the_state_it_was_saved_as(registered) -> None:
    """The revision ignores the history, which the tag may shorten: the next write is not a conflict."""
    client, name = registered
    store = MlflowRolloutStore(client, name)
    rollout = Rollout.start(name, 2, 1, 0.0)
    for step in range(HISTORY_KEPT + 5):
        rollout = rollout.moved(Stage.CANARY, 10.0, "x" * 400, float(step + 1), big_evidence(step))
    store.save(rollout, replacing=None)
    assert store.load() != rollout  # compacted
    store.save(rollout.moved(Stage.CHAMPION, 0.0, "done", 99.0), replacing=rollout)


def test_fitted_drops_the_oldest_transitions_when_compacting_is_not_enough() -> None:
    rollout = Rollout.start("m", 2, 1, 0.0)
    for step in range(HISTORY_KEPT):
        rollout = Rollout.from_dict(
            rollout.moved(Stage.CANARY, 10.0, f"step {step}", float(step + 1)).to_dict() | {"stage": "canary"}
        )
    value = fitted(rollout, limit=1_200)
    kept = Rollout.from_dict(json.loads(value))
    assert len(value) <= 1_200
    assert 1 <= len(kept.history) < len(rollout.history)
    assert kept.history[-1] == rollout.history[-1]


def test_a_store_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the database's folder should be")
    store = MlflowRolloutStore(f"sqlite:///{blocked}/mlflow.db", "fraud-lgbm")
    with pytest.raises(ServiceUnavailableError, match="unavailable"):
        store.load()
