"""Bad input through the CLI: exit code 2, one line naming file, column and problem; nothing stored."""

import gzip

import pytest

from fraud_detection.domain.schema import TRANSACTION_COLUMNS
from tests.e2e.conftest import make_cli

pytestmark = pytest.mark.e2e

HEADER = ",".join(TRANSACTION_COLUMNS)
ROW = ",".join(["0", *["0.5"] * 28, "12.5", "0"])
ROW_TEXT_IN_V3 = ",".join(["0", "0.5", "0.5", "abc", *["0.5"] * 25, "12.5", "0"])


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


BAD_FILES = {
    "empty.csv": ("", "empty"),
    "header_only.csv": (csv(), "no rows"),
    "missing_column.csv": (csv(",".join(ROW.split(",")[:-1]), header=HEADER.replace(",Class", "")), "Class"),
    "extra_column.csv": (csv(ROW + ",1", header=HEADER + ",Extra"), "Extra"),
    "reordered.csv": (csv(ROW, header=HEADER.replace("V1,V2", "V2,V1")), "V2"),
    "text_in_v3.csv": (csv(ROW, ROW_TEXT_IN_V3), "column 'V3' row 2: 'abc' is not a number"),
    "nan_amount.csv": (csv(ROW, ROW.replace("12.5", "NaN")), "Amount"),
    "negative_amount.csv": (csv(ROW, ROW.replace("12.5", "-4")), "Amount"),
    "class_two.csv": (csv(ROW, ROW[:-1] + "2"), "Class"),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("bad-input")


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_refused_with_a_one_line_message(home, name):
    content, named = BAD_FILES[name]
    path = home / name
    path.write_text(content)
    result = make_cli(home)("data", "ingest", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert name in lines[0]
    assert named in lines[0]
    assert "Traceback" not in result.stderr
    stored = home / "store" / "raw"
    assert not stored.exists() or not any(stored.iterdir())


def test_missing_file(tmp_path):
    result = make_cli(tmp_path)("data", "ingest", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert "nope.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_gzip_file_is_ingested_and_identified_by_content(tmp_path):
    plain, packed = tmp_path / "a.csv", tmp_path / "b.csv.gz"
    plain.write_text(csv(ROW, ROW.replace("12.5", "3.25").replace(",0\n", ",1\n")))
    packed.write_bytes(gzip.compress(plain.read_bytes().replace(b"12.5", b"12.50")))
    cli = make_cli(tmp_path)
    first, second = cli("data", "ingest", str(plain)), cli("data", "ingest", str(packed))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip()  # same values -> same content address


def test_kaggle_offline_fails_clearly(tmp_path):
    result = make_cli(tmp_path)("data", "ingest", "kaggle://mlg-ulb/creditcardfraud", timeout=120)
    assert result.returncode == 2
    assert "kaggle" in result.stderr.lower()
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_configuration_is_named(tmp_path):
    result = make_cli(tmp_path, FRAUD_TOP_K="many")("model", "list")
    assert result.returncode == 2
    assert "FRAUD_TOP_K" in result.stderr


def test_labels_from_a_file_that_is_not_csv_text_are_refused_in_one_line(tmp_path):
    labels = tmp_path / "labels.parquet"
    labels.write_bytes(b"PAR1\x15\x04\x15\x80\x01\x15\x80\x01" + bytes(range(256)))
    result = make_cli(tmp_path)("feedback", "import", str(labels))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {labels}: not UTF-8 text"), lines[0]


@pytest.mark.parametrize(
    "args",
    [["model", "promote", "99999999999999999999"], ["model", "rollback", "--to", "99999999999999999999"],
     ["rollout", "start", "99999999999999999999"], ["rollout", "abort", "--version", "99999999999999999999"]],
)  # fmt: skip
def test_a_version_beyond_any_registry_is_refused_before_reaching_it(tmp_path, args):
    """10**20 reached SQLite and ended in its 'Python int too large' traceback."""
    result = make_cli(tmp_path)(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "less than or equal to 2147483647" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["serve", "--log-level", "nope"], ["worker", "--loglevel", "nope"]])
def test_an_unknown_log_level_is_refused_naming_the_levels(tmp_path, args):
    """It reached uvicorn (KeyError) or Celery (BadParameter) and ended in a traceback."""
    result = make_cli(tmp_path)(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "'nope' is not one of 'critical', 'error', 'warning', 'info', 'debug'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["serve", "--host", ""], "--host: empty"),
        (["worker", "--metrics-host", "nan", "--metrics-port", "18890"], "--metrics-host/--metrics-port"),
    ],
)
def test_an_address_no_server_can_listen_on_is_refused_in_one_line(tmp_path, args, said):
    """An empty host listened on every interface; a name that resolves nowhere ended in a gaierror."""
    result = make_cli(tmp_path, FRAUD_BROKER_URL="redis://127.0.0.1:1/0")(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert said in result.stderr


def test_a_file_joining_periods_that_each_count_from_0_is_stored_with_a_warning(tmp_path):
    """Sorted by Time for training, such periods interleave: nothing fails, so the ingest says so."""
    period = [ROW.replace("0", f"{minute * 60}", 1) for minute in range(100)]  # 0 to 5,940 s
    rows = period + period
    path = tmp_path / "joined.csv"
    path.write_text(csv(*rows))
    result = make_cli(tmp_path)("data", "ingest", str(path))
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning: "))
    assert warning.startswith(f"warning: {path}: Time goes back by more than 3600 s once in file order")
    assert "data row 101: from 5940 s to 0 s" in warning
    assert len(result.stdout.split()) == 1  # stdout is still the dataset id alone, for scripts
