"""Benchmark of batch scoring: Celery workers end to end, against a bare LightGBM predict on the same rows.

One run, one machine, the same 1,000,000 generated rows (Kaggle schema without Class, plus transaction_id):
  bare      in this process: `booster.predict` (LightGBM, num_threads=2) over the rows' features, and the
            compiled forest's `predict_matrix` (lleaves, through CompilingAccelerator) for reference
  steps     in this process, one after another, the job's steps through the project's ParquetBatchFiles
            (stage, read chunk, features, predict, output columns, write part, commit): where time goes
  celery    a real redis-server and two `fraud worker` processes (concurrency 1: one process each), the
            home's local store; per configuration (FRAUD_MODEL_COMPILE on/off x FRAUD_BATCH_CHUNK_ROWS)
            fresh workers, a cold first job, then --repeats warm jobs, each submitted with the container's
            submit_job use case and timed from submit to the job's SUCCEEDED record; each worker's peak RSS
  embedded  `fraud batch submit IN OUT` without a broker: the CLI process runs the job itself
  big       (--big) a 5,000,000-row file on the two workers of the default configuration
Every output is checked (row count and order; probabilities equal to LightGBM's within 1e-9). Prints a table
with the aims (two workers >= bare LightGBM throughput; peak RSS per worker < 1 GiB on 5M rows) and writes
benchmarks/out/batch.json.

    .venv/bin/python benchmarks/batch.py [--home <trained FRAUD_HOME>] [--big] [--repeats 2]
        [--chunk-rows 125000,250000] [--workdir benchmarks/out/batch]

Without --home it generates the default dataset and runs `fraud pipeline run` (~30 s) in <workdir>/home
first. Jobs leave their small records under <home>/store/jobs/. Exit status 0 when every job succeeded with
a correct output (aims may still be missed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import serve as bench  # benchmarks/serve.py: trained home, clean environment, Aim, JSON output
from batch_cluster import (
    MemoryProbe,
    TaskRun,
    Worker,
    model_load_lines,
    redis_server,
    rss_now_mib,
    running_workers,
    status_kib,
    task_runs,
)

from fraud_detection.composition import Container
from fraud_detection.domain.batch_roots import BatchRoots
from fraud_detection.domain.features import SCORING_INPUTS, feature_matrix
from fraud_detection.domain.jobs import Chunk, JobState
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.jobs import ChunkRows
from fraud_detection.infrastructure.arrow.batch import ParquetBatchFiles
from fraud_detection.infrastructure.arrow.batch.input_batches import input_batches
from fraud_detection.infrastructure.arrow.batch.input_description import describe_local_file
from fraud_detection.infrastructure.arrow.batch.rebatch import fixed_size_tables
from fraud_detection.infrastructure.arrow.batch.work_files import COMPRESSION, load_table
from fraud_detection.infrastructure.lightgbm.compiled import CompiledFraudModel, CompilingAccelerator
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.settings import Settings
from fraud_detection.simulation import generate_transactions, write_transactions

ROWS = 1_000_000
BIG_ROWS = 5_000_000
PIECE_ROWS = 1_000_000  # inputs are generated piece by piece; the 5M file starts with the 1M file's rows
SEED = 2026
THREADS = 2
DEFAULT_CHUNK_ROWS = 250_000
TOLERANCE = 1e-9  # the accelerator's own bound on compiled vs LightGBM probabilities
JOB_TIMEOUT_SECONDS = 900.0
POLL_SECONDS = 0.02
RSS_POLL_SECONDS = 0.02
LOG_SETTLE_SECONDS = 5.0  # a worker logs "succeeded" just after the record it wrote
WORKERS = ["w1", "w2"]
MIB = 1024 * 1024


# Inputs ---------------------------------------------------------------------------------------------------


def make_input(path: Path, rows: int, scratch: Path) -> Path:
    """`rows` generated transactions without Class and with a transaction_id, one row group per 1M-row piece
    (seeds SEED, SEED+1, ...). Each piece goes through the project's writer (which writes exactly the Kaggle
    columns) and is re-read to drop Class and add the ids. Reused when a file with as many rows exists."""
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    started = time.perf_counter()
    scratch.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    writer: pq.ParquetWriter | None = None
    try:
        for index, first in enumerate(range(0, rows, PIECE_ROWS)):
            count = min(PIECE_ROWS, rows - first)
            raw = write_transactions(
                generate_transactions(count, seed=SEED + index), scratch / "piece.parquet"
            )
            table = pq.read_table(raw).drop_columns(["Class"])
            ids = pa.array([f"tx-{first + i:010d}" for i in range(count)], type=pa.string())
            table = table.append_column("transaction_id", ids)
            writer = writer or pq.ParquetWriter(partial, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
        (scratch / "piece.parquet").unlink(missing_ok=True)
    os.replace(partial, path)
    print(f"  wrote {path.name}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def read_inputs(path: Path) -> np.ndarray:
    """(n, 29) scoring inputs (V1..V28, Amount), the array the feature transformation takes."""
    table = pq.read_table(path, columns=list(SCORING_INPUTS))
    return np.column_stack([table.column(name).to_numpy() for name in SCORING_INPUTS])


# In process: bare predict and the job's steps ---------------------------------------------------------------


@dataclass
class Model:
    version: ModelVersion
    threshold: float
    lightgbm: LightGBMFraudModel
    compiled: CompiledFraudModel | None
    reference: np.ndarray  # LightGBM's probabilities for the 1M input: what every output is checked against


def timed(call: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def measure_bare(container: Container, source: Path, repeats: int) -> tuple[Model, dict[str, Any]]:
    version, threshold = container.batch.job_models().resolve("champion")
    loaded = container.adapters.registry().load_model(version)
    if not isinstance(loaded, LightGBMFraudModel):
        raise bench.BenchmarkError(f"expected the LightGBM adapter, got {type(loaded).__name__}")
    inputs = read_inputs(source)
    feature_s, features = timed(lambda: feature_matrix(inputs), repeats)
    lightgbm_s, reference = timed(lambda: loaded.booster.predict(features, num_threads=THREADS), repeats)
    # A private cache folder: the home's compiled-model cache stays as it was, so the first worker of the
    # compile-on configurations shows what a real first start costs (compile or cache load).
    with tempfile.TemporaryDirectory(prefix="bench-compiled-") as cache:
        compile_s, compiled = timed(
            lambda: CompilingAccelerator(Path(cache), threads=THREADS).accelerate(version, loaded), 1
        )
    figures: dict[str, Any] = {
        "model": version.label,
        "trees": loaded.best_iteration,
        "threshold": threshold,
        "features_s": feature_s,
        "lightgbm_predict_s": lightgbm_s,
        "compile_s": compile_s[0],
    }
    if isinstance(compiled, CompiledFraudModel):
        compiled_s, probabilities = timed(lambda: compiled.predict_matrix(features), repeats)
        figures |= {
            "compiled_predict_s": compiled_s,
            "compiled_gap": float(np.abs(probabilities - reference).max()),
        }
    else:
        compiled = None
        figures["compiled_predict_s"] = None
    return Model(version, threshold, loaded, compiled, np.asarray(reference)), figures


def output_columns(
    chunk: Chunk, rows: ChunkRows, probabilities: np.ndarray, model: Model
) -> dict[str, np.ndarray]:
    """What `JobSteps._score` builds after predicting (a mirror: the use case does it all in one call)."""
    columns = {"row": np.arange(chunk.first_row, chunk.first_row + chunk.rows, dtype=np.int64)}
    if rows.transaction_ids is not None:
        columns["transaction_id"] = rows.transaction_ids
    columns["probability"] = probabilities
    columns["decision"] = np.where(probabilities >= model.threshold, "fraud", "legit")
    columns["model_version"] = np.full(chunk.rows, model.version.version, dtype=np.int32)
    return columns


def stage_anatomy(
    store: LocalObjectStore,
    source: Path,
    scratch: Path,
    chunk_rows: int,
    clock: Callable[[str], AbstractContextManager[None]],
) -> None:
    """Staging again, taken apart: the project's reader and re-batcher, then what `store_table` does per
    chunk (zstd Parquet without dictionary to a scratch file, then `write_file`: a copy into the store and
    an fsync), and an uncompressed Arrow IPC file as the alternative encoding."""
    description = describe_local_file(source, str(source))
    with clock("  stage, taken apart: read input into chunk tables"):
        tables = list(fixed_size_tables(input_batches(source, str(source), description), chunk_rows))
    scratch.mkdir(parents=True, exist_ok=True)
    for index, table in enumerate(tables):
        path = scratch / f"anatomy-{index}.parquet"
        with clock("    encode zstd Parquet to a scratch file"):
            pq.write_table(table, path, compression=COMPRESSION, use_dictionary=False)
        with clock("    copy into the store, fsync (write_file)"):
            store.write_file(f"anatomy/{index:06d}.parquet", path)
        with clock("    instead: Arrow IPC file, uncompressed"):
            feather.write_feather(table, str(scratch / f"anatomy-{index}.arrow"), compression="uncompressed")
        path.unlink()
        (scratch / f"anatomy-{index}.arrow").unlink()
        store.delete(f"anatomy/{index:06d}.parquet")


def measure_steps(model: Model, source: Path, workdir: Path, chunk_rows: int) -> dict[str, float]:
    """The job's steps in one process, in order, through the project's ParquetBatchFiles on a private
    local store. Predict uses the compiled forest when there is one (the default); LightGBM's time on the
    same chunks is reported beside it, as is the Parquet decoding inside read_chunk, and staging taken
    apart in a second pass. Indented names are parts or alternatives, not counted in the total."""
    store = LocalObjectStore(workdir / "steps-store")
    roots = BatchRoots((str(source.parent),), (str(workdir),))
    files = ParquetBatchFiles(store, roots=roots, scratch_dir=workdir / "steps-scratch")
    scorer = model.compiled or model.lightgbm
    spent: dict[str, float] = {}

    @contextmanager
    def clock(name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    job = f"steps-{uuid.uuid4().hex[:8]}"
    with clock("stage"):
        chunks = tuple(files.stage(job, str(source), chunk_rows))
    stage_anatomy(store, source, workdir / "steps-scratch", chunk_rows, clock)
    for chunk in chunks:
        with clock("read_chunk"):
            rows = files.read_chunk(chunk)
        with clock("  of which: Parquet decode (load_table)"):
            load_table(store, chunk.key, f"staged chunk {chunk.index}")
        with clock("features"):
            features = feature_matrix(rows.inputs)
        with clock("predict"):
            probabilities = scorer.predict_matrix(features)
        with clock("  predict with LightGBM instead"):
            model.lightgbm.predict_matrix(features)
        with clock("output columns"):
            columns = output_columns(chunk, rows, probabilities, model)
        with clock("write_part"):
            files.write_part(job, chunk, columns)
    output = workdir / "steps-output.parquet"
    output.unlink(missing_ok=True)  # left by an interrupted run: outputs are never overwritten
    with clock("commit"):
        files.commit(job, chunks, str(output))
    with clock("clean"):
        files.clean(job)
    check_output(output, ROWS, model.reference)
    output.unlink()
    return spent


# Jobs -----------------------------------------------------------------------------------------------------


@dataclass
class JobRun:
    job_id: str
    rows: int
    seconds: float  # submit call -> the SUCCEEDED record's time
    memory: dict[str, dict[str, float]]  # worker -> hwm/sampled/peak MiB
    memory_by_task: dict[str, dict[str, float]]  # task -> worker -> largest sampled MiB
    phases: dict[str, float]
    details: dict[str, float]
    chunks_by_worker: dict[str, int]
    chunk_busy_s: dict[str, float]
    max_gap: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    def peak_mib(self, worker: str) -> float:
        return self.memory[worker]["peak_mib"]


def check_output(path: Path, rows: int, reference: np.ndarray) -> float:
    """Rows in input order, probabilities equal to LightGBM's on the rows the reference covers."""
    table = pq.read_table(path, columns=["row", "probability"])
    if table.num_rows != rows:
        raise bench.BenchmarkError(f"{path}: {table.num_rows:,} rows, expected {rows:,}")
    if not np.array_equal(table.column("row").to_numpy(), np.arange(rows)):
        raise bench.BenchmarkError(f"{path}: rows out of order")
    covered = min(rows, len(reference))
    gap = float(np.abs(table.column("probability").to_numpy()[:covered] - reference[:covered]).max())
    if not gap <= TOLERANCE:
        raise bench.BenchmarkError(f"{path}: probabilities differ from LightGBM's by {gap:.3g}")
    return gap


