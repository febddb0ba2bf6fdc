"""What to advise when SQLite reports "disk I/O error": a full disk, more often than a failing one.

SQLite says "database or disk is full" when a write to the database runs out of space, but "disk I/O error"
when the write that failed was its journal's: a disk-full probe got the second, and "check that disk" sent
the operator to look for a hardware fault on a disk that was only full.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Below this much space left for files, an I/O error is taken for a full disk. SQLite needs a few pages for
# its journal; a disk this close to full fails the next write of almost anything else too.
LOW_FREE_BYTES = 64 * 2**20


def io_error_advice(database: Path) -> str:
    """The advice for a disk I/O error: to free space, with the MiB left, when the disk under `database` is
    (nearly) full; else to check that disk (also when its space cannot be read: a folder gone with its
    disk)."""
    folder = database.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "check that disk"
    if free < LOW_FREE_BYTES:
        return f"free space on that disk ({free / 2**20:.1f} MiB free)"
    return "check that disk"
