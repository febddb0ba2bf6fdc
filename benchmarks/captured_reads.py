"""What reading captured predictions costs a retrain and a rollout's evidence: every column of every row of
the window (before), or only what each needs (now); and what `GET /admin/rollout` holds to gather the
evidence (GatherEvidence over the port's plain reads, or over the Parquet adapter's).

A retrain needs the captured rows that have a label (a few thousand) out of its lookback's traffic
(FRAUD_RETRAIN_LOOKBACK_DAYS, 30 days); rollout evidence needs the scores, not the 29 inputs, of every row
since the rollout started, and `GET /admin/rollout` gathers it in the API's own process. This writes
`--days` days of prediction-log files (`--rows-per-day` rows, one file per hour, the layout `fraud serve`
writes; the champion v3's answers, and a challenger v4's shadow scores of the same ids), labels `--labels`
ids spread over them, then measures in a fresh process each, peak RSS and time:
  retrain, before   every row of the window, then the labelled ids picked (the port's plain read_ids)
  retrain, now      PredictionLogWindow.read_ids: each file filtered as it is read
  evidence, before  every column of every row (read)
  evidence, now     PredictionLogWindow.read_scores: no inputs, ids as keys, file by file
  status, plain     GatherEvidence of a shadow rollout since the first hour, over the plain read_scores
  status, now       the same over PredictionLogWindow.read_scores (what `fraud rollout status` runs)
  status, bounded   the same within the API's FRAUD_ROLLOUT_STATUS_MAX_ROWS (`--status-max-rows`): past
                    it the gathering stops at the file that passes it (what `GET /admin/rollout` runs)
Each pair must return the same rows (or evidence). `--src DIR` runs the same modes with another checkout's
code (e.g. a `git worktree` of an older commit) to compare commits. Prints a table and the ratios; run on
demand, not a test.

    .venv/bin/python benchmarks/captured_reads.py [--days 30] [--rows-per-day 100000] [--labels 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (
    INPUT_NAMES,
    PREDICTION_SCHEMA,
    SCORED_AT_TYPE,
)
from fraud_detection.settings.rollout import RolloutSettings

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 1, tzinfo=UTC)


def capture_columns(ids: list[str], instants_us: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """The columns of a capture file (PREDICTION_SCHEMA) of the champion v3's answers for `ids`, scored at
    `instants_us` (microseconds since the epoch, UTC)."""
    rows = len(ids)
    columns: dict[str, Any] = {name: rng.normal(size=rows) for name in INPUT_NAMES}
    return columns | {
        "Time": np.arange(rows, dtype=np.float64),
        "transaction_id": ids,
        "request_id": ids,
        "probability": rng.uniform(size=rows),
        "decision": rng.uniform(size=rows) < 0.01,
        "model_name": ["fraud-lgbm"] * rows,
        "model_version": np.full(rows, 3, dtype=np.int64),
        "scored_at": pa.array(instants_us, SCORED_AT_TYPE),
        "model_ms": np.full(rows, 0.3),
    }


def write_window(root: Path, days: int, rows_per_day: int, labels: int, seed: int = 7) -> list[str]:
    """The prediction-log files of `days` days under `root/store`; returns the labelled ids."""
    rng = np.random.default_rng(seed)
    per_hour = max(rows_per_day // 24, 1)
    total = days * 24 * per_hour
    chosen = set(rng.choice(total, size=min(labels, total), replace=False).tolist())
    labelled: list[str] = []
    row = 0
    for hour in range(days * 24):
        at = START + timedelta(hours=hour)
        ids = [f"acme:tx-{row + i}" for i in range(per_hour)]
        labelled.extend(ids[i] for i in range(per_hour) if row + i in chosen)
        instants = np.array(at.timestamp() * 1e6 + np.arange(per_hour) * (3.6e9 / per_hour), dtype="int64")
        columns = capture_columns(ids, instants, rng)
        shadow = columns | {
            "probability": np.clip(columns["probability"] + rng.normal(0, 0.1, per_hour), 0, 1),
            "model_version": np.full(per_hour, 4, dtype=np.int64),
        }
        for prefix, content in (("predictions", columns), ("shadow", shadow)):
            folder = root / "store" / prefix / f"date={at:%Y-%m-%d}" / f"hour={at:%H}"
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.table(content, schema=PREDICTION_SCHEMA)
            pq.write_table(table, folder / f"{at:%Y%m%dT%H%M%S}-1-000000-bench.parquet")
        row += per_hour
    return labelled


CHILD = """
import json, resource, sys, time
from datetime import datetime, timedelta
from pathlib import Path
from fraud_detection.application.rollout.evidence import GatherEvidence
from fraud_detection.domain.errors import TooManyCapturedRowsError
from fraud_detection.domain.feedback import LabelRecord, ScoredTransaction
from fraud_detection.domain.ports.drift import CapturedPredictions
from fraud_detection.domain.rollout import Rollout
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow
from fraud_detection.infrastructure.local import LocalObjectStore
root, mode, since = Path(sys.argv[1]), sys.argv[2], datetime.fromisoformat(sys.argv[3])
limit = int(sys.argv[4])
ids = json.loads((root / "ids.json").read_text())
store = LocalObjectStore(root / "store")
window, shadow = PredictionLogWindow(store), PredictionLogWindow(store, "shadow")

class Plain(CapturedPredictions):  # the port's plain reads over the same files
    def __init__(self, inner):
        self.inner = inner
    def read(self, since, until, last_rows):
        return self.inner.read(since, until, last_rows)

