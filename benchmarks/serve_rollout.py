"""`benchmarks/serve.py --rollout`: what a rollout costs the scoring service.

Three modes of the same `fraud serve` (1 worker, the same champion), interleaved, the sequence `--rounds`
times, the median per mode reported:
  off      no rollout: the scoring path without a challenger
  shadow   a challenger in shadow on every request (FRAUD_ROLLOUT_SHADOW_SHARE=1): dark scoring and its
           capture, batched after responses once 32 jobs wait or the oldest waited 125 ms (the sweep
           thread takes only what waited 250 ms; FRAUD_ROLLOUT_SHADOW_BUDGET_MS 1000)
  canary   the challenger answers 10% of transactions (by a stable hash of the transaction id), the other
           model scores a tenth of requests in the dark (FRAUD_ROLLOUT_CANARY_DARK_SHARE, its default)
  off-aa   no rollout again, a server of its own (an A/A run): how far two identical servers land apart in the
           same run, i.e. what "beyond noise" means on this machine today
The challenger is a second registered version of the champion's own artifact (same tags, so the same
verification and the same cost): the figures are the rollout's overhead, not a different model's. The state
is written before each server starts as the registry holds it (the `rollout` registered-model tag, the
`challenger` alias); servers read it at start (FRAUD_ROLLOUT_POLL_SECONDS is set high). wrk sends a new
transaction id on every request (the canary routes by it). After each run the captured rows are counted:
served, dark, and dark rows captured as NaN (dark scorings dropped over budget or for a full queue); and the
server's CPU time per request during the measured load (every thread; /proc): on a machine shared with other
work throughput swings between rounds, the CPU a request costs much less.
Aims: shadow loses at most 10% of throughput and keeps p99 within 1.2x; canary loses nothing beyond noise
(at most 5%); the A/A pair lands within 5% of itself, else the run is too noisy to judge the others.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from serve import (
    MODEL_NAME,
    V_NAMES,
    WRK_SCRIPT,
    Aim,
    BenchmarkError,
    Target,
    TargetFigures,
    latency_of,
    make_targets,
    prepare_home,
    probe,
    run_wrk,
    running_server,
    sample_transaction,
    write_json,
)

ID_PLACEHOLDER = "IDXX"
MODES = ("off", "shadow", "canary", "off-aa")
CANARY_PERCENT = 10.0
BENCH_TAG = "benchmark_challenger"
# The same POST, with a fresh transaction id per request: "<thread>-<counter>" in place of the placeholder.
ROLLOUT_WRK_SCRIPT = WRK_SCRIPT.replace(
    'wrk.body = file:read("*a")\nfile:close()\n',
    f"""local template = file:read("*a")
file:close()
local head, tail = template:match("^(.-){ID_PLACEHOLDER}(.*)$")
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local counter = 0
function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, head .. tostring(tid) .. "-" .. counter .. tail)
end
""",
)
assert ROLLOUT_WRK_SCRIPT != WRK_SCRIPT, "serve.py's wrk script changed: update the body lines replaced here"


def registry_client(home: Path) -> Any:
    import mlflow

    uri = f"sqlite:///{home / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)  # create_model_version resolves a models:/ source with the global client
    return mlflow.MlflowClient(uri)


def ensure_challenger(home: Path) -> tuple[int, int]:
    """(champion, challenger): a second version of the champion's artifact, registered once per home."""
    client = registry_client(home)
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    for found in client.search_model_versions(f"name='{MODEL_NAME}'"):
        version = client.get_model_version(MODEL_NAME, found.version)  # the search leaves tags out
        if (version.tags or {}).get(BENCH_TAG) == str(champion.version):
            return int(champion.version), int(version.version)
    tags = dict(champion.tags or {}) | {BENCH_TAG: str(champion.version)}
    created = client.create_model_version(MODEL_NAME, champion.source, champion.run_id, tags=tags)
    return int(champion.version), int(created.version)


def set_mode(home: Path, mode: str, champion: int, challenger: int) -> None:
    """Write the rollout state the way the registry keeps it (tag `rollout`, alias `challenger`)."""
    from fraud_detection.domain.rollout import Rollout, Stage

    client = registry_client(home)
    if mode in ("off", "off-aa"):
        model = client.get_registered_model(MODEL_NAME)
        if "rollout" in (model.tags or {}):
            client.delete_registered_model_tag(MODEL_NAME, "rollout")
        if "challenger" in (model.aliases or {}):
            client.delete_registered_model_alias(MODEL_NAME, "challenger")
        return
    now = time.time()
    rollout = Rollout.start(MODEL_NAME, challenger, champion, now, reason="benchmark")
    if mode == "canary":
        rollout = rollout.moved(Stage.CANARY, CANARY_PERCENT, "benchmark", now)
    client.set_registered_model_alias(MODEL_NAME, "challenger", str(challenger))
    client.set_registered_model_tag(MODEL_NAME, "rollout", json.dumps(rollout.to_dict()))


