"""Every PromQL expression of the Grafana dashboards and of the Prometheus rules, run on a live Prometheus.

One stack per module: a champion trained by the application's pipeline, a real `fraud serve` and a real
`fraud worker` (Redis broker, its own /metrics port) on one FRAUD_HOME, scoring traffic with invalid requests
among it, three batch jobs (one succeeds, two fail), labels posted to /v1/feedback, `fraud drift check` and
`fraud quality measure`, and a real Prometheus (1 s scrapes) loading the project's rule files. Then each
expression must parse, every metric it names must have series, and each dashboard expression must return data.
Nothing is skipped: a command or endpoint that disappears fails the expressions that depend on it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.simulation import generate_transactions
from tests.api_clients import SERVICE, write_clients
from tests.e2e.conftest import FRAUD, Cli, make_cli
from tests.e2e.serving import train_champion
from tests.fixtures.programs import require_program
from tests.fixtures.servers import free_port, http_ok, start, stop
from tests.integration.test_prometheus_rules import (
    PROMETHEUS_DIR,
    Expression,
    LabelValuesQuery,
    dashboard_expressions,
    label_values_queries,
    metric_names,
    rule_expressions,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "observability-e2e-token-4b1d-0123456789"
ADMIN = SERVICE  # a client with the jobs and feedback scopes (the admin token no longer opens them)
REDIS_DB = 7  # test_batch_workers uses 3: separate queues on the session's Redis
SCORED_ONE_BY_ONE = 150
SCORED_IN_BATCH = 2_500
BATCH_JOB_ROWS = 2_500
START_TIMEOUT = 90.0
JOB_TIMEOUT = 90.0
SERIES_TIMEOUT = 60.0  # report gauges may be cached ~15 s by the API's collectors
DATA_TIMEOUT = 10.0
FEEDBACK_LABELS = 200
EXPRESSIONS = dashboard_expressions() + rule_expressions()
DRIFT_VERDICT_ALERTS = ("FraudModelAtRisk", "FraudInputDrift")
DRIFT_EVIDENCE = {
    "score_distribution",
    "alert_rate",
    "outlier_pattern",
    "estimated_precision",
    "estimated_recall",
    "realised_precision",
    "realised_recall",
}


@dataclass(frozen=True)
class Prometheus:
    url: str

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """The JSON answer of the HTTP API, errors (400/422 with status "error") included."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
                answer: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as error:
            answer = json.load(error)
        return answer

    def query(self, promql: str) -> dict[str, Any]:
        return self.api("query", query=promql)

    def names(self) -> set[str]:
        return set(self.api("label/__name__/values")["data"])


