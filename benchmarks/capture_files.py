"""How long a drift check takes to read a window of small capture files from S3: one GET at a time, with
the object store's read-ahead, and after compaction merged each hour's files into one.

`fraud serve` writes a capture file every FRAUD_CAPTURE_MAX_SECONDS (5 s) while traffic flows, so a replica
writes ~720 files an hour at almost any traffic; the hourly drift check reads a day of them (prod, 2 API
replicas: ~34,560 files) within its Lambda's 300 s. This writes `--files` files of `--rows` rows each (the
prediction-log layout, spread over the hours 720 files an hour) to a real SeaweedFS server on loopback, then
reads the whole window through PredictionLogWindow.read (what the drift check runs) with read-ahead 1 and
with READ_AHEAD, first as loopback serves it, then with `--latency-ms` added to every GET: a model of S3's
time to first byte in-region (an assumption, not a measurement here). Then CaptureCompactor merges the
hours (timed with the added latency) and, a grace period later, deletes the merged files; the window is read
again. Each read must return the same rows. Prints the table, the ratios, and what reading a day of files
would take at the measured rates for 2 and 10 replicas (prod's range) writing a file every 5 s (the old
default) or 60 s (the default now); run on demand, not a test.

    .venv/bin/python benchmarks/capture_files.py [--files 2000] [--rows 30] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the SeaweedFS launcher the integration tests use

from captured_reads import START, capture_columns  # noqa: E402  (benchmarks/captured_reads.py)
from tests.fixtures.seaweedfs import running_seaweedfs  # noqa: E402

from fraud_detection.infrastructure.arrow.prediction_log.compaction import (  # noqa: E402
    GRACE,
    SETTLE,
    CaptureCompactor,
)
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import (  # noqa: E402
    PredictionLogWindow,
)
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (  # noqa: E402
    PREDICTION_SCHEMA,
)
from fraud_detection.infrastructure.s3 import S3ObjectStore, make_s3_client  # noqa: E402
from fraud_detection.infrastructure.s3.object_store import READ_AHEAD  # noqa: E402

FILES_AN_HOUR = 720  # one replica, a file every 5 s
DAY = 86_400


def capture_file(index: int, rows: int, rng: np.random.Generator) -> tuple[str, bytes]:
    """One micro-batch file: its key in the date=/hour= layout and its Parquet bytes."""
    at = START + timedelta(seconds=index * 3600 / FILES_AN_HOUR)
    ids = [f"acme:tx-{index}-{i}" for i in range(rows)]
    columns = capture_columns(ids, np.full(rows, int(at.timestamp() * 1e6), dtype=np.int64), rng)
    sink = io.BytesIO()
    pq.write_table(pa.table(columns, schema=PREDICTION_SCHEMA), sink)
    key = f"predictions/date={at:%Y-%m-%d}/hour={at:%H}/{at:%Y%m%dT%H%M%S}-1-{index:06d}-bench.parquet"
    return key, sink.getvalue()


def slow_store(endpoint: str, bucket: str, read_ahead: int, latency: float) -> S3ObjectStore:
    """The bucket's store with `latency` seconds added to every request (GET, PUT, LIST, DELETE)."""
    client = make_s3_client(endpoint_url=endpoint, region="us-east-1")
    if latency:
        client.meta.events.register("before-send.s3", lambda **_: time.sleep(latency))
    return S3ObjectStore(bucket, "fraud", client=client, read_ahead=read_ahead)


def read_window(endpoint: str, bucket: str, read_ahead: int, latency: float) -> tuple[float, int, float]:
    """Seconds to read the window, its rows, and the sum of its probabilities (to compare reads)."""
    store = slow_store(endpoint, bucket, read_ahead, latency)
    started = time.perf_counter()
    rows = PredictionLogWindow(store).read(START, None, None)
    return time.perf_counter() - started, len(rows), float(rows.probabilities.sum())


