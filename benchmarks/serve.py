"""Benchmark of the scoring service against `mlflow models serve`, a minimal FastAPI app and the HTTP floor.

One run, one machine, the same load on every target (wrk: 2 threads, 16 connections, 10 s by default, POST of
one real legit transaction from the generated dataset):
  this      `fraud serve` (1 worker), FRAUD_MODEL_POLL_SECONDS=0, default capture (every row to Parquet)
  mlflow    `mlflow models serve` of the same champion (1 worker), body in its dataframe_split format
  minimal   strict pydantic body + features + `booster.predict` on the same booster (serving_baselines.py)
  floor     a constant answer from the same baseline app: what FastAPI + uvicorn cost alone
Targets run interleaved, the whole sequence `--rounds` times; the median per target is reported, so machine
noise hits all alike. `fraud serve` with `?explain=true` (contributions for every row) runs once, apart.
Then, in this process, the single-row latency of the scoring use case, of LightGBM's `booster.predict` and
of the model's `predict_row` fast path. Prints a table with the aims and writes benchmarks/out/serve.json.

    .venv/bin/python benchmarks/serve.py [--rounds 2] [--connections 16] [--duration 10]
        [--home <trained FRAUD_HOME>] [--workdir benchmarks/out/serve] [--calls 20000] [--rollout]

With --rollout it measures instead what a rollout costs: `fraud serve` with no rollout, a challenger in
shadow on every request, and a 10% canary, interleaved (benchmarks/serve_rollout.py; serve_rollout.json).

Without --home it generates the default dataset and runs `fraud pipeline run` (~30 s) in
<workdir>/home first. Exit status: 0 when every target was measured validly (aims may still be missed),
1 when a server did not become ready or a target answered with errors. Under this closed-loop load p50 is
about connections / throughput, so the p50 aim tracks throughput; the tail (p99) of `fraud serve` is
explained by benchmarks/serve_gc_tail.py.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL_NAME = "fraud-lgbm"
V_NAMES = tuple(f"V{i}" for i in range(1, 29))
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
# A typical legit transaction, used only when the home has no generated dataset to take a real row from.
FALLBACK_TRANSACTION: dict[str, float] = {name: 0.0 for name in V_NAMES} | {"Amount": 22.0, "Time": 3600.0}
STOP_TIMEOUT_SECONDS = 20.0
# Every target gets the same request bytes, this header included; only `fraud serve` checks it (a client
# with every scope but admin, in a clients file of the workdir so a given --home is left alone).
BENCH_KEY = "fdk_benchmark-client-key-000000000000000"
AUTHORIZATION = f"Bearer {BENCH_KEY}"
LOG_TAIL_LINES = 40

# POSTs the body file's bytes on every request; prints wrk's own figures as one JSON line when done.
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("WRK_AUTHORIZATION")
local file = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
wrk.body = file:read("*a")
file:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class BenchmarkError(Exception):
    """A server that did not start, a target that answered wrongly: the figures would mean nothing."""


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    command: Callable[[int], list[str]]  # port -> argv
    env: dict[str, str]
    ready_path: str
    score_path: str
    body: bytes
    read_probability: Callable[[Any], float]  # parsed response JSON -> fraud probability
    captures: bool = False  # writes every scored row to <home>/store/predictions


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    pid: int
    start_seconds: float


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]

    @property
    def valid(self) -> bool:
        return self.non_2xx == 0 and self.requests > 0


@dataclass
class TargetFigures:
    label: str
    runs: list[LoadResult] = field(default_factory=list)
    probe_probability: float | None = None
    probe_decision: str | None = None
    start_seconds: list[float] = field(default_factory=list)
    captured_rows: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.runs) and all(run.valid for run in self.runs)

    def median(self, name: str) -> float:
        return statistics.median(float(getattr(run, name)) for run in self.runs)


# Preparing a trained home ---------------------------------------------------------------------------------


def clean_env(home: Path) -> dict[str, str]:
    """The parent's environment without settings that would point a child elsewhere than `home`."""
    drop = ("FRAUD_", "MLFLOW_TRACKING", "MLFLOW_REGISTRY", "PREFECT_API")
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    return (
        env | QUIET_ENV | {"FRAUD_HOME": str(home), "NO_COLOR": "1", "PATH": f"{BIN}:{env.get('PATH', '')}"}
    )


