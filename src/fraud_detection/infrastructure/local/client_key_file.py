"""The clients document as a local JSON file, re-read when it changes: `fraud clients rotate` on the host
(or a mounted Kubernetes/ECS secret being replaced) takes effect within a second, without a restart."""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fraud_detection.domain.clients import ClientConfigError, ClientDirectory, parse_clients
from fraud_detection.domain.ports.clients import ClientSource
from fraud_detection.infrastructure.local.write_errors import write_failure

logger = logging.getLogger(__name__)

EMPTY = ClientDirectory(())


class KeyFileClients(ClientSource):
    def __init__(
        self, path: Path, check_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = Path(path)
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._next_check = 0.0
        self._directory = EMPTY
        self._refusal: str | None = None
        self._load(first=True)

    def directory(self) -> ClientDirectory:
        """A stat at most once per `check_seconds` (~2 us), a re-read only when the file changed."""
        if self._clock() >= self._next_check:
            with self._lock:
                if self._clock() >= self._next_check:
                    self._load(first=False)
        return self._directory

    def refusal(self) -> str | None:
        self.directory()  # checked now, not only when a request came in
        return self._refusal

    def _load(self, first: bool) -> None:
        self._next_check = self._clock() + self._check_seconds
        try:
            status = self.path.stat()
        except FileNotFoundError:
            if self._stamp is not None:
                logger.warning(
                    "API clients file %s is gone: no client is accepted until it is back", self.path
                )
            self._stamp, self._directory, self._refusal = None, EMPTY, None
            return
        except OSError as error:  # EACCES, EIO (a secret remounted): as a file that cannot be read
            if first:
                raise ClientConfigError(f"API clients file {self.path}: cannot read ({error})") from None
            logger.error(
                "API clients file %s not checked, keeping the previous clients: %s", self.path, error
            )
            self._refusal = f"API clients file {self.path}: cannot read ({error})"
            return
        # The mode, owner and ctime too: a `chmod 600` that mends a refused file changes nothing else, and the
        # file stayed refused (a key its edit revoked still worked) until its next edit.
        stamp = (
            status.st_mtime_ns,
            status.st_size,
            status.st_ino,
            status.st_mode,
            status.st_uid,
            status.st_ctime_ns,
        )
        if stamp == self._stamp:
            return
        try:
            require_trusted(self.path, status)
            directory = parse_clients(read_document(self.path))
        except ClientConfigError as error:
            if first:
                raise
            # Keep serving the last good clients: a half-edited file must not lock every client out.
            logger.error(
                "API clients file %s not reloaded, keeping the previous clients: %s", self.path, error
            )
            self._stamp, self._refusal = stamp, str(error)
            return
        self._stamp, self._directory, self._refusal = stamp, directory, None
        logger.info("API clients loaded from %s: %d client(s)", self.path, len(directory.clients))


def require_trusted(path: Path, status: os.stat_result) -> None:
    """Only this service's user (or root, who mounts secrets) may be able to change who the clients are: a
    file other users can write would let any of them add an `admin` client (sshd's StrictModes rule)."""
    if status.st_uid not in (os.geteuid(), 0):
        raise ClientConfigError(
            f"API clients file {path}: owned by uid {status.st_uid}, neither this service's "
            f"({os.geteuid()}) nor root's; refused"
        )
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ClientConfigError(
            f"API clients file {path}: writable by group or others (mode {stat.filemode(status.st_mode)}); "
            f"refused (`chmod 600 {path}`)"
        )


def read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClientConfigError(f"API clients file {path}: cannot read JSON ({error})") from None
    if not isinstance(document, dict):
        raise ClientConfigError(f"API clients file {path}: must hold a JSON object")
    return document


def write_document(path: Path, directory: ClientDirectory) -> None:
    """Atomically, readable by the owner only (it names every client and its key digests)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise write_failure(f"API clients file {path}", error) from error
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(directory.to_document(), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):  # a full disk named with its file, not a bare errno (disk-full probe)
            raise write_failure(f"API clients file {path}", error) from error
        raise