class Labels:  # every tenth labelled id is a fraud
    def labelled_in(self, window):
        scored, at = ScoredTransaction("", 3, 0.5, False, since), since + timedelta(days=40)
        return (LabelRecord(tid, i % 10 == 0, at, scored) for i, tid in enumerate(ids))

def status(served, shadowed, max_rows=None):
    rollout = Rollout.start("fraud-lgbm", 4, 3, since.timestamp())
    gather = GatherEvidence(served, shadowed, Labels(), max_rows=max_rows)
    try:
        evidence = gather(rollout, since.timestamp() + 400 * 86400)
    except TooManyCapturedRowsError as error:  # stopped: the rows count is the limit it stopped at
        return error.limit, [], None
    return evidence.paired_rows, [evidence.agreement, evidence.labels.labelled, evidence.labels.frauds], \
        evidence.score_correlation

reads = {
    "retrain, before": lambda: CapturedPredictions.read_ids(window, since, ids),
    "retrain, now": lambda: window.read_ids(since, ids),
    "evidence, before": lambda: window.read(since, None, None),
    "evidence, now": lambda: window.read_scores(since, None),
    "status, plain": lambda: status(Plain(window), Plain(shadow)),
    "status, now": lambda: status(window, shadow),
    "status, bounded": lambda: status(window, shadow, limit),
}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
rows = reads[mode]()
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if mode.startswith("status"):
    count, first, total = rows
else:  # the first ids as keys (PYTHONHASHSEED is fixed): `read_scores` returns keys, older code the ids
    keys = getattr(rows, "transaction_keys", None)
    first = (keys[:3] if keys is not None else [hash(tid) for tid in rows.transaction_ids[:3]])
    count, first, total = len(rows), [int(key) for key in first], float(rows.probabilities.sum())
print(json.dumps({"rows": count, "seconds": seconds, "before_mib": before / 1024, "peak_mib": peak / 1024,
                  "first": first, "sum": total}))
"""
MODES = (
    "retrain, before",
    "retrain, now",
    "evidence, before",
    "evidence, now",
    "status, plain",
    "status, now",
    "status, bounded",
)


def measure(root: Path, mode: str, src: Path | None, limit: int) -> dict[str, float]:
    since = START.isoformat()
    env = os.environ | {"PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(src), env.get("PYTHONPATH"))))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), mode, since, str(limit)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=2_000)
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "captured_reads")
    parser.add_argument("--src", type=Path, help="another checkout's src/ to measure instead of this one")
    parser.add_argument("--reuse", action="store_true", help="keep the window --workdir already holds")
    parser.add_argument(
        "--status-max-rows",
        type=int,
        default=RolloutSettings.model_fields["rollout_status_max_rows"].default,
        help="the API's FRAUD_ROLLOUT_STATUS_MAX_ROWS for `status, bounded` (default: the setting's)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    if not (args.reuse and (args.workdir / "ids.json").exists()):
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        ids = write_window(args.workdir, args.days, args.rows_per_day, args.labels)
        (args.workdir / "ids.json").write_text(json.dumps(ids))
    ids = json.loads((args.workdir / "ids.json").read_text())
    total = args.days * 24 * max(args.rows_per_day // 24, 1)
    size = sum(f.stat().st_size for f in (args.workdir / "store" / "predictions").rglob("*.parquet")) / 2**20
    print(f"window: {args.days} days, {total:,} captured rows in {args.days * 24} files ({size:,.0f} MiB), "
          f"{len(ids):,} labelled; written in {time.perf_counter() - started:.1f} s")  # fmt: skip

    results = {mode: measure(args.workdir, mode, args.src, args.status_max_rows) for mode in MODES}
    print(f"{'read':<17} {'rows':>10} {'seconds':>8} {'peak RSS MiB':>13} {'growth MiB':>11}")
    grew = {}
    for mode, figures in results.items():
        grew[mode] = figures["peak_mib"] - figures["before_mib"]
        print(f"{mode:<17} {figures['rows']:>10,} {figures['seconds']:>8.2f} {figures['peak_mib']:>13,.0f} "
              f"{grew[mode]:>11,.0f}")  # fmt: skip
    same = True
    for use, baseline in (("retrain", "before"), ("evidence", "before"), ("status", "plain")):
        old, new = results[f"{use}, {baseline}"], results[f"{use}, now"]
        agree = all(old[key] == new[key] for key in ("rows", "first", "sum"))
        same &= agree
        growth = grew[f"{use}, now"] / max(grew[f"{use}, {baseline}"], 1.0)
        read = total * (2 if use == "status" else 1)  # the status reads the served and the shadow rows
        kept = [grew[f"{use}, {side}"] * 2**20 / read for side in (baseline, "now")]
        print(f"{use}: now vs {baseline}, time {new['seconds'] / old['seconds']:.2f}x, memory growth "
              f"{growth:.3f}x ({kept[0]:,.0f} -> {kept[1]:,.0f} B/captured row), same: {agree}")  # fmt: skip
    bounded, whole = results["status, bounded"], results["status, now"]
    stopped = bounded["sum"] is None
    print(f"status within {args.status_max_rows:,} rows: {'stopped' if stopped else 'gathered'} after "
          f"{bounded['seconds']:.2f} s ({bounded['seconds'] / whole['seconds']:.2f}x the whole status), "
          f"memory growth {grew['status, bounded']:,.0f} MiB "
          f"({grew['status, bounded'] / max(grew['status, now'], 1.0):.3f}x)")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
