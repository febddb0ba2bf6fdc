"""The `promote` stage is retried on an outage (Prefect's task retries, `retried=True`). When the first try
moved the champion alias and the registry failed after it, the retry used to compare the challenger with
itself: it recorded "no champion yet", lost the comparison and published a promotion from no one."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from fraud_detection.application.champion import CHAMPION_HISTORY_TAG
from fraud_detection.application.pipeline_stages import STAGES
from fraud_detection.domain.champion_history import ChampionHistory
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHALLENGER, CHAMPION
from tests.unit.conftest import World


@contextmanager
def first_try_failed_after_the_alias_moved(world: World, monkeypatch) -> Iterator[Callable[[], object]]:
    """A retrain whose challenger (v2) beats the champion (v1): its promote stage moves the alias, then the
    registry fails; yields the retry."""
    world.run_pipeline()
    world.registry.models[1].weight = -1.0  # the champion ranks frauds last: the challenger is better
    pipeline = world.pipeline()
    with pipeline.session(pipeline.ingest("more.csv")) as session:
        for stage in STAGES[:-1]:
            stage.run(session, False)
        remove_alias, failures = world.registry.remove_alias, [ServiceUnavailableError("registry blip")]

        def fails_once(alias: str) -> None:
            if failures:
                raise failures.pop()
            remove_alias(alias)

        monkeypatch.setattr(world.registry, "remove_alias", fails_once)
        with pytest.raises(ServiceUnavailableError):
            session.promote()  # the alias moved, then the registry failed
        assert world.registry.get_by_alias(CHAMPION).version == 2
        yield session.promote


def test_a_retried_promotion_records_the_comparison_of_its_first_try(monkeypatch):
    world = World()
    with first_try_failed_after_the_alias_moved(world, monkeypatch) as retry:
        first = world.registry.get(2).tags["promotion_reason"]
        decision = retry()
    assert first.startswith("challenger better: ")
    assert decision.reason == first
    assert decision.champion_score is not None
    assert decision.rows > 0
    assert world.registry.get(2).tags["promotion_reason"] == first
    assert world.registry.get_by_alias(CHAMPION).version == 2
    assert world.registry.get_by_alias(CHALLENGER) is None
    promoted = [event for event in world.publisher.events if isinstance(event, ModelPromoted)]
    assert [(event.version, event.previous_version) for event in promoted[1:]] == [(2, 1), (2, 1)]
    history = ChampionHistory.parse(world.registry.get_model_tag(CHAMPION_HISTORY_TAG))
    assert history.versions == (1, 2)  # written once


def test_a_retry_that_keeps_the_champion_puts_back_the_alias_the_first_try_moved(monkeypatch):
    """Between the tries the champion's training data left the store, so the retry keeps it: before, the
    challenger went on serving under a recorded "keep"."""
    world = World()
    with first_try_failed_after_the_alias_moved(world, monkeypatch) as retry:
        del world.datasets.refs[world.registry.get(1).metadata.dataset_id]
        decision = retry()
    assert not decision.promote
    assert world.registry.get(2).tags["promotion_decision"] == "keep"
    assert world.registry.get_by_alias(CHAMPION).version == 1
    history = ChampionHistory.parse(world.registry.get_model_tag(CHAMPION_HISTORY_TAG))
    assert history.versions == (1,)
    last = [event for event in world.publisher.events if isinstance(event, ModelPromoted)][-1]
    assert (last.version, last.previous_version) == (1, 2)
    assert "undone" in last.reason
