"""Ctrl-C during `fraud pipeline run` and `fraud retrain`, as a terminal sends it: SIGINT to the command's
whole process group (and SIGTERM, as ECS or the API's retrain launcher stops a retrain).

The run must stop within seconds with exit code 130 and one line saying what it left behind, register nothing
it did not say it registered, print no traceback, and leave no process behind (Prefect's temporary server
included: it runs in a session of its own, so it is looked for by the FRAUD_HOME in its environment). Before
the fix the SIGINT killed the temporary server, the flow retried its state reports against it for minutes and
exited 1 with an httpx traceback (or went on to register a version). `fraud retrain` had no handler at all:
the same, and no one-line report.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.feedback import LabelInput, LabelOutcome
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.local.feedback.indexing_log import IndexingPredictionLog
from fraud_detection.infrastructure.local.retrain_lock import is_held, lock_path
from fraud_detection.infrastructure.sqlite.feedback_store import SqliteFeedbackStore
from fraud_detection.simulation import generate_transactions
from tests.e2e.conftest import FRAUD, Cli, make_cli
from tests.e2e.serving import copy_home

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HANG_GUARD = (
    60  # seconds from the SIGINT to the exit: far above the few seconds it takes; not a timing assert
)
STARTUP_GUARD = 600  # the temporary server's cold start and the first stages on a loaded 2-core machine
PROGRESS = ("starting the Prefect flow", "retrain (", "✓ ")
# A stage's own progress when piped: "  train     none: fold 1/3, ..." (PipelineObserver.stage_progress);
# "set": the retrain building its set.
STAGE_PROGRESS = tuple(
    f"  {stage:<9} " for stage in ("set", "ingest", "validate", "features", "train", "promote")
)
LABELLED_ROWS = 3_000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("interrupt-data")
    generated = make_cli(home)("data", "generate", "--rows", "20000", "--fraud-rate", "0.005", "--seed", "3")
    assert generated.returncode == 0, generated.stderr
    return home / "data" / "creditcard.csv"


def cli_for(tmp_path: Path, dataset: Path, **extra: str) -> Cli:
    # PREFECT_HOME per test: the temporary server's database is not shared with another run
    return make_cli(
        tmp_path, FRAUD_DATASET_PATH=str(dataset), PREFECT_HOME=str(tmp_path / "prefect"), **extra
    )


def interrupt_run(
    cli: Cli, after: str, command: tuple[str, ...] = ("pipeline", "run"), signum: int = signal.SIGINT
) -> tuple[int, list[str]]:
    """Start `fraud <command>` in its own process group, send `signum` to the group once a stderr line starts
    with `after`, and return the exit code and the stderr lines."""
    process = subprocess.Popen(
        [FRAUD, *command],
        env=cli.env,
        cwd=cli.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + STARTUP_GUARD
        while not any(line.startswith(after) for line in seen):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"the run ended before {after!r}:\n" + "\n".join(seen)
            seen.append(line)
        os.killpg(process.pid, signum)
        try:
            code = process.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            while not lines.empty() and (line := lines.get()) is not None:
                seen.append(line)  # did it hang before its report line, or after (at exit)?
            pytest.fail(f"still running {HANG_GUARD} s after the signal; its stderr:\n" + "\n".join(seen))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    while (line := lines.get(timeout=HANG_GUARD)) is not None:
        seen.append(line)
    return code, seen


def survivors(home: Path) -> list[str]:
    """Processes still running with this FRAUD_HOME in their environment (the CLI's children inherit it)."""
    marker = f"FRAUD_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def registered_versions(cli: Cli) -> list[dict[str, object]]:
    listed = cli("model", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    versions: list[dict[str, object]] = json.loads(listed.stdout)
    return versions


def assert_one_line_report(stderr: list[str], code: int, signum: int = signal.SIGINT) -> str:
    """Exit 128 + the signal, no traceback, and besides progress lines exactly one line: the report, last."""
    text = "\n".join(stderr)
    assert code == 128 + signum, text
    assert "Traceback" not in text
    others = [line for line in stderr if line.strip() and not line.startswith(PROGRESS + STAGE_PROGRESS)]
    assert len(others) == 1, text
    assert others[0] == stderr[-1]
    verb = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert others[0].startswith(f"{verb}: "), text
    return others[0]


@pytest.mark.parametrize("server", ["temporary", "prefect-server"])
def test_ctrl_c_during_training_stops_the_run_and_registers_nothing(
    server: str, dataset: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    extra = {"PREFECT_API_URL": request.getfixturevalue("prefect_api_url")} if server != "temporary" else {}
    cli = cli_for(tmp_path, dataset, **extra)
    # "✓ features" is the last line before training starts: the signal lands while Prefect records the stage
    # (it then waits for `train`'s check: tests/integration/test_flow_stops.py) or in `train` (~30 s here)
    code, stderr = interrupt_run(cli, "✓ features")
    report = assert_one_line_report(stderr, code)
    assert report.endswith("nothing was registered"), report
    assert not any(line.startswith(("✓ train", "✓ register")) for line in stderr)
    assert registered_versions(cli) == []
    assert survivors(tmp_path) == []


def test_ctrl_c_right_before_registering_leaves_what_it_says(dataset: Path, tmp_path: Path) -> None:
    """The signal lands around the start of `register`: the stage either never starts or finishes whole
    (registered @challenger, no gate decision); the report says which, and the registry agrees. (A machine
    stalled past `register` and the gate's scoring would see the gate's records whole: that is told too.)"""
    cli = cli_for(tmp_path, dataset)
    code, stderr = interrupt_run(cli, "✓ evaluate")
    report = assert_one_line_report(stderr, code)
    versions = [
        (v["version"], v["aliases"], v["tags"].get("promotion_decision")) for v in registered_versions(cli)
    ]
    registered = any(line.startswith("✓ register") for line in stderr)
    decided = any(line.startswith("✓ promote") for line in stderr)
    if report.endswith("nothing was registered"):
        assert not registered
        assert versions == []
    elif "the promotion gate decided nothing" in report:
        assert "after registering fraud-lgbm v1 @challenger" in report
        assert registered
        assert not decided
        assert versions == [(1, ["challenger"], None)]
    else:
        assert report.startswith("interrupted: the pipeline had finished (fraud-lgbm v1 @challenger"), report
        assert decided
        assert versions == [(1, ["champion"], "promote")]  # the first version: no champion to beat
    assert survivors(tmp_path) == []


def label_captured_rows(home: Path) -> None:
    """What the API and `fraud feedback` leave in a home: scored rows with ids, captured, and their labels,
    so that `fraud retrain` has something new to train on (written here, without a server)."""
    frame = generate_transactions(LABELLED_ROWS, seed=11, fraud_rate=0.02)
    ids = tuple(f"tx-{i}" for i in range(len(frame)))
    probabilities = np.full(len(frame), 0.1)
    store = SqliteFeedbackStore(home / "feedback.db")
    log = IndexingPredictionLog(ParquetPredictionLog(LocalObjectStore(home / "store")), store)
    log.append(
        PredictionBatch(
            inputs=frame[list(SCORING_INPUTS)].to_numpy(dtype=np.float64),
            times=frame["Time"].to_numpy(dtype=np.float64),
            transaction_ids=ids,
            probabilities=probabilities,
            decisions=probabilities >= 0.5,
            model_name="fraud-lgbm",
            model_version=1,
            request_id="seed",
            scored_at=time.time(),
        )
    )
    log.close()
    labels = [LabelInput(i, bool(c)) for i, c in zip(ids, frame["Class"], strict=True)]
    assert set(store.add_labels(labels, datetime.now(UTC))) == {LabelOutcome.NEW}


@pytest.fixture
def retrain_cli(trained_home: Path, tmp_path: Path) -> Cli:
    """A copy of the trained home (v1 champion, v2 challenger) with labelled captured rows, on Prefect's
    temporary server (the one a terminal's Ctrl-C used to kill)."""
    home = tmp_path / "home"
    copy_home(trained_home, home)
    label_captured_rows(home)
    return make_cli(home, PREFECT_HOME=str(tmp_path / "prefect"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_retrain_registers_nothing_and_releases_its_lock(retrain_cli: Cli, signum: int) -> None:
    before = registered_versions(retrain_cli)
    assert sorted(v["version"] for v in before) == [1, 2]
    # "✓ features" is the last line before training starts: the signal lands between the stages or in `train`
    code, stderr = interrupt_run(retrain_cli, "✓ features", ("retrain", "--reason", "e2e stop"), signum)
    report = assert_one_line_report(stderr, code, signum)
    assert " the retrain stopped " in report, report
    assert report.endswith("nothing was registered"), report
    assert not any(line.startswith(("✓ train", "✓ register")) for line in stderr)
    assert registered_versions(retrain_cli) == before  # the champion's and challenger's, untouched
    assert not is_held(lock_path(retrain_cli.home))
    assert survivors(retrain_cli.home) == []
