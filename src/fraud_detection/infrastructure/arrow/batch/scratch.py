"""Private scratch folders for batch steps, and the removal of those a killed step left behind.

A step that dies (OOM kill, SIGKILL, a lost ECS task's process) cannot remove its folder, and its files (a
downloaded S3 input, a chunk before upload, an output before commit) can be gigabytes: three lost runs of
one job filled a disk. So each folder is held under an exclusive `flock` on the folder itself for as long as
it is in use; the kernel drops the lock when its process dies, however it dies. Making a new folder first
removes the siblings nobody holds. A folder younger than GRACE_SECONDS is left alone: it may be between its
creation and its lock. Hand-written (no library offers it); `flock` is POSIX-only, like the workers.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from fraud_detection.infrastructure.local.write_errors import DISK_FAILURES, write_failure

logger = logging.getLogger(__name__)

FOLDER_PREFIX = "fraud-batch-"
GRACE_SECONDS = 60.0


@contextmanager
def scratch_folder(scratch_dir: Path | None) -> Iterator[Path]:
    """A private temporary folder (under `scratch_dir`, created if needed), removed with its files."""
    if scratch_dir is not None:
        try:
            scratch_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise write_failure(f"scratch folder {scratch_dir}", error) from error
        remove_abandoned(scratch_dir)
    with tempfile.TemporaryDirectory(prefix=FOLDER_PREFIX, dir=scratch_dir) as folder:
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            with suppress(OSError):  # a filesystem without locks: only the grace period protects it
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # never blocks: nobody else knows the folder yet
            yield Path(folder)
        except OSError as error:
            # The scratch disk full or failing under a staged input, a chunk or an output before its
            # commit: an outage to retry (a job's `error_kind` service), not an internal error.
            if error.errno in DISK_FAILURES:
                raise write_failure(f"scratch folder {Path(folder).parent}", error) from error
            raise
        finally:
            os.close(descriptor)  # drops the lock


def remove_abandoned(scratch_dir: Path, grace_seconds: float = GRACE_SECONDS) -> list[Path]:
    """Remove the scratch folders under `scratch_dir` whose process is gone; the folders removed."""
    removed: list[Path] = []
    try:
        candidates = [entry for entry in scratch_dir.iterdir() if entry.name.startswith(FOLDER_PREFIX)]
    except OSError:
        return removed  # a sweep is a courtesy: the step itself must not fail on it
    for folder in candidates:
        try:
            if time.time() - folder.stat().st_mtime < grace_seconds:
                continue
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # gone meanwhile, or not a folder
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # held: a live step's
        try:
            shutil.rmtree(folder)
            removed.append(folder)
            logger.warning("removed %s, left by a batch step that did not end", folder)
        except OSError as error:
            logger.warning("could not remove abandoned scratch folder %s: %s", folder, error)
        finally:
            os.close(descriptor)
    return removed