def mode_targets(home: Path, transaction: dict[str, float]) -> dict[str, Target]:
    base = make_targets(home, transaction)["this"]
    body = json.dumps(transaction | {"transaction_id": f"bench-{ID_PLACEHOLDER}"}).encode()
    env = base.env | {"FRAUD_ROLLOUT_POLL_SECONDS": "3600", "FRAUD_ROLLOUT_SHADOW_SHARE": "1"}
    labels = {
        "off": "rollout off",
        "shadow": "shadow, every request",
        "canary": f"canary {CANARY_PERCENT:g}%",
        "off-aa": "rollout off again (A/A)",
    }
    return {
        mode: Target(mode, labels[mode], base.command, env, base.ready_path, base.score_path, body,
                     base.read_probability, captures=True)
        for mode in MODES
    }  # fmt: skip


def captured(home: Path, prefix: str, pid: int) -> tuple[int, int]:
    """(rows, rows with a NaN probability) one server process wrote under `prefix`."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rows = nans = 0
    for path in (home / "store" / prefix).rglob(f"*-{pid}-*.parquet"):
        column = pq.read_table(path, columns=["probability"]).column("probability")
        rows += len(column)
        nans += int(pc.sum(pc.is_nan(column)).as_py() or 0)
    return rows, nans


def measure_mode(
    target: Target, figures: TargetFigures, options: argparse.Namespace, home: Path, round_index: int
) -> dict[str, float]:
    workdir = options.workdir
    body_file, script = workdir / f"body-rollout-{target.key}.json", workdir / "post-rollout.lua"
    body_file.write_bytes(target.body)
    log_path = workdir / "logs" / f"rollout-{target.key}-round{round_index + 1}.log"
    with running_server(target, log_path, options.ready_timeout) as server:
        url = server.base_url + target.score_path
        answer = probe(url, target.body)
        figures.probe_probability = target.read_probability(answer)
        answered = 1
        if options.warmup > 0:
            answered += run_wrk(url, body_file, script, options.connections, options.warmup).requests
        cpu_before = cpu_seconds(server.pid)
        result = run_wrk(url, body_file, script, options.connections, options.duration)
        cpu_us = (cpu_seconds(server.pid) - cpu_before) / max(result.requests, 1) * 1e6
        answered += result.requests
    figures.runs.append(result)
    served, _ = captured(home, "predictions", server.pid)
    dark, dropped = captured(home, "shadow", server.pid)
    counts = {"answered": answered, "served_rows": served, "dark_rows": dark, "dark_dropped": dropped,
              "cpu_us_per_request": round(cpu_us, 1)}  # fmt: skip
    flag = "" if result.valid else f"  INVALID: {result.non_2xx} non-2xx responses"
    print(
        f"  {target.label:<24} {result.rps:8.0f} rps  p50 {result.p50_ms:6.2f} ms"
        f"  p99 {result.p99_ms:6.2f} ms  cpu {cpu_us:5.0f} us/req"
        f"  (answered {answered:,}, captured {served:,} served, {dark:,} dark of which {dropped:,} dropped)"
        f"{flag}",
        flush=True,
    )
    return counts


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process used so far, from /proc (Linux): the server's cost
    per request, which other load on a shared machine disturbs far less than its throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def api_scoring_call(container: Any, transaction: dict[str, float]) -> Callable[[], None]:
    """One call of the scoring use case as `POST /v1/score` makes it: one row, a new transaction id each
    time, then the dark work the API runs once the response is sent (`dark_work`, usually nothing: it drains
    once 32 jobs wait)."""
    import itertools

    import numpy as np

    inputs = np.array([[transaction[name] for name in (*V_NAMES, "Amount")]], dtype=np.float64)
    times = np.array([transaction["Time"]])
    score, ids = container.serving.score_transactions(), itertools.count()

    def call() -> None:
        score(inputs, times, (f"bench-{next(ids)}",), "b")
        work = score.dark_work()
        if work is not None:
            work()

    return call


def measure_in_process(home: Path, transaction: dict[str, float], calls: int) -> dict[str, dict[str, Any]]:
    """Single-row scoring use case per mode (`api_scoring_call`), with the real registry, rollout store and
    Parquet captures; the dark work after each call is timed too."""
    from fraud_detection.composition import Container
    from fraud_detection.settings import Settings

    champion, challenger = ensure_challenger(home)
    figures: dict[str, dict[str, Any]] = {}
    for mode in MODES[:-1]:  # the A/A server is an HTTP-only control
        set_mode(home, mode, champion, challenger)
        container = Container(Settings(home=home, model_poll_seconds=0, rollout_poll_seconds=3600))
        runtime = container.serving.runtime()
        container.serving.champion_loader().refresh()
        call = api_scoring_call(container, transaction)
        try:
            figures[mode] = latency_of(call, calls, max(calls // 20, 100))
            time.sleep(0.5)  # the dark queue drains
            view = runtime.replica_view()
            figures[mode] |= {"shadow_dropped": view["shadow_dropped"], "counts": view["counts"]}
        finally:
            runtime.stop()
        shown = figures[mode]
        print(f"  in process, {mode:<7} median {shown['median_us']:7.1f} us  p99 {shown['p99_us']:7.1f} us"
              f"  dropped {shown['shadow_dropped']}", flush=True)  # fmt: skip
    set_mode(home, "off", champion, challenger)
    return figures


def run_rollout_benchmark(options: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        home = prepare_home(options.home, options.workdir)
        champion, challenger = ensure_challenger(home)
        transaction = sample_transaction(home)
        targets = mode_targets(home, transaction)
        (options.workdir / "post-rollout.lua").write_text(ROLLOUT_WRK_SCRIPT)
        figures = {mode: TargetFigures(targets[mode].label) for mode in MODES}
        counts: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for round_index in range(options.rounds):
            print(f"round {round_index + 1}/{options.rounds}", flush=True)
            order = MODES if round_index % 2 == 0 else MODES[::-1]
            for mode in order:
                set_mode(home, mode, champion, challenger)
                counts[mode].append(measure_mode(targets[mode], figures[mode], options, home, round_index))
        set_mode(home, "off", champion, challenger)
        in_process = measure_in_process(home, transaction, options.calls)
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", flush=True)
        return 1
    aims = rollout_aims(figures)
    print(
        f"\nHTTP, wrk -t{min(2, options.connections)} -c{options.connections} -d{options.duration}s, "
        f"median of {options.rounds} round(s); {os.cpu_count()} CPUs; champion v{champion}, "
        f"challenger v{challenger} (the same artifact)"
    )
    for mode in MODES:
        f = figures[mode]
        rounds = " ".join(f"{run.rps:.0f}" for run in f.runs)
        cpu = statistics.median(c["cpu_us_per_request"] for c in counts[mode])
        cpu_off = statistics.median(c["cpu_us_per_request"] for c in counts["off"])
        print(f"  {f.label:<24} {f.median('rps'):8.0f} rps  p50 {f.median('p50_ms'):6.2f} ms  "
              f"p99 {f.median('p99_ms'):6.2f} ms  cpu {cpu:5.0f} us/req ({cpu / cpu_off:.2f}x off)"
              f"   rounds: {rounds}")  # fmt: skip
    print("aims")
    for aim in aims:
        print(aim.row())
    elapsed = time.perf_counter() - started
    output = options.output.with_name("serve_rollout.json")
    print(f"\ntook {elapsed:.0f} s; figures in {output}")
    write_json(
        output,
        config={key: str(value) for key, value in vars(options).items()} | {"home": str(home)},
        modes={
            mode: {"label": f.label, "valid": f.valid, "runs": [asdict(run) for run in f.runs],
                   "median": {n: f.median(n) for n in ("rps", "p50_ms", "p99_ms")}, "captured": counts[mode]}
            for mode, f in figures.items()
        },
        in_process=in_process,
        aims=[asdict(aim) | {"verdict": aim.verdict} for aim in aims],
        elapsed_seconds=elapsed,
    )  # fmt: skip
    return 0 if all(f.valid for f in figures.values()) else 1


def rollout_aims(figures: dict[str, TargetFigures]) -> list[Aim]:
    def ratio(mode: str, name: str) -> float | None:
        if not (figures[mode].valid and figures["off"].valid):
            return None
        return figures[mode].median(name) / figures["off"].median(name)

    aa = ratio("off-aa", "rps")  # two identical servers: a miss means the run is too noisy to judge
    return [
        Aim("A/A: |off again / off - 1| throughput", None if aa is None else abs(aa - 1), "<=", 0.05),
        Aim("shadow / off throughput", ratio("shadow", "rps"), ">=", 0.90),
        Aim("shadow / off p99", ratio("shadow", "p99_ms"), "<=", 1.2),
        Aim("canary / off throughput", ratio("canary", "rps"), ">=", 0.95),
        Aim("canary / off p99", ratio("canary", "p99_ms"), "<=", 1.2),
    ]
