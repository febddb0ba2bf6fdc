"""What a retrain's read of its labelled rows costs: the whole lookback window, or only the labelled ids.

A retrain needs the captured rows that have a label (a few thousand) out of the lookback's traffic
(FRAUD_RETRAIN_LOOKBACK_DAYS, 30 days). This writes `--days` days of prediction-log files (`--rows-per-day`
rows, one file per hour, the layout `fraud serve` writes) and labels `--labels` ids spread over them, then in
a fresh process each measures peak RSS and time of:
  whole     read every row of the window, then pick the labelled ids (what the retrain did before)
  filtered  PredictionLogWindow.read_ids: each file filtered as it is read (what it does now)
Both must return the same rows. Prints a table and the ratios; run on demand, not a test.

    .venv/bin/python benchmarks/retrain_memory.py [--days 30] [--rows-per-day 100000] [--labels 2000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.infrastructure.arrow.prediction_log.record_schema import (
    INPUT_NAMES,
    PREDICTION_SCHEMA,
    SCORED_AT_TYPE,
)

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 1, tzinfo=UTC)


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
        columns = {name: rng.normal(size=per_hour) for name in INPUT_NAMES}
        columns |= {
            "Time": np.arange(per_hour, dtype=np.float64),
            "transaction_id": ids,
            "request_id": ids,
            "probability": rng.uniform(size=per_hour),
            "decision": rng.uniform(size=per_hour) < 0.01,
            "model_name": ["fraud-lgbm"] * per_hour,
            "model_version": np.full(per_hour, 3, dtype=np.int64),
            "scored_at": pa.array(instants, SCORED_AT_TYPE),
            "model_ms": np.full(per_hour, 0.3),
        }
        table = pa.table(columns, schema=PREDICTION_SCHEMA)
        folder = root / "store" / "predictions" / f"date={at:%Y-%m-%d}" / f"hour={at:%H}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / f"{at:%Y%m%dT%H%M%S}-1-000000-bench.parquet")
        row += per_hour
    return labelled


CHILD = """
import json, resource, sys, time
from datetime import datetime
from pathlib import Path
from fraud_detection.domain.ports.drift import CapturedPredictions
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow
from fraud_detection.infrastructure.local import LocalObjectStore
root, mode = Path(sys.argv[1]), sys.argv[2]
ids = json.loads((root / "ids.json").read_text())
window = PredictionLogWindow(LocalObjectStore(root / "store"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
since = datetime.fromisoformat(sys.argv[3])
rows = window.read_ids(since, ids) if mode == "filtered" else CapturedPredictions.read_ids(window, since, ids)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": len(rows), "seconds": seconds, "before_mib": before / 1024, "peak_mib": peak / 1024,
                  "first": rows.transaction_ids[:3].tolist(), "sum": float(rows.probabilities.sum())}))
"""


def measure(root: Path, mode: str) -> dict[str, float]:
    since = START.isoformat()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), mode, since], capture_output=True, text=True, check=True
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
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "retrain_memory")
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    started = time.perf_counter()
    ids = write_window(args.workdir, args.days, args.rows_per_day, args.labels)
    (args.workdir / "ids.json").write_text(json.dumps(ids))
    total = args.days * 24 * max(args.rows_per_day // 24, 1)
    size = sum(f.stat().st_size for f in (args.workdir / "store").rglob("*.parquet")) / 2**20
    print(f"window: {args.days} days, {total:,} captured rows in {args.days * 24} files ({size:,.0f} MiB), "
          f"{len(ids):,} labelled; written in {time.perf_counter() - started:.1f} s")  # fmt: skip

    results = {mode: measure(args.workdir, mode) for mode in ("whole", "filtered")}
    whole, filtered = results["whole"], results["filtered"]
    same = (whole["rows"], whole["first"], whole["sum"]) == (
        filtered["rows"],
        filtered["first"],
        filtered["sum"],
    )
    print(f"{'read':<10} {'rows':>7} {'seconds':>8} {'peak RSS MiB':>13} {'growth MiB':>11}")
    for mode, figures in results.items():
        growth = figures["peak_mib"] - figures["before_mib"]
        print(f"{mode:<10} {figures['rows']:>7,} {figures['seconds']:>8.2f} {figures['peak_mib']:>13,.0f} "
              f"{growth:>11,.0f}")  # fmt: skip
    growth_ratio = (whole["peak_mib"] - whole["before_mib"]) / max(
        filtered["peak_mib"] - filtered["before_mib"], 1
    )
    print(f"filtered vs whole: time {filtered['seconds'] / whole['seconds']:.2f}x, memory growth "
          f"1/{growth_ratio:.0f}; same rows: {same}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
