"""The pieces around the feedback use cases: the scored-id queue on the request path, the HTTP status rule
for mixed batches, and the CLI's CSV reader."""

from pathlib import Path

import numpy as np
import pytest

from fraud_detection.domain.errors import DataSourceError, InvalidDataError
from fraud_detection.domain.feedback import LabelOutcome
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.entrypoints.api.routes.feedback import feedback_status
from fraud_detection.entrypoints.cli.feedback import read_labels
from fraud_detection.infrastructure.local.feedback.scored_ids import PendingScoredIds

T0 = 1_777_000_000.0


def batch(ids: tuple[str | None, ...], version: int = 3, scored_at: float = T0) -> PredictionBatch:
    n = len(ids)
    return PredictionBatch(
        inputs=np.zeros((n, 29)), times=np.full(n, np.nan), transaction_ids=ids,
        probabilities=np.linspace(0.1, 0.9, n), decisions=np.arange(n) % 2 == 0, model_name="m",
        model_version=version, request_id="r", scored_at=scored_at,
    )  # fmt: skip


def test_only_rows_with_a_transaction_id_are_queued():
    pending = PendingScoredIds(capacity=10)
    pending.add(batch((None,)))
    pending.add(batch(("one",)))
    pending.add(batch(("a", None, "b"), version=4, scored_at=T0 + 1))
    pending.add(batch((None, None)))
    rows = pending.take().rows()
    assert [(r.transaction_id, r.model_version, r.decision) for r in rows] == [
        ("one", 3, True), ("a", 4, True), ("b", 4, True),
    ]  # fmt: skip
    assert [r.probability for r in rows] == [0.1, 0.1, 0.9]
    assert rows[1].scored_at.timestamp() == T0 + 1
    assert pending.take() is None


def test_appends_go_to_the_spare_while_a_buffer_is_taken_and_overflow_is_dropped():
    pending = PendingScoredIds(capacity=2)
    pending.add(batch(("a",)))
    taken = pending.take()
    pending.add(batch(("b", "c", "d")))  # one more than fits while "a" is being recorded
    assert pending.rows_dropped == 1
    with pytest.raises(RuntimeError):
        pending.take()  # a second indexer would reuse the buffer in flight
    pending.release(taken)
    assert [r.transaction_id for r in pending.take().rows()] == ["b", "c"]
    pending.add(batch(("e",)))
    pending.add(batch(("f",)))
    pending.add(batch(("g",)))
    assert pending.rows_dropped == 2


def test_a_malformed_batch_queues_nothing():
    pending = PendingScoredIds(capacity=4)
    broken = batch(("a", "b"))
    object.__setattr__(broken, "probabilities", np.array([0.5]))
    with pytest.raises(ValueError, match="2 transaction ids for 1 probabilities"):
        pending.add(broken)
    assert pending.take() is None


U, C, N, D = LabelOutcome.UNKNOWN, LabelOutcome.CONFLICT, LabelOutcome.NEW, LabelOutcome.DUPLICATE


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([N], 200), ([D], 200), ([N, U, C], 200), ([D, U], 200),
        ([U], 404), ([U, U], 404),
        ([C], 409), ([C, C], 409), ([C, U], 409),
    ],
)  # fmt: skip
def test_http_status_of_a_feedback_batch(outcomes, status):
    assert feedback_status(outcomes) == status


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_csv_labels_in_every_accepted_spelling(tmp_path):
    path = write(
        tmp_path,
        "\ufefftransaction_id,is_fraud,labelled_at\n"
        "a,1,2026-04-01T10:00:00+02:00\nb,0,\nc,TRUE,2026-04-01\nd,legit,\n\ne,Fraud,\n",
    )
    labels = list(read_labels(path))
    assert [(x.transaction_id, x.is_fraud) for x in labels] == [
        ("a", True), ("b", False), ("c", True), ("d", False), ("e", True),
    ]  # fmt: skip
    assert labels[0].labelled_at is not None
    assert labels[0].labelled_at.utcoffset().total_seconds() == 7200
    assert labels[2].labelled_at is not None
    assert labels[2].labelled_at.tzinfo is not None  # no zone given: UTC
    assert labels[1].labelled_at is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty file"),
        ("transaction_id\na\n", "missing columns ['is_fraud']"),
        ("transaction_id,is_fraud,colour\na,1,red\n", "unexpected columns ['colour']"),
        ("transaction_id,is_fraud,is_fraud\na,1,1\n", "duplicated columns"),
        ("transaction_id,is_fraud\na,1\nb,yes\n", "column 'is_fraud' row 2: 'yes' is not a label"),
        ("transaction_id,is_fraud\na b,1\n", "column 'transaction_id' row 1: 'a b' is not a transaction id"),
        ("transaction_id,is_fraud,labelled_at\na,1,tuesday\n", "column 'labelled_at' row 1: 'tuesday'"),
        (
            "transaction_id,is_fraud,labelled_at\na,1,2099-01-01\n",
            "row 1: 2099-01-01T00:00:00+00:00 is in the future",
        ),
        ("transaction_id,is_fraud\na,1,extra\n", "row 1: 3 fields, expected 2"),
    ],
)
def test_bad_csv_is_refused_naming_file_column_and_row(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(InvalidDataError) as raised:
        list(read_labels(path))
    assert str(path) in str(raised.value)
    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"PAR1\x15\x04\x15\x80\x01\x15\x80\x01", "not UTF-8 text; labels are imported from a CSV file"),
        (
            b"transaction_id,is_fraud\na,1\n" + b"b" * 200_000 + b",0\n",
            "row 2: not readable as CSV: field larger",
        ),
    ],
)
def test_a_file_that_is_not_csv_text_is_refused_naming_it(tmp_path, content, named):
    path = tmp_path / "labels.parquet"
    path.write_bytes(content)
    with pytest.raises(InvalidDataError) as raised:
        list(read_labels(path))
    assert str(path) in str(raised.value)
    assert named in str(raised.value)


def test_a_missing_file_names_it(tmp_path):
    with pytest.raises(DataSourceError, match=r"nope\.csv"):
        list(read_labels(tmp_path / "nope.csv"))


def test_a_label_a_few_minutes_ahead_is_clock_skew_and_kept():
    from datetime import UTC, datetime, timedelta

    from fraud_detection.domain.feedback import LABEL_CLOCK_SKEW, future_label_problem

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert future_label_problem(now + LABEL_CLOCK_SKEW, now) is None
    assert future_label_problem(now + LABEL_CLOCK_SKEW + timedelta(seconds=1), now) == (
        "2026-12-05T12:05:01+00:00 is in the future (now 2026-12-05T12:00:00+00:00)"
    )
