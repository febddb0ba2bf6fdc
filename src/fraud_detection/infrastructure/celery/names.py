"""Task names, queue and task ids shared by the submitting side and the workers.

Explicit, stable names: messages already queued must still find their task after a refactor or a rolling
upgrade. The infrastructure side sends by name only, so it never imports the worker code.
"""

from __future__ import annotations

import re

from fraud_detection.domain.jobs import chunk_step

QUEUE = "fraud.batch"
PREPARE = "fraud.batch.prepare"
SCORE_CHUNK = "fraud.batch.score_chunk"
COMMIT = "fraud.batch.commit"
ABORT = "fraud.batch.abort"


def prepare_task_id(job_id: str) -> str:
    """Fixed per job, so a cancel can revoke the prepare task without having stored anything."""
    return f"{job_id}.prepare"


def chunk_task_id(job_id: str, index: int) -> str:
    """Fixed per (job, chunk): a second copy of a chunk task is recognisable in logs and chord counts."""
    return f"{job_id}.chunk.{index:06d}"


def commit_task_id(job_id: str) -> str:
    return f"{job_id}.commit"


_JOB_TASK_ID = re.compile(r"^(?P<job>.+)\.(?:(?P<step>prepare|commit)|chunk\.(?P<chunk>\d{6}))$")


def step_of_task_id(task_id: str) -> tuple[str, str] | None:
    """(job, step) of a task id above, the step named as the job's records name it ('prepare', 'chunk 3',
    'commit'); None for any other task (an abort callback's, say)."""
    match = _JOB_TASK_ID.match(task_id)
    if match is None:
        return None
    return match["job"], match["step"] or chunk_step(int(match["chunk"]))
