"""The scheduled rollout evaluation: a Prefect flow run (Prefect's test harness, a temporary server) that
calls the evaluate use case once with apply=True, logs the decision and evidence, is a no-op without an
active rollout, retries outages only; and the prefect.yaml deployment that schedules it. The rollout
capability of the container is faked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint
from prefect.testing.utilities import prefect_test_harness

import fraud_detection.flows.rollout as rollout_flow
from fraud_detection.application.rollout.evaluate import RolloutDecision
from fraud_detection.domain.errors import (
    ModelNotFoundError,
    NoActiveRolloutError,
    ServiceUnavailableError,
)
from fraud_detection.domain.rollout import (
    Action,
    Check,
    RoleEvidence,
    Rollout,
    RolloutEvidence,
    Stage,
    Verdict,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0
EVIDENCE = RolloutEvidence(
    champion=RoleEvidence(version=6, rows=12_000, alerts=60),
    challenger=RoleEvidence(version=7, rows=12_000, alerts=66, errors=3),
    paired_rows=12_000,
    agreement=0.998,
)


@dataclass
class FakeEvaluate:
    """The use case: answers `decision`, after raising each of `failures` once."""

    decision: RolloutDecision
    failures: list[Exception] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, apply: bool = True, now: float | None = None) -> RolloutDecision:
        self.calls.append({"apply": apply, "now": now})
        if self.failures:
            raise self.failures.pop(0)
        return self.decision


class FakeRollout:
    def __init__(self, use_case: FakeEvaluate) -> None:
        self.use_case = use_case

    def evaluate(self) -> FakeEvaluate:
        return self.use_case


class FakeContainer:
    def __init__(self, use_case: FakeEvaluate) -> None:
        self.rollout = FakeRollout(use_case)


def in_shadow() -> Rollout:
    return Rollout.start("fraud-detector", challenger=7, champion=6, now=NOW - 30 * 3600)


def advanced() -> RolloutDecision:
    """Shadow evidence complete: moved to the first canary step (`rollout` is the state after)."""
    reason = "to canary 10%: 30.0h in shadow (need 24)"
    verdict = Verdict(Action.ADVANCE, Stage.CANARY, 10.0, reason, (Check("shadow_hours", True, "30.0h"),))
    after = in_shadow().moved(Stage.CANARY, 10.0, reason, NOW)
    detail = f"fraud-detector v7 (shadow) moved to canary 10% (advance): {reason}"
    return RolloutDecision(after, EVIDENCE, verdict, applied=True, detail=detail)


def rolled_back() -> RolloutDecision:
    reason = "challenger error rate 2.00% (limit 1.00%)"
    verdict = Verdict(Action.ROLL_BACK, Stage.ROLLED_BACK, 0.0, reason, ())
    after = in_shadow().moved(Stage.ROLLED_BACK, 0.0, reason, NOW)
    detail = f"fraud-detector v7 (shadow) moved to rolled_back (roll_back): {reason}"
    return RolloutDecision(after, EVIDENCE, verdict, applied=True, detail=detail)


def held() -> RolloutDecision:
    verdict = Verdict(Action.HOLD, None, 0.0, "3.0h in shadow (need 24)", ())
    detail = "fraud-detector v7 (shadow) holds: 3.0h in shadow"
    return RolloutDecision(in_shadow(), EVIDENCE, verdict, False, detail)


def over() -> RolloutDecision:
    """The last rollout ended: evaluated as over, nothing read."""
    ended = in_shadow().moved(Stage.ROLLED_BACK, 0.0, "aborted", NOW - 3600)
    verdict = Verdict(Action.HOLD, None, 0.0, "the rollout is over (rolled_back)", ())
    empty = RolloutEvidence(RoleEvidence(6), RoleEvidence(7))
    return RolloutDecision(
        ended, empty, verdict, False, "fraud-detector v7 (rolled_back) holds: the rollout is over"
    )


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def flow_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """What the flow module logged to its run (Prefect's run loggers), Prefect's own lines left out."""
    caplog.set_level(logging.INFO, logger="prefect")
    here = Path(rollout_flow.__file__)
    return lambda: [r.getMessage() for r in caplog.records if Path(r.pathname) == here]


def run(monkeypatch: pytest.MonkeyPatch, use_case: FakeEvaluate) -> dict[str, Any]:
    monkeypatch.setattr(rollout_flow, "get_container", lambda: FakeContainer(use_case))
    monkeypatch.setattr(rollout_flow, "evaluate", rollout_flow.evaluate.with_options(retry_delay_seconds=0))
    result: dict[str, Any] = rollout_flow.rollout_evaluation()
    return result


@pytest.mark.parametrize(
    "decision", [advanced(), rolled_back(), held()], ids=["advance", "roll-back", "hold"]
)
def test_the_flow_applies_one_evaluation_and_logs_the_decision_and_its_evidence(
    monkeypatch, flow_lines, decision
):
    use_case = FakeEvaluate(decision)

    result = run(monkeypatch, use_case)

    assert use_case.calls == [{"apply": True, "now": None}]
    assert result == decision.to_dict()
    outcome = "applied" if decision.applied else "nothing to apply"
    assert flow_lines() == [f"{decision.detail} ({outcome})", f"rollout evidence: {EVIDENCE.to_dict()}"]


def test_without_any_rollout_the_flow_says_so_and_succeeds(monkeypatch, flow_lines):
    never = NoActiveRolloutError("no rollout yet; start one with `fraud rollout start VERSION`")
    use_case = FakeEvaluate(held(), failures=[never])

    result = run(monkeypatch, use_case)

    assert len(use_case.calls) == 1  # not retried
    assert result == {"rollout": None, "applied": False, "detail": "no rollout"}
    assert flow_lines() == [f"no rollout to evaluate: {never}"]


def test_after_a_finished_rollout_the_flow_does_nothing_else(monkeypatch, flow_lines):
    use_case = FakeEvaluate(over())

    result = run(monkeypatch, use_case)

    assert use_case.calls == [{"apply": True, "now": None}]
    assert result["applied"] is False
    assert flow_lines() == ["no active rollout, nothing to evaluate (v7 is rolled_back)"]


def test_an_outage_is_retried_and_the_second_attempt_decides(monkeypatch, flow_lines):
    use_case = FakeEvaluate(advanced(), failures=[ServiceUnavailableError("registry unreachable")])

    result = run(monkeypatch, use_case)

    assert len(use_case.calls) == 2
    assert result["applied"] is True
    assert flow_lines()[0] == f"{advanced().detail} (applied)"


def test_bad_input_fails_the_run_at_once(monkeypatch):
    use_case = FakeEvaluate(advanced(), failures=[ModelNotFoundError("no version 7 of fraud-detector")])

    with pytest.raises(ModelNotFoundError, match="no version 7"):
        run(monkeypatch, use_case)

    assert len(use_case.calls) == 1


def test_the_deployment_runs_this_flow_every_15_minutes():
    deployments = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    deployment = deployments["rollout-evaluation-15min"]

    loaded = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))

    assert loaded.name == rollout_flow.rollout_evaluation.name == "rollout_evaluation"
    assert [s["cron"] for s in deployment["schedules"]] == ["*/15 * * * *"]
    assert deployment["schedules"][0]["active"] is True
    assert deployment["work_pool"]["name"] == deployments["drift-check-hourly"]["work_pool"]["name"]
