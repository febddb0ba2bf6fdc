"""The canary's bound (domain/rollout/routing.py): a transaction goes to the canary when its hash,
blake2b-64 of `salt NUL key` read big-endian, is below `percent` of the 64-bit range. The hash itself, the
share and the 0% / 100% ends are tested in test_rollout_policy.py; this file holds the edge at the bound."""

from __future__ import annotations

import hashlib
import math

from fraud_detection.domain.rollout import CanaryRouter

SALT = "fraud-lgbm:2"  # the rollout: model name and challenger version


def position(key: str, salt: str = SALT) -> int:
    """Where a transaction falls in [0, 2^64): the hash the router documents."""
    return int.from_bytes(hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest(), "big")


def share_of(hash_value: int) -> float:
    return hash_value * 100 / 2**64


def test_a_transaction_whose_hash_is_exactly_the_bound_stays_with_the_champion() -> None:
    """The canary takes [0, percent% of 2^64): a hash equal to the bound is outside it."""
    key, percent = next(
        (key, share_of(position(key)))
        for key in (f"txn-{i}" for i in range(10_000))
        if share_of(position(key)) / 100 * 2**64 == position(key)  # the bound is exactly this hash
    )
    router = CanaryRouter(percent, SALT)
    assert not router(key)
    assert CanaryRouter(math.nextafter(percent, 100.0), SALT)(key)
