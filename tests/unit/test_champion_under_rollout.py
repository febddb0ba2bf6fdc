"""While a rollout is active, the champion and challenger aliases move only through it.

Before, a direct promotion (the gate in the default mode, `--force-promotion`, `fraud model promote` or
`rollback`) moved the champion under a running rollout: its evidence, paired on the champion it started
against, stopped (the rollout held until the stuck alert), and its last step then replaced the newer
champion. A registration also took the `challenger` alias off the rollout's challenger.
"""

from __future__ import annotations

import pytest

from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.rollout import StartRollout
from fraud_detection.domain.errors import IncompatibleModelError, RolloutRefusedError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelMetadata
from fraud_detection.domain.rollout import Rollout, Stage
from tests.fakes import FakePublisher, FakeRegistry
from tests.rollout_fakes import FakeRolloutStore
from tests.unit.conftest import World

HELD = "a rollout of v2 against champion v1 is active (shadow), and the champion moves only through it"


def rollout_of_v2(world: World) -> Rollout:
    """v1 champion, v2 registered (kept by the gate, same data), then v2 in shadow."""
    world.run_pipeline()
    world.run_pipeline()
    return world.container.rollout.start()(2)


def promotions(world: World) -> list[ModelPromoted]:
    return [event for event in world.publisher.events if isinstance(event, ModelPromoted)]


def test_a_better_challenger_waits_for_the_active_rollout_and_keeps_its_aliases(world: World) -> None:
    rollout_of_v2(world)
    world.registry.models[1].weight = -1.0  # the champion now ranks frauds last: the gate passes
    summary = world.run_pipeline("more.csv")
    assert summary.version.version == 3
    assert not summary.decision.promote
    assert "challenger better" in summary.decision.reason
    then = "; end it first with `fraud rollout abort` (then `fraud model promote 3`)"
    assert f"; not promoted: {HELD}{then}" in summary.decision.reason
    assert world.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}
    assert world.registry.get(3).tags["promotion_decision"] == "keep"
    assert [event.version for event in promotions(world)] == [1]  # the first run's champion alone


def test_the_register_stage_says_the_challenger_alias_stays_with_the_rollout(world: World) -> None:
    rollout_of_v2(world)
    assert world.observer.details["register"] == "fake-model v2 @challenger"
    world.run_pipeline("more.csv")
    assert world.observer.details["register"] == "fake-model v3 (@challenger stays on v2, in rollout)"
    assert world.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}


def test_a_forced_promotion_waits_for_the_rollout_too(world: World) -> None:
    rollout_of_v2(world)
    pipeline = world.pipeline()
    with pipeline.session(pipeline.ingest("good.csv")) as session:
        for stage in (session.validate, session.build_features, session.train, session.evaluate,
                      session.register):  # fmt: skip
            stage()
        decision = session.promote(force=True)
    assert (decision.promote, decision.forced) == (False, True)
    assert decision.reason.startswith("forced by the operator; the gate said: champion v1 kept")
    assert HELD in decision.reason
    assert world.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}


def test_once_the_rollout_is_over_the_gate_promotes_again(world: World) -> None:
    shadow = rollout_of_v2(world)
    world.rollouts.save(shadow.moved(Stage.ROLLED_BACK, 0.0, "aborted", 1.0, None), replacing=shadow)
    world.registry.models[1].weight = -1.0
    summary = world.run_pipeline("more.csv")
    assert summary.decision.promote
    assert world.registry.aliases == {CHAMPION: 3}


@pytest.fixture
def held_admin() -> tuple[ModelAdministration, FakeRegistry, FakeRolloutStore, FakePublisher]:
    registry, rollouts, publisher = FakeRegistry(), FakeRolloutStore(), FakePublisher()
    for _ in range(3):
        registry.register("models:/x", "run", ModelMetadata("fe-1", 0.5, "d"))
    registry.set_alias(CHAMPION, 1)
    registry.set_tag(1, "previous_champion", "3")
    rollouts.save(Rollout.start("fake-model", 2, 1, 0.0), replacing=None)
    admin = ModelAdministration(registry, lambda: registry, publisher, rollouts.load)
    return admin, registry, rollouts, publisher


def test_promote_and_rollback_by_hand_are_refused_while_a_rollout_runs(held_admin) -> None:
    admin, registry, _, publisher = held_admin
    for act, action in ((lambda: admin.promote(3), "promoting v3"),
                        (lambda: admin.rollback(), "rolling back to v3"),
                        (lambda: admin.rollback(to_version=2), "rolling back to v2")):  # fmt: skip
        with pytest.raises(RolloutRefusedError) as refused:
            act()
        assert str(refused.value) == f"{action} refused: {HELD}; end it first with `fraud rollout abort`"
    assert registry.aliases == {CHAMPION: 1}
    assert publisher.events == []


def test_a_rollback_with_no_history_names_the_rollout_first(held_admin) -> None:
    """It said "no previous champion recorded" while a rollout held the alias, which is what to act on."""
    admin, registry, _, publisher = held_admin
    registry.versions[1].tags.pop("previous_champion", None)
    with pytest.raises(RolloutRefusedError) as refused:
        admin.rollback()
    assert str(refused.value) == f"rolling back refused: {HELD}; end it first with `fraud rollout abort`"
    assert registry.aliases == {CHAMPION: 1}
    assert publisher.events == []


def test_the_refusal_names_the_canary_share_and_an_ended_rollout_refuses_nothing(held_admin) -> None:
    admin, registry, rollouts, _ = held_admin
    shadow = rollouts.load()
    assert shadow is not None
    canary = shadow.moved(Stage.CANARY, 10.0, "policy", 1.0, None)
    rollouts.save(canary, replacing=shadow)
    with pytest.raises(RolloutRefusedError, match=r"is active \(canary 10%\)"):
        admin.promote(3)
    rollouts.save(canary.moved(Stage.ROLLED_BACK, 0.0, "aborted", 2.0, None), replacing=canary)
    assert admin.promote(3).version == 3
    assert registry.aliases == {CHAMPION: 3}


def test_a_version_this_code_cannot_serve_is_neither_promoted_rolled_back_to_nor_rolled_out() -> None:
    """v1 was trained on another feature version: the API would keep its last model, and a replica without
    a local copy would never become ready."""
    registry, publisher, rollouts = FakeRegistry(), FakePublisher(), FakeRolloutStore()
    registry.register("models:/old", "run", ModelMetadata("fe-0", 0.5, "d"))
    registry.register("models:/new", "run", ModelMetadata("fe-1", 0.5, "d"))
    registry.set_alias(CHAMPION, 2)
    registry.set_tag(2, "previous_champion", "1")
    admin = ModelAdministration(registry, lambda: registry, publisher, rollouts.load)
    start = StartRollout(registry, rollouts, publisher)
    served_by = (
        "fake-model v1 was trained on features fe-0, this code computes fe-1, so the API could not serve it"
    )
    for act, action in ((lambda: admin.promote(1), "promoting v1"),
                        (lambda: admin.rollback(), "rolling back to v1"),
                        (lambda: start(1), "a rollout of v1")):  # fmt: skip
        with pytest.raises(IncompatibleModelError) as refused:
            act()
        assert str(refused.value) == f"{action} refused: {served_by}"
    assert registry.aliases == {CHAMPION: 2}
    assert rollouts.saved == []
    assert publisher.events == []
