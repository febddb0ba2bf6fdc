"""A feedback store whose file is not a whole SQLite database says so and what to do, where the CLI said "a
service is down or unreachable; try again" (no retry mends a damaged file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.infrastructure.sqlite.feedback_store import (
    FeedbackStoreDamagedError,
    SqliteFeedbackStore,
)
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration


def damaged(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))  # what a bad copy or another program's file looks like to SQLite
    return path


def test_the_store_names_a_damaged_file(tmp_path: Path) -> None:
    with pytest.raises(FeedbackStoreDamagedError, match="damaged or not SQLite; move it aside and restore"):
        SqliteFeedbackStore(damaged(tmp_path / "feedback.db")).labels()


@pytest.mark.parametrize(
    "command", [["feedback", "add", "--id", "tx-1", "--fraud"], ["quality", "measure"]], ids=" ".join
)
def test_commands_say_the_file_is_damaged_not_that_a_service_is_down(tmp_path: Path, command) -> None:
    settings = Settings(home=tmp_path)
    damaged(tmp_path / "feedback.db")
    use_container(Container(settings))
    try:
        result = CliRunner().invoke(app, command)
    finally:
        use_container(None)
    assert result.exit_code == 1, result.output
    assert "the file is damaged or not SQLite" in result.stderr
    assert "try again" not in result.stderr
    assert "Traceback" not in result.output
