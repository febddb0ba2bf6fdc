"""Files a command writes where the user says: a local path, `file:///path`, or an object `s3://bucket/key`.

Outputs accept what inputs accept (less `kaggle://`, which is read-only). An option typed `Path` would turn
`s3://bucket/key` into a local folder `s3:/bucket/key` and report success, so output options are plain text,
checked here before any work starts; another scheme is refused with one line. Local files are written to a
temporary sibling and moved into place (os.replace); an S3 PUT is atomic per object.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fraud_detection.entrypoints.cli.errors import fail
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder

if TYPE_CHECKING:
    from fraud_detection.domain.ports import ObjectStore

WRITABLE = "a local path, file:///path or s3://bucket/key"
NEW_FILE_MODE = 0o644  # mkstemp's temporary files are private (0o600); an output is read by others (CI)
URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # `gs://b/k`, or `s3:/b/k` with a slash lost on the way


@dataclass(frozen=True)
class Output:
    """Where one output goes: `path` locally, or `key` in `bucket`."""

    text: str
    path: Path | None = None
    bucket: str = ""
    key: str = ""

    @classmethod
    def parse(cls, text: str, option: str) -> Output:
        """Refuses (exit 2, naming `option`) anything but a local path, file:// or s3://bucket/key."""
        if not text.strip():  # "" read as "not given": the default dataset was written, no summary was
            raise fail(f"{option}: empty; give a path or s3://bucket/key")
        if not URL_LIKE.match(text):
            return cls._local(text, Path(text).expanduser(), option)
        parts = urlsplit(text)
        if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
            from urllib.request import url2pathname  # ~10 ms of imports: not for `fraud --help`

            return cls._local(text, Path(url2pathname(parts.path)), option)
        if parts.scheme == "s3":
            key = parts.path.lstrip("/")
            if not parts.netloc or not key or key.endswith("/") or parts.query or parts.fragment:
                raise fail(f"{option}: '{text}' names no object; expected s3://bucket/key")
            return cls(text, bucket=parts.netloc, key=key)
        raise fail(f"{option}: cannot write to '{text}'; an output is {WRITABLE}")

    @classmethod
    def _local(cls, text: str, path: Path, option: str) -> Output:
        """A folder is refused now, not when the file is moved into place after the whole run (a pipeline
        run trained and registered a model, then failed on it, leaving its temporary file beside it)."""
        if path.is_dir():
            raise fail(f"{option}: '{text}' is a folder; name a file")
        # The nearest parent that exists must be a folder: found now, not after a whole run.
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise fail(f"{option}: '{text}': {parent} is a file, not a folder")
                break
        return cls(text, path=path)

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else self.key.rsplit("/", 1)[-1]

    def exists(self) -> bool:
        if self.path is not None:
            return self.path.exists()
        return _bucket(self.bucket).exists(self.key)

    def write_with(self, write: Callable[[Path], object]) -> None:
        """`write(path)` writes the whole file (atomically, for a local output); for S3 it writes a local
        temporary copy that is then uploaded as one object."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write(self.path)
            return
        with scratch_folder("fraud-output-") as folder:
            local = Path(folder) / self.name
            write(local)
            _bucket(self.bucket).write_file(self.key, local)

    def write_text(self, text: str) -> None:
        self.write_with(lambda path: write_atomically(path, text))


def write_atomically(path: Path, text: str) -> None:
    """A reader (a benchmark, a CI step) sees the old file or the whole new one, with the old one's mode
    (a new file: 0644). The temporary sibling's name is short: named after the file, a name of 246-255
    bytes, valid, failed after the whole run."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".fraud-output-", suffix=".tmp")
    except OSError as error:  # named for the file asked for, not for its temporary sibling
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:  # a full disk: no temporary sibling left behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _bucket(bucket: str) -> ObjectStore:
    from fraud_detection.composition.adapters import object_store_at
    from fraud_detection.entrypoints.cli.context import container

    return object_store_at(container().settings(), f"s3://{bucket}")


def refuse_the_store(target: Output, storage_uri: str, option: str) -> None:
    """Exit 2 for an output inside the store (`FRAUD_STORAGE_URI`): `fraud data generate --force` there
    replaced a stored dataset's data file, which then failed its content check for good."""
    if storage_uri.startswith("s3://"):
        bucket, _, prefix = storage_uri.removeprefix("s3://").partition("/")
        folder = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
        inside = target.bucket == bucket and target.key.startswith(folder)
    else:
        inside = target.path is not None and target.path.resolve().is_relative_to(Path(storage_uri).resolve())
    if inside:
        raise fail(
            f"{option}: '{target.text}' is inside the store ({storage_uri}), whose files only ingest writes; "
            "name a file elsewhere"
        )