def compact(endpoint: str, bucket: str, files: int, latency: float) -> int:
    """Merge every hour of the window, then delete the merged files a grace period later (both timed with
    `latency` a request); the number of files left."""
    last = START + timedelta(seconds=(files - 1) * 3600 / FILES_AN_HOUR)
    now = [(last + timedelta(hours=1) + SETTLE).timestamp()]
    store = slow_store(endpoint, bucket, READ_AHEAD, latency)
    compactor = CaptureCompactor(store, clock=lambda: now[0])
    hours = (now[0] - START.timestamp()) / 3600 + 1
    started = time.perf_counter()
    merged = compactor.compact(hours)
    merging = time.perf_counter() - started
    now[0] += GRACE.total_seconds()
    started = time.perf_counter()
    swept = compactor.compact(hours)
    sweeping = time.perf_counter() - started
    left = sum(1 for _ in store.list_keys("predictions/"))
    print(f"compaction with +{latency * 1000:.0f} ms a request: {merged.files_merged:,} files into "
          f"{merged.hours} in {merging:.1f} s; {swept.files_deleted:,} deleted after the grace period in "
          f"{sweeping:.1f} s; {left} files left")  # fmt: skip
    return left


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--rows", type=int, default=30, help="rows a file (~6 a second, 5 s a file)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, running_seaweedfs(Path(folder)) as server:
        os.environ |= {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key}
        bucket = server.create_bucket("capture-files")
        writer = S3ObjectStore(bucket, "fraud", endpoint_url=server.endpoint_url, region="us-east-1")
        rng = np.random.default_rng(7)
        started = time.perf_counter()
        for index in range(args.files):
            writer.write_bytes(*capture_file(index, args.rows, rng))
        hours = args.files / FILES_AN_HOUR
        print(f"{args.files:,} capture files of {args.rows} rows ({hours:.1f} hours of one replica) written "
              f"to SeaweedFS in {time.perf_counter() - started:.1f} s")  # fmt: skip
        print(f"{'GET latency added':>17} {'read-ahead':>10} {'seconds':>8} {'files/s':>8}")
        results = {}
        for latency in (0.0, args.latency_ms / 1000):
            for read_ahead in (1, READ_AHEAD):
                seconds, rows, total = read_window(server.endpoint_url, bucket, read_ahead, latency)
                results[latency, read_ahead] = (seconds, rows, total)
                rate = args.files / seconds
                print(f"{latency * 1000:>14.0f} ms {read_ahead:>10} {seconds:>8.2f} {rate:>8.0f}")
        compacted = compact(server.endpoint_url, bucket, args.files, args.latency_ms / 1000)
        for latency in (0.0, args.latency_ms / 1000):
            seconds, rows, total = read_window(server.endpoint_url, bucket, READ_AHEAD, latency)
            results[latency, "compacted"] = (seconds, rows, total)
            print(f"{latency * 1000:>14.0f} ms {'merged':>10} {seconds:>8.2f} {compacted / seconds:>8.0f}")
        same = len({(rows, total) for _, rows, total in results.values()}) == 1
        for latency in (0.0, args.latency_ms / 1000):
            ratio = results[latency, READ_AHEAD][0] / results[latency, 1][0]
            print(f"+{latency * 1000:.0f} ms a GET: read-ahead {READ_AHEAD} vs one by one, time {ratio:.2f}x")
            merged = results[latency, "compacted"][0] / results[latency, READ_AHEAD][0]
            print(
                f"+{latency * 1000:.0f} ms a GET: merged hours vs read-ahead {READ_AHEAD}, time {merged:.3f}x"
            )
        slow = args.latency_ms / 1000
        print(f"a day of files at the rates measured with +{args.latency_ms:.0f} ms a GET (Lambda: 300 s):")
        for every in (5, 60):
            for replicas in (2, 10):
                files = replicas * DAY // every
                one, ahead = (files * results[slow, n][0] / args.files for n in (1, READ_AHEAD))
                print(f"  a file every {every:>2} s, {replicas:>2} replicas: {files:>7,} files, "
                      f"{one:>6,.0f} s one by one, {ahead:>5,.0f} s {READ_AHEAD} at once")  # fmt: skip
        print(f"same rows every way: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
