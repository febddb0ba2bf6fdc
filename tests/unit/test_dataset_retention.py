"""Pruning stored datasets: every retrain stored its whole training set and nothing removed any. What the
pipeline still needs (aliased versions' data, the newest versions' and rollback targets', young datasets)
stays; the rest goes, with a note in its place."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fraud_detection.application.champion import set_champion
from fraud_detection.application.dataset_retention import DatasetRetention
from fraud_detection.domain.dataset import DatasetId, DatasetRef
from fraud_detection.domain.dataset_retention import RetentionPolicy, plan_retention
from fraud_detection.domain.errors import RetentionRefusedError
from fraud_detection.domain.model import CHALLENGER, ModelMetadata
from tests.fakes import FakeDatasetStore, FakePublisher, FakeRegistry

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=30)


def dataset(name: str, created: datetime = OLD, rows: int = 1000) -> DatasetRef:
    return DatasetRef(DatasetId(name * 64), f"memory://{name}", rows, 5, "test", created.isoformat())


def trained_on(registry: FakeRegistry, name: str) -> int:
    metadata = ModelMetadata("fe-1", 0.5, name * 64)
    return registry.register(f"models:/{name}", "run", metadata).version


@pytest.fixture
def world() -> tuple[FakeRegistry, FakeDatasetStore]:
    """Datasets a..g; v1 on a, v2 on b, ..., v6 on f; g never trained on. Champion moves 1 -> 2 -> 4, the
    challenger is v6."""
    registry, store = FakeRegistry(), FakeDatasetStore()
    for name in "abcdefg":
        store.refs[name * 64] = dataset(name)
    for name in "abcdef":
        trained_on(registry, name)
    for version in (1, 2, 4):
        set_champion(registry, FakePublisher(), version, "test")
    registry.set_alias(CHALLENGER, 6)
    return registry, store


def plan_of(world, policy: RetentionPolicy):
    registry, store = world
    return DatasetRetention(store, registry, clock=lambda: NOW).plan(policy)


def kept(plan) -> dict[str, str]:
    return {item.dataset.id.value[0]: item.reason for item in plan.kept}


def test_what_serving_retraining_and_rollback_need_stays(world):
    plan = plan_of(world, RetentionPolicy(keep_versions=1))
    assert kept(plan) == {
        "d": "v4 holds champion",  # the next retrain's base and the gate's "rows it was fit on"
        "f": "v6 holds challenger",  # also the newest version
        # what `fraud model rollback` puts back (the history holds the champion itself last: a review
        # found the target pruned with --keep-versions 1)
        "b": "v2 is among the 1 newest rollback targets",
    }
    assert {item.dataset.id.value[0]: item.versions for item in plan.removable} == {
        "a": (1,),
        "c": (3,),
        "e": (5,),
        "g": (),  # ingested, never trained on
    }
    assert plan.removable_rows == 4000


def test_more_versions_kept_keep_the_newest_versions_and_rollback_targets(world):
    plan = plan_of(world, RetentionPolicy(keep_versions=2))
    assert kept(plan) == {
        "d": "v4 holds champion",
        "f": "v6 holds challenger",
        "b": "v2 is among the 2 newest rollback targets",  # `fraud model rollback` puts v2 back
        "a": "v1 is among the 2 newest rollback targets",  # then v1
        "e": "v5 is among the 2 newest versions",
    }


def test_a_dataset_younger_than_the_minimum_age_stays_and_zero_keeps_only_what_is_in_use(world):
    _, store = world
    store.refs["g" * 64] = dataset("g", NOW - timedelta(hours=2))  # a run stored it and is still training
    plan = plan_of(world, RetentionPolicy(keep_versions=0, min_age=timedelta(hours=24)))
    assert kept(plan) == {
        "d": "v4 holds champion",
        "f": "v6 holds challenger",
        "g": "stored less than 24 h ago (a run may be training on it)",
    }
    assert "g" not in kept(plan_of(world, RetentionPolicy(keep_versions=0, min_age=timedelta(hours=1))))


def test_a_dataset_whose_creation_time_is_unreadable_stays(world):
    registry, _ = world
    odd = DatasetRef(DatasetId("z" * 64), "memory://z", 10, 1, "test", "yesterday")
    plan = plan_retention([odd], registry.list_versions(), [], RetentionPolicy(), NOW)
    assert [item.reason for item in plan.kept] == ["its creation time is unreadable ('yesterday')"]


def test_rows_saved_again_count_from_their_latest_save(world):
    """Saving rows stored before keeps their first record: `fraud pipeline run` on last month's file had
    no protection from its minimum age while it trained (a review found it)."""
    _, store = world
    store.refs["g" * 64] = replace(dataset("g"), saved_at=(NOW - timedelta(hours=1)).isoformat())
    assert kept(plan_of(world, RetentionPolicy(keep_versions=0)))["g"] == (
        "stored less than 24 h ago (a run may be training on it)"
    )


def test_without_a_champion_or_with_unreadable_metadata_nothing_is_removed(world):
    """A wrong model name or tracking store lists no version: every dataset looked unused, the champion's
    too (a review found it)."""
    registry, store = world
    with pytest.raises(RetentionRefusedError, match="no champion among the 0 registered versions"):
        DatasetRetention(store, FakeRegistry(), clock=lambda: NOW).plan(RetentionPolicy())
    registry.versions[6] = replace(registry.versions[6], metadata=None)
    with pytest.raises(RetentionRefusedError, match="v6 holds challenger, but its metadata cannot be read"):
        plan_of(world, RetentionPolicy())


def test_a_bad_policy_is_refused():
    with pytest.raises(ValueError, match="keep_versions"):
        RetentionPolicy(keep_versions=-1)
    with pytest.raises(ValueError, match="min_age"):
        RetentionPolicy(min_age=timedelta(hours=-1))


def test_prune_removes_what_was_shown_leaving_a_note_and_spares_what_became_needed_since(world):
    registry, store = world
    retention = DatasetRetention(store, registry, clock=lambda: NOW)
    policy = RetentionPolicy(keep_versions=1)
    shown = retention.plan(policy)
    set_champion(registry, FakePublisher(), 3, "promoted while the operator read the plan")
    assert retention.prune(shown, policy) == 3  # a, e, g: c is the champion's now
    assert sorted(ref.id.value[0] for ref in store.list()) == ["b", "c", "d", "f"]
    assert store.removed["a" * 64].startswith("pruned at 2026-12-06T12:00:00+00:00 by ")
    assert store.removed["a" * 64].endswith("; trained v1")
    assert store.removed["g" * 64].endswith("; trained no registered version")