def record_time(iso: str | None) -> float:
    if iso is None:
        raise bench.BenchmarkError("a finished job has no outcome time")
    return datetime.fromisoformat(iso).timestamp()


def phases_of(
    runs: list[TaskRun], submitted: float, finished: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Where the seconds from submit to SUCCEEDED went, from the workers' task lines (ms resolution): three
    phases that add up to the job's time, and details. The commit task records SUCCEEDED, then removes the
    staged chunks and parts (after the job's time ends)."""
    prepare = next(run for run in runs if run.task == "prepare")
    chunks = [run for run in runs if run.task == "score_chunk"]
    commit = next(run for run in runs if run.task == "commit")
    first, last = min(run.started for run in chunks), max(run.ended for run in chunks)
    phases = {
        "staging: submit -> prepare task ends": prepare.ended - submitted,
        "scoring: -> last chunk task ends": last - prepare.ended,
        "commit: -> SUCCEEDED recorded": finished - last,
    }
    details = {
        "submit -> prepare task starts (queue)": prepare.started - submitted,
        "prepare task (stage the input as chunk files, plan)": prepare.seconds,
        "first chunk task starts after prepare ends": first - prepare.ended,
        "chunk tasks, longest": max(run.seconds for run in chunks),
        "last chunk -> commit task starts": commit.started - last,
        "commit task (concatenate parts, record, clean)": commit.seconds,
        "clean-up after the SUCCEEDED record": commit.ended - finished,
    }
    return phases, details


def memory_by_task(probe: MemoryProbe, runs: list[TaskRun]) -> dict[str, dict[str, float]]:
    """Largest sampled RSS (MiB) of each worker while it ran each kind of task."""
    peaks: dict[str, dict[str, float]] = {}
    for run in runs:
        peak = probe.peak_during(run.worker, run.started, run.ended)
        if peak is not None:
            by_worker = peaks.setdefault(run.task, {})
            by_worker[run.worker] = max(by_worker.get(run.worker, 0.0), peak)
    return peaks


def run_job(
    container: Container,
    source: Path,
    rows: int,
    workers: list[Worker],
    outputs: Path,
    label: str,
    reference: np.ndarray,
) -> JobRun:
    job_id = f"{label}-{uuid.uuid4().hex[:8]}"
    output = outputs / f"{job_id}.parquet"
    store = container.adapters.job_store()
    with MemoryProbe(workers) as probe:
        submitted = time.time()
        container.batch.submit_job()(str(source), str(output), "champion", job_id)
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while not (status := store.status(job_id)).state.finished:
            if time.monotonic() > deadline:
                raise bench.BenchmarkError(
                    f"job {job_id} not finished after {JOB_TIMEOUT_SECONDS:.0f} s: {status}"
                )
            time.sleep(POLL_SECONDS)
    memory = probe.peaks()
    if status.state is not JobState.SUCCEEDED:
        raise bench.BenchmarkError(f"job {job_id} ended {status.state.value}: {status.error}")
    finished = record_time(status.updated_at)
    gap = check_output(output, rows, reference)
    output.unlink()
    deadline = time.monotonic() + LOG_SETTLE_SECONDS
    runs = task_runs(workers, job_id)
    while not any(run.task == "commit" for run in runs):
        if time.monotonic() > deadline:
            raise bench.BenchmarkError(f"job {job_id}: no commit task line in the worker logs")
        time.sleep(0.05)
        runs = task_runs(workers, job_id)
    chunk_runs = [run for run in runs if run.task == "score_chunk"]
    phases, details = phases_of(runs, submitted, finished)
    return JobRun(
        job_id=job_id,
        rows=rows,
        seconds=finished - submitted,
        memory=memory,
        memory_by_task=memory_by_task(probe, runs),
        phases=phases,
        details=details,
        chunks_by_worker={w.name: sum(run.worker == w.name for run in chunk_runs) for w in workers},
        chunk_busy_s={
            w.name: sum(run.seconds for run in chunk_runs if run.worker == w.name) for w in workers
        },
        max_gap=gap,
    )


@dataclass
class Configuration:
    compile: bool
    chunk_rows: int
    ready_s: dict[str, float] = field(default_factory=dict)
    idle_rss_mib: dict[str, float] = field(default_factory=dict)  # ready, before any job
    settled_rss_mib: dict[str, float] = field(default_factory=dict)  # idle again after the last job
    cold: JobRun | None = None
    extra_warmups: int = 0
    warm: list[JobRun] = field(default_factory=list)
    model_lines: dict[str, list[str]] = field(default_factory=dict)
    big: JobRun | None = None

    @property
    def label(self) -> str:
        return f"compile {'on' if self.compile else 'off'}, chunks {self.chunk_rows // 1000}k"

    @property
    def slug(self) -> str:
        return f"{'compiled' if self.compile else 'lightgbm'}-{self.chunk_rows // 1000}k"

    @property
    def is_default(self) -> bool:
        return self.compile and self.chunk_rows == DEFAULT_CHUNK_ROWS

    def median_run(self) -> JobRun:
        return sorted(self.warm, key=lambda run: run.seconds)[len(self.warm) // 2]

    def median_s(self) -> float:
        return statistics.median(run.seconds for run in self.warm)


def model_ready(worker: Worker, compiled: bool) -> bool:
    """The worker has readied the model: the accelerator logged its outcome (compile on), or it scored a
    chunk (compile off: loading the model happens inside its first chunk)."""
    if compiled:
        return bool(model_load_lines(worker))
    return "rows scored in" in worker.text()


def measure_configuration(
    config: Configuration,
    env: dict[str, str],
    container: Container,
    inputs: dict[str, Path],
    model: Model,
    options: argparse.Namespace,
) -> None:
    workdir: Path = options.workdir
    outputs = workdir / "outputs"
    worker_env = env | {
        "FRAUD_BATCH_CHUNK_ROWS": str(config.chunk_rows),
        "FRAUD_MODEL_COMPILE": "true" if config.compile else "false",
        "FRAUD_WORKER_METRICS_PORT": "0",
    }
    print(f"celery, 2 workers, {config.label}", flush=True)
    with running_workers(WORKERS, worker_env, workdir / "logs" / config.slug, cwd=options.home) as workers:
        config.ready_s = {w.name: w.ready_seconds for w in workers}
        config.idle_rss_mib = {w.name: rss_now_mib(w) for w in workers}
        config.cold = run_job(
            container, inputs["1M"], ROWS, workers, outputs, f"{config.slug}-cold", model.reference
        )
        report_job("cold first job", config.cold)
        while not all(model_ready(w, config.compile) for w in workers):
            if config.extra_warmups >= 3:
                raise bench.BenchmarkError(f"{config.label}: a worker never readied the model")
            config.extra_warmups += 1
            run_job(container, inputs["1M"], ROWS, workers, outputs, f"{config.slug}-warmup", model.reference)
        config.model_lines = {w.name: model_load_lines(w) for w in workers}
        for index in range(options.repeats):
            run = run_job(
                container,
                inputs["1M"],
                ROWS,
                workers,
                outputs,
                f"{config.slug}-warm{index + 1}",
                model.reference,
            )
            config.warm.append(run)
            report_job(f"warm job {index + 1}", run)
        if config.is_default and "5M" in inputs:
            config.big = run_job(
                container, inputs["5M"], BIG_ROWS, workers, outputs, f"{config.slug}-5m", model.reference
            )
            report_job("5M rows", config.big)
        config.settled_rss_mib = {w.name: rss_now_mib(w) for w in workers}


def report_job(what: str, run: JobRun) -> None:
    memory = " / ".join(f"{run.peak_mib(name):.0f}" for name in run.memory)
    chunks = " / ".join(str(count) for count in run.chunks_by_worker.values())
    print(
        f"  {what:<16} {run.seconds:6.2f} s  {run.rows_per_s:>10,.0f} rows/s  peak RSS {memory} MiB"
        f"  chunks per worker {chunks}",
        flush=True,
    )


def embedded_run(
    env: dict[str, str], container: Container, source: Path, home: Path, model: Model, workdir: Path
) -> dict[str, Any]:
    """`fraud batch submit` with no broker: its own process stages, scores and commits. Wall time and peak
    RSS (VmHWM, read every RSS_POLL_SECONDS until it exits) of the CLI process, and the job's own time from
    its records (submit -> SUCCEEDED)."""
    job_id = f"embedded-{uuid.uuid4().hex[:8]}"
    output = workdir / "outputs" / f"{job_id}.parquet"
    fraud = str(Path(env["PATH"].split(":")[0]) / "fraud")
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [fraud, "batch", "submit", str(source), str(output), "--job-id", job_id],
            env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=errors,
        )  # fmt: skip
        # VmHWM of the running CLI, read until it exits: the rusage of wait4 would also count the pages
        # the child held as a fork of this (large) process before its exec.
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, status_kib(process.pid, "VmHWM"))
            time.sleep(RSS_POLL_SECONDS)
        wall = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read()
    if process.returncode != 0:
        raise bench.BenchmarkError(f"fraud batch submit (embedded) failed:\n{stderr[-3000:]}")
    status = container.adapters.job_store().status(job_id)
    if status.state is not JobState.SUCCEEDED:
        raise bench.BenchmarkError(f"embedded job ended {status.state.value}: {status.error}")
    gap = check_output(output, ROWS, model.reference)
    output.unlink()
    job_s = record_time(status.updated_at) - datetime.fromisoformat(status.request.submitted_at).timestamp()
    figures = {
        "job_id": job_id,
        "wall_s": wall,
        "job_s": job_s,
        "peak_rss_mib": peak_kib / 1024,
        "max_gap": gap,
    }
    print(
        f"  job {job_s:.2f} s ({ROWS / job_s:,.0f} rows/s), CLI wall {wall:.2f} s, "
        f"peak RSS {figures['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    return figures


def measure_embedded(
    env: dict[str, str], container: Container, source: Path, model: Model, options: argparse.Namespace
) -> dict[str, Any]:
    """`--repeats` embedded runs: median times, and the range of peak RSS (it varies from run to run)."""
    print("embedded: fraud batch submit, no broker", flush=True)
    runs = [
        embedded_run(env, container, source, options.home, model, options.workdir)
        for _ in range(options.repeats)
    ]
    peaks = [run["peak_rss_mib"] for run in runs]
    return {
        "runs": runs,
        "job_s": median([run["job_s"] for run in runs]),
        "wall_s": median([run["wall_s"] for run in runs]),
        "peak_rss_mib": max(peaks),
        "lowest_peak_rss_mib": min(peaks),
    }


# Report ---------------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def bare_rows_per_s(bare: dict[str, Any], key: str) -> float | None:
    seconds = bare.get(key)
    return ROWS / median(seconds) if seconds else None


def build_aims(configs: list[Configuration], bare: dict[str, Any]) -> list[bench.Aim]:
    baseline = bare_rows_per_s(bare, "lightgbm_predict_s")
    assert baseline is not None
    aims = [
        bench.Aim(
            f"2 workers / bare LightGBM, {config.label}", ROWS / config.median_s() / baseline, ">=", 1.0, "x"
        )
        for config in configs
        if config.warm
    ]
    big = next((config.big for config in configs if config.big), None)
    if big is not None:
        worst = max(big.peak_mib(name) for name in big.memory)
        aims.append(bench.Aim("peak RSS per worker, 5M rows", worst, "<", 1024.0, " MiB"))
    return aims


def print_report(
    bare: dict[str, Any],
    steps: dict[str, float],
    configs: list[Configuration],
    embedded: dict[str, Any],
    aims: list[bench.Aim],
    options: argparse.Namespace,
) -> None:
    baseline = bare_rows_per_s(bare, "lightgbm_predict_s")
    assert baseline is not None

    def line(label: str, seconds: float, rows: int = ROWS, memory: str = "") -> None:
        rate = rows / seconds
        print(f"  {label:<52} {seconds:8.2f} {rate:>12,.0f} {rate / baseline:8.2f}   {memory}")

    print()
    print(
        f"batch scoring, {ROWS:,} rows ({os.cpu_count()} CPUs; {bare['model']}, {bare['trees']} trees); "
        f"celery and embedded: median of {options.repeats} (warm) job(s)"
    )
    print(f"  {'configuration':<52} {'seconds':>8} {'rows/s':>12} {'x bare':>8}   peak RSS MiB per worker")
    line(f"bare booster.predict (LightGBM, {THREADS} threads)", median(bare["lightgbm_predict_s"]))
    if bare["compiled_predict_s"]:
        line(f"compiled predict_matrix (lleaves, {THREADS} threads)", median(bare["compiled_predict_s"]))
    features = bare["features_s"]
    print(
        f"  {'(features: feature_matrix, not in the above)':<52} {min(features):8.2f}"
        f"   (best; up to {max(features):.2f} s when its {ROWS * len(SCORING_INPUTS) * 8 / 1e6:.0f} MB"
        " result lands on fresh pages)"
    )
    for config in configs:
        if not config.warm:
            continue
        memory = " / ".join(f"{max(run.peak_mib(name) for run in config.warm):.0f}" for name in WORKERS)
        line(f"celery, 2 workers, {config.label}", config.median_s(), memory=memory)
        if config.cold is not None:
            cold_memory = " / ".join(f"{config.cold.peak_mib(name):.0f}" for name in WORKERS)
            line("  cold first job (fresh workers)", config.cold.seconds, memory=cold_memory)
    line(
        "embedded: fraud batch submit, no broker (job)",
        embedded["job_s"],
        memory=f"{embedded['lowest_peak_rss_mib']:.0f} to {embedded['peak_rss_mib']:.0f} (CLI process)",
    )
    line("embedded: the same, CLI wall (start-up, model load)", embedded["wall_s"])
    for config in configs:
        if config.big is not None:
            memory = " / ".join(f"{config.big.peak_mib(name):.0f}" for name in WORKERS)
            line(
                f"celery, 2 workers, {BIG_ROWS / 1e6:g}M rows, {config.label}",
                config.big.seconds,
                BIG_ROWS,
                memory,
            )

    default = next((config for config in configs if config.is_default and config.warm), None)
    if default is not None:
        if default.cold is not None:
            print_job_anatomy(f"cold first job, {default.label}", default.cold)
        print_job_anatomy(f"median warm job, {default.label}", default.median_run())
        print(
            f"  workers ready {max(default.ready_s.values()):.1f} s after start; RSS when ready "
            + " / ".join(f"{default.idle_rss_mib[name]:.0f}" for name in WORKERS)
            + " MiB, idle after the last job "
            + " / ".join(f"{default.settled_rss_mib[name]:.0f}" for name in WORKERS)
            + " MiB"
        )
    for config in configs:
        for name, lines in config.model_lines.items():
            shown = "; ".join(line.split("] ", 1)[-1] for line in lines)
            shown = shown or ("plain LightGBM" if not config.compile else "(no accelerator line)")
            print(f"  model readied by {config.label}, {name}: {shown}")
    big = next((config.big for config in configs if config.big), None)
    if big is not None:
        print_job_anatomy(f"{BIG_ROWS:,}-row job", big)
    total = sum(seconds for name, seconds in steps.items() if not name.startswith(" "))
    print()
    print(f"the job's steps in one process, in order ({DEFAULT_CHUNK_ROWS // 1000}k chunks): {total:.2f} s")
    for name, seconds in steps.items():
        share = "" if name.startswith(" ") else f"{seconds / total:5.0%}"
        print(f"  {name:<52} {seconds:8.2f}  {share:>5}")
    print()
    print("aims")
    for aim in aims:
        print(aim.row())
    if not any(config.big for config in configs):
        print("  peak RSS per worker, 5M rows                    not measured (run with --big)")


def print_job_anatomy(what: str, run: JobRun) -> None:
    print()
    print(f"where the time goes: {what} ({run.seconds:.2f} s, job {run.job_id})")
    for name, seconds in run.phases.items():
        print(f"  {name:<52} {seconds:6.2f} s  {seconds / run.seconds:5.0%}")
    for name, seconds in run.details.items():
        print(f"    {name:<50} {seconds:6.2f} s")
    busy = ", ".join(
        f"{name} {run.chunk_busy_s[name]:.2f} s ({run.chunks_by_worker[name]} chunks)" for name in WORKERS
    )
    print(f"  chunk tasks' own time per worker: {busy}")
    for task, by_worker in run.memory_by_task.items():
        shown = " / ".join(f"{by_worker.get(name, float('nan')):.0f}" for name in WORKERS)
        print(f"  largest sampled RSS during {task} tasks, MiB per worker: {shown}")


def configuration_json(config: Configuration, baseline: float) -> dict[str, Any]:
    figures = asdict(config) | {"label": config.label}
    if config.warm:
        figures |= {"median_s": config.median_s(), "rows_per_s": ROWS / config.median_s()}
        figures["ratio_to_bare_lightgbm"] = figures["rows_per_s"] / baseline
    return figures


# Main -----------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, help="An existing trained FRAUD_HOME (default: make one).")
    parser.add_argument("--workdir", type=Path, default=bench.REPO / "benchmarks" / "out" / "batch")
    parser.add_argument("--output", type=Path, default=bench.REPO / "benchmarks" / "out" / "batch.json")
    parser.add_argument("--big", action="store_true", help=f"Also a {BIG_ROWS:,}-row job on the two workers.")
    parser.add_argument("--repeats", type=int, default=2, help="Warm jobs per configuration.")
    parser.add_argument("--bare-repeats", type=int, default=3, help="Runs of each in-process predict.")
    parser.add_argument(
        "--chunk-rows", default="125000,250000", help="FRAUD_BATCH_CHUNK_ROWS values, comma-separated."
    )
    options = parser.parse_args()
    try:
        options.chunk_sizes = [int(value) for value in options.chunk_rows.split(",")]
    except ValueError:
        parser.error("--chunk-rows takes whole numbers separated by commas")
    if options.repeats < 1 or options.bare_repeats < 1 or min(options.chunk_sizes) < 1:
        parser.error("--repeats, --bare-repeats and --chunk-rows must be positive")
    return options


def main() -> int:
    options = parse_args()
    signal.signal(signal.SIGTERM, bench.raise_on_sigterm)
    options.workdir = options.workdir.resolve()
    options.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    configs = [Configuration(compiled, rows) for compiled in (True, False) for rows in options.chunk_sizes]
    try:
        options.home = bench.prepare_home(options.home, options.workdir)
        print("inputs", flush=True)
        inputs_dir = options.workdir / "inputs"  # the jobs' batch roots: inputs/ and outputs/
        inputs = {"1M": make_input(inputs_dir / "input-1m.parquet", ROWS, options.workdir / "scratch")}
        if options.big:
            inputs["5M"] = make_input(inputs_dir / "input-5m.parquet", BIG_ROWS, options.workdir / "scratch")
        roots = {"batch_input_roots": str(inputs_dir), "batch_output_roots": str(options.workdir / "outputs")}
        env = bench.clean_env(options.home) | {f"FRAUD_{key.upper()}": value for key, value in roots.items()}
        with redis_server(options.workdir / "redis") as broker:
            settings = Settings(
                home=options.home,
                broker_url=broker,
                batch_input_roots=roots["batch_input_roots"],
                batch_output_roots=roots["batch_output_roots"],
            )
            container = Container(settings)
            model, bare = measure_bare(container, inputs["1M"], options.bare_repeats)
            print(
                f"bare, in process: LightGBM predict {median(bare['lightgbm_predict_s']):.2f} s, compiled "
                + (
                    f"{median(bare['compiled_predict_s']):.2f} s"
                    if bare["compiled_predict_s"]
                    else "unavailable"
                ),
                flush=True,
            )
            steps = measure_steps(model, inputs["1M"], options.workdir, DEFAULT_CHUNK_ROWS)
            for config in configs:
                measure_configuration(
                    config, env | {"FRAUD_BROKER_URL": broker}, container, inputs, model, options
                )
            embedded = measure_embedded(env, container, inputs["1M"], model, options)
    except bench.BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    aims = build_aims(configs, bare)
    print_report(bare, steps, configs, embedded, aims, options)
    elapsed = time.perf_counter() - started
    print(f"\ntook {elapsed:.0f} s; figures in {options.output}")
    baseline = bare_rows_per_s(bare, "lightgbm_predict_s") or 0.0
    bench.write_json(
        options.output,
        config={key: str(value) for key, value in vars(options).items()},
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "os": platform.platform()},
        inputs={
            name: {"path": str(path), "rows": pq.ParquetFile(path).metadata.num_rows}
            for name, path in inputs.items()
        },
        bare=bare | {"lightgbm_rows_per_s": baseline},
        steps_in_one_process=steps,
        celery=[configuration_json(config, baseline) for config in configs],
        embedded=embedded,
        aims=[asdict(aim) | {"verdict": aim.verdict} for aim in aims],
        elapsed_seconds=elapsed,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
