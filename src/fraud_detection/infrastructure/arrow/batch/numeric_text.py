"""Numbers written as text: which cell pyarrow cannot read as float64, and numeric columns as float64.

pyarrow's errors name neither row nor value; a bisection of casts over one batch finds the first bad cell
at Arrow speed (no Python loop over rows), with the same parser and the same leniency for surrounding
spaces as its CSV reader.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from fraud_detection.domain.errors import InvalidDataError

_SHOWN_CHARS = 40


def first_unparsable(values: pa.Array) -> int | None:
    """Index of the first non-null string that is not a number, or None when all are."""
    return first_failing(pc.utf8_trim_whitespace(values), _parses)


def first_failing(values: pa.Array, passes: Callable[[pa.Array], bool]) -> int | None:
    """Index of the first value for which `passes` (a check of a whole slice, at Arrow speed) fails, found
    by halving; None when all pass."""
    if passes(values):
        return None
    low, high = 0, len(values)  # values[:low] passes, values[:high] does not
    while high - low > 1:
        middle = (low + high) // 2
        if passes(values.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low


def not_a_number(source: str, column: str, values: pa.Array, index: int, first_row: int) -> InvalidDataError:
    text = str(values[index].as_py())
    shown = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."
    return InvalidDataError(source, f"{shown!r} is not a number", column=column, row=first_row + index)


def as_float64(values: pa.Array, column: str, source: str, first_row: int) -> pa.Array:
    """Integers, decimals and floats widen; text is parsed (the first bad cell is named); booleans, dates
    and other types are refused rather than silently turned into numbers."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pc.cast(values, pa.float64())
    if pa.types.is_null(kind):
        return pa.nulls(len(values), pa.float64())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        bad = first_unparsable(values)
        if bad is not None:
            raise not_a_number(source, column, values, bad, first_row)
        return pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
    raise InvalidDataError(source, f"holds {kind} values, expected numbers", column=column)


def _parses(values: pa.Array) -> bool:
    try:
        pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        return False
    return True
