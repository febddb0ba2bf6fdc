"""The exact error a user sees for each schema problem (source, column, 1-based row, problem), and what the
parsed frame keeps (the caller's index)."""

import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.schema import (
    TRANSACTION_COLUMNS,
    check_columns,
    check_transactions,
    numeric_frame,
)
from tests.builders import transactions


@pytest.mark.parametrize(
    ("columns", "column", "message"),
    [
        ([*TRANSACTION_COLUMNS, "V2", "Amount"], "Amount", "duplicated columns ['Amount', 'V2']"),
        ([c for c in TRANSACTION_COLUMNS if c not in ("V7", "V9")], "V7", "missing columns ['V7', 'V9']"),
        ([*TRANSACTION_COLUMNS, "Extra", "More"], "Extra", "unexpected columns ['Extra', 'More']"),
        (
            [*TRANSACTION_COLUMNS[:2], "V3", "V2", *TRANSACTION_COLUMNS[4:]],
            "V3",
            "columns out of order: position 3 is 'V3', expected 'V2'",
        ),
    ],
)
def test_header_errors_name_the_first_offending_column(columns, column, message):
    with pytest.raises(InvalidDataError) as error:
        check_columns(columns, "data/x.csv")
    assert str(error.value) == f"data/x.csv: column '{column}': {message}"
    assert (error.value.source, error.value.column, error.value.row) == ("data/x.csv", column, None)


def test_a_bad_header_is_reported_against_the_source_when_parsing():
    frame = transactions(3).drop(columns=["V7"])
    for parse in (numeric_frame, check_transactions):
        with pytest.raises(InvalidDataError) as error:
            parse(frame, "f.csv")
        assert str(error.value) == "f.csv: column 'V7': missing columns ['V7']"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Amount", -1.0, "f.csv: column 'Amount' row 8: negative value (-1.0)"),
        ("Time", -5.0, "f.csv: column 'Time' row 8: negative value (-5.0)"),
        ("Class", 2.0, "f.csv: column 'Class' row 8: value outside {0, 1} (2.0)"),
        ("V3", np.nan, "f.csv: column 'V3' row 8: missing or non-finite value (nan)"),
        ("Amount", np.inf, "f.csv: column 'Amount' row 8: missing or non-finite value (inf)"),
    ],
)
def test_bad_values_give_the_whole_message(column, value, message):
    frame = transactions(20)
    frame.loc[7, column] = value
    with pytest.raises(InvalidDataError) as error:
        check_transactions(frame, "f.csv")
    assert str(error.value) == message


def test_text_in_a_numeric_column_gives_the_whole_message():
    frame = transactions(5).astype(object)
    frame.loc[2, "V2"] = "abc"
    with pytest.raises(InvalidDataError) as error:
        check_transactions(frame, "f.csv")
    assert str(error.value) == "f.csv: column 'V2' row 3: 'abc' is not a number"
    assert (error.value.column, error.value.row) == ("V2", 2)


def test_header_only_gives_the_whole_message():
    with pytest.raises(InvalidDataError) as error:
        check_transactions(pd.DataFrame(columns=list(TRANSACTION_COLUMNS)), "f.csv")
    assert str(error.value) == "f.csv: no rows (header only or empty file)"


def test_a_boolean_label_column_is_refused_not_read_as_zero_and_one():
    """True/False is not the dataset's 0/1 encoding: a file holding it is the wrong file."""
    frame = transactions(5)
    frame["Class"] = frame["Class"].astype(bool)
    with pytest.raises(InvalidDataError) as error:
        numeric_frame(frame, "f.csv")
    assert str(error.value) == "f.csv: column 'Class': boolean values, expected numbers"
    assert (error.value.column, error.value.row) == ("Class", None)


@pytest.mark.parametrize(
    ("convert", "kind"),
    [
        (lambda t: pd.to_datetime(t, unit="s"), "timestamp"),
        (lambda t: pd.to_timedelta(t, unit="s"), "duration"),
    ],
)
def test_a_time_column_of_timestamps_or_durations_is_refused_not_read_as_microseconds(convert, kind):
    """A probe: a Parquet Time of durations was stored as microseconds (7 s as 7,000,000) and ingested."""
    frame = transactions(5)
    frame["Time"] = convert(frame["Time"])
    with pytest.raises(InvalidDataError) as error:
        numeric_frame(frame, "f.parquet")
    assert str(error.value) == f"f.parquet: column 'Time': {kind} values, expected numbers (seconds)"


def test_parsing_keeps_the_callers_index():
    frame = transactions(4)
    frame.index = pd.Index([7, 3, 5, 1])
    assert list(numeric_frame(frame, "f.csv").index) == [7, 3, 5, 1]
    checked = check_transactions(frame, "f.csv")
    assert list(checked.index) == [7, 3, 5, 1]
    assert checked.loc[3, "Amount"] == frame.loc[3, "Amount"]


def test_missing_values_in_nullable_columns_are_reported_as_missing():
    frame = transactions(4).astype("Float64")
    frame.loc[2, "V4"] = pd.NA
    with pytest.raises(InvalidDataError) as error:
        check_transactions(frame, "f.csv")
    assert str(error.value) == "f.csv: column 'V4' row 3: missing or non-finite value (nan)"


def test_a_file_without_its_header_is_named_as_such():
    """A probe: a CSV whose first line was data read as "column '0': duplicated columns ['0']"."""
    first_line = ["0", "-1.36", "0", *["0.5"] * 28]
    with pytest.raises(InvalidDataError) as error:
        check_columns(first_line, "f.csv")
    assert str(error.value).startswith("f.csv: no header: the first line holds numbers; the file must start")
    assert str(error.value).endswith(",".join(TRANSACTION_COLUMNS))
    with pytest.raises(InvalidDataError, match="missing columns"):  # a header, just a wrong one
        check_columns(["Time", "1"], "f.csv")
