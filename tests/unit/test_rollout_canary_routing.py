"""Which transactions a canary serves (domain/rollout/routing.py): the documented stable hash, blake2b-64 of
`salt NUL key` read big-endian, below `percent` of the 64-bit range. Every replica, of any version, must route
a transaction alike, so the hash and the bound are a contract."""

from __future__ import annotations

import hashlib
import math

from fraud_detection.domain.rollout import CanaryRouter, routes_to_challenger

SALT = "fraud-lgbm:2"  # the rollout: model name and challenger version


def position(key: str, salt: str = SALT) -> int:
    """Where a transaction falls in [0, 2^64): the hash the router documents."""
    return int.from_bytes(hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest(), "big")


def share_of(hash_value: int) -> float:
    return hash_value * 100 / 2**64


def test_a_transaction_goes_to_the_canary_when_its_hash_is_below_the_share_of_the_range() -> None:
    for key in (f"txn-{i}" for i in range(200)):
        percent = share_of(position(key))
        assert routes_to_challenger(key, percent * 1.001 + 1e-9, SALT)
        assert not routes_to_challenger(key, percent * 0.999, SALT)


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


def test_no_share_serves_nobody_and_all_of_it_serves_everybody() -> None:
    keys = [f"txn-{i}" for i in range(500)]
    assert not any(CanaryRouter(0.0, SALT)(key) for key in keys)
    assert all(CanaryRouter(100.0, SALT)(key) for key in keys)
