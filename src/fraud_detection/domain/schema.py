"""The transaction schema of the ULB/Kaggle credit-card dataset, and its hard (non-statistical) rules.

These rules are checked on every ingest before anything is stored; the statistical checks live in the
validation suite. Keeping both here means one definition of "a transaction" for training and scoring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraud_detection.domain.errors import InvalidDataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

TIME = "Time"
AMOUNT = "Amount"
LABEL = "Class"
V_COLUMNS: tuple[str, ...] = tuple(f"V{i}" for i in range(1, 29))
INPUT_COLUMNS: tuple[str, ...] = (TIME, *V_COLUMNS, AMOUNT)
TRANSACTION_COLUMNS: tuple[str, ...] = (*INPUT_COLUMNS, LABEL)


def check_columns(columns: list[str], source: str) -> None:
    """Require exactly the Kaggle header, in its order; name what is missing, extra or out of place."""
    expected = list(TRANSACTION_COLUMNS)
    if columns == expected:
        return
    if columns and all(_looks_numeric(name) for name in columns):  # read as "duplicated columns ['0']"
        raise InvalidDataError(
            source, f"no header: the first line holds numbers; the file must start with {','.join(expected)}"
        )
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise InvalidDataError(source, f"duplicated columns {duplicated}", column=duplicated[0])
    if missing:
        raise InvalidDataError(source, f"missing columns {missing}", column=missing[0])
    if extra:
        raise InvalidDataError(source, f"unexpected columns {extra}", column=extra[0])
    first = next(i for i, (a, b) in enumerate(zip(columns, expected, strict=True)) if a != b)
    raise InvalidDataError(
        source,
        f"columns out of order: position {first + 1} is '{columns[first]}', expected '{expected[first]}'",
        column=columns[first],
    )


def _looks_numeric(name: str) -> bool:
    try:
        float(name)
    except ValueError:
        return False
    return True


def numeric_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The schema's columns as float64, or InvalidDataError naming the first cell that is not a number.
    Sources call this to parse; `check_transactions` adds the value rules."""
    import pandas as pd  # imported where used: the column names are read by commands without pandas

    check_columns([str(c) for c in frame.columns], source)
    # copy=False: float64 columns are taken as they are. Ingest called this three times on one frame, each
    # a whole copy: 10x the default rows (674 MiB of values) peaked at 5.3x that.
    return pd.DataFrame(
        {column: _as_float(frame[column], source, column) for column in TRANSACTION_COLUMNS},
        index=frame.index,
        copy=False,
    )


def check_transactions(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return the frame as float64 columns in schema order, or raise naming the first bad column and row."""
    import numpy as np  # imported where used, as pandas is

    frame = numeric_frame(frame, source)
    if frame.empty:
        raise InvalidDataError(source, "no rows (header only or empty file)")
    for column in TRANSACTION_COLUMNS:
        array = frame[column].to_numpy()
        _require(source, column, array, np.isfinite(array), "missing or non-finite value")
        if column in (TIME, AMOUNT):
            _require(source, column, array, array >= 0, "negative value")
        if column == LABEL:
            _require(source, column, array, (array == 0) | (array == 1), "value outside {0, 1}")
    return frame


def _as_float(values: pd.Series, source: str, column: str) -> np.ndarray:
    import numpy as np
    import pandas as pd  # imported where used: the column names are read by commands without pandas

    if pd.api.types.is_bool_dtype(values):
        raise InvalidDataError(source, "boolean values, expected numbers", column=column)
    # A Parquet timestamp or duration became microseconds (7 s read as 7,000,000), caught only by Time's
    # upper bound, and not at all for a short span: Time counts seconds, as a plain number.
    if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_timedelta64_dtype(values):
        kind = "timestamp" if pd.api.types.is_datetime64_any_dtype(values) else "duration"
        raise InvalidDataError(source, f"{kind} values, expected numbers (seconds)", column=column)
    if not pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() & values.notna()
        if bool(bad.any()):
            row = int(np.argmax(bad.to_numpy()))
            raise InvalidDataError(source, f"{values.iloc[row]!r} is not a number", column=column, row=row)
        values = numbers
    if values.dtype == np.float64:
        return values.to_numpy()  # NaN is already NaN; `na_value` would copy the column
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _require(source: str, column: str, array: np.ndarray, ok: np.ndarray, problem: str) -> None:
    if bool(ok.all()):
        return
    row = int(ok.argmin())
    raise InvalidDataError(source, f"{problem} ({float(array[row])!r})", column=column, row=row)
