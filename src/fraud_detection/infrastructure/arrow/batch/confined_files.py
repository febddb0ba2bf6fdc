"""Local batch files opened strictly below their root: no symlink on the way, no overwriting.

The walk opens the root, then each folder below it with O_NOFOLLOW relative to the previous one, so a
symlink planted anywhere below the root (or swapped in while the job runs) is refused, not followed. The
file itself is opened through the last folder's descriptor; readers then use `/proc/self/fd/N`, which is
that very file whatever happens to its name afterwards. An output is written to a hidden temporary file in
its folder, then hard-linked to its name: the link fails if the name exists, so nothing is overwritten, and
the output appears whole or not at all.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from fraud_detection.domain.batch_roots import Placement
from fraud_detection.domain.errors import LocationNotAllowedError
from fraud_detection.infrastructure.local.write_errors import write_failure

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO planted as an input must not hang the worker
_PROC_FD = Path("/proc/self/fd")


class OutputExistsError(LocationNotAllowedError):
    """Something already has the output's name (it is never replaced)."""


@contextmanager
def opened_input(placement: Placement, refusal: LocationNotAllowedError) -> Iterator[Path]:
    """A path that reads the input's regular file, found with no symlink below the root; any failure to
    get there (missing, symlink, not a file, no permission) raises `refusal`, the one uniform answer."""
    try:
        folder = _walk(Path(placement.root), placement.parts[:-1], create=False)
    except OSError:
        raise refusal from None
    try:
        fd = os.open(placement.parts[-1], os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK, dir_fd=folder)
    except OSError:
        raise refusal from None
    finally:
        os.close(folder)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refusal
        yield _descriptor_path(fd, Path(placement.uri))
    finally:
        os.close(fd)


def output_taken(placement: Placement, refusal: LocationNotAllowedError) -> bool:
    """Does something (a file, a folder, a symlink) already have the output's name?"""
    try:
        folder = _walk(Path(placement.root), placement.parts[:-1], create=False)
    except FileNotFoundError:
        return False
    except OSError:
        raise refusal from None
    try:
        os.stat(placement.parts[-1], dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    finally:
        os.close(folder)
    return True


def temporary_prefix(name: str, owner: str) -> str:
    """What the temporary files of `owner`'s output `name` start with: both by a digest, so that the
    temporary name fits the file system's 255 bytes whatever theirs (a namespaced job id is up to 128
    characters; a valid output name of over 200 failed its commit once every row was scored)."""
    return f".fraud-output-{hashlib.sha256(f'{name}/{owner}'.encode()).hexdigest()[:24]}."


@contextmanager
def created_output(placement: Placement, refusal: LocationNotAllowedError, owner: str) -> Iterator[Path]:
    """A path to write the output to; on a clean exit it appears under its name, which must be free
    (`OutputExistsError` otherwise); on an error nothing is left behind. Missing folders below the root are
    created; a symlink or a file on the way raises `refusal`. The temporary file is named for `owner` (a
    job): one that a killed writer of the same owner left (a worker SIGKILLed mid-commit left 8 MB of it in
    the output folder for good) is removed first. A commit is run again only once its first run is gone
    (the broker's visibility timeout), so no live writer's file is taken."""
    uri = placement.uri
    try:
        folder = _walk(Path(placement.root), placement.parts[:-1], create=True)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
            raise refusal from None
        raise write_failure(uri, error) from error
    name = placement.parts[-1]
    stale = temporary_prefix(name, owner)
    for leftover in os.listdir(folder):
        if leftover.startswith(stale) and leftover.endswith(".tmp"):
            with suppress(OSError):
                os.unlink(leftover, dir_fd=folder)
    temp = f"{stale}{uuid.uuid4().hex}.tmp"
    fd = -1
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644, dir_fd=folder)
        yield _descriptor_path(fd, Path(placement.root, *placement.parts[:-1], temp))
        os.fsync(fd)
        try:
            os.link(temp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
        except FileExistsError:
            raise exists(uri) from None
        os.fsync(folder)
    except OSError as error:
        raise write_failure(uri, error) from error
    finally:
        if fd >= 0:
            os.close(fd)
        with suppress(OSError):
            os.unlink(temp, dir_fd=folder)
        os.close(folder)


def exists(uri: str) -> OutputExistsError:
    return OutputExistsError(
        f"output '{uri}' already exists (outputs are never overwritten: choose a new name)", "output"
    )


def _walk(root: Path, folders: tuple[str, ...], *, create: bool) -> int:
    """A descriptor of root/folders..., each step opened with O_NOFOLLOW (an output root is created)."""
    if create:
        root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for name in folders:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _descriptor_path(fd: int, fallback: Path) -> Path:
    """`/proc/self/fd/N` (the opened file itself) where the system has it; the checked path elsewhere."""
    return _PROC_FD / str(fd) if _PROC_FD.is_dir() else fallback
