"""`--reason` is recorded with what a command does: an empty or overlong one is refused before anything
is done (exit 2 naming the option), where it was recorded blank or cut where it was kept."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import use_container
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.entrypoints.cli.reasons import REASON_MAX_CHARS, checked_reason
from tests.unit.conftest import World

COMMANDS = [["model", "promote", "1"], ["rollout", "advance"], ["rollout", "abort"], ["retrain"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("reason", "problem"),
    [("", "--reason: empty; say why"), ("   ", "--reason: empty; say why"),
     ("x" * (REASON_MAX_CHARS + 1), f"--reason: 501 characters; at most {REASON_MAX_CHARS}"),
     ("drift\nforged line", "--reason: holds a control character (U+000A) at character 6")],
    ids=["empty", "blank", "too long", "line break"],
)  # fmt: skip
def test_a_reason_that_says_nothing_or_too_much_is_refused_before_anything_is_done(
    command: list[str], reason: str, problem: str
) -> None:
    world = World()
    use_container(world.container)
    try:
        result = CliRunner().invoke(app, [*command, "--reason", reason])
    finally:
        use_container(None)
    assert result.exit_code == 2, result.output
    assert f"error: {problem}" in result.stderr
    assert "Traceback" not in result.output


def test_a_reason_is_kept_without_its_surrounding_spaces() -> None:
    assert checked_reason("  drift on V14 \n") == "drift on V14"
    assert checked_reason("x" * REASON_MAX_CHARS) == "x" * REASON_MAX_CHARS
