"""The scheduled rollout evaluation: a Prefect flow run (Prefect's test harness, a temporary server) that
calls the evaluate use case once with apply=True, logs the decision and evidence, retries outages only, and
the prefect.yaml deployment that schedules it. The rollout capability of the container is faked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint
from prefect.testing.utilities import prefect_test_harness

import fraud_detection.flows.rollout as rollout_flow
from fraud_detection.domain.errors import ModelNotFoundError, ServiceUnavailableError
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


@dataclass(frozen=True)
class Decision:
    rollout: Rollout | None
    evidence: RolloutEvidence | None
    verdict: Verdict | None
    applied: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout": None if self.rollout is None else self.rollout.to_dict(),
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "applied": self.applied,
            "detail": self.detail,
        }


@dataclass
class FakeEvaluate:
    """The use case: answers `decision`, after raising each of `failures` once."""

    decision: Decision
    failures: list[Exception] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, apply: bool = True, now: float | None = None) -> Decision:
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


def advancing() -> Decision:
    rollout = Rollout.start("fraud-detector", challenger=7, champion=6, now=NOW - 30 * 3600)
    evidence = RolloutEvidence(
        champion=RoleEvidence(version=6, rows=12_000, alerts=60),
        challenger=RoleEvidence(version=7, rows=12_000, alerts=66, errors=3),
        paired_rows=12_000,
        agreement=0.998,
    )
    checks = (Check("shadow_hours", True, "30.0h in shadow (need 24)"),)
    verdict = Verdict(Action.ADVANCE, Stage.CANARY, 10.0, "to canary 10%: 30.0h in shadow (need 24)", checks)
    return Decision(rollout, evidence, verdict, applied=True, detail="moved to canary 10%")


def nothing_active() -> Decision:
    return Decision(None, None, None, applied=False, detail="no rollout of fraud-detector")


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def run(monkeypatch: pytest.MonkeyPatch, use_case: FakeEvaluate) -> dict[str, Any]:
    monkeypatch.setattr(rollout_flow, "get_container", lambda: FakeContainer(use_case))
    monkeypatch.setattr(rollout_flow, "evaluate", rollout_flow.evaluate.with_options(retry_delay_seconds=0))
    result: dict[str, Any] = rollout_flow.rollout_evaluation()
    return result


def test_the_flow_applies_one_evaluation_and_logs_the_decision_and_its_evidence(monkeypatch, caplog):
    use_case = FakeEvaluate(advancing())

    with caplog.at_level(logging.INFO, logger=rollout_flow.__name__):
        result = run(monkeypatch, use_case)

    assert use_case.calls == [{"apply": True, "now": None}]
    assert result == advancing().to_dict()
    lines = [r.getMessage() for r in caplog.records if r.name == rollout_flow.__name__]
    assert lines[0] == (
        "rollout of fraud-detector v7 (shadow): advance to canary 10%, applied: "
        "to canary 10%: 30.0h in shadow (need 24)"
    )
    assert lines[1].startswith("rollout evidence: {'champion': {'version': 6, 'rows': 12000")
    assert "'paired_rows': 12000" in lines[1]


def test_without_an_active_rollout_the_flow_says_so_and_does_nothing_else(monkeypatch, caplog):
    use_case = FakeEvaluate(nothing_active())

    with caplog.at_level(logging.INFO, logger=rollout_flow.__name__):
        result = run(monkeypatch, use_case)

    assert use_case.calls == [{"apply": True, "now": None}]
    assert result["verdict"] is None
    assert result["applied"] is False
    lines = [r.getMessage() for r in caplog.records if r.name == rollout_flow.__name__]
    assert lines == ["no active rollout, nothing to evaluate (no rollout of fraud-detector)"]


def test_a_finished_rollout_is_reported_as_nothing_to_evaluate():
    over = Rollout.start("fraud-detector", 7, 6, NOW).moved(Stage.ROLLED_BACK, 0.0, "abort", NOW)
    verdict = Verdict(Action.HOLD, None, 0.0, "the rollout is over (rolled_back)", ())

    line = rollout_flow.describe(Decision(over, None, verdict, False, "the rollout is over"))

    assert line == "no active rollout, nothing to evaluate (the rollout is over)"


def test_a_held_canary_names_its_share_and_that_nothing_was_applied():
    canary = Rollout.start("fraud-detector", 7, 6, NOW).moved(Stage.CANARY, 10.0, "evidence", NOW)
    verdict = Verdict(Action.HOLD, None, 10.0, "1.0h at 10% (need 6)", ())

    line = rollout_flow.describe(Decision(canary, None, verdict, False, "held"))

    assert line == "rollout of fraud-detector v7 (canary 10%): hold, not applied: 1.0h at 10% (need 6)"


def test_an_outage_is_retried_and_the_second_attempt_decides(monkeypatch):
    use_case = FakeEvaluate(advancing(), failures=[ServiceUnavailableError("registry unreachable")])

    result = run(monkeypatch, use_case)

    assert len(use_case.calls) == 2
    assert result["applied"] is True


def test_bad_input_fails_the_run_at_once(monkeypatch):
    use_case = FakeEvaluate(advancing(), failures=[ModelNotFoundError("no version 7 of fraud-detector")])

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
