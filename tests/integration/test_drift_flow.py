"""The scheduled drift flow (Prefect's test harness, a temporary server): it merges the closed hours'
capture files, then checks; a failed merge is logged and the check still runs. The container is faked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prefect.testing.utilities import prefect_test_harness

import fraud_detection.flows.drift as drift_flow
from fraud_detection.application.drift.check import DriftWindowSpec
from fraud_detection.domain.compaction import CompactionSummary

pytestmark = pytest.mark.integration


@dataclass
class Calls:
    order: list[str] = field(default_factory=list)
    compaction_error: Exception | None = None

    def compact(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
        self.order.append(f"compact {lookback_hours}h within {budget_seconds}s")
        if self.compaction_error is not None:
            raise self.compaction_error
        return CompactionSummary(hours=1, files_merged=60, rows=1_000, files_deleted=0, hours_left=0)

    def check(self, spec: DriftWindowSpec, publish: bool) -> Any:
        self.order.append(f"check {publish}")
        report = SimpleNamespace(to_dict=lambda: {"status": "no_drift"})
        return SimpleNamespace(report=report, location="file:///report.json")


def container(calls: Calls) -> Any:
    return SimpleNamespace(
        settings=lambda: SimpleNamespace(drift_window_hours=24.0),
        drift=SimpleNamespace(check=lambda: calls.check, compact=lambda: calls.compact),
    )


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def run(monkeypatch: pytest.MonkeyPatch, calls: Calls) -> dict[str, Any]:
    monkeypatch.setattr(drift_flow, "get_container", lambda: container(calls))
    fast = drift_flow.compact_captures.with_options(retry_delay_seconds=0)
    monkeypatch.setattr(drift_flow, "compact_captures", fast)
    result: dict[str, Any] = drift_flow.drift_check()
    return result


def test_the_flow_merges_the_closed_hours_then_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls()
    result = run(monkeypatch, calls)
    assert calls.order == ["compact 48.0h within 120.0s", "check True"]
    assert result == {"status": "no_drift", "location": "file:///report.json"}


def test_a_failed_merge_is_logged_and_the_check_still_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="prefect")
    calls = Calls(compaction_error=OSError("the store said no"))
    result = run(monkeypatch, calls)
    assert calls.order == ["compact 48.0h within 120.0s"] * 3 + ["check True"]  # retried twice, as I/O is
    assert result["status"] == "no_drift"
    here = Path(drift_flow.__file__)
    assert "capture compaction failed; checking drift anyway" in [
        record.getMessage() for record in caplog.records if Path(record.pathname) == here
    ]
