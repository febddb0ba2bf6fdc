"""Keyed seals (HMAC-SHA256) for files this service caches on local disk and later trusts.

A compiled forest is machine code that gets executed, and the served-model copy decides every score while
the registry is down, so an unkeyed digest is not enough: whoever can write the folder can recompute it.
Each file is sealed with HMAC-SHA256 under a per-deployment key, bound to the file's role and name (a valid
file cannot stand in for another), and is trusted only if it is a regular file owned by this process's user
and writable by nobody else; the check runs on the opened descriptor, before any byte is used.

The key: `FRAUD_CACHE_KEY` when set (required when the cache folder is shared between hosts or containers
whose users differ). Otherwise a random 256-bit key is generated once into `<folder>/.cache-key`, mode 0600,
owned by the service user, in a folder only that user may write. Worker processes on the host share it, so
a forest compiled once (seconds) is loaded by every later process (milliseconds); reading it needs the
service user's rights, and that user can already change the code itself, so the key file adds no weaker
link than the one that exists. A key file someone else owns or could read or write is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from fraud_detection.domain.errors import UntrustedModelError

logger = logging.getLogger(__name__)

KEY_FILE = ".cache-key"
KEY_BYTES = 32
SEAL_SIZE = hashlib.sha256().digest_size
MAX_KEY_FILE_BYTES = 1024
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_ACCESSIBLE_BY_OTHERS = stat.S_IRWXG | stat.S_IRWXO


class CacheSeal:
    """HMAC-SHA256 under one key; `purpose` separates caches that share the key."""

    def __init__(self, key: bytes, purpose: str) -> None:
        if len(key) < 16:
            raise ValueError("a cache key must be at least 16 bytes")
        self._key, self._purpose = key, purpose.encode()

    @classmethod
    def for_folder(cls, folder: Path, purpose: str, secret: str | None = None) -> CacheSeal:
        """The deployment's key when given, else the folder's generated key file (made on first use)."""
        if secret:
            return cls(secret.encode(), purpose)
        return cls(_folder_key(folder), purpose)

    def seal(self, name: str, payload: bytes) -> bytes:
        message = self._purpose + b"\0" + name.encode() + b"\0" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, name: str, payload: bytes, seal: bytes) -> bool:
        return hmac.compare_digest(self.seal(name, payload), seal)


def read_private(path: Path) -> bytes | None:
    """The file's bytes when it is a regular file (not a link) owned by this user and writable by no one
    else; None when it does not exist; `UntrustedModelError` for any other file."""
    found = _read_checked(path)
    return None if found is None else found[0]


def _read_checked(path: Path) -> tuple[bytes, os.stat_result] | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:  # ELOOP: a symbolic link planted in the folder
        raise UntrustedModelError(f"{path}: refused to open ({error})") from error
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        _require_private(path, info)
        return handle.read(), info


def private_folder(folder: Path) -> None:
    """Create `folder` (0700) if needed; refuse one that another user owns or others may write."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.geteuid() or info.st_mode & _WRITABLE_BY_OTHERS:
        raise UntrustedModelError(
            f"cache folder {folder} is owned by uid {info.st_uid} or writable by group/others "
            f"(mode {stat.filemode(info.st_mode)}); refusing to use it"
        )


def _require_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedModelError(f"{path}: not a regular file; refused")
    if info.st_uid != os.geteuid():
        raise UntrustedModelError(f"{path}: owned by uid {info.st_uid}, not this service's {os.geteuid()}")
    if info.st_mode & _WRITABLE_BY_OTHERS:
        raise UntrustedModelError(
            f"{path}: writable by group or others (mode {stat.filemode(info.st_mode)}); refused"
        )


def _folder_key(folder: Path) -> bytes:
    private_folder(folder)
    path = folder / KEY_FILE
    key = _read_key(path)
    if key is None:
        _create_key(path)
        key = _read_key(path)
    if key is None:
        raise UntrustedModelError(f"the cache key {path} vanished while it was being created")
    return key


def _read_key(path: Path) -> bytes | None:
    found = _read_checked(path)
    if found is None:
        return None
    data, info = found
    if info.st_mode & _ACCESSIBLE_BY_OTHERS:
        raise UntrustedModelError(f"the cache key {path} is readable by group or others; refused")
    try:
        key = bytes.fromhex(data[:MAX_KEY_FILE_BYTES].decode().strip())
    except ValueError as error:
        raise UntrustedModelError(f"the cache key {path} is not hex text") from error
    if len(key) < KEY_BYTES:
        raise UntrustedModelError(f"the cache key {path} holds fewer than {KEY_BYTES} bytes")
    return key


def _create_key(path: Path) -> None:
    """Write a fresh key beside `path` and link it into place: of processes racing here one wins, the
    others read the winner's key (a link never exposes a half-written file)."""
    temporary = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
            logger.info("generated the cache key %s (set FRAUD_CACHE_KEY to share one across hosts)", path)
        except FileExistsError:
            pass  # another process created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
