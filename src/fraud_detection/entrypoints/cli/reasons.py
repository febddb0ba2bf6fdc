"""`--reason` of the commands that record why they acted (promote, retrain, rollout advance and abort).

An empty reason was recorded as one (a blank column in `fraud model history`, `retrain ;` in `model show`),
and a long one was echoed whole, then cut where it is kept (a retrain's tag, a rollout's history).
"""

from __future__ import annotations

from fraud_detection.domain.text import control_character_problem
from fraud_detection.entrypoints.cli.errors import fail

REASON_MAX_CHARS = 500  # as the API's rollout abort keeps (routes/rollout.py)


def checked_reason(reason: str) -> str:
    """`reason` without surrounding spaces; exit 2 naming --reason when it is empty or too long."""
    text = reason.strip()
    if not text:
        raise fail("--reason: empty; say why (it is recorded with what the command does)")
    if len(text) > REASON_MAX_CHARS:
        raise fail(f"--reason: {len(text):,} characters; at most {REASON_MAX_CHARS}")
    problem = control_character_problem(text)
    if problem is not None:
        raise fail(f"--reason: {problem}")
    return text
