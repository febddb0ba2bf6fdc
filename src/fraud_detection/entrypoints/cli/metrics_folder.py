"""The folder where the processes of one `fraud serve` or `fraud worker` keep their metrics samples."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_metrics_folder(processes: int, prefix: str) -> Iterator[None]:
    """With several processes, give prometheus_client a private folder unless one was set, and remove it
    when the command ends: its sample files are worth nothing to the next start (every `fraud serve
    --workers 2` left one in /tmp for good). It must be entered before prometheus_client is imported."""
    if processes < 2 or VARIABLE in os.environ:
        yield
        return
    folder = tempfile.mkdtemp(prefix=prefix)
    os.environ[VARIABLE] = folder
    try:
        yield
    finally:
        # The variable goes with its folder: a command run in-process (tests) left it naming a removed
        # folder, and every later server or worker started from that process failed on it.
        os.environ.pop(VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)
