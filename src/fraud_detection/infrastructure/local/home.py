"""FRAUD_HOME, created private."""

from __future__ import annotations

from pathlib import Path


def private_home(home: Path) -> None:
    """Create FRAUD_HOME readable by its user alone, before anything is created in it: it holds the feedback
    store (ids, decisions, labels), captured transactions, job records and the embedded registry, which the
    umask (022) left readable by every local user. An existing folder is left as its owner set it; one that
    cannot be made (a read-only root, as a Lambda's) is left to whatever needs it to say so."""
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return
