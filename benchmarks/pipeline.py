"""Benchmark of `fraud pipeline run` on the 284,807-row default dataset, against a bare `lightgbm.train`.

Prints, per run: wall time and peak RSS of the CLI process tree, the time of each stage, and the share that
is orchestration/start-up (wall minus the stages). Then a bare `lightgbm.train` with the chosen parameters on
the same training rows, in this process, so the figures compare within one run on one machine.

    .venv/bin/python benchmarks/pipeline.py [--runs 2] [--rows 284807] [--workdir benchmarks/out/pipeline]

The first run pays cold caches (a new MLflow DB, Prefect's server DB); later runs are "warm".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MiB) of the largest process in the command's tree."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(BIN / "fraud"), *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"fraud {' '.join(args)} failed:\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024, stderr


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A running `prefect server`, to separate its start-up from the pipeline's own work."""
    port = 4200 + os.getpid() % 700
    url = f"http://127.0.0.1:{port}/api"
    env = os.environ | {"PREFECT_HOME": str(home / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def bare_lightgbm(dataset: Path, summary: dict[str, object]) -> dict[str, float]:
    """One bare `lightgbm.train` on every row for the refit's rounds: the floor the train stage (folds for
    each strategy, then that refit) is compared with."""
    import lightgbm as lgb

    from fraud_detection.application.train import labelled
    from fraud_detection.domain.schema import check_transactions
    from fraud_detection.domain.training import TrainingParams
    from fraud_detection.infrastructure.arrow.sources import FileTransactionSource
    from fraud_detection.infrastructure.lightgbm.trainer import booster_params

    frame = check_transactions(FileTransactionSource().read(str(dataset)), str(dataset))
    train = labelled(frame)
    training = summary["training"]
    assert isinstance(training, dict)
    chosen = next(c for c in training["candidates"] if c["strategy"] == training["imbalance_strategy"])
    params = booster_params(TrainingParams(scale_pos_weight=chosen["scale_pos_weight"]))
    figures = {}
    for label, rounds in (("chosen_rounds", int(training["refit_rounds"])), ("100_rounds", 100)):
        started = time.perf_counter()
        lgb.train(params, lgb.Dataset(train.features, label=train.labels), num_boost_round=rounds)
        figures[f"bare_train_{label}_s"] = time.perf_counter() - started
        figures[f"{label}"] = rounds
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=284_807)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/pipeline"))
    options = parser.parse_args()

    home = options.workdir.resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING", "PREFECT_API"))
    }
    env |= {"FRAUD_HOME": str(home), "NO_COLOR": "1"}
    run_cli(["data", "generate", "--rows", str(options.rows)], env, home)
    dataset = home / "data" / "creditcard.csv"

    started = time.perf_counter()
    run_cli(["--help"], env, home)
    cli_start = time.perf_counter() - started

    results = []
    for index in range(options.runs):
        summary_path = home / f"summary-{index + 1}.json"
        wall, rss, _ = run_cli(["pipeline", "run", "--summary-json", str(summary_path)], env, home)
        summary = json.loads(summary_path.read_text())
        stages = summary["stage_seconds"]
        results.append(
            {"run": index + 1, "wall_s": wall, "peak_rss_mib": rss, "stages": stages, "summary": summary}
        )
        staged = sum(stages.values())
        print(
            f"run {index + 1}: wall {wall:5.1f} s, peak RSS {rss:6.0f} MiB, "
            f"out-of-time AUPRC {summary['out_of_time_metrics']['auprc']:.4f}, "
            f"promotion {'promote' if summary['promotion']['promote'] else 'keep'}"
        )
        print("  stages: " + "  ".join(f"{k} {v:.2f}s" for k, v in stages.items()))
        tracking = stages["register"] + stages["promote"]
        print(
            f"  stages total {staged:.1f} s; orchestration + start-up (wall - stages) {wall - staged:.1f} s"
            f" = {(wall - staged) / wall:.0%} of wall;"
            f" register+promote {tracking:.1f} s = {tracking / wall:.0%}"
        )

    with prefect_server(home) as api_url:
        summary_path = home / "summary-server.json"
        wall, rss, _ = run_cli(
            ["pipeline", "run", "--summary-json", str(summary_path)], env | {"PREFECT_API_URL": api_url}, home
        )
        staged = sum(json.loads(summary_path.read_text())["stage_seconds"].values())
        print(
            f"with a Prefect server already running (PREFECT_API_URL): wall {wall:.1f} s, "
            f"peak RSS {rss:.0f} MiB, "
            f"orchestration + start-up {wall - staged:.1f} s = {(wall - staged) / wall:.0%}"
        )

    bare = bare_lightgbm(dataset, results[-1]["summary"])
    train_stage = results[-1]["stages"]["train"]
    print(
        f"bare lightgbm.train, same params and rows: {bare['chosen_rounds']} rounds "
        f"{bare['bare_train_chosen_rounds_s']:.2f} s, 100 rounds {bare['bare_train_100_rounds_s']:.2f} s"
    )
    print(
        f"train stage (each imbalance strategy on the folds, the refit, the threshold) {train_stage:.2f} s = "
        f"{train_stage / bare['bare_train_chosen_rounds_s']:.1f}x one bare fit"
    )
    print(
        f"whole pipeline (last run) = {results[-1]['wall_s'] / bare['bare_train_chosen_rounds_s']:.1f}x "
        f"one bare fit; `fraud --help` start-up {cli_start:.2f} s"
    )
    (home / "results.json").write_text(
        json.dumps({"runs": results, "bare": bare, "cli_start_s": cli_start}, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
