"""Checks several settings share, so that a bad value stops the process at start, naming its variable,
instead of failing a stage minutes later."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from pydantic import ValidationInfo

from fraud_detection.domain.redaction import masked_url

URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # `gs://b`, or `s3:/b` with a slash lost on the way


def unset_if_empty(value: object) -> object:
    """`FRAUD_X=` (as a .env file or a compose file writes an unset value) means unset."""
    return None if isinstance(value, str) and not value.strip() else value


def local_path(value: object) -> object:
    """A setting that is a local file or folder: `s3://b/k` would silently become the folder `s3:/b/k`, and
    `~/x` (as an env file or a compose `env_file` leaves it: no shell expands it) a folder named `~` under
    the current one, while the batch roots' overlap check, which expands it, guarded another."""
    if isinstance(value, str) and URL_LIKE.match(value):
        raise ValueError(f"must be a local path, got {masked_url(value)!r}")
    return expanded(value) if isinstance(value, str) else value


def expanded(path: str) -> str:
    """`~` and `~user` expanded; an unknown user is refused: expanduser leaves `~nobody/x` as it is, which
    became a folder named `~nobody` under the current one (or pathlib's traceback)."""
    result = os.path.expanduser(path)
    if result.startswith("~"):
        user = result.split("/", 1)[0]
        raise ValueError(f"names the home folder of {user!r}, a user this machine does not know")
    return result


def folder_not_file(path: str) -> None:
    """A setting that is a folder (to hold state) must not name an existing file, nor lie under one
    (`FRAUD_HOME=/srv/notes.txt/home` passed, and the first write failed with "Not a directory")."""
    target = os.path.expanduser(path)
    try:
        blocking = _file_in_the_way(target)
    except OSError as error:  # a name too long for the file system, a loop of links
        raise ValueError(f"cannot be used as a folder: {error.strerror}") from None
    if blocking is not None:
        named = path if blocking == os.path.abspath(target) else blocking
        raise ValueError(f"{named} is a file, not a folder")


def file_not_folder(path: str) -> None:
    target = os.path.expanduser(path)
    if os.path.isdir(target):
        raise ValueError(f"{path} is a folder, not a file")
    try:
        blocking = _file_in_the_way(os.path.dirname(target) or ".")
    except OSError as error:
        raise ValueError(f"cannot be used as a file: {error.strerror}") from None
    if blocking is not None:
        raise ValueError(f"{blocking} is a file, not a folder")


def _file_in_the_way(folder: str) -> str | None:
    """The nearest of `folder` and its parents that exists, when it is not a folder."""
    current = os.path.abspath(folder)
    while True:
        try:
            os.lstat(current)
        except (FileNotFoundError, NotADirectoryError):  # not there (yet), or below a file: look higher
            pass
        else:
            return None if os.path.isdir(current) else current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def check_url(
    value: str, schemes: tuple[str, ...], *, needs_host: bool = True, needs_path: bool = False
) -> str:
    """`value` starts with one of `schemes` (`redis://`...) and, when `needs_host`, names a host; when
    `needs_path` (a Unix socket: `unix:///run/redis.sock`), a path."""
    if not value.startswith(schemes):
        raise ValueError(f"must start with one of {', '.join(schemes)}, got {masked_url(value)!r}")
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number raises here
    except ValueError as error:
        raise ValueError(f"is not a valid URL ({error})") from None
    if needs_host and not parts.hostname:
        raise ValueError(f"names no host: {masked_url(value)!r}")
    if needs_path and parts.path in ("", "/"):
        raise ValueError(f"names no socket path: {masked_url(value)!r}")
    return value


def variable(field: str) -> str:
    return f"FRAUD_{field.upper()}"


def check_above(value: float, info: ValidationInfo, lower_field: str) -> float:
    """A `..._max` setting must exceed its `..._min` (validated before it, so it is in `info.data`;
    absent when the minimum was itself invalid, which is then the error reported)."""
    lower = info.data.get(lower_field)
    if isinstance(lower, int | float) and not lower < value:
        raise ValueError(f"must be greater than {variable(lower_field)} ({lower:g}), got {value:g}")
    return value
