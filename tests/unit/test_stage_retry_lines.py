"""A stage the orchestrator retries after an outage says it is trying again: a make-stack probe with S3 down
read "✗ ingest failed" three times, with no word of retrying, as three runs."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from fraud_detection.domain.errors import InvalidDataError, ServiceUnavailableError
from fraud_detection.entrypoints.cli.progress import ConsoleProgress
from fraud_detection.flows.tasks import IO_RETRIES, stage_retry_delay

DOWN = ServiceUnavailableError("cannot read s3://fraud/data/raw/x: Could not connect to the endpoint URL")


def progress() -> tuple[ConsoleProgress, io.StringIO]:
    out = io.StringIO()
    return ConsoleProgress(Console(file=out, force_terminal=False, width=200), stage_retry_delay), out


def test_an_outage_retried_twice_then_final_says_so_and_fails_the_stage_once():
    observer, out = progress()
    for _ in range(IO_RETRIES + 1):
        observer.stage_started("ingest")
        observer.stage_failed("ingest", 0.2, DOWN)
    lines = out.getvalue().splitlines()
    retry = "↻ ingest       0.2s  failed, trying again in 2 s: cannot read s3://fraud/data/raw/x: Could not"
    assert [line[: len(retry)] for line in lines[:2]] == [retry, retry]
    assert lines[2] == "✗ ingest       0.2s  failed"
    assert observer.failed == "ingest"


def test_a_retry_that_succeeds_leaves_no_failed_stage():
    observer, out = progress()
    observer.stage_started("promote")
    observer.stage_failed("promote", 1.0, DOWN)
    observer.stage_started("promote")
    observer.stage_finished("promote", 1.0, "v2: champion")
    assert observer.failed is None
    assert out.getvalue().splitlines()[-1] == "✓ promote      1.0s  v2: champion"


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("ingest", InvalidDataError("Amount", "must be a number", row=3)),  # bad input: never retried
        ("ingest", MemoryError()),
        ("register", DOWN),  # not retried: it could register twice
        ("train", DOWN),
    ],
)
def test_a_failure_the_orchestrator_does_not_retry_is_final_at_once(stage, error):
    observer, out = progress()
    observer.stage_started(stage)
    observer.stage_failed(stage, 0.5, error)
    assert out.getvalue().startswith(f"✗ {stage:<9}")
    assert observer.failed == stage
