"""A request body that names a field twice is refused (422 naming the field), not read as its last value.

pydantic-core, like most JSON parsers, keeps the last of a repeated key, so `{"Amount": 1, "Amount": 9000}`
scored 9000 while a gateway or log reading the same bytes may see 1: the kind of disagreement between two
parsers of one payload that a payment API should not leave open.

Why not parse twice: `json.loads` with an `object_pairs_hook` on every body costs 3.9x pydantic's parse of a
single score and 2.5x on a 10,000-row batch (benchmarks/repeated_keys.py). So the check counts instead. In
valid JSON every key is followed by one colon, and the only other colons a body pydantic accepted can hold
are those of its string values (the ids; no field name has one). A body with no colon written as an escape
(`\\u003a` is counted in the value but not among the bytes) whose colons number no more than the fields
pydantic kept plus the colons of their values repeats no key: each repeat adds a key, hence a colon, but no
field. Any other body gets the exact pass with the hook, which also names the field and the row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from fraud_detection.entrypoints.api.bodies import refuse_non_json
from fraud_detection.entrypoints.api.schemas import TransactionBase

PROBLEM = "given more than once: each field may appear once in a JSON object"


class _Pairs(dict[str, Any]):
    """A decoded object that remembers the first key it was given twice."""

    repeated: str | None = None


def refuse_repeated_keys(raw: bytes, fields_kept: int, colons_in_values: int) -> None:
    """Raise RequestValidationError naming a repeated key of `raw`, already parsed and validated by pydantic
    into models holding `fields_kept` fields in all, whose string values hold `colons_in_values` colons."""
    if not _escaped_colon(raw) and raw.count(b":") <= fields_kept + colons_in_values:
        return  # no colon to spare, so no key given twice
    try:
        document = json.loads(raw, object_pairs_hook=_pairs)
    except ValueError:
        return  # not JSON: the route's own parsing answers it
    except RecursionError:
        # nested deeper than Python's decoder goes (~1,000 levels; 2 KiB of brackets): pydantic's own
        # answer stands, where this was a 500 with a traceback
        return
    found = _first_repeat(document, ())
    if found is not None:
        problem = {"type": "repeated_key", "loc": ("body", *found), "msg": PROBLEM}
        raise RequestValidationError([problem])


async def json_body(request: Request) -> None:
    """A dependency of the routes whose body FastAPI parses (a job, a retrain, an abort: each under 64 KiB,
    app.py): a body must say it is JSON (FastAPI handed any other as bytes, to be refused as "not a valid
    dictionary"), and name each field once (the exact pass: none of them is on the scoring path)."""
    raw = await request.body()
    if raw:
        refuse_non_json(request.headers.get("content-type", ""))
        refuse_repeated_keys(raw, 0, 0)


def fields_and_colons(rows: Sequence[TransactionBase]) -> tuple[int, int]:
    """What `refuse_repeated_keys` needs of transactions: their fields, and the colons of their ids."""
    fields = colons = 0
    for row in rows:
        fields += len(row.model_fields_set)
        if row.transaction_id is not None:
            colons += row.transaction_id.count(":")
    return fields, colons


def _escaped_colon(raw: bytes) -> bool:
    """A colon written as an escape: in a decoded value, not among the bytes counted."""
    return b"\\" in raw and (b"\\u003a" in raw or b"\\u003A" in raw)


def _pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    decoded = _Pairs()
    for key, value in pairs:
        if key in decoded and decoded.repeated is None:
            decoded.repeated = key
        decoded[key] = value
    return decoded


def _first_repeat(value: object, path: tuple[int | str, ...]) -> tuple[int | str, ...] | None:
    """The location of the first repeated key, depth first in document order (a batch's row index
    included)."""
    if isinstance(value, _Pairs):
        if value.repeated is not None:
            return (*path, value.repeated)
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _first_repeat(item, (*path, key))
        if found is not None:
            return found
    return None
