"""The two MLflow identities of a deployment, through the MLflow host's real nginx site in front of a real
`mlflow server` (TLS verified with the site's CA, basic auth).

On AWS the retrain task writes to MLflow as `fraud` and the API and batch workers only read, as
`fraud-reader`, whose writes nginx answers 403 (deploy/ansible). So everything the serving side does with
MLflow must be a read the site lets through, or the API never becomes ready. Here the pipeline trains as the
writer; then, as the reader, the CLI lists the registry, `fraud serve` loads the champion and scores, a batch
job scores a file; and a write tried as the reader fails with a clear error, not a traceback.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from fraud_detection.simulation import generate_transactions
from tests.e2e.conftest import Cli, make_cli
from tests.e2e.serving import TOKEN, serve
from tests.fixtures.mlflow_site import READER, WRITER, MlflowSite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(mlflow_site_on_server: MlflowSite) -> MlflowSite:
    return mlflow_site_on_server


def _as(identity: tuple[str, str], home: Path, site: MlflowSite, name: str, prefect_api_url: str) -> Cli:
    return make_cli(
        home,
        PREFECT_API_URL=prefect_api_url,
        MLFLOW_TRACKING_URI=site.url,
        MLFLOW_TRACKING_SERVER_CERT_PATH=str(site.ca),
        MLFLOW_TRACKING_USERNAME=identity[0],
        MLFLOW_TRACKING_PASSWORD=identity[1],
        FRAUD_MLFLOW_EXPERIMENT=name,
        FRAUD_MODEL_NAME=name,
    )


def test_the_writer_trains_and_the_reader_serves_scores_and_cannot_write(
    tmp_path: Path, site: MlflowSite, prefect_api_url: str
) -> None:
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    writer = _as(WRITER, tmp_path, site, name, prefect_api_url)
    reader = _as(READER, tmp_path, site, name, prefect_api_url)
    generated = writer("data", "generate", "--rows", "20000", "--fraud-rate", "0.01", "--seed", "3")
    assert generated.returncode == 0, generated.stderr

    for _ in range(2):  # the same data twice: v1 champion, v2 kept as challenger (no row new to v1)
        trained = writer("pipeline", "run")
        assert trained.returncode == 0, trained.stderr[-3000:]
    started = writer("rollout", "start", "2", "--shadow-only")
    assert started.returncode == 0, started.stderr[-3000:]

    listed = reader("model", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    aliases = [(v["version"], v["aliases"]) for v in json.loads(listed.stdout)]
    assert sorted(aliases) == [(1, ["champion"]), (2, ["challenger"])]

    transactions = generate_transactions(200, seed=11, fraud_rate=0.05).drop(columns="Class")
    with serve(reader) as server, server.client() as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.get("/readyz").status_code == 200, server.log.read_text()[-3000:]
        scored = client.post("/v1/score", json=transactions.iloc[:1].to_dict(orient="records")[0])
        assert scored.status_code == 200, scored.text
        assert scored.json()["model"]["version"] == 1

        # An alert's roll-back, which this API may not write: handed to the writer as an event.
        admin = {"Authorization": f"Bearer {TOKEN}"}
        handed = client.post("/admin/rollout/abort", json={"reason": "canary errors"}, headers=admin)
        assert handed.status_code == 202, handed.text
        assert (handed.json()["requested"], handed.json()["rollout"]["stage"]) == (True, "shadow")
        assert "event RolloutAbortRequested" in server.log.read_text()

    # What the event's subscriber runs as the writer (on AWS: an EventBridge rule, in the retrain task).
    applied = writer("rollout", "abort", "--version", "2", "--reason", "canary errors", "--json")
    assert applied.returncode == 0, applied.stderr[-3000:]
    assert json.loads(applied.stdout)["stage"] == "rolled_back"

    inputs = tmp_path / "batch" / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    transactions.to_parquet(inputs / "day.parquet")
    batch = reader(
        "batch", "submit", str(inputs / "day.parquet"), str(tmp_path / "batch" / "out" / "day.parquet")
    )
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert (tmp_path / "batch" / "out" / "day.parquet").is_file()

    refused = reader("model", "promote", "1", "--reason", "tried as the reader")
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert refused.stderr.count("\n") == 1, refused.stderr[-3000:]  # one line, no traceback
    assert "refused this request (403, MLFLOW_TRACKING_USERNAME=fraud-reader)" in refused.stderr
