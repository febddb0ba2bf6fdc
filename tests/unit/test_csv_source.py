"""FileTransactionSource on tiny files: each quirk of the real CSV reads; each bad input, a clear error."""

from __future__ import annotations

import gzip
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.errors import DataSourceError, InvalidDataError
from fraud_detection.domain.schema import TRANSACTION_COLUMNS, V_COLUMNS, check_transactions
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource

HEADER = ",".join(TRANSACTION_COLUMNS)


def _row(time: str = "0", amount: str = "1.5", label: str = "0", v: str = "0.25") -> str:
    return ",".join([time, *[v] * len(V_COLUMNS), amount, label])


def _csv(rows: list[str], header: str = HEADER, newline: str = "\n") -> bytes:
    return newline.join([header, *rows, ""]).encode()


@pytest.fixture
def source() -> FileTransactionSource:
    return FileTransactionSource()


def _write(tmp_path: Path, data: bytes, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _reads_to(source: FileTransactionSource, path: Path) -> pd.DataFrame:
    frame = source.read(str(path))
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)
    assert set(frame.dtypes) == {np.dtype(np.float64)}
    return frame


# The real file's quirks ---------------------------------------------------------------------------


def test_zero_written_as_0_and_0_0_reads_alike(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(
        tmp_path, _csv([_row(time="0", label="0"), _row(time="0.0", label="0.0"), _row("1", label="1")])
    )
    frame = _reads_to(source, path)
    assert frame["Time"].tolist() == [0.0, 0.0, 1.0]
    assert frame["Class"].tolist() == [0.0, 0.0, 1.0]


def test_nine_decimal_values_round_trip_exactly(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, _csv([_row(v="-1.359807134", amount="149.62"), _row(v="0.0664108733")]))
    frame = _reads_to(source, path)
    assert frame["V7"].tolist() == [float("-1.359807134"), float("0.0664108733")]
    assert frame["Amount"].iloc[0] == 149.62


def test_quoted_class_values_of_the_kaggle_original(source: FileTransactionSource, tmp_path: Path) -> None:
    header = ",".join(f'"{name}"' for name in TRANSACTION_COLUMNS)
    path = _write(tmp_path, _csv([_row(label='"0"'), _row(label='"1"')], header=header))
    assert _reads_to(source, path)["Class"].tolist() == [0.0, 1.0]


def test_crlf_line_endings(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, _csv([_row(), _row(label="1")], newline="\r\n"))
    assert _reads_to(source, path)["Class"].tolist() == [0.0, 1.0]


def test_utf8_bom_and_trailing_blank_lines(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf" + _csv([_row(), _row()]) + b"\n\n")
    assert len(_reads_to(source, path)) == 2


@pytest.mark.parametrize("name", ["tx.csv.gz", "tx.csv"])
def test_gzip_is_detected_by_content_not_suffix(
    source: FileTransactionSource, tmp_path: Path, name: str
) -> None:
    path = _write(tmp_path, gzip.compress(_csv([_row(amount="7.25")])), name)
    assert _reads_to(source, path)["Amount"].tolist() == [7.25]


def test_plain_csv_named_gz_still_reads(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, _csv([_row()]), "tx.csv.gz")
    assert len(_reads_to(source, path)) == 1


def test_file_uri(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, _csv([_row()]), "with space.csv")
    assert len(source.read(path.as_uri())) == 1


def test_parquet_with_integer_class_and_a_stored_index(source: FileTransactionSource, tmp_path: Path) -> None:
    frame = pd.DataFrame({name: [0.5, 1.0] for name in TRANSACTION_COLUMNS}, index=[10, 20])
    frame["Class"] = np.array([0, 1], dtype=np.int64)
    frame.to_parquet(tmp_path / "tx.parquet")  # keeps the index as column __index_level_0__
    read = _reads_to(source, tmp_path / "tx.parquet")
    assert read["Class"].tolist() == [0.0, 1.0]


# Files that cannot be opened: DataSourceError ----------------------------------------------------------


def test_missing_file(source: FileTransactionSource, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataSourceError, match=rf"{missing}: file not found"):
        source.read(str(missing))


def test_directory(source: FileTransactionSource, tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="is a directory"):
        source.read(str(tmp_path))


def test_unsupported_scheme(source: FileTransactionSource) -> None:
    with pytest.raises(DataSourceError, match=r"unsupported source 'https://example\.com/x\.csv'"):
        source.read("https://example.com/x.csv")


# Content that breaks the schema: InvalidDataError naming what is wrong --------------------------------


def test_empty_file(source: FileTransactionSource, tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"empty file \(0 bytes\)"):
        source.read(str(_write(tmp_path, b"")))


@pytest.mark.parametrize(
    "data", [b"\n", b"   \r\n", gzip.compress(b"", mtime=0)], ids=["newline", "blank", "empty-gzip"]
)
def test_no_header(source: FileTransactionSource, tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InvalidDataError, match="no header row"):
        source.read(str(_write(tmp_path, data)))


def test_header_only(source: FileTransactionSource, tmp_path: Path) -> None:
    frame = source.read(str(_write(tmp_path, _csv([]))))
    assert frame.empty
    with pytest.raises(InvalidDataError, match="no rows"):
        check_transactions(frame, "tx.csv")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([c for c in TRANSACTION_COLUMNS if c != "V3"], r"missing columns \['V3'\]"),
        ([*TRANSACTION_COLUMNS, "Extra"], r"unexpected columns \['Extra'\]"),
        (["V1", "Time", *TRANSACTION_COLUMNS[2:]], "columns out of order: position 1 is 'V1'"),
        ([*TRANSACTION_COLUMNS, "Amount"], r"duplicated columns \['Amount'\]"),
    ],
)
def test_wrong_header(
    source: FileTransactionSource, tmp_path: Path, columns: list[str], message: str
) -> None:
    path = _write(tmp_path, _csv([_row()], header=",".join(columns)))
    with pytest.raises(InvalidDataError, match=message):
        source.read(str(path))