@dataclass
class Stack:
    prometheus: Prometheus


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def prometheus_config(folder: Path, ports: dict[str, int]) -> Path:
    """The project's prometheus.yml with this stack's targets (by job name), its rule files by absolute path
    and a 1 s scrape and evaluation interval."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]]
    jobs = [job for job in config["scrape_configs"] if job["job_name"] in ports]
    assert [job["job_name"] for job in jobs] == list(ports), "the project's scrape jobs were renamed"
    for job in jobs:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    config["scrape_configs"] = jobs
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_prometheus(folder: Path, port: int, config: Path) -> subprocess.Popen[bytes]:
    command = [
        str(require_program("prometheus")),
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return start(command, folder / "prometheus.log", http_ok(f"http://127.0.0.1:{port}/-/ready"), 30)


def launch(cli: Cli, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A `fraud` process in its own process group (stopped by `stop`, children included)."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [FRAUD, *args], env=cli.env, cwd=cli.home, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def ready(process: subprocess.Popen[bytes], log: Path, check: Callable[[], bool]) -> Callable[[], bool]:
    def probe() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited {process.returncode}:\n{log.read_text()[-3000:]}")
        return check()

    return probe


def transaction(row: pd.Series, transaction_id: str) -> dict[str, object]:
    return {name: float(row[name]) for name in SCORING_INPUTS} | {
        "Time": float(row["Time"]),
        "transaction_id": transaction_id,
    }


def send_traffic(client: httpx.Client, rows: pd.DataFrame) -> dict[str, str]:
    """Scores rows one by one and as a batch, plus invalid requests; returns each id's decision."""
    bodies = [transaction(row, f"obs-{i}") for i, (_, row) in enumerate(rows.iterrows())]
    decisions = {}
    for document in bodies[:SCORED_ONE_BY_ONE]:
        scored = client.post("/v1/score", json=document)
        assert scored.status_code == 200, scored.text
        decisions[document["transaction_id"]] = scored.json()["decision"]
    batch = client.post("/v1/score/batch", json={"transactions": bodies[SCORED_ONE_BY_ONE:]})
    assert batch.status_code == 200, batch.text
    decisions |= {item["transaction_id"]: item["decision"] for item in batch.json()["results"]}
    without_v3 = {k: v for k, v in bodies[0].items() if k != "V3"}
    assert client.post("/v1/score", json=without_v3).status_code == 422
    assert (
        client.post("/v1/score", content=b"{", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert client.post("/v1/score", content=b"{}", headers={"content-type": "text/plain"}).status_code == 422
    assert client.get("/no/such/route").status_code == 404
    unknown_key = {"Authorization": "Bearer fdk_not-a-key-of-any-client-000000000"}
    assert client.get("/v1/jobs/obs-none", headers=unknown_key).status_code == 401
    assert client.get("/readyz").status_code == 200
    return decisions


def run_batch_jobs(client: httpx.Client, home: Path, rows: pd.DataFrame) -> None:
    """A job that succeeds, one whose second chunk holds a missing value (bad input fails the job), and one
    whose output path lies under a file (refused by its first step, before a row is scored: once a task
    failure of its commit, after scoring the whole input)."""
    frame = rows.drop(columns=["Class"]).iloc[:BATCH_JOB_ROWS].reset_index(drop=True)
    inputs, outputs = home / "batch" / "in", home / "batch" / "out"  # the default batch roots
    inputs.mkdir(parents=True, exist_ok=True)
    outputs.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(inputs / "batch-good.parquet")
    bad = frame.copy()
    bad.loc[1_500, "V3"] = math.nan
    bad.to_csv(inputs / "batch-bad.csv", index=False)
    (outputs / "a-file").write_text("not a folder")
    jobs = {
        "obs-good": (inputs / "batch-good.parquet", outputs / "obs-good.parquet"),
        "obs-bad": (inputs / "batch-bad.csv", outputs / "obs-bad.parquet"),
        "obs-unwritable": (inputs / "batch-good.parquet", outputs / "a-file" / "out.parquet"),
    }
    for job_id, (source, output) in jobs.items():
        body = {"input_uri": str(source), "output_uri": str(output), "job_id": job_id}
        submitted = client.post("/v1/jobs", json=body, headers=ADMIN)
        assert submitted.status_code == 202, submitted.text
    ended: dict[str, str] = {}

    def finished() -> bool:
        for job_id in jobs:
            state = client.get(f"/v1/jobs/{job_id}", headers=ADMIN).json()["state"]
            if state in ("succeeded", "failed", "cancelled"):
                ended[job_id] = state
        return len(ended) == len(jobs)

    wait_for(finished, JOB_TIMEOUT, "the batch jobs to end")
    assert ended == {"obs-good": "succeeded", "obs-bad": "failed", "obs-unwritable": "failed"}


def captured_rows(home: Path) -> int:
    return sum(
        pq.read_metadata(path).num_rows for path in (home / "store" / "predictions").rglob("*.parquet")
    )


def send_feedback(client: httpx.Client, decisions: dict[str, str]) -> None:
    """Labels for scored ids (every alert a confirmed fraud, a few misses) and one unknown id. Ids are
    indexed in order, off the request path: wait until the last one scored is known."""
    ids = list(decisions)

    def known(transaction_id: str) -> Callable[[], bool]:
        label = {"transaction_id": transaction_id, "is_fraud": decisions[transaction_id] == "fraud"}
        return lambda: client.post("/v1/feedback", json={"labels": [label]}, headers=ADMIN).status_code == 200

    wait_for(known(ids[-1]), 20, "the scored ids to reach the feedback store", interval=0.5)
    labels = [
        {"transaction_id": i, "is_fraud": decisions[i] == "fraud" or n % 25 == 0}
        for n, i in enumerate(ids[:FEEDBACK_LABELS])
    ]
    labels.append({"transaction_id": "obs-never-scored", "is_fraud": True})
    posted = client.post("/v1/feedback", json={"labels": labels}, headers=ADMIN)
    assert posted.status_code == 200, posted.text[:1000]


def scraped(prometheus: Prometheus, jobs: list[str], scrapes: int) -> Callable[[], bool]:
    """Every job's target is up and was scraped successfully at least `scrapes` times."""

    def check() -> bool:
        for job in jobs:
            promql = f'sum_over_time(up{{job="{job}"}}[1m]) >= {scrapes} and up{{job="{job}"}} == 1'
            if not prometheus.query(promql)["data"]["result"]:
                return False
        return True

    return check


def produce_reports(cli: Cli) -> None:
    """`fraud drift check`, `fraud quality measure` and `fraud capture compact`, side by side: every drift,
    quality and compaction series the dashboards and rules name comes from their reports."""
    commands = (("drift", "check"), ("quality", "measure"), ("capture", "compact"))
    reports = {group: launch(cli, [group, verb], cli.home / f"{group}.log") for group, verb in commands}
    for group, report in reports.items():
        code = report.wait(120)
        assert code == 0, f"fraud {group}: exit {code}\n{(cli.home / f'{group}.log').read_text()[-3000:]}"


def start_shadow_rollout(cli: Cli) -> None:
    """A second version of the champion's artifact in shadow, so the rollout dashboard and rules see live
    series (rows, alerts and errors per role, drops, stage) from the same traffic. Registered in a child
    process: MLflow resolves a models:/ source through its global tracking URI, which must not leak into
    this test process."""
    register = (
        "import mlflow; client = mlflow.MlflowClient(); "
        "champion = client.get_model_version_by_alias('fraud-lgbm', 'champion'); "
        "client.create_model_version('fraud-lgbm', champion.source, champion.run_id, tags=champion.tags)"
    )
    uri = f"sqlite:///{cli.home / 'mlflow.db'}"
    done = subprocess.run([sys.executable, "-c", register], env=cli.env | {"MLFLOW_TRACKING_URI": uri},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    started = cli("rollout", "start", "2")
    assert started.returncode == 0, started.stderr


def build_stack(cli: Cli, processes: list[subprocess.Popen[bytes]]) -> Stack:
    """Start everything (appending each process to `processes` for the caller to stop), drive it, and
    return once Prometheus has every series it can get."""
    home = cli.home
    ports = {"fraud-api": free_port(), "fraud-worker": free_port()}
    # Prometheus first: its first scrape lands seconds after start, while the champion trains.
    prometheus_port = free_port()
    processes.append(start_prometheus(home, prometheus_port, prometheus_config(home, ports)))
    prometheus = Prometheus(f"http://127.0.0.1:{prometheus_port}")
    train_champion(home)
    start_shadow_rollout(cli)

    api_log, worker_log = home / "api.log", home / "worker.log"
    write_clients(home)
    serve_args = ["serve", "--port", str(ports["fraud-api"]), "--log-level", "warning"]
    processes.append(api := launch(cli, serve_args, api_log))
    worker_args = ["worker", "--metrics-host", "127.0.0.1", "--metrics-port", str(ports["fraud-worker"])]
    processes.append(worker := launch(cli, worker_args, worker_log))
    api_url = f"http://127.0.0.1:{ports['fraud-api']}"
    wait_for(ready(api, api_log, http_ok(f"{api_url}/readyz")), START_TIMEOUT, "fraud serve")
    worker_ready = lambda: " ready." in worker_log.read_text()  # noqa: E731
    wait_for(ready(worker, worker_log, worker_ready), START_TIMEOUT, "fraud worker")

    rows = generate_transactions(SCORED_ONE_BY_ONE + SCORED_IN_BATCH, seed=77, fraud_rate=0.02)
    with httpx.Client(base_url=api_url, timeout=60, headers=SERVICE) as client:
        decisions = send_traffic(client, rows)
        run_batch_jobs(client, home, rows)
        wait_for(lambda: captured_rows(home) == len(decisions), 30, "captured predictions")
        send_feedback(client, decisions)
    produce_reports(cli)
    stack = Stack(prometheus)

    wait_for(scraped(prometheus, list(ports), scrapes=3), 30, "both targets up and scraped")
    expected = {name for expression in EXPRESSIONS for name in metric_names(expression.promql)}
    # Bounded, and not fatal: a name still missing then fails the tests that use it, by name.
    deadline = time.monotonic() + SERIES_TIMEOUT
    while not expected <= prometheus.names() and time.monotonic() < deadline:
        time.sleep(0.5)
    return stack


SETUP_FAILURES: list[str] = []


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server) -> Iterator[Stack]:
    # pytest runs a failed module fixture again for every test that asks for it: fail those at once.
    if SETUP_FAILURES:
        pytest.fail(f"the stack failed to start earlier: {SETUP_FAILURES[0]}", pytrace=False)
    cli = make_cli(
        tmp_path_factory.mktemp("observability-home"),
        FRAUD_ADMIN_TOKEN=TOKEN,
        FRAUD_BROKER_URL=redis_server.url(REDIS_DB),
        FRAUD_CAPTURE_MAX_SECONDS="0.5",
        FRAUD_BATCH_CHUNK_ROWS="1000",
        FRAUD_MODEL_COMPILE="false",
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        try:
            built = build_stack(cli, processes)
        except BaseException as error:  # pytest.fail raises a BaseException
            SETUP_FAILURES.append(f"{type(error).__name__}: {str(error)[:500]}")
            raise
        yield built
    finally:
        for process in reversed(processes):
            stop(process, grace=20)


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=lambda e: e.source)
def test_an_expression_parses_names_live_series_and_a_dashboard_one_returns_data(
    stack: Stack, expression: Expression
):
    answer = stack.prometheus.query(expression.promql)
    assert answer["status"] == "success", f"{expression.promql}\n{answer.get('error')}"

    names = metric_names(expression.promql)
    assert names - stack.prometheus.names() == set(), expression.promql
    if expression.from_dashboard:
        results = lambda: stack.prometheus.query(expression.promql)["data"]["result"]  # noqa: E731
        deadline = time.monotonic() + DATA_TIMEOUT
        while not results() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert results(), f"no data: {expression.promql}"


@pytest.mark.parametrize("variable", label_values_queries(), ids=lambda v: v.source)
def test_a_dashboard_variable_offers_values_and_its_default(stack: Stack, variable: LabelValuesQuery):
    answer = stack.prometheus.api(f"label/{variable.label}/values", **{"match[]": variable.selector})

    assert answer["status"] == "success", answer
    assert answer["data"], f"no {variable.label} for {variable.selector}"
    if variable.default is not None:
        assert variable.default in answer["data"]


def test_the_stack_saw_the_traffic_it_was_sent(stack: Stack):
    """The values behind the expressions are this test's own requests and jobs."""
    query = stack.prometheus.query

    def value(promql: str) -> float:
        result = query(promql)["data"]["result"]
        return float(result[0]["value"][1]) if result else math.nan

    assert value('sum(fraud_http_requests_total{route="/v1/score", status="200"})') == SCORED_ONE_BY_ONE
    assert value('sum(fraud_http_requests_total{route="/v1/score", status="422"})') == 3
    assert value('sum(fraud_http_requests_total{route="unmatched"})') == 1
    assert value("sum(fraud_predictions_total)") == SCORED_ONE_BY_ONE + SCORED_IN_BATCH
    assert value('sum(fraud_batch_jobs_total{state="succeeded"})') == 1
    assert value('sum(fraud_batch_jobs_total{state="failed"})') == 2
    # The unwritable output fails its job in the first step now, not as a commit task failing for good.
    assert value('sum(fraud_batch_task_failures_total{task="fraud.batch.commit"})') == 0
    assert value("sum(fraud_batch_rows_scored_total)") >= BATCH_JOB_ROWS
    assert value('sum(up{job=~"fraud-api|fraud-worker"})') == 2
    assert value("max(fraud_drift_window_rows)") == SCORED_ONE_BY_ONE + SCORED_IN_BATCH
    labelled = FEEDBACK_LABELS + 1  # and the last scored id, labelled while waiting for it
    assert value('sum(fraud_feedback_labels_total{outcome="new"})') == labelled
    assert value("sum(fraud_labelled_transactions)") == labelled
    rule_groups = stack.prometheus.api("rules")["data"]["groups"]
    assert rule_groups
    assert all(rule["health"] == "ok" for g in rule_groups for rule in g["rules"])


def test_the_live_alerts_are_the_ones_this_traffic_should_raise(stack: Stack):
    def firing() -> set[str]:
        alerts = stack.prometheus.api("alerts")["data"]["alerts"]
        return {alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"}

    wait_for(lambda: "FraudBatchJobFailures" in firing(), DATA_TIMEOUT, "FraudBatchJobFailures to fire")
    quiet = {
        "FraudApiHighErrorRate",
        "FraudApiNoTraffic",
        "FraudModelLoadFailures",
        "FraudModelStale",
        "FraudRealisedRecallLow",  # every alert labelled a fraud, 1 label in 25 a miss
        "FraudDriftCheckStale",
        "FraudDriftCheckMissing",
        "FraudQualityMeasureStale",  # measured in this run
        "FraudFeedbackIdsDropping",  # every scored id recorded
        "FraudFeedbackIndexFailing",
        "FraudApiScoringRefused",
    }
    assert firing() & quiet == set()


def test_the_drift_alerts_follow_the_two_verdicts_and_name_what_fired(stack: Stack):
    """Whatever this traffic's check decided: FraudModelAtRisk (warning) fires exactly when the exported
    verdict is "at risk" and names the evidence that fired; FraudInputDrift (info) exactly when inputs
    drifted, naming them. The score is evidence, never an input."""
    query = stack.prometheus.query

    def label_values(promql: str, label: str) -> set[str]:
        return {series["metric"][label] for series in query(promql)["data"]["result"]}

    def verdict(name: str) -> bool:
        result = query(f"max({name})")["data"]["result"]
        assert result, f"no {name}"
        return float(result[0]["value"][1]) == 1

    at_risk, input_drift = verdict("fraud_model_at_risk"), verdict("fraud_input_drift_detected")
    evidence = label_values("max by (evidence) (fraud_drift_evidence_fired)", "evidence")
    fired = label_values("max by (evidence) (fraud_drift_evidence_fired) == 1", "evidence")
    drifted = label_values('max by (feature) (fraud_drift_feature_drifted{feature!="score"}) == 1', "feature")
    estimated = {
        (series["metric"]["metric"], series["metric"]["window"])
        for series in query("max by (metric, window) (fraud_estimated_quality)")["data"]["result"]
    }

    assert {"score_distribution", "alert_rate", "estimated_precision", "estimated_recall"} <= evidence
    assert evidence <= DRIFT_EVIDENCE
    assert estimated == {(m, w) for m in ("precision", "recall") for w in ("observed", "reference")}
    assert at_risk == bool(fired)
    assert input_drift == bool(drifted)

    expected = {"FraudModelAtRisk"} if at_risk else set()
    expected |= {"FraudInputDrift"} if input_drift else set()

    def drift_alerts() -> dict[str, dict[str, Any]]:
        alerts = stack.prometheus.api("alerts")["data"]["alerts"]
        return {
            alert["labels"]["alertname"]: alert
            for alert in alerts
            if alert["state"] == "firing" and alert["labels"]["alertname"] in DRIFT_VERDICT_ALERTS
        }

    wait_for(lambda: set(drift_alerts()) == expected, DATA_TIMEOUT, f"exactly the drift alerts {expected}")
    alerts = drift_alerts()
    if at_risk:
        alert = alerts["FraudModelAtRisk"]
        assert alert["labels"]["severity"] == "warning"
        assert f"Evidence: {' '.join(sorted(fired))}." in alert["annotations"]["description"]
    if input_drift:
        alert = alerts["FraudInputDrift"]
        assert alert["labels"]["severity"] == "info"
        assert f"reference: {' '.join(sorted(drifted))}." in alert["annotations"]["description"]


def test_the_recall_alert_joins_the_report_with_the_served_version(stack: Stack):
    """The realised-quality gauges and fraud_model_info spell the version alike ("1"), as the alert needs."""
    served = 'label_replace(fraud_model_info, "model_version", "$1", "version", "(.+)")'
    joined = stack.prometheus.query(
        "max by (job, model_version) (fraud_realised_recall) "
        f"and on (job, model_version) max by (job, model_version) ({served})"
    )["data"]["result"]

    assert [series["metric"] for series in joined] == [{"job": "fraud-api", "model_version": "1"}]
