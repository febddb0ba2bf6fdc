"""What a training run costs in memory: the pipeline's stages in-process (ingest, validate, features, train,
evaluate, register, promote: what `fraud pipeline run` and every retrain do), against plain LightGBM in the
same run (`pd.read_parquet`, the features with numpy, then one `lgb.train` on the same rows with the
pipeline's parameters and about its refit's rounds).

A scale probe found the pipeline peaking at 4.5 GiB on 10x the default rows (0.7 GB of values): at 30x it
would not fit the retrain task's 8 GiB. This writes a synthetic dataset of `--rows` rows (`fraud data
generate`), then measures each mode in a fresh process: peak RSS above the process's imports after each
stage (RSS sampled every 50 ms: Arrow's and LightGBM's allocations are outside Python's view), as a
multiple of the frame's values (rows x 31 columns x 8 bytes), and the plain baseline's peak. `--src DIR`
runs the same modes with another checkout's code (e.g. a `git worktree` of an older commit).
Run on demand, not a test.

    .venv/bin/python benchmarks/training_memory.py [--rows 1424035] [--src DIR]
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
PLAIN_ROUNDS = 200  # about what the pipeline's refit runs on these rows

# Each mode runs alone in a fresh interpreter, its imports done before the baseline is read.
CHILD = r"""
import json, os, sys, threading, time
mode, path, home, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.environ["FRAUD_HOME"] = home
import lightgbm as lgb, numpy as np, pandas as pd, pyarrow.parquet
from fraud_detection.composition import get_container
from fraud_detection.application.pipeline_stages import STAGES
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.lightgbm.trainer import booster_params
container = get_container()

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

peak = [rss()]
def sample():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
base = rss()
peak[0] = base
stages = {}
start = time.perf_counter()
def mark(name):
    peak[0] = max(peak[0], rss())
    stages[name] = round(peak[0] - base)
if mode == "plain LightGBM":
    frame = pd.read_parquet(path)
    mark("read")
    features = np.array(frame.drop(columns=["Time", "Class"]), dtype=np.float64)  # writable
    features[:, -1] = np.log1p(features[:, -1])  # log_amount, as the pipeline's features
    labels = frame["Class"].to_numpy()
    mark("features")
    lgb.train(booster_params(TrainingParams()), lgb.Dataset(features, label=labels), num_boost_round=rounds)
    mark("train")
else:
    pipeline = container.training.pipeline()
    dataset = pipeline.ingest(path)
    mark("ingest")
    with pipeline.session(dataset) as session:
        for stage in STAGES:
            stage.run(session, False)
            mark(stage.name)
print(json.dumps({"stages": stages, "seconds": time.perf_counter() - start}))
"""

MODES = ("plain LightGBM", "fraud pipeline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_424_035, help="rows to generate (default 5x Kaggle's)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to measure (a src folder)")
    args = parser.parse_args()
    values = args.rows * COLUMNS * 8 / 2**20
    with tempfile.TemporaryDirectory(prefix="training-memory-") as scratch:
        folder = Path(scratch)
        data = folder / "rows.parquet"
        env = os.environ | {"PYTHONPATH": str(args.src.resolve()), "FRAUD_HOME": str(folder / "gen")}
        fraud = str(Path(sys.executable).with_name("fraud"))
        generate = [fraud, "data", "generate", "--rows", str(args.rows), "--output", str(data)]
        subprocess.run(generate, check=True, env=env, capture_output=True)
        print(f"{args.rows:,} rows, {values:,.0f} MiB of values; code: {args.src}")
        results = {}
        for number, mode in enumerate(MODES):
            home = folder / f"home{number}"
            child = [sys.executable, "-c", CHILD, mode, str(data), str(home), str(PLAIN_ROUNDS)]
            done = subprocess.run(child, check=False, env=env, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{mode} failed:\n{done.stderr}")
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        plain = max(results["plain LightGBM"]["stages"].values())
        for mode, result in results.items():
            stages = result["stages"]
            top = max(stages.values())
            steps = "  ".join(f"{name} {mib:,}" for name, mib in stages.items())
            print(
                f"{mode:15s} peak {top:6,} MiB = {top / values:4.1f}x values, {top / plain:4.2f}x plain, "
                f"{result['seconds']:6.1f} s | peak after each step (MiB): {steps}"
            )


if __name__ == "__main__":
    main()
