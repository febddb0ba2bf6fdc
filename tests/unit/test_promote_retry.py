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
        assert "promotion_decision" not in world.registry.get(2).tags  # written once the alias is done
        decision = retry()
    assert decision.reason.startswith("challenger better: ")
    assert decision.champion_score is not None
    assert decision.rows > 0
    assert world.registry.get(2).tags["promotion_reason"] == decision.reason
    assert world.registry.get(2).tags["promotion_decision"] == "promote"
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


class Killed(BaseException):
    """The process stopping (SIGKILL) right there: nothing after it runs."""


def test_a_promotion_stopped_before_its_alias_moved_records_no_decision(monkeypatch):
    """A crash probe: a retrain killed inside the gate left v5 tagged `promote` with v1 still champion, and
    every later retrain stopped as "already trained on (gate: promote)", so the promotion never happened.
    The decision is now written after the alias: a version tagged `promote` is champion (or was)."""
    world = World()
    world.run_pipeline()
    world.registry.models[1].weight = -1.0
    pipeline = world.pipeline()
    with pipeline.session(pipeline.ingest("more.csv")) as session:
        for stage in STAGES[:-1]:
            stage.run(session, False)
        set_alias = world.registry.set_alias

        def killed(alias: str, version: int) -> None:
            if alias == CHAMPION:
                raise Killed
            set_alias(alias, version)

        monkeypatch.setattr(world.registry, "set_alias", killed)
        with pytest.raises(Killed):
            session.promote()
    assert world.registry.get_by_alias(CHAMPION).version == 1
    tags = world.registry.get(2).tags
    assert "promotion_decision" not in tags
    assert "promotion_reason" not in tags


def test_a_champion_moved_while_the_gate_ran_is_kept(monkeypatch):
    """A concurrency probe: `fraud model promote 4` while a retrain's gate ran; the gate, which had compared
    its challenger with v6, then replaced v4, and the operator's move was gone."""
    from fraud_detection.application.promote import PromoteChallenger
    from fraud_detection.domain.model import ModelMetadata

    world = World()
    world.run_pipeline()
    world.registry.models[1].weight = -1.0  # the challenger is better than v1
    operator = world.registry.register("models:/x", "run", ModelMetadata("fe-1", 0.5, "d")).version
    decide = PromoteChallenger.decide

    def operator_promotes_meanwhile(self, *args, **kwargs):
        decided = decide(self, *args, **kwargs)
        world.registry.set_alias(CHAMPION, operator)
        return decided

    monkeypatch.setattr(PromoteChallenger, "decide", operator_promotes_meanwhile)
    pipeline = world.pipeline()
    with pipeline.session(pipeline.ingest("more.csv")) as session:
        for stage in STAGES[:-1]:
            stage.run(session, False)
        decision = session.promote()
    assert not decision.promote
    assert f"the champion moved from v1 to v{operator} while the gate ran" in decision.reason
    assert world.registry.get_by_alias(CHAMPION).version == operator
    challenger = world.registry.get(operator + 1)
    assert challenger.tags["promotion_decision"] == "keep"
