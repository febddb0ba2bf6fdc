"""The rollout state as stored in the registry tag and read by every replica (domain/rollout/state.py): what
`start` records, the dict form of a state and of its transitions, what reading one fills in or refuses, and
the conflict a write on a moved state raises."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraud_detection.domain.errors import RolloutConflictError
from fraud_detection.domain.rollout import Rollout, Stage, Transition, ensure_unchanged


def started(champion: int | None = 1) -> Rollout:
    return Rollout.start("fraud-lgbm", challenger=2, champion=champion, now=100.0)


def stored(rollout: Rollout) -> dict[str, Any]:
    """The state as the registry tag holds it: through JSON."""
    data: dict[str, Any] = json.loads(json.dumps(rollout.to_dict()))
    return data


def test_start_records_the_step_from_offline_to_shadow_with_the_reason_started() -> None:
    rollout = started()
    assert (rollout.stage, rollout.started_at, rollout.stage_since, rollout.canary_percent) == (
        Stage.SHADOW, 100.0, 100.0, 0.0,
    )  # fmt: skip
    assert rollout.history == (Transition(Stage.OFFLINE, Stage.SHADOW, 0.0, 100.0, "started"),)
    assert Rollout.start("fraud-lgbm", 2, 1, now=0.0, reason="staged by train").history[0].reason == (
        "staged by train"
    )


def test_a_transition_is_stored_with_its_stages_as_plain_names() -> None:
    step = Transition(Stage.SHADOW, Stage.CANARY, 10.0, 5.0, "evidence held", {"agreement": 0.99})
    assert step.to_dict() == {
        "from_stage": "shadow", "to_stage": "canary", "percent": 10.0, "at": 5.0, "reason": "evidence held",
        "evidence": {"agreement": 0.99},
    }  # fmt: skip
    assert type(step.to_dict()["from_stage"]) is str
    assert type(step.to_dict()["to_stage"]) is str
    assert Transition.from_dict(step.to_dict()) == step


def test_a_transition_stored_without_evidence_reads_back_with_none() -> None:
    data = {"from_stage": "canary", "to_stage": "rolled_back", "percent": 0, "at": 7, "reason": "abort"}
    assert Transition.from_dict(data) == Transition(Stage.CANARY, Stage.ROLLED_BACK, 0.0, 7.0, "abort", {})


def test_a_rollout_is_stored_with_every_field_and_reads_back_equal() -> None:
    rollout = started().moved(Stage.CANARY, 25.0, "evidence held", now=200.0, evidence={"paired_rows": 10})
    data = stored(rollout)
    assert data == {
        "model_name": "fraud-lgbm", "challenger": 2, "champion": 1, "stage": "canary", "started_at": 100.0,
        "stage_since": 200.0, "canary_percent": 25.0, "shadow_only": False,
        "history": [step.to_dict() for step in rollout.history],
    }  # fmt: skip
    assert Rollout.from_dict(data) == rollout


def test_a_rollout_without_a_champion_reads_back_without_one() -> None:
    """The first model of a name rolls out against nothing: None stays None, not an error."""
    rollout = started(champion=None)
    assert Rollout.from_dict(stored(rollout)) == rollout
    assert Rollout.from_dict(stored(rollout)).champion is None


def test_a_state_stored_before_canary_shadow_only_and_history_existed_reads_with_their_defaults() -> None:
    data = {"model_name": "fraud-lgbm", "challenger": "2", "champion": "1", "stage": "shadow",
            "started_at": 100, "stage_since": 100}  # fmt: skip
    rollout = Rollout.from_dict(data)
    assert rollout == Rollout("fraud-lgbm", 2, 1, Stage.SHADOW, 100.0, 100.0)
    assert (rollout.canary_percent, rollout.shadow_only, rollout.history) == (0.0, False, ())


def test_shadow_only_survives_the_round_trip() -> None:
    rollout = Rollout.start("fraud-lgbm", 2, 1, now=0.0, shadow_only=True)
    assert Rollout.from_dict(stored(rollout)).shadow_only is True


@pytest.mark.parametrize("field", ["model_name", "challenger", "stage", "started_at", "stage_since"])
def test_a_state_missing_a_required_field_is_refused(field: str) -> None:
    data = stored(started())
    del data[field]
    with pytest.raises(KeyError, match=field):
        Rollout.from_dict(data)


def test_a_state_naming_an_unknown_stage_is_refused() -> None:
    data = stored(started())
    data["stage"] = "beta"
    with pytest.raises(ValueError, match="beta"):
        Rollout.from_dict(data)
    data = stored(started())
    data["history"][0]["to_stage"] = "beta"
    with pytest.raises(ValueError, match="beta"):
        Rollout.from_dict(data)


def test_an_unchanged_state_may_be_replaced() -> None:
    rollout = started()
    ensure_unchanged(Rollout.from_dict(stored(rollout)), rollout)
    ensure_unchanged(None, None)


def test_a_state_gone_since_it_was_read_is_a_conflict_that_says_so_and_what_to_do() -> None:
    with pytest.raises(RolloutConflictError) as raised:
        ensure_unchanged(None, started())
    assert str(raised.value) == (
        "the rollout changed while this ran: it is now gone; nothing was written, run it again to decide "
        "on the new state"
    )


def test_a_conflict_names_the_stage_and_the_canary_share_it_moved_to() -> None:
    rollout = started()
    moved = rollout.moved(Stage.CANARY, 12.5, "evidence held", now=200.0)
    with pytest.raises(RolloutConflictError, match=r"it is now v2 in canary 12\.5%;"):
        ensure_unchanged(moved, rollout)
    rolled_back = rollout.moved(Stage.ROLLED_BACK, 0.0, "abort", now=200.0)
    with pytest.raises(RolloutConflictError, match="it is now v2 in rolled_back;"):
        ensure_unchanged(rolled_back, rollout)
