import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.schema import TRANSACTION_COLUMNS, check_columns, check_transactions
from tests.builders import transactions


def test_accepts_the_kaggle_header_and_returns_float64():
    frame = transactions(50)
    frame["Class"] = frame["Class"].astype(int)
    checked = check_transactions(frame, "f.csv")
    assert list(checked.columns) == list(TRANSACTION_COLUMNS)
    assert set(checked.dtypes) == {np.dtype("float64")}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([c for c in TRANSACTION_COLUMNS if c != "V7"], "missing columns ['V7']"),
        ([*TRANSACTION_COLUMNS, "Extra"], "unexpected columns ['Extra']"),
        (["V1", "Time", *TRANSACTION_COLUMNS[2:]], "position 1 is 'V1', expected 'Time'"),
        ([*TRANSACTION_COLUMNS, "Amount"], "duplicated columns ['Amount']"),
    ],
)
def test_header_problems_are_named(columns, message):
    with pytest.raises(InvalidDataError, match=message.replace("[", r"\[").replace("]", r"\]")) as error:
        check_columns(columns, "data/x.csv")
    assert str(error.value).startswith("data/x.csv:")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("Amount", -1.0, "negative value"),
        ("Time", -5.0, "negative value"),
        ("Class", 2.0, "outside {0, 1}"),
        ("V3", np.nan, "missing or non-finite"),
        ("V9", np.inf, "missing or non-finite"),
    ],
)
def test_bad_values_name_column_and_row(column, value, problem):
    frame = transactions(20)
    frame.loc[7, column] = value
    with pytest.raises(InvalidDataError, match=problem) as error:
        check_transactions(frame, "f.csv")
    assert (error.value.column, error.value.row) == (column, 7)
    assert f"column '{column}' row 8" in str(error.value)


def test_text_in_a_numeric_column_is_rejected():
    frame = transactions(5).astype(object)
    frame.loc[2, "V2"] = "abc"
    with pytest.raises(InvalidDataError, match="column 'V2' row 3: 'abc' is not a number"):
        check_transactions(frame, "f.csv")


def test_numbers_held_as_text_are_accepted():
    frame = transactions(5).astype(str)
    assert check_transactions(frame, "f.csv")["Amount"].dtype == np.float64


def test_header_only_is_rejected():
    with pytest.raises(InvalidDataError, match="no rows"):
        check_transactions(pd.DataFrame(columns=list(TRANSACTION_COLUMNS)), "f.csv")