def test_text_in_a_numeric_column_names_column_row_and_line(
    source: FileTransactionSource, tmp_path: Path
) -> None:
    rows = [_row() for _ in range(20)]
    fields = rows[16].split(",")
    fields[3] = "abc"  # V3
    rows[16] = ",".join(fields)
    path = _write(tmp_path, _csv(rows))
    with pytest.raises(InvalidDataError) as caught:
        source.read(str(path))
    assert str(caught.value) == f"{path}: column 'V3' row 17: 'abc' is not a number (line 18)"
    assert (caught.value.column, caught.value.row) == ("V3", 16)


def test_row_with_missing_fields(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, _csv([_row(), _row(), _row().rsplit(",", 1)[0]]))
    with pytest.raises(InvalidDataError, match=r"row 3: 30 fields, expected 31 \(line 4\)"):
        source.read(str(path))


def test_error_in_a_gzip_file_is_located_too(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, gzip.compress(_csv([_row(), _row(amount="12,50")])), "tx.csv.gz")
    with pytest.raises(InvalidDataError, match=r"row 2: 32 fields, expected 31"):
        source.read(str(path))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(amount=""), r"column 'Amount' row 2: missing or non-finite value \(.*nan\)?"),
        (_row(v="inf"), r"column 'V1' row 2: missing or non-finite value \(.*inf\)?"),
        (_row(amount="-3.5"), r"column 'Amount' row 2: negative value \(.*-3\.5\)?"),
        (_row(time="-1"), r"column 'Time' row 2: negative value \(.*-1\.0\)?"),
        (_row(label="2"), r"column 'Class' row 2: value outside \{0, 1\} \(.*2\.0\)?"),
    ],
)
def test_schema_rules_on_values(
    source: FileTransactionSource, tmp_path: Path, row: str, message: str
) -> None:
    path = _write(tmp_path, _csv([_row(), row]))
    frame = source.read(str(path))  # parses: the value rules are the domain's
    with pytest.raises(InvalidDataError, match=message):
        check_transactions(frame, str(path))


def test_invalid_utf8_in_a_value(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, _csv([_row()]) + _row(amount="1\xff").encode("latin-1") + b"\n")
    with pytest.raises(InvalidDataError, match=r"column 'Amount' row 2: .* is not a number"):
        source.read(str(path))


def test_corrupt_gzip(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, b"\x1f\x8b" + b"not really gzip" * 10, "tx.csv.gz")
    with pytest.raises(InvalidDataError, match="cannot read a CSV header"):
        source.read(str(path))


