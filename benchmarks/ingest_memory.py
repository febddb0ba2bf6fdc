"""What storing and loading a dataset costs in memory: `fraud data ingest` (read, schema check, save) and the
dataset store's `load` (what `fraud pipeline run` and every retrain start with), against plain pandas
doing the same file work in the same run (`pd.read_parquet` or `pd.read_csv`, then `to_parquet`).

A scale probe found ingest peaking at ~5x the dataset's values: at 30x the default rows it would not fit
the retrain task's memory. This writes a synthetic dataset of `--rows` rows (`fraud data generate`, as
Parquet or CSV), then measures each mode in a fresh process: peak RSS above the process's imports, as a
multiple of the frame's values (rows x 31 columns x 8 bytes) and of the plain-pandas baseline, and time.
`--src DIR` runs the same modes with another checkout's code (e.g. a `git worktree` of an older commit).
Run on demand, not a test.

    .venv/bin/python benchmarks/ingest_memory.py [--rows 2848070] [--format parquet|csv] [--src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = 31

# Each mode runs alone in a fresh interpreter: ru_maxrss is the process's peak, imports included.
CHILD = r"""
import json, os, resource, sys, time
mode, path, home = sys.argv[1:4]
os.environ["FRAUD_HOME"] = home
import pandas as pd, pyarrow, pyarrow.parquet
from fraud_detection.composition import get_container
from fraud_detection.domain.dataset import DatasetId
container = get_container()
datasets = container.adapters.datasets()
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
base = rss()
start = time.perf_counter()
if mode == "plain pandas":
    frame = pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
    frame.to_parquet(os.path.join(home, "plain.parquet"), compression="zstd")
    result = len(frame)
elif mode == "fraud data ingest":
    result = container.training.ingest()(path).id.value
else:
    ref = datasets.list()[0]
    result = len(datasets.load(DatasetId(ref.id.value)))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak": peak - base, "seconds": seconds, "result": result}))
"""

MODES = ("plain pandas", "fraud data ingest", "dataset load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_848_070, help="10x the default dataset")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to measure")
    args = parser.parse_args()
    fraud = str(Path(sys.executable).with_name("fraud"))
    with tempfile.TemporaryDirectory(prefix="ingest-memory-") as folder:
        home = Path(folder)
        source = home / f"transactions.{args.format}"
        env = {**os.environ, "FRAUD_HOME": str(home), "PYTHONPATH": str(args.src.resolve())}
        subprocess.run(
            [fraud, "data", "generate", "--rows", str(args.rows), "--output", str(source)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        values_mib = args.rows * COLUMNS * 8 / 2**20
        print(f"{args.rows:,} rows, {args.format} {source.stat().st_size / 2**20:,.0f} MiB, "
              f"values {values_mib:,.0f} MiB; code {args.src}")  # fmt: skip
        results = {}
        for mode in MODES:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, mode, str(source), str(home)],
                check=True, env=env, capture_output=True, text=True,
            )  # fmt: skip
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        plain = results["plain pandas"]["peak"]
        print(f"{'mode':<20}{'peak MiB':>10}{'x values':>10}{'x plain':>9}{'seconds':>9}")
        for mode, figures in results.items():
            peak = figures["peak"]
            print(
                f"{mode:<20}{peak:>10,.0f}{peak / values_mib:>10.2f}{peak / plain:>9.2f}"
                f"{figures['seconds']:>9.1f}"
            )


if __name__ == "__main__":
    main()
