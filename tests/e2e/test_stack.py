"""The local production-like stack (`scripts/stack.py`) as a user drives it: `up` on free ports, then the
real CLI and HTTP API with the stack's `env` file only (S3 on SeaweedFS, MLflow server on PostgreSQL, Redis
broker and feedback store, a Prefect server, Prometheus scraping the API and the worker), then `down` leaves
no process."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pandas as pd
import pytest
from botocore.config import Config

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.simulation import generate_transactions
from tests.e2e.serving import send_labels
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(REPO / "scripts" / "stack.py")]
FRAUD = str(Path(sys.executable).parent / "fraud")
PSQL = "/usr/lib/postgresql/15/bin/psql"
BUCKET = "fraud"
SCORED_ROWS = 2_000
BATCH_ROWS = 5_000


@dataclass
class Stack:
    """A running stack: its folder, the settings of its `env` file, and the ports it chose."""

    root: Path
    env: dict[str, str]
    ports: dict[str, int]

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        environment = _clean_env() | self.env | {"COLUMNS": "200", "NO_COLOR": "1"}
        return subprocess.run(
            [FRAUD, *args], env=environment, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )

    def s3(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.env["FRAUD_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}),
        )

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def api(self) -> httpx.Client:
        key = self.env["FRAUD_STACK_API_KEY"]
        return httpx.Client(
            base_url=self.env["FRAUD_STACK_API_URL"], headers={"Authorization": f"Bearer {key}"}, timeout=60
        )

    def mlflow(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/{path}"
        response = httpx.get(url, params=params, timeout=30)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def prometheus(self, query: str) -> list[dict[str, Any]]:
        url = f"{self.env['FRAUD_STACK_PROMETHEUS_URL']}/api/v1/query"
        response = httpx.get(url, params={"query": query}, timeout=10)
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def psql(self, statement: str) -> str:
        password = (self.root / "secrets" / "postgres-password").read_text().strip()
        command = [PSQL, "-h", "127.0.0.1", "-p", str(self.ports["postgres"]), "-U", "mlflow", "-d", "mlflow"]
        result = subprocess.run(
            [*command, "-tAc", statement],
            env=_clean_env() | {"PGPASSWORD": password},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()


def _clean_env() -> dict[str, str]:
    """This process's environment without any setting that would point the CLI away from the stack."""
    prefixes = ("FRAUD_", "MLFLOW_TRACKING", "MLFLOW_S3", "PREFECT_API", "AWS_")
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def read_env_file(path: Path) -> dict[str, str]:
    """The `export KEY=VALUE` lines a user would `source`."""
    settings = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            settings[key] = shlex.split(value)[0] if value else ""
    return settings