def run_fraud_cli(args: list[str], home: Path) -> None:
    result = subprocess.run(
        [str(BIN / "fraud"), *args], env=clean_env(home), cwd=home, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchmarkError(f"fraud {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")


def prepare_home(home: Path | None, workdir: Path) -> Path:
    """A home with a champion: the given one as is, or a fresh one from the default dataset."""
    if home is not None:
        home = home.resolve()
        if not (home / "mlflow.db").is_file():
            raise BenchmarkError(
                f"--home {home}: no mlflow.db there (run `fraud pipeline run` with it first)"
            )
        return home
    home = (workdir / "home").resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    started = time.perf_counter()
    print(f"preparing {home}: fraud data generate --rows 284807, fraud pipeline run ...", flush=True)
    run_fraud_cli(["data", "generate", "--rows", "284807"], home)
    run_fraud_cli(["pipeline", "run"], home)
    print(f"  trained in {time.perf_counter() - started:.1f} s", flush=True)
    return home


def sample_transaction(home: Path) -> dict[str, float]:
    """The first legit row of the generated dataset (most traffic is legit: no contributions computed)."""
    dataset = home / "data" / "creditcard.csv"
    if dataset.is_file():
        with dataset.open(newline="") as stream:
            for row in csv.DictReader(stream):
                if float(row["Class"]) == 0:
                    return {name: float(row[name]) for name in (*V_NAMES, "Amount", "Time")}
    return dict(FALLBACK_TRANSACTION)


# Targets --------------------------------------------------------------------------------------------------


def write_bench_clients(path: Path) -> None:
    from fraud_detection.domain.clients import ApiClient, ApiKey, ClientDirectory, Scope, key_digest
    from fraud_detection.infrastructure.local.client_key_file import write_document

    scopes = frozenset({Scope.SCORE, Scope.EXPLAIN, Scope.FEEDBACK, Scope.JOBS})  # serve_batch_load: all
    write_document(
        path,
        ClientDirectory([ApiClient("bench", "bench", scopes, (ApiKey("bench", key_digest(BENCH_KEY)),))]),
    )


def make_targets(home: Path, transaction: dict[str, float]) -> dict[str, Target]:
    env = clean_env(home)
    service_body = json.dumps(transaction | {"transaction_id": "bench-1"}).encode()
    model_row = [transaction[name] for name in V_NAMES] + [math.log1p(transaction["Amount"])]
    mlflow_body = json.dumps(
        {"dataframe_split": {"columns": [*V_NAMES, "log_amount"], "data": [model_row]}}
    ).encode()
    baseline_body = json.dumps(transaction).encode()

    def fraud_serve(port: int) -> list[str]:
        return [str(BIN / "fraud"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]

    def mlflow_serve(port: int) -> list[str]:
        return [
            str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL_NAME}@champion",
            "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]  # fmt: skip

    def baseline_serve(port: int) -> list[str]:
        # The uvicorn options `fraud serve` passes to uvicorn.run (factory, host, port, 1 worker, log level).
        return [
            str(BIN / "uvicorn"), "--app-dir", str(REPO / "benchmarks"), "serving_baselines:create_app",
            "--factory", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "info",
        ]  # fmt: skip

    # Under the (ignored) benchmarks/out, not beside a --home given by the user (the repository's .fraud put
    # it in the work tree).
    clients = REPO / "benchmarks" / "out" / "bench-api-clients.json"
    clients.parent.mkdir(parents=True, exist_ok=True)
    write_bench_clients(clients)
    service_env = env | {"FRAUD_MODEL_POLL_SECONDS": "0", "FRAUD_API_CLIENTS_FILE": str(clients)}
    mlflow_env = env | {"MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    return {
        "this": Target(
            "this", "this service (fraud serve)", fraud_serve, service_env, "/readyz", "/v1/score",
            service_body, lambda answer: float(answer["fraud_probability"]), captures=True,
        ),
        "mlflow": Target(
            "mlflow", "mlflow models serve", mlflow_serve, mlflow_env, "/ping", "/invocations",
            mlflow_body, lambda answer: float(answer["predictions"][0]),
        ),
        "minimal": Target(
            "minimal", "minimal FastAPI + booster.predict", baseline_serve, env, "/readyz", "/score",
            baseline_body, lambda answer: float(answer["fraud_probability"]),
        ),
        "floor": Target(
            "floor", "constant endpoint (HTTP floor)", baseline_serve, env, "/readyz", "/constant",
            baseline_body, lambda answer: math.nan,
        ),
        "explain": Target(
            "explain", "this service ?explain=true", fraud_serve, service_env, "/readyz",
            "/v1/score?explain=true", service_body, lambda answer: float(answer["fraud_probability"]),
            captures=True,
        ),
    }  # fmt: skip


# Running a server -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"exited with status {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not listening yet, or 503 until the model is loaded
            pass
        time.sleep(0.2)
    raise BenchmarkError(f"{url} did not answer 200 within {timeout:.0f} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (mlflow runs uvicorn as a child), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_SECONDS)
    except ProcessLookupError:
        pass


@contextmanager
def running_server(target: Target, log_path: Path, ready_timeout: float) -> Iterator[RunningServer]:
    """Yield a ready server; stop it (and its process group) after, whatever happened."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            target.command(port), env=target.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it reaches every child
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(base + target.ready_path, process, ready_timeout)
        except BenchmarkError as error:
            stop_server(process)
            raise BenchmarkError(f"{target.label}: {error}; log {log_path}:\n{log_tail(log_path)}") from None
        yield RunningServer(base, process.pid, time.perf_counter() - started)
    finally:
        stop_server(process)


def probe(url: str, body: bytes) -> Any:
    """One request before the load: it must be a 200 with JSON, or the load figures would be of errors."""
    headers = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raise BenchmarkError(f"POST {url} answered {error.code}: {error.read()[:500]!r}") from None


def captured_rows(home: Path, pid: int) -> int:
    """Rows in the Parquet files one server process wrote (the file names carry the writer's pid)."""
    import pyarrow.parquet as pq

    files = (home / "store" / "predictions").rglob(f"*-{pid}-*.parquet")
    return sum(pq.read_metadata(path).num_rows for path in files)


# Load -----------------------------------------------------------------------------------------------------


def run_wrk(url: str, body_file: Path, script: Path, connections: int, duration: int) -> LoadResult:
    threads = min(2, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
        "-s", str(script), url,
    ]  # fmt: skip
    result = subprocess.run(
        command,
        env=os.environ | {"WRK_BODY_FILE": str(body_file), "WRK_AUTHORIZATION": AUTHORIZATION},
        capture_output=True,
        text=True,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchmarkError(
            f"wrk failed ({result.returncode}): {result.stderr[-1000:]}{result.stdout[-2000:]}"
        )
    figures = json.loads(line.removeprefix("WRK_JSON "))
    return LoadResult(
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        requests=figures["requests"],
        non_2xx=figures["status"],
        socket_errors={kind: figures[kind] for kind in ("connect", "read", "write", "timeout")},
    )


def measure_target(
    target: Target, figures: TargetFigures, options: argparse.Namespace, home: Path, round_index: int
) -> None:
    workdir = options.workdir
    body_file = workdir / f"body-{target.key}.json"
    body_file.write_bytes(target.body)
    script = workdir / "post.lua"
    log_path = workdir / "logs" / f"{target.key}-round{round_index + 1}.log"
    with running_server(target, log_path, options.ready_timeout) as server:
        url = server.base_url + target.score_path
        answer = probe(url, target.body)
        figures.probe_probability = target.read_probability(answer)
        figures.probe_decision = answer.get("decision") if isinstance(answer, dict) else None
        answered = 1
        if options.warmup > 0:
            answered += run_wrk(url, body_file, script, options.connections, options.warmup).requests
        result = run_wrk(url, body_file, script, options.connections, options.duration)
        answered += result.requests
    figures.runs.append(result)
    figures.start_seconds.append(server.start_seconds)
    errors = sum(result.socket_errors.values())
    notes = f"ready in {server.start_seconds:.1f} s" + (f", {errors} socket errors" if errors else "")
    if target.captures:  # the server flushed its capture on SIGTERM: count what it wrote
        figures.captured_rows.append(captured_rows(home, server.pid))
        notes += f", captured {figures.captured_rows[-1]:,} rows for {answered:,} answers wrk counted"
    flag = "" if result.valid else f"  INVALID: {result.non_2xx} non-2xx responses"
    print(
        f"  {target.label:<36} {result.rps:8.0f} rps  p50 {result.p50_ms:7.2f} ms"
        f"  p99 {result.p99_ms:7.2f} ms  ({notes}){flag}",
        flush=True,
    )


def run_http_rounds(
    targets: dict[str, Target], options: argparse.Namespace, home: Path
) -> dict[str, TargetFigures]:
    (options.workdir / "post.lua").write_text(WRK_SCRIPT)
    figures = {key: TargetFigures(target.label) for key, target in targets.items()}
    interleaved = ["this", "mlflow", "minimal", "floor"]
    for round_index in range(options.rounds):
        print(f"round {round_index + 1}/{options.rounds}", flush=True)
        order = interleaved if round_index % 2 == 0 else interleaved[::-1]
        keys = [*order, "explain"] if round_index == 0 else order
        for key in keys:
            measure_target(targets[key], figures[key], options, home, round_index)
    return figures


# In-process latency ---------------------------------------------------------------------------------------


def latency_of(call: Callable[[], object], calls: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        call()
    durations = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        started = clock()
        call()
        durations.append(clock() - started)
    durations.sort()
    return {
        "median_us": statistics.median(durations) / 1000,
        "p99_us": durations[min(len(durations) - 1, int(len(durations) * 0.99))] / 1000,
        "calls": calls,
    }


def measure_in_process(home: Path, transaction: dict[str, float], calls: int) -> dict[str, dict[str, float]]:
    """Single-row latency of the scoring use case as the API calls it, and of what it is built on."""
    import numpy as np

    from fraud_detection.composition import Container
    from fraud_detection.domain.features import feature_matrix
    from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
    from fraud_detection.settings import Settings

    container = Container(Settings(home=home, model_poll_seconds=0))
    outcome = container.serving.champion_loader().refresh()
    try:
        serving = container.serving.model_holder().require()
        model = serving.model
        if not isinstance(model, LightGBMFraudModel):
            raise BenchmarkError(f"expected the LightGBM adapter, got {type(model).__name__}")
        print(f"in process ({outcome.detail}), {calls:,} calls each after warm-up", flush=True)
        score = container.serving.score_transactions()
        inputs = np.array([[transaction[name] for name in (*V_NAMES, "Amount")]], dtype=np.float64)
        times = np.array([transaction["Time"]])
        ids = ("bench-1",)
        features = feature_matrix(inputs)
        row = features[0]
        warmup = max(calls // 20, 100)
        cases: dict[str, Callable[[], object]] = {
            "score_transactions": lambda: score(inputs, times, ids, "bench"),
            "score_transactions_explain": lambda: score(inputs, times, ids, "bench", explain=True),
            "booster_predict": lambda: model.booster.predict(features),
            "predict_row": lambda: model.predict_row(row),
        }
        return {name: latency_of(call, calls, warmup) for name, call in cases.items()}
    finally:
        container.serving.prediction_log().close()


# Report ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aim:
    name: str
    value: float | None  # None: a target it needs was invalid
    comparison: str  # ">=", "<=" or "<"
    bound: float
    unit: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "INVALID"
        met = {">=": self.value >= self.bound, "<=": self.value <= self.bound, "<": self.value < self.bound}
        return "PASS" if met[self.comparison] else "MISS"

    def row(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.2f}{self.unit}"
        aim = f"{self.comparison} {self.bound:g}{self.unit}"
        return f"  {self.name:<40} {shown:>10}   aim {aim:<10} {self.verdict}"


def ratio(figures: dict[str, TargetFigures], top: str, bottom: str, name: str) -> float | None:
    """Ratio of the two targets' medians; None when either answered with errors."""
    if not (figures[top].valid and figures[bottom].valid):
        return None
    return figures[top].median(name) / figures[bottom].median(name)


def build_aims(figures: dict[str, TargetFigures], in_process: dict[str, dict[str, float]]) -> list[Aim]:
    return [
        Aim("this / minimal throughput", ratio(figures, "this", "minimal", "rps"), ">=", 0.90),
        Aim("this / mlflow throughput", ratio(figures, "this", "mlflow", "rps"), ">=", 20.0, "x"),
        Aim("this p50 / floor p50", ratio(figures, "this", "floor", "p50_ms"), "<=", 1.5),
        Aim(
            "in-process single-row scoring (median)",
            in_process["score_transactions"]["median_us"], "<", 50.0, " us",
        ),
    ]  # fmt: skip


def probability_gap(figures: dict[str, TargetFigures]) -> float | None:
    """Largest difference between this service's probability and mlflow's or the minimal app's: ~0 shows
    that all three scored the same body with the same model."""
    ours = figures["this"].probe_probability
    others = [figures[key].probe_probability for key in ("mlflow", "minimal")]
    if ours is None or any(other is None for other in others):
        return None
    return max(abs(ours - other) for other in others if other is not None)


def print_http_table(figures: dict[str, TargetFigures], transaction: dict[str, float]) -> None:
    gap = probability_gap(figures)
    print(
        f"  body: one legit row (Amount {transaction['Amount']:g}); this service's decision: "
        f"{figures['this'].probe_decision}; max |probability difference| vs mlflow and minimal: "
        + ("n/a" if gap is None else f"{gap:.2g}")
    )
    header = f"{'target':<36} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'rps per round':>22}"
    print(f"  {header}  {'probability':>12}  valid")
    for target in figures.values():
        if not target.runs:
            continue
        rounds = " ".join(f"{run.rps:.0f}" for run in target.runs)
        probability = target.probe_probability
        shown = "-" if probability is None or math.isnan(probability) else f"{probability:.6g}"
        errors = sum(sum(run.socket_errors.values()) for run in target.runs)
        non_2xx = sum(run.non_2xx for run in target.runs)
        validity = "yes" if target.valid else f"NO ({non_2xx} non-2xx)"
        if errors:
            validity += f", {errors} socket errors"
        print(
            f"  {target.label:<36} {target.median('rps'):8.0f} {target.median('p50_ms'):8.2f} "
            f"{target.median('p99_ms'):8.2f} {rounds:>22}  {shown:>12}  {validity}"
        )


def print_report(
    figures: dict[str, TargetFigures],
    in_process: dict[str, dict[str, float]],
    aims: list[Aim],
    transaction: dict[str, float],
    options: argparse.Namespace,
) -> None:
    print()
    print(
        f"HTTP, wrk -t{min(2, options.connections)} -c{options.connections} -d{options.duration}s, "
        f"median of {options.rounds} round(s) (explain: 1 run); {os.cpu_count()} CPUs"
    )
    print_http_table(figures, transaction)
    print()
    print(f"in process, one row, {options.calls:,} calls   median us   p99 us")
    for name, stats in in_process.items():
        print(f"  {name:<36} {stats['median_us']:9.1f} {stats['p99_us']:8.1f}")
    print()
    print("aims")
    for aim in aims:
        print(aim.row())


def target_json(target: TargetFigures) -> dict[str, Any]:
    medians = {name: target.median(name) for name in ("rps", "p50_ms", "p99_ms")} if target.runs else None
    return {
        "label": target.label,
        "valid": target.valid,
        "probe_probability": target.probe_probability,
        "probe_decision": target.probe_decision,
        "start_seconds": target.start_seconds,
        "captured_rows": target.captured_rows,
        "runs": [asdict(run) for run in target.runs],
        "median": medians,
    }


def write_json(path: Path, **sections: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sections, indent=2, default=str))


# Main -----------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="Interleaved sequences of all targets.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (2 threads).")
    parser.add_argument("--duration", type=int, default=10, help="Seconds of measured load per run.")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of unmeasured load first.")
    parser.add_argument("--home", type=Path, help="An existing trained FRAUD_HOME (default: make one).")
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out" / "serve")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "out" / "serve.json")
    parser.add_argument("--calls", type=int, default=20_000, help="In-process calls per measurement.")
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="Seconds a server may take.")
    parser.add_argument(
        "--rollout",
        action="store_true",
        help="Instead: rollout off vs shadow vs canary 10%% (serve_rollout.py).",
    )
    options = parser.parse_args()
    if options.rounds < 1 or options.connections < 1 or options.duration <= 0 or options.calls < 1:
        parser.error("--rounds, --connections, --calls must be positive and --duration above 0")
    return options


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def ready_to_load(options: argparse.Namespace) -> bool:
    """wrk is installed (said when not), SIGTERM stops the servers, the workdir exists (made absolute)."""
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return False
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    options.workdir = options.workdir.resolve()
    options.workdir.mkdir(parents=True, exist_ok=True)
    return True


def main() -> int:
    options = parse_args()
    if not ready_to_load(options):
        return 1
    if options.rollout:
        from serve_rollout import run_rollout_benchmark

        return run_rollout_benchmark(options)
    started = time.perf_counter()
    try:
        home = prepare_home(options.home, options.workdir)
        transaction = sample_transaction(home)
        figures = run_http_rounds(make_targets(home, transaction), options, home)
        in_process = measure_in_process(home, transaction, options.calls)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    aims = build_aims(figures, in_process)
    print_report(figures, in_process, aims, transaction, options)
    elapsed = time.perf_counter() - started
    print(f"\ntook {elapsed:.0f} s; figures in {options.output}")
    write_json(
        options.output,
        config={key: str(value) for key, value in vars(options).items()} | {"home": str(home)},
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "os": platform.platform()},
        transaction=transaction,
        http={key: target_json(target) for key, target in figures.items()},
        in_process=in_process,
        aims=[asdict(aim) | {"verdict": aim.verdict} for aim in aims],
        elapsed_seconds=elapsed,
    )
    return 0 if all(f.valid for f in figures.values() if f.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
