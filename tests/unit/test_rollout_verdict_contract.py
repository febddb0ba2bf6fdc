"""Verdict.to_dict is what GET /admin/rollout and `fraud rollout status` return: its keys and values are a
contract (plain strings for the action and stage, null when there is no next stage, every check in full)."""

from __future__ import annotations

import json

from fraud_detection.domain.rollout import Action, Check, Stage, Verdict

LABELS = Check("labels", True, "500 matured labels (need 500)")
LATENCY = Check("latency", False, "p99 30.0 vs 10.0 ms (x3.00, limit x2)", harmful=True)


def test_an_advance_gives_its_action_target_share_reason_and_checks() -> None:
    verdict = Verdict(Action.ADVANCE, Stage.CANARY, 10.0, "to canary 10%: ok", (LABELS,))
    assert verdict.to_dict() == {
        "action": "advance", "to": "canary", "percent": 10.0, "reason": "to canary 10%: ok",
        "checks": [{"name": "labels", "passed": True, "detail": "500 matured labels (need 500)",
                    "harmful": False}],
    }  # fmt: skip


def test_a_hold_has_no_target() -> None:
    verdict = Verdict(Action.HOLD, None, 50.0, "waiting", (LABELS,))
    assert verdict.to_dict()["to"] is None
    assert verdict.to_dict()["percent"] == 50.0


def test_a_roll_back_marks_its_harmful_checks_and_survives_json() -> None:
    verdict = Verdict(Action.ROLL_BACK, Stage.ROLLED_BACK, 0.0, LATENCY.detail, (LABELS, LATENCY))
    data = json.loads(json.dumps(verdict.to_dict()))
    assert (data["action"], data["to"], data["percent"]) == ("roll_back", "rolled_back", 0.0)
    assert data["reason"] == LATENCY.detail
    assert [(c["name"], c["passed"], c["harmful"]) for c in data["checks"]] == [
        ("labels", True, False), ("latency", False, True),
    ]  # fmt: skip
    assert set(data) == {"action", "to", "percent", "reason", "checks"}
