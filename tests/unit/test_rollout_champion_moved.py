"""A champion alias moved outside the rollout (MLflow's UI, or a promotion that raced the rollout's start):
the evaluation rolls the rollout back instead of judging the challenger against a model that no longer
serves, and no step makes the challenger replace a champion it was not judged against."""

from __future__ import annotations

import pytest

from fraud_detection.application.champion import CHAMPION_HISTORY_TAG
from fraud_detection.domain.champion_history import ChampionHistory
from fraud_detection.domain.errors import RolloutConflictError, RolloutRefusedError
from fraud_detection.domain.events import ModelPromoted, RolloutTransitioned
from fraud_detection.domain.model import CHAMPION
from fraud_detection.domain.rollout import Action, Stage
from tests.unit.test_rollout_control import HOUR, T0, World

MOVED = (
    "the champion alias moved outside the rollout, from v1 to v3: v2 was judged against a model that no "
    "longer serves (start a rollout against v3 to judge it again)"
)


@pytest.fixture
def world() -> World:
    return World()


def test_the_evaluation_rolls_back_a_rollout_whose_champion_moved(world: World) -> None:
    world.start()
    world.registry.set_alias(CHAMPION, 3)

    shown = world.evaluate(apply=False)
    assert (shown.verdict.action, shown.verdict.reason, shown.applied) == (Action.ROLL_BACK, MOVED, False)
    assert world.store.load().stage is Stage.SHADOW  # status applies nothing

    decision = world.evaluate()
    assert decision.applied
    assert decision.rollout.stage is Stage.ROLLED_BACK
    assert decision.rollout.history[-1].reason == MOVED
    assert world.registry.aliases[CHAMPION] == 3  # the newer champion stays
    assert [e.to_stage for e in world.publisher.events if isinstance(e, RolloutTransitioned)][
        -1
    ] == "rolled_back"


def test_an_unmoved_champion_is_judged_by_the_policy_as_before(world: World) -> None:
    world.start()
    decision = world.evaluate()
    assert decision.verdict.action is Action.HOLD
    assert decision.verdict.checks  # judged on the evidence


def test_advancing_to_champion_refuses_to_replace_a_champion_it_was_not_judged_against(world: World) -> None:
    world.start()
    world.advance(T0 + HOUR)  # canary 10%
    world.advance(T0 + 2 * HOUR)  # canary 50%
    world.registry.set_alias(CHAMPION, 3)
    with pytest.raises(RolloutRefusedError, match="from v1 to v3: v2 does not replace a champion it was not"):
        world.advance(T0 + 3 * HOUR)
    assert world.registry.aliases[CHAMPION] == 3
    assert world.store.load().stage is Stage.CANARY
    assert not [e for e in world.publisher.events if isinstance(e, ModelPromoted)]


def test_an_abort_landing_while_the_challenger_is_promoted_puts_the_champion_back(world: World) -> None:
    """The last step moves the alias, then saves its state; an abort saved in between made that save fail.
    Before, the aborted challenger stayed champion while the rollout read rolled back."""
    world.start()
    world.advance(T0 + HOUR)  # canary 10%
    world.advance(T0 + 2 * HOUR)  # canary 50%
    save = world.store.save

    def abort_first(rollout, replacing):
        if rollout.stage is Stage.CHAMPION:
            world.store.save = save  # the abort's own writes go through
            world.abort("alert: error rate", now=T0 + 3 * HOUR)
        return save(rollout, replacing=replacing)

    world.store.save = abort_first
    with pytest.raises(RolloutConflictError, match="rolled_back"):
        world.advance(T0 + 3 * HOUR)
    assert world.store.load().stage is Stage.ROLLED_BACK
    assert world.registry.aliases[CHAMPION] == 1
    history = ChampionHistory.parse(world.registry.get_model_tag(CHAMPION_HISTORY_TAG))
    assert history.versions[-1] == 1  # a later `fraud model rollback` does not go to the aborted v2
    promoted = [
        (e.version, e.previous_version) for e in world.publisher.events if isinstance(e, ModelPromoted)
    ]
    assert promoted == [(2, 1), (1, 2)]


def test_the_same_promotion_saved_by_another_evaluator_is_left_in_place(world: World) -> None:
    world.start()
    world.advance(T0 + HOUR)
    world.advance(T0 + 2 * HOUR)
    stale, load, save = world.store.load(), world.store.load, world.store.save
    world.advance(T0 + 3 * HOUR)  # another evaluator's step promoted v2 first
    world.store.load = lambda: stale  # this one read the state before that step, until its own save

    def save_as_stored(rollout, replacing):
        world.store.load = load
        return save(rollout, replacing=replacing)

    world.store.save = save_as_stored
    with pytest.raises(RolloutConflictError):
        world.advance(T0 + 3 * HOUR)
    assert world.registry.aliases[CHAMPION] == 2


class Killed(BaseException):
    """The process stopping (SIGKILL) right there: nothing after it runs."""


def test_an_abort_after_a_last_step_stopped_past_its_alias_move_puts_the_champion_back(world: World) -> None:
    """A crash probe: `fraud rollout advance` to champion killed once the alias named v2 (its state still
    canary); `fraud rollout abort` then printed '(champion v1 kept)' and left v2 serving everything."""
    world.start()
    world.advance(T0 + HOUR)
    world.advance(T0 + 2 * HOUR)
    save = world.store.save

    def killed(rollout, replacing):
        raise Killed

    world.store.save = killed
    with pytest.raises(Killed):
        world.advance(T0 + 3 * HOUR)
    world.store.save = save
    assert world.registry.aliases[CHAMPION] == 2
    assert world.store.load().stage is Stage.CANARY
    world.abort("alert: error rate", now=T0 + 4 * HOUR)
    assert world.store.load().stage is Stage.ROLLED_BACK
    assert world.registry.aliases[CHAMPION] == 1
    history = ChampionHistory.parse(world.registry.get_model_tag(CHAMPION_HISTORY_TAG))
    assert history.versions[-1] == 1
    last = [e for e in world.publisher.events if isinstance(e, ModelPromoted)][-1]
    assert (last.version, last.previous_version) == (1, 2)
    assert "aborted after its promotion's alias move" in last.reason