def test_truncated_gzip(source: FileTransactionSource, tmp_path: Path) -> None:
    data = gzip.compress(_csv([_row(v=str(i)) for i in range(3000)]))
    path = _write(tmp_path, data[: len(data) // 2], "tx.csv.gz")
    with pytest.raises(InvalidDataError, match=rf"{path}: .*unreadable from data row \d+"):
        source.read(str(path))


def test_a_field_over_the_csv_limit_names_its_data_row(source: FileTransactionSource, tmp_path: Path) -> None:
    """It read "unreadable before the first data row", the header being whole."""
    path = _write(tmp_path, _csv([]) + b"1," + b"9" * 2_000_000 + b",3\n")  # a short row pyarrow refuses
    with pytest.raises(InvalidDataError, match=r"unreadable from data row 1 \(field larger than field limit"):
        source.read(str(path))


def test_digits_of_another_script_name_their_cell(source: FileTransactionSource, tmp_path: Path) -> None:
    """Python's float() reads "١٢" as 12 where pyarrow refuses it: the error named no row."""
    path = _write(tmp_path, _csv([_row(), _row(amount="\u0661\u0662")]))
    with pytest.raises(InvalidDataError, match=r"column 'Amount' row 2: '\u0661\u0662' is not a number"):
        source.read(str(path))


def test_zip_archive(source: FileTransactionSource, tmp_path: Path) -> None:
    path = tmp_path / "creditcardfraud.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("creditcard.csv", _csv([_row()]))
    with pytest.raises(InvalidDataError, match="zip archive; extract the CSV"):
        source.read(str(path))


def test_binary_garbage(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, bytes(range(256)) * 10, "tx.csv")
    with pytest.raises(InvalidDataError, match=str(path)):
        source.read(str(path))


def test_unreadable_parquet(source: FileTransactionSource, tmp_path: Path) -> None:
    path = _write(tmp_path, b"PAR1" + b"\x00" * 64, "tx.parquet")
    with pytest.raises(InvalidDataError, match="not a readable Parquet file"):
        source.read(str(path))


def test_parquet_with_wrong_columns(source: FileTransactionSource, tmp_path: Path) -> None:
    pd.DataFrame({"Time": [0.0], "Amount": [1.0]}).to_parquet(tmp_path / "tx.parquet")
    with pytest.raises(InvalidDataError, match=r"missing columns \['V1'"):
        source.read(str(tmp_path / "tx.parquet"))


def test_parquet_with_a_text_column(source: FileTransactionSource, tmp_path: Path) -> None:
    frame = pd.DataFrame({name: [0.5] for name in TRANSACTION_COLUMNS})
    frame["V2"] = ["x"]
    frame.to_parquet(tmp_path / "tx.parquet")
    with pytest.raises(InvalidDataError, match=r"tx\.parquet: column 'V2'"):
        source.read(str(tmp_path / "tx.parquet"))


# kaggle:// (kagglehub is optional and never reached over the network here) ----------------------------


def _fake_kagglehub(monkeypatch: pytest.MonkeyPatch, download: object) -> list[tuple[str, str | None]]:
    calls: list[tuple[str, str | None]] = []

    def dataset_download(handle: str, path: str | None = None) -> str:
        calls.append((handle, path))
        return download(handle, path) if callable(download) else str(download)

    module = types.ModuleType("kagglehub")
    module.dataset_download = dataset_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kagglehub", module)
    return calls


def test_kaggle_without_kagglehub_says_what_to_install(
    source: FileTransactionSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # makes `import kagglehub` fail
    # Not `fraud-detection[kaggle]`: PyPI's `fraud-detection` is another project.
    hint = r"pip install '\.\[kaggle\]' from this project's checkout \(or pip install kagglehub\)"
    with pytest.raises(DataSourceError, match=hint):
        source.read("kaggle://mlg-ulb/creditcardfraud")


def test_kaggle_download_failure_is_one_clear_line(
    source: FileTransactionSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(handle: str, path: str | None) -> str:
        raise ConnectionError(
            "HTTPSConnectionPool(host='api.kaggle.com'):\n Failed to resolve 'api.kaggle.com'"
        )

    _fake_kagglehub(monkeypatch, offline)
    with pytest.raises(DataSourceError) as caught:
        source.read("kaggle://mlg-ulb/creditcardfraud")
    message = str(caught.value)
    assert "\n" not in message
    assert "'mlg-ulb/creditcardfraud' failed (ConnectionError: HTTPSConnectionPool" in message
    assert "network access" in message
    assert "credentials" in message


def test_kaggle_dataset_folder_with_the_csv(
    source: FileTransactionSource, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path, _csv([_row(), _row(label="1")]), "creditcard.csv")
    calls = _fake_kagglehub(monkeypatch, tmp_path)
    assert source.read("kaggle://mlg-ulb/creditcardfraud")["Class"].tolist() == [0.0, 1.0]
    assert calls == [("mlg-ulb/creditcardfraud", None)]


def test_kaggle_named_file_is_passed_to_kagglehub(
    source: FileTransactionSource, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _write(tmp_path, _csv([_row()]), "part.csv")
    calls = _fake_kagglehub(monkeypatch, path)
    assert len(source.read("kaggle://owner/data/sub/part.csv")) == 1
    assert calls == [("owner/data", "sub/part.csv")]


def test_kaggle_folder_with_several_files_asks_for_a_name(
    source: FileTransactionSource, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("a.csv", "b.csv"):
        _write(tmp_path, _csv([_row()]), name)
    _fake_kagglehub(monkeypatch, tmp_path)
    with pytest.raises(DataSourceError, match=r"several data files \['a.csv', 'b.csv'\]; name one"):
        source.read("kaggle://owner/data")


def test_kaggle_uri_needs_owner_and_dataset(source: FileTransactionSource) -> None:
    with pytest.raises(DataSourceError, match="expected kaggle://owner/dataset"):
        source.read("kaggle://mlg-ulb")


def test_a_relative_path_is_recorded_as_absolute(
    source: FileTransactionSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fraud data ingest small.csv` recorded `small.csv`: nothing to go on from another folder."""
    monkeypatch.chdir(tmp_path)
    assert source.located("small.csv") == str(tmp_path.resolve() / "small.csv")
    assert source.located("s3://bucket/in/day.csv") == "s3://bucket/in/day.csv"
    assert source.located("kaggle://mlg-ulb/creditcardfraud") == "kaggle://mlg-ulb/creditcardfraud"
    assert source.located("file:///data/x.csv") == "file:///data/x.csv"
