"""`fraud feedback add|import` and `fraud quality measure` in-process (typer's runner) over a real container:
SQLite feedback store and local object store under a temporary FRAUD_HOME."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


@pytest.fixture
def container(tmp_path, monkeypatch):
    built = Container(Settings(home=tmp_path))
    use_container(built)
    hour = timedelta(hours=1)
    built.adapters.feedback_store().record_scored([
        ScoredTransaction("a", 1, 0.9, True, NOW - hour), ScoredTransaction("b", 1, 0.2, False, NOW - hour),
        ScoredTransaction("c", 1, 0.8, True, NOW - hour), ScoredTransaction("d", 1, 0.1, False, NOW - hour),
    ])  # fmt: skip
    yield built
    use_container(None)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_add_records_a_label_and_reports_duplicates(container):
    result = run("feedback", "add", "--id", "a", "--fraud")
    assert result.exit_code == 0, result.output
    assert "a: fraud (new)" in result.stdout
    assert "(duplicate)" in run("feedback", "add", "--id", "a", "--fraud").stdout
    when = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    at = run("feedback", "add", "--id", "b", "--legit", "--at", when.replace(tzinfo=None).isoformat())
    assert at.exit_code == 0
    labelled = {r.transaction_id: r for r in container.adapters.feedback_store().labels()}
    assert labelled["b"].labelled_at == when  # no zone: UTC
    assert labelled["a"].is_fraud
    assert not labelled["b"].is_fraud


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "zzz", "--fraud"], "no scored transaction with id 'zzz'"),
        (["--id", "a b", "--fraud"], "'a b' is not a transaction id"),
        (["--id", "a", "--fraud", "--at", "soon"], "'soon' is not an ISO 8601 time"),
        (["--id", "a", "--fraud", "--at", "1970-01-01"], "--at: 1970-01-01T00:00:00+00:00 is older"),
    ],
)
def test_add_bad_input_exits_2_with_one_line(container, args, message):
    result = run("feedback", "add", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr


def test_add_a_conflicting_label_exits_2_and_keeps_the_first(container):
    run("feedback", "add", "--id", "a", "--fraud")
    result = run("feedback", "add", "--id", "a", "--legit")
    assert result.exit_code == 2
    assert "'a' is already labelled fraud" in result.stderr
    assert container.adapters.feedback_store().labels()[0].is_fraud is True


def test_add_needs_fraud_or_legit(container):
    assert run("feedback", "add", "--id", "a").exit_code == 2


def test_add_refuses_fraud_and_legit_together(container):
    """One flag pair let the last of the two win, and a recorded label is never replaced."""
    for flags in (["--fraud", "--legit"], ["--legit", "--fraud"]):
        result = run("feedback", "add", "--id", "a", *flags)
        assert result.exit_code == 2
        assert "error: give one of --fraud or --legit, not both" in result.stderr
    assert container.adapters.feedback_store().labels() == []


def imported(tmp_path, text: str):
    """`fraud feedback import` of a labels.csv holding `text`: (its path, the result)."""
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path, run("feedback", "import", str(path))


def test_a_file_labelling_an_id_both_ways_is_refused_whole(container, tmp_path):
    """The first row's label was kept for good, the correction below reported a `conflict`, and exit 0."""
    path, result = imported(tmp_path, "transaction_id,is_fraud\na,1\nb,0\na,1\na,0\n")
    assert result.exit_code == 2
    assert (
        f"{path}: column 'is_fraud' row 4: 'a' is labelled legit here and fraud at row 1: give each "
        "transaction one label" in result.stderr
    )
    assert container.adapters.feedback_store().labels() == []


def test_an_id_with_a_line_break_is_named_on_one_line(container, tmp_path):
    _, result = imported(tmp_path, 'transaction_id,is_fraud\n"tx-78\nx",1\n')
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'tx-78\\nx' is not a transaction id" in result.stderr


