"""`refuse_repeated_keys`: the colon count lets through exactly the bodies that repeat no key; every other
body is settled by the exact pass, which names the field and the row."""

from __future__ import annotations

import json

import pytest
from fastapi.exceptions import RequestValidationError

from fraud_detection.entrypoints.api.repeated_keys import PROBLEM, refuse_repeated_keys


def refused(raw: bytes, fields: int, colons: int = 0) -> tuple | None:
    try:
        refuse_repeated_keys(raw, fields, colons)
    except RequestValidationError as error:
        (problem,) = error.errors()
        assert problem["msg"] == PROBLEM
        return tuple(problem["loc"])
    return None


def test_a_body_whose_colons_match_its_fields_passes_without_the_exact_pass(monkeypatch):
    from fraud_detection.entrypoints.api import repeated_keys

    monkeypatch.setattr(repeated_keys.json, "loads", None)  # the exact pass would fail loudly
    assert refused(b'{"Amount": 1.0, "V1": 2, "transaction_id": "a:b"}', fields=3, colons=1) is None


@pytest.mark.parametrize(
    ("raw", "fields", "colons", "where"),
    [
        (b'{"Amount": 1, "Amount": 9000}', 1, 0, ("body", "Amount")),
        (b'{"transaction_id": "a:b", "Amount": 1, "Amount": 2}', 2, 1, ("body", "Amount")),
        # an escaped colon in the id pays for the repeat's colon in the count: the exact pass catches it
        (b'{"transaction_id": "a\\u003ab", "Amount": 1, "Amount": 2}', 2, 1, ("body", "Amount")),
        (b'{"V\\u0031": 1, "V1": 2}', 1, 0, ("body", "V1")),
        (b'{"transactions": [{"V1": 1}, {"V2": 1, "V2": 3}]}', 3, 0, ("body", "transactions", 1, "V2")),
        (b'{"transactions": [{"V1": 1}], "transactions": [{"V1": 2}]}', 2, 0, ("body", "transactions")),
    ],
    ids=["single", "with-colon-in-id", "escaped-colon-in-id", "escaped-key", "batch-row", "batch-top"],
)
def test_a_repeated_key_is_named_where_it_is(raw, fields, colons, where):
    assert refused(raw, fields, colons) == where


def test_the_exact_pass_lets_a_body_without_repeats_through():
    raw = json.dumps({"transactions": [{"transaction_id": "x\u003ay", "V1": 1}]}, ensure_ascii=True).encode()
    assert refused(raw.replace(b"x:y", b"x\\u003ay"), fields=3, colons=1) is None
