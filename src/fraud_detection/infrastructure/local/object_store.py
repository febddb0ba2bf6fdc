"""The default object store: a folder on local disk, with atomic replace-on-write."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import BinaryIO

from fraud_detection.domain.errors import DataSourceError, ObjectNotFoundError
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.local.write_errors import write_failure

# Writes land in a hidden sibling first; listing skips these names and keys may not use them.
TEMP_PREFIX = ".~write-"
# An empty temp no writer holds may be one created a moment ago, before its writer locked it; older than
# this, it was left by a writer that died (see _remove_abandoned_temps).
TEMP_GRACE_SECONDS = 60.0
_COPY_CHUNK = 1024 * 1024


class LocalObjectStore(ObjectStore):
    """Objects are files under `root`; a key is their '/'-separated path relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._swept: set[Path] = set()  # folders whose dead writers' temps this process removed

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        path = self._path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise ObjectNotFoundError(f"no object '{key}' in {self.root}") from error
        except OSError as error:
            raise DataSourceError(f"cannot read {path}: {error.strerror or error}") from error

    def write_bytes(self, key: str, data: bytes) -> None:
        self._write_atomically(key, lambda out: out.write(data))

    def create_bytes(self, key: str, data: bytes) -> bool:
        return self._write_atomically(key, lambda out: out.write(data), replace=False)

    def write_file(self, key: str, path: Path) -> None:
        with Path(path).open("rb") as source:
            self._write_atomically(key, lambda out: shutil.copyfileobj(source, out, _COPY_CHUNK))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        folder, _, _ = prefix.rpartition("/")
        base = self._path(folder) if folder else self.root
        keys = sorted(key for key in self._walk(base) if key.startswith(prefix))
        yield from keys

    def delete(self, key: str) -> None:
        # A directory under that name is not an object, so there is nothing to delete.
        path = self._path(key)
        with suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            path.unlink()
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove the folders a delete left empty, up to the root, as S3 has no folders: a deleted job or
        expired captures leave nothing behind. A writer racing this recreates its folder (see below)."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError as error:  # not empty (the usual case), already gone, or not ours to remove
                if error.errno != errno.ENOTEMPTY or not _remove_abandoned_temps(folder):
                    return
                continue  # it held only what killed writers left: try again
            folder = folder.parent

    def uri_for(self, key: str) -> str:
        return self._path(key).as_uri()

    def _path(self, key: str) -> Path:
        segments = key.split("/")
        unsafe = any(
            segment in ("", ".", "..")
            or segment.startswith(TEMP_PREFIX)
            or "\\" in segment
            or "\x00" in segment
            for segment in segments
        )
        if unsafe:
            raise ValueError(f"invalid object key {key!r}: use a relative 'a/b/c' path inside the store")
        return self.root.joinpath(*segments)

    def _walk(self, base: Path) -> Iterator[str]:
        for directory, _, files in os.walk(base):
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    yield name if relative == "." else f"{relative}/{name}"

    def _write_atomically(
        self, key: str, fill: Callable[[BinaryIO], object], *, replace: bool = True
    ) -> bool:
        """Readers see the old file or the whole new one: write a temp sibling, fsync, then rename. Without
        `replace`, a hard link puts the whole file in place only where no file is (False when one was). The
        temp stays locked until it is renamed: an unlocked temp with data is a dead writer's."""
        target = self._path(key)
        temp = target.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with self._create(temp) as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
                if replace:
                    os.replace(temp, target)
                else:
                    try:
                        os.link(temp, target)
                    except FileExistsError:
                        return False
                    finally:
                        temp.unlink()
        except BaseException as error:
            with suppress(OSError):
                temp.unlink()
            if isinstance(error, OSError):
                raise write_failure(target, error) from error
            raise
        _fsync_directory(target.parent)
        if target.parent not in self._swept:  # once a folder per process: a scan per write would cost
            self._swept.add(target.parent)
            _remove_abandoned_temps(target.parent, beside_objects=True)
        return True

    def _create(self, temp: Path, attempts: int = 5) -> BinaryIO:
        """The temporary file, its folders made first. A delete's `_prune` may remove a folder between our
        mkdir and open, or within mkdir (which then says the folder exists, having found it gone): make it
        again. Once the temp exists the folder is not empty, so it stays until the rename."""
        for _ in range(attempts - 1):
            try:
                temp.parent.mkdir(parents=True, exist_ok=True)
                return _held(temp.open("xb"))
            except (FileNotFoundError, FileExistsError):
                continue
        temp.parent.mkdir(parents=True, exist_ok=True)
        return _held(temp.open("xb"))


def _held(out: BinaryIO) -> BinaryIO:
    """Lock a temp while it is written: the kernel drops the lock when its writer closes it or dies. A
    filesystem without locks (some network mounts) still writes; only the grace period then protects it."""
    with suppress(OSError):
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
    return out


def _remove_abandoned_temps(folder: Path, beside_objects: bool = False) -> bool:
    """Whether `folder` held only temps of writers that died (SIGKILL, OOM) and they are now removed; with
    `beside_objects`, those temps are removed from a folder of objects too (the first write there in a
    process: a killed ingest or compaction left a temp of 10-24 MB that its successful re-run kept).

    A temp is abandoned when no writer holds its lock (a writer holds it from before its first byte until
    the rename) and it holds data, or is older than TEMP_GRACE_SECONDS: an empty one may have been created a
    moment ago, not locked yet. Before, every temp younger than that stayed: a job killed while staging and
    resumed at once finished within the minute and left its half-written input (3-48 MB) for good, as
    nothing deletes in that folder again. Hand-written: no library sweeps another process's temp files."""
    abandoned: list[Path] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    abandoned.append(Path(entry.path))
                elif not beside_objects:
                    return False  # the folder holds objects: it stays, and so do its temps for now
    except OSError:  # removed meanwhile by another delete, or unreadable: nothing to do here
        return False
    for temp in abandoned:
        try:
            with temp.open("rb") as held:
                fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                found = os.fstat(held.fileno())
                if found.st_size == 0 and time.time() - found.st_mtime < TEMP_GRACE_SECONDS:
                    if beside_objects:
                        continue
                    return False
                temp.unlink()
        except FileNotFoundError:
            continue  # its writer renamed or removed it meanwhile
        except OSError:  # locked (a live writer's), or no locks on this filesystem: keep it
            if beside_objects:
                continue
            return False
    return True


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); platforms that cannot open a directory skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
