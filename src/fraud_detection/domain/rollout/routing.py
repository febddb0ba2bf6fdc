"""Which transactions a canary serves."""

from __future__ import annotations

import hashlib


def routes_to_challenger(key: str, percent: float, salt: str) -> bool:
    """Whether a canary at `percent` serves this transaction: a stable hash of the client-scoped id, so a
    transaction retried or scored on another replica gets the same model. `salt` (the rollout) reshuffles
    the share between rollouts, so one set of customers is not always the first to meet new models."""
    if percent <= 0:
        return False
    digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < percent / 100 * 2**64
