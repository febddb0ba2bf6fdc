"""A champion alias moved outside the rollout (MLflow's UI, or a promotion that raced the rollout's start):
the evaluation rolls the rollout back instead of judging the challenger against a model that no longer
serves, and no step makes the challenger replace a champion it was not judged against."""

from __future__ import annotations

import pytest

from fraud_detection.domain.errors import RolloutRefusedError
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