def test_import_then_measure(container, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,is_fraud\na,1\nb,fraud\nc,0\nd,legit\nnobody,1\n")
    result = run("feedback", "import", str(path), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["counts"] == {"new": 4, "duplicate": 0, "conflict": 0, "unknown": 1}
    assert document["unknown"] == ["nobody"]
    again = run("feedback", "import", str(path))
    assert "0 new, 4 duplicate, 0 conflict, 1 unknown" in again.stdout

    # a: flagged fraud (TP); b: passed, fraud (FN); c: flagged, legit (FP); d: passed, legit (TN)
    measured = run("quality", "measure", "--days", "2", "--json")
    assert measured.exit_code == 0, measured.output
    printed = json.loads(measured.stdout)
    (model,) = printed["models"]
    stored = container.settings().home / "store" / "quality" / "latest.json"
    assert printed == json.loads(stored.read_text())  # what --json prints is what is stored, `days` included
    assert printed["days"] == 2
    assert (model["labelled"], model["precision"], model["recall"]) == (4, 0.5, 0.5)
    # from the scores alone: alerts a (0.9) and c (0.8) of 2.0 expected frauds
    assert model["estimated_precision"] == pytest.approx(0.85)
    assert model["estimated_recall"] == pytest.approx(0.85)
    table = run("quality", "measure")
    assert "0.5000" in table.stdout
    assert "0.8500" in table.stdout  # shown beside the realised figures
    assert "quality/latest.json" in table.stdout


def test_an_import_that_records_no_label_exits_2_saying_why(container, tmp_path):
    """It printed "0 new, 0 duplicate, 0 conflict, 1 unknown" and exited 0: a forgotten --namespace (the trap
    the README warns about) passed silently in scripts, where `feedback add` and the API refuse."""
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,is_fraud\nnobody,1\nnone-either,0\n")
    result = run("feedback", "import", str(path))
    assert result.exit_code == 2
    assert "0 new, 0 duplicate, 0 conflict, 2 unknown" in result.stdout
    assert f"{path}: no label was recorded" in result.stderr
    assert "pass --namespace" in result.stderr
    assert run("feedback", "import", str(path), "--json").exit_code == 2
    assert run("feedback", "add", "--id", "a", "--fraud").exit_code == 0
    conflicting = tmp_path / "conflicting.csv"
    conflicting.write_text("transaction_id,is_fraud\na,legit\nnobody,1\n")
    refused = run("feedback", "import", str(conflicting))
    assert refused.exit_code == 2
    assert "0 new, 0 duplicate, 1 conflict, 1 unknown" in refused.stdout
    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text("transaction_id,is_fraud\na,fraud\nnobody,1\n")
    assert run("feedback", "import", str(duplicate)).exit_code == 0  # a retry is harmless


def test_a_bad_file_records_nothing(container, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,is_fraud\na,1\nb,maybe\n")
    result = run("feedback", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}: column 'is_fraud' row 2: 'maybe' is not a label" in result.stderr
    assert container.adapters.feedback_store().labels() == []  # the first row was not recorded either
    header_only = tmp_path / "empty.csv"
    header_only.write_text("transaction_id,is_fraud\n")
    assert "no rows" in run("feedback", "import", str(header_only)).stderr
    missing = run("feedback", "import", str(tmp_path / "missing.csv"))
    assert missing.exit_code == 2
    assert "missing.csv" in missing.stderr
    stale = tmp_path / "stale.csv"
    stale.write_text("transaction_id,is_fraud,labelled_at\na,1,\nb,1,2000-01-01T00:00:00Z\n")
    result = run("feedback", "import", str(stale))
    assert result.exit_code == 2
    assert f"{stale}: column 'labelled_at' row 2: 2000-01-01T00:00:00+00:00 is older than" in result.stderr
    assert container.adapters.feedback_store().labels() == []


@pytest.mark.parametrize("days", ["0", "-1", "nan", "1e9"])
def test_measure_refuses_a_window_that_makes_no_sense(tmp_path, monkeypatch, days):
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path / "home"))
    use_container(None)
    result = run("quality", "measure", "--days", days)
    assert result.exit_code == 2
    assert "--days: must be more than 0 and less than 36500" in result.stderr
    assert not (tmp_path / "home").exists()  # refused before the feedback store was created


def test_namespace_labels_ids_the_api_scored_for_that_namespace(container, tmp_path):
    container.adapters.feedback_store().record_scored([ScoredTransaction("acme:tx-9", 1, 0.9, True, NOW)])
    assert run("feedback", "add", "--id", "tx-9", "--fraud").exit_code == 2  # not an id of its own
    added = run("feedback", "add", "--id", "tx-9", "--fraud", "--namespace", "acme")
    assert added.exit_code == 0, added.output
    assert "tx-9: fraud (new)" in added.stdout
    assert run("feedback", "add", "--id", "tx-9", "--fraud", "--namespace", "Bad:NS").exit_code == 2
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,is_fraud\ntx-9,1\ntx-10,0\n")
    imported = json.loads(run("feedback", "import", str(path), "--json", "--namespace", "acme").stdout)
    assert imported["counts"]["duplicate"] == 1
    assert imported["counts"]["unknown"] == 1


def test_an_interrupted_import_says_how_many_labels_stay_recorded(container, tmp_path, monkeypatch):
    """A crash probe: Ctrl-C after 23,000 of 64,200 labels printed only 'interrupted', though every chunk
    handled so far stayed recorded."""
    from fraud_detection.application.feedback import RecordFeedback
    from fraud_detection.entrypoints.cli import feedback

    monkeypatch.setattr(feedback, "IMPORT_CHUNK", 2)
    call = RecordFeedback.__call__
    calls = []

    def ctrl_c_at_the_second_chunk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return call(self, *args, **kwargs)

    monkeypatch.setattr(RecordFeedback, "__call__", ctrl_c_at_the_second_chunk)
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,is_fraud\na,1\nb,fraud\nc,0\nd,legit\n")
    result = run("feedback", "import", str(path))
    assert result.exit_code == 130
    assert "interrupted: 2 of 4 labels were handled and stay recorded" in result.stderr
    assert {label.transaction_id for label in container.adapters.feedback_store().labels()} == {"a", "b"}
