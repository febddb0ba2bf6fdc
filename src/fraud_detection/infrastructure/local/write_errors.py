"""What a refused local write means: the disk's state (full, over quota, failing) or the path's."""

from __future__ import annotations

import errno

from fraud_detection.domain.errors import DataSourceError, FraudDetectionError, StorageFullError

# The file system, not the path, is at fault: free space or fix the disk, then run the same call again.
DISK_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


def write_failure(target: object, error: OSError) -> FraudDetectionError:
    reason = error.strerror or str(error)
    if error.errno in DISK_FAILURES:
        advice = "check that disk" if error.errno == errno.EIO else "free space on that disk"
        return StorageFullError(f"cannot write {target}: {reason} ({advice} and try again)")
    return DataSourceError(f"cannot write {target}: {reason}")
