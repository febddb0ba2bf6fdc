"""Where batch jobs may read and write: strictly below a configured root of the right direction.

A root is a local folder (an absolute path, already resolved by whoever configured it) or an S3 prefix
`s3://bucket[/prefix]`. A location is placed under a root by its text alone: no `.` or `..` segment, no
relative path, no other scheme. Whatever is refused gets one message that never depends on what exists, so
a refusal tells nothing about files outside the roots. (The adapters add what text cannot tell: no symlink
below the root, no overwriting.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from fraud_detection.domain.errors import LocationNotAllowedError

S3 = "s3://"


class Direction(StrEnum):
    INPUT = "input"
    OUTPUT = "output"

    @property
    def setting(self) -> str:
        return f"FRAUD_BATCH_{self.name}_ROOTS"


@dataclass(frozen=True)
class Placement:
    """A location below a root: `parts` are the path segments under it (never empty, never `.`/`..`)."""

    root: str  # normalised: "/abs/folder" or "s3://bucket/prefix/" ("s3://bucket/" for a whole bucket)
    parts: tuple[str, ...]

    @property
    def is_s3(self) -> bool:
        return self.root.startswith(S3)

    @property
    def uri(self) -> str:
        joined = "/".join(self.parts)
        return self.root + joined if self.is_s3 else f"{self.root.rstrip('/')}/{joined}"

    @property
    def bucket(self) -> str:
        return self.root[len(S3) :].partition("/")[0]

    @property
    def key(self) -> str:
        return self.uri[len(S3) + len(self.bucket) + 1 :]


def is_relative_path(uri: str) -> bool:
    """A local path without its leading `/`: it means something only against a working folder, which the
    CLI has (it resolves such paths before submitting) and an HTTP request or a worker does not."""
    return bool(uri.strip()) and "://" not in uri and not uri.startswith(("/", "file:"))


def normalize_root(text: str) -> str:
    """A root as the rule compares it; raises ValueError for a relative path, `..`, or an empty bucket."""
    text = text.strip()
    if text.startswith(S3):
        bucket, _, prefix = text[len(S3) :].partition("/")
        segments = [s for s in prefix.split("/") if s]
        if not bucket or any(s in (".", "..") for s in segments):
            raise ValueError(f"'{text}' is not an S3 prefix of the form s3://bucket/prefix")
        return f"{S3}{bucket}/" + "".join(f"{s}/" for s in segments)
    if not text.startswith("/") or "\x00" in text:
        raise ValueError(f"'{text}' is neither an absolute folder path nor an s3:// prefix")
    segments = [s for s in text.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise ValueError(f"'{text}' contains '..'")
    return "/" + "/".join(segments)


def inside(location: str, root: str) -> bool:
    """Is `location` the root itself or below it (both normalised roots or placed URIs)?"""
    if location.startswith(S3) != root.startswith(S3):
        return False
    if root.startswith(S3):
        return (location.rstrip("/") + "/").startswith(root)
    return location == root or location.startswith(root.rstrip("/") + "/")


def overlaps(a: str, b: str) -> bool:
    return inside(a, b) or inside(b, a)


@dataclass(frozen=True)
class BatchRoots:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    namespace: str | None = None  # set by `within`: whose folders these are (named in a refusal)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(normalize_root(r) for r in self.inputs))
        object.__setattr__(self, "outputs", tuple(normalize_root(r) for r in self.outputs))

    def roots(self, direction: Direction) -> tuple[str, ...]:
        return self.inputs if direction is Direction.INPUT else self.outputs

    def within(self, folder: str) -> BatchRoots:
        """Every root narrowed to its sub-folder `folder` (one segment): a tenant's share of the roots."""
        if not folder or "/" in folder or "\x00" in folder or folder in (".", ".."):
            raise ValueError(f"'{folder}' is not one folder name")
        return BatchRoots(
            tuple(f"{root.rstrip('/')}/{folder}" for root in self.inputs),
            tuple(f"{root.rstrip('/')}/{folder}" for root in self.outputs),
            folder,
        )

    def place(self, uri: str, direction: Direction) -> Placement:
        """The root and segments of `uri`; raises `LocationNotAllowedError` (the uniform refusal)."""
        segments = _segments(uri)
        if segments is not None:
            for root in self.roots(direction):
                placed = _below(root, segments)
                if placed is not None:
                    return placed
        raise self.refusal(uri, direction)

    def refusal(self, uri: str, direction: Direction) -> LocationNotAllowedError:
        """The one answer for a location that is outside the roots, missing, a symlink or unreadable."""
        roots = ", ".join(self.roots(direction)) or "none configured"
        whose = f"{direction.value}s"
        if self.namespace is not None:
            whose = f"namespace '{self.namespace}''s {whose} (FRAUD_BATCH_NAMESPACE_FOLDERS)"
        return LocationNotAllowedError(
            f"{direction.value} '{uri}': not found or not allowed "
            f"({whose} must sit under {direction.setting}: {roots})",
            direction.value,
        )


def _segments(uri: str) -> tuple[str, ...] | None:
    """("s3://bucket/", "a", "b") or ("/", "a", "b"); None when the text cannot name an allowed place."""
    if "\x00" in uri:
        return None
    if uri.startswith(S3):
        bucket, _, key = uri[len(S3) :].partition("/")
        parts = key.split("/")
        if not bucket or any(p in ("", ".", "..") for p in parts):
            return None  # S3 keys are taken literally: "a//b" or "a/./b" is another key, refused
        return (f"{S3}{bucket}/", *parts)
    if uri.startswith("file:"):
        split = urlsplit(uri)
        if split.netloc not in ("", "localhost") or split.query or split.fragment:
            return None
        uri = unquote(split.path)
        if "\x00" in uri:
            return None
    if not uri.startswith("/"):
        return None  # relative (the CLI resolves those against its working folder) or another scheme
    parts = [p for p in uri.split("/") if p not in ("", ".")]
    return None if ".." in parts else ("/", *parts)


def _below(root: str, segments: tuple[str, ...]) -> Placement | None:
    if root.startswith(S3):
        head, *root_parts = [p for p in root[len(S3) :].split("/") if p]
        head = f"{S3}{head}/"
    else:
        head, root_parts = "/", [p for p in root.split("/") if p]
    parts = segments[1:]
    if segments[0] != head or len(parts) <= len(root_parts) or list(parts[: len(root_parts)]) != root_parts:
        return None
    return Placement(root, tuple(parts[len(root_parts) :]))


def check_roots(setting: str, roots: Iterable[str], state: dict[str, str], home: str | None) -> None:
    """Refuse a configuration that lets jobs reach the system's own state: raises ValueError naming
    `setting` when a root overlaps one of `state` (name -> normalised location) or contains `home`."""
    for root in roots:
        if home is not None and inside(home, root):
            raise ValueError(
                f"{setting}: root '{root}' contains FRAUD_HOME ({home}); choose a folder outside its state, "
                "such as <home>/batch/in and <home>/batch/out"
            )
        for name, location in state.items():
            if overlaps(root, location):
                raise ValueError(
                    f"{setting}: root '{root}' overlaps the system's own state ({name}: {location}); "
                    "choose folders or prefixes outside it"
                )