def stack_command(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STACK, *args, "--dir", str(root)],
        env=_clean_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def processes_of(pids: set[int]) -> set[int]:
    """Live (non-zombie) processes that are one of `pids` or in one of their process groups."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid, state, group = int(entry.name), fields[0], int(fields[2])
        if state not in {"Z", "X"} and (pid in pids or group in pids):
            found.add(pid)
    return found


def transaction_rows(frame: pd.DataFrame, prefix: str) -> list[dict[str, Any]]:
    names = ("Time", *SCORING_INPUTS)
    return [
        {name: float(row[name]) for name in names} | {"transaction_id": f"{prefix}-{i}"}
        for i, row in enumerate(frame.to_dict("records"))
    ]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Not pytest's tmp_path: PostgreSQL runs as user `postgres` when the tests run as root, and must be able
    # to enter every parent folder (pytest's are mode 700).
    root = Path(tempfile.mkdtemp(prefix="fraud-stack-"))
    started = stack_command(root, "up", "--free-ports", "--scrape-interval", "1s", "--timeout-scale", "2")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        ports = json.loads((root / "pids").read_text())["ports"]
        yield Stack(root, read_env_file(root / "env"), ports)
    finally:
        recorded = json.loads((root / "pids").read_text()) if (root / "pids").exists() else {"services": []}
        pids = {service["pid"] for service in recorded["services"]}
        stopped = stack_command(root, "down", "--purge", timeout=180)
        shutil.rmtree(root, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert pids, "the stack recorded no process"
        assert processes_of(pids) == set(), "processes left after `stack.py down`"


def test_the_stack_runs_the_whole_model_lifecycle(stack: Stack) -> None:
    again = stack_command(stack.root, "up", "--free-ports")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert oct((stack.root / "env").stat().st_mode & 0o777) == "0o600"
    assert oct((stack.root / "secrets" / "admin-token").stat().st_mode & 0o777) == "0o600"

    # Train: the dataset in S3, the run and the version in the MLflow server, its metadata in PostgreSQL.
    generated = stack.cli("data", "generate", "--rows", "30000", "--fraud-rate", "0.005")
    assert generated.returncode == 0, generated.stderr
    run = stack.cli("pipeline", "run", "--summary-json", "summary.json")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads((stack.root / "summary.json").read_text())
    dataset_id = summary["dataset"]["id"]
    assert {f"data/raw/{dataset_id}/data.parquet", f"data/raw/{dataset_id}/manifest.json"} <= set(
        stack.keys(f"data/raw/{dataset_id}/")
    )
    mlflow_run = stack.mlflow("runs/get", run_id=summary["mlflow_run"]["id"])["run"]
    assert mlflow_run["info"]["status"] == "FINISHED"
    assert mlflow_run["info"]["artifact_uri"].startswith("mlflow-artifacts:")  # proxied by the server...
    assert stack.keys("mlflow/"), "no MLflow artifact in s3://fraud/mlflow"  # ...to the S3 bucket
    model = stack.mlflow("registered-models/get", name="fraud-lgbm")["registered_model"]
    assert {"alias": "champion", "version": "1"} in model["aliases"]
    assert stack.psql("SELECT count(*) FROM model_versions WHERE name = 'fraud-lgbm'") == "1"

    with stack.api() as api:
        # The API started before any model existed; a reload serves the new champion now. (Its registry
        # poller may already have found it when the pipeline took longer than FRAUD_MODEL_POLL_SECONDS, so
        # readiness before the reload is not asserted: a 200 there was a timing race, not a fault.)
        assert api.get("/readyz").status_code in (200, 503)
        admin = {"Authorization": f"Bearer {stack.env['FRAUD_ADMIN_TOKEN']}"}
        assert api.post("/admin/model/reload").status_code == 403  # the client's key has no admin scope
        assert api.post("/admin/model/reload", headers=admin).status_code == 200
        assert api.get("/readyz").status_code == 200

        traffic = generate_transactions(SCORED_ROWS, seed=7, fraud_rate=0.01)
        rows = transaction_rows(traffic, "tx")
        single = api.post("/v1/score", json=rows[0])
        assert single.status_code == 200, single.text
        assert single.json()["model"]["version"] == 1
        batch = api.post("/v1/score/batch", json={"transactions": rows[1:]})
        assert batch.status_code == 200, batch.text

        # Batch job through Redis: S3 in, S3 out, scored by the stack's worker.
        submit_batch_job(stack)

        # Labels for every scored transaction (ids reach the Redis feedback store about a second later).
        labels = [{"transaction_id": r["transaction_id"], "is_fraud": bool(c)} for r, c in zip(
            rows, traffic["Class"], strict=True)]  # fmt: skip
        send_labels(api, labels)

    check_prometheus(stack)

    # Drift on the captured predictions (written to S3 every few seconds).
    assert wait_until(lambda: captured_rows(stack) >= SCORED_ROWS, timeout=60, interval=0.5)
    checked = stack.cli("drift", "check", "--last-rows", str(SCORED_ROWS), "--no-publish", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["model_version"] == 1
    assert report["window"]["rows"] == SCORED_ROWS
    assert report["status"] in {"no_drift", "input_drift", "model_at_risk"}
    assert isinstance(report["model_at_risk"], bool)
    assert isinstance(report["evidence"], list)
    assert any(key.endswith(".json") for key in stack.keys("data/drift/reports/"))

    # Retrain on the champion's data plus the labelled captured rows: a new version, the gate decides.
    retrained = stack.cli("retrain", "--reason", "stack e2e", timeout=600)
    assert retrained.returncode == 0, retrained.stdout[-3000:] + retrained.stderr[-3000:]
    versions = stack.mlflow("model-versions/search", filter="name='fraud-lgbm'")["model_versions"]
    assert sorted(int(v["version"]) for v in versions) == [1, 2]
    new = next(v for v in versions if v["version"] == "2")
    tags = {tag["key"]: tag["value"] for tag in new.get("tags", [])}
    assert tags["promotion_decision"] in {"promote", "keep"}


def submit_batch_job(stack: Stack) -> None:
    frame = generate_transactions(BATCH_ROWS, seed=11, fraud_rate=0.005)
    buffer = io.BytesIO()
    frame.assign(transaction_id=[f"b-{i}" for i in range(len(frame))]).to_parquet(buffer, index=False)
    stack.s3().put_object(Bucket=BUCKET, Key="inputs/day.parquet", Body=buffer.getvalue())
    source, target = f"s3://{BUCKET}/inputs/day.parquet", f"s3://{BUCKET}/outputs/day-scores.parquet"
    submitted = stack.cli("batch", "submit", source, target, "--job-id", "stack-e2e", "--wait", timeout=300)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    body = stack.s3().get_object(Bucket=BUCKET, Key="outputs/day-scores.parquet")["Body"].read()
    scores = pd.read_parquet(io.BytesIO(body))
    assert len(scores) == BATCH_ROWS
    assert scores["transaction_id"].tolist() == [f"b-{i}" for i in range(BATCH_ROWS)]
    assert set(scores["model_version"]) == {1}
    worker_metrics = httpx.get(f"http://127.0.0.1:{stack.ports['worker']}/metrics", timeout=10).text
    scored = [
        line for line in worker_metrics.splitlines() if line.startswith("fraud_batch_rows_scored_total ")
    ]
    assert scored, "the worker exported no fraud_batch_rows_scored_total"
    assert float(scored[0].split()[1]) == BATCH_ROWS  # the worker scored it, not the submitting process


def check_prometheus(stack: Stack) -> None:
    def both_up() -> bool:
        up = {r["metric"]["job"]: r["value"][1] for r in stack.prometheus("up")}
        return up.get("fraud-api") == "1" and up.get("fraud-worker") == "1"

    assert wait_until(both_up, timeout=60, interval=0.5), stack.prometheus("up")

    def series_from_both() -> bool:
        jobs = {r["metric"]["job"] for r in stack.prometheus('count by (job) ({__name__=~"fraud_.+"})')}
        return {"fraud-api", "fraud-worker"} <= jobs

    assert wait_until(series_from_both, timeout=60, interval=0.5)

    def api_predictions_counted() -> bool:
        result = stack.prometheus('sum(fraud_predictions_total{job="fraud-api"})')
        return bool(result) and float(result[0]["value"][1]) >= SCORED_ROWS

    assert wait_until(api_predictions_counted, timeout=30, interval=0.5)
    # No Alertmanager runs in the stack: none is configured (the project's localhost:9093 got every alert).
    answer = httpx.get(f"{stack.env['FRAUD_STACK_PROMETHEUS_URL']}/api/v1/alertmanagers", timeout=10).json()
    assert answer["data"]["activeAlertmanagers"] == [], answer


def test_the_services_key_may_not_create_or_use_another_bucket(stack: Stack) -> None:
    """As a task role on AWS: a mistyped bucket in FRAUD_STORAGE_URI was created by the first write (a whole
    pipeline run went into it); now it is refused, naming the credentials, and no bucket appears."""
    stack.env["FRAUD_STORAGE_URI"], saved = "s3://fruad/data", stack.env["FRAUD_STORAGE_URI"]
    try:
        generated = stack.cli("data", "generate", "--rows", "2000", "--output", "s3://fruad/inputs/x.parquet")
    finally:
        stack.env["FRAUD_STORAGE_URI"] = saved
    assert generated.returncode == 2, generated.stderr
    assert "S3 refused access" in generated.stderr
    assert "AWS_ACCESS_KEY_ID" in generated.stderr
    admin = boto3.session.Session().client(  # the key that sees every bucket
        "s3",
        endpoint_url=stack.env["FRAUD_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="fraud-stack-admin",
        aws_secret_access_key=(stack.root / "secrets" / "s3-admin-secret-key").read_text().strip(),
        config=Config(s3={"addressing_style": "path"}),
    )
    assert {bucket["Name"] for bucket in admin.list_buckets()["Buckets"]} == {BUCKET}


def captured_rows(stack: Stack) -> int:
    client = stack.s3()
    total = 0
    for key in stack.keys("data/predictions/"):
        if key.endswith(".parquet"):
            body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            total += len(pd.read_parquet(io.BytesIO(body), columns=["transaction_id"]))
    return total
