"""What a training run records about where it came from: the code (version, git commit), who ran it where,
and the training settings in effect. A model-risk review must be able to say which code and which
settings made a registered version; `mlflow.start_run` would add user and commit tags by itself, but runs
are created through the client (tracker.py), which adds none."""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

from fraud_detection.domain.run_provenance import (
    CODE_VERSION_TAG,
    COMMIT_TAG,
    HOST_TAG,
    USER_TAG,
    process_user,
)

SETTING_PARAM_PREFIX = "setting."  # apart from the trainer's own params (`seed` is logged by both)
UNKNOWN = "unknown"


def run_tags(commit: str | None) -> dict[str, str]:
    """`commit`: the configured one (FRAUD_CODE_COMMIT, set in the image); else the checkout's, if any."""
    tags = {CODE_VERSION_TAG: _package_version(), USER_TAG: process_user(), HOST_TAG: socket.gethostname()}
    found = commit or checkout_commit(Path(__file__).resolve())
    if found:
        tags[COMMIT_TAG] = found
    return tags


def setting_params(values: Mapping[str, object]) -> dict[str, str]:
    return {f"{SETTING_PARAM_PREFIX}{name}": str(value) for name, value in sorted(values.items())}


def checkout_commit(source: Path) -> str | None:
    """HEAD of the git work tree that tracks the file `source` (an editable install), `+dirty` when files
    differ from it; None outside one or without git. Tracked, not merely inside: a package installed into
    a venv inside some other repository would record that repository's commit."""
    try:
        _git(source.parent, "ls-files", "--error-unmatch", "--", source.name)
        head = _git(source.parent, "rev-parse", "HEAD")
        changed = _git(source.parent, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if changed else head


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def _package_version() -> str:
    try:
        return importlib.metadata.version("fraud-detection")
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN
