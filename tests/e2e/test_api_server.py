"""The scoring service as deployed: `fraud serve` (uvicorn) in its own process, on pipeline-trained models."""

import json
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.clients import ClientDirectory, Scope
from fraud_detection.domain.features import SCORING_INPUTS, feature_matrix
from fraud_detection.domain.model import CHAMPION
from fraud_detection.infrastructure.arrow.prediction_log import read_predictions
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.mlflow import MlflowModelRegistry
from fraud_detection.simulation import generate_transactions
from tests.api_clients import NAMESPACE, clients, write_clients
from tests.e2e.serving import TOKEN, Server, copy_home, serve, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
BODY_LIMIT = 1_000_000  # the 400-row batch fits; the bad-input test sends more


def body(row: pd.Series, transaction_id: str | None = None) -> dict[str, object]:
    document: dict[str, object] = {name: float(row[name]) for name in SCORING_INPUTS} | {
        "Time": float(row["Time"])
    }
    if transaction_id:
        document["transaction_id"] = transaction_id
    return document


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Transactions the models never saw, frauds over-represented so alerts occur."""
    return generate_transactions(400, seed=99, fraud_rate=0.1)


@pytest.fixture(scope="module")
def shared(tmp_path_factory, trained_home) -> Iterator[Server]:
    """One server for the tests that change nothing it holds (they only score, read and ask)."""
    cli = copy_home(trained_home, tmp_path_factory.mktemp("shared") / "home")
    with serve(cli, FRAUD_MAX_BODY_BYTES=str(BODY_LIMIT)) as server:
        yield server


def registry(home) -> MlflowModelRegistry:
    return MlflowModelRegistry(f"sqlite:///{home / 'mlflow.db'}", "fraud-lgbm")


def test_scores_match_the_registered_model_exactly(shared, rows):
    home = shared.log.parent
    champion = registry(home).get_by_alias(CHAMPION)
    model = registry(home).load_model(champion)
    with shared.client() as client:
        info = client.get("/v1/model").json()
        assert (info["version"], info["source"]) == (champion.version, "registry")
        assert info["threshold"] == champion.metadata.threshold
        batch = client.post("/v1/score/batch", json={"transactions": [body(r) for _, r in rows.iterrows()]})
        assert batch.status_code == 200
        results = batch.json()["results"]
        single = client.post("/v1/score", json=body(rows.iloc[0], "t-0")).json()
    expected = model.predict_matrix(feature_matrix(rows[list(SCORING_INPUTS)].to_numpy()))
    served = np.array([r["fraud_probability"] for r in results])
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-12)  # no train/serve skew
    assert single["fraud_probability"] == pytest.approx(expected[0], abs=1e-12)
    frauds = [r for r in results if r["decision"] == "fraud"]
    assert frauds, "the fraud-enriched rows should raise alerts"
    assert all(r["top_contributions"] for r in frauds)
    assert all(r["fraud_probability"] >= champion.metadata.threshold for r in frauds)


def test_admin_needs_the_token_and_it_never_reaches_the_log(shared):
    with shared.client(headers={}) as client:
        assert client.get("/admin/models").status_code == 401
        assert client.get("/admin/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        models = client.get("/admin/models", headers=ADMIN)
        assert [m["version"] for m in models.json()] == [2, 1]
        assert client.post("/admin/retrain", headers=ADMIN, json={"reason": "e2e"}).status_code == 202
    log = shared.log.read_text()  # stderr is line-buffered: what was logged is in the file
    assert "POST /admin/retrain" in log
    assert TOKEN not in log


def test_admin_is_disabled_when_no_token_is_configured(tmp_path, trained_home):
    cli = copy_home(trained_home, tmp_path / "home")
    no_admins = ClientDirectory(c for c in clients().clients.values() if not c.allows(Scope.ADMIN))
    write_clients(cli.home, no_admins)  # no client holds `admin` either
    with serve(cli, FRAUD_ADMIN_TOKEN="") as server, server.client() as client:
        assert client.post("/admin/model/reload", headers=ADMIN).status_code == 403


def test_readiness_waits_for_a_champion_then_the_poller_picks_it_up(tmp_path, trained_home):
    cli = copy_home(trained_home, tmp_path / "home")
    registry(cli.home).remove_alias(CHAMPION)
    with serve(cli) as server, server.client() as client:
        assert client.get("/readyz").status_code == 503
        assert (
            client.post("/v1/score", json=body(generate_transactions(5, seed=1).iloc[0])).status_code == 503
        )
        assert cli("model", "promote", "2").returncode == 0
        assert wait_until(lambda: client.get("/readyz").status_code == 200, timeout=20)
        assert client.get("/v1/model").json()["version"] == 2


def test_reload_under_concurrent_traffic_fails_no_request_and_mixes_no_versions(tmp_path, trained_home, rows):
    cli = copy_home(trained_home, tmp_path / "home")
    thresholds = {v.version: v.metadata.threshold for v in registry(cli.home).list_versions()}
    single, batch = body(rows.iloc[3]), {"transactions": [body(r) for _, r in rows.head(50).iterrows()]}
    # (status, version, threshold, sent, answered): the order of the list is the order answers were
    # recorded, which a 50-row batch sent before the swap can reach after many single scores sent later.
    seen: list[tuple[int, int, float, float, float]] = []
    stop = threading.Event()
    with serve(cli, FRAUD_MODEL_POLL_SECONDS="0") as server:

        def traffic(batches: bool) -> None:
            """Every answer is recorded, failures included (a thread that died would hide them)."""
            with server.client() as client:
                while not stop.is_set():
                    sent = time.monotonic()
                    try:
                        response = (
                            client.post("/v1/score/batch", json=batch)
                            if batches
                            else client.post("/v1/score", json=single)
                        )
                    except httpx.HTTPError:
                        seen.append((0, 0, float("nan"), sent, time.monotonic()))
                        continue
                    if response.status_code != 200:
                        seen.append((response.status_code, 0, float("nan"), sent, time.monotonic()))
                        continue
                    document = response.json()
                    answer = (response.status_code, document["model"]["version"], document["threshold"])
                    seen.append((*answer, sent, time.monotonic()))

        workers = [threading.Thread(target=traffic, args=(i % 2 == 0,)) for i in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(2)
        assert cli("model", "promote", "2").returncode == 0
        with server.client() as client:
            reloaded = client.post("/admin/model/reload", headers=ADMIN).json()
        swapped = time.monotonic()
        time.sleep(2)
        stop.set()
        for worker in workers:
            worker.join(30)
    assert reloaded["changed"] is True
    assert {status for status, *_ in seen} == {200}
    assert {version for _, version, *_ in seen} == {1, 2}
    # One model per response; after the swap only the new one; never back to the old one once it answered.
    assert all(threshold == thresholds[version] for _, version, threshold, *_ in seen)
    assert all(version == 2 for _, version, _, sent, _ in seen if sent > swapped)
    first_new = min(answered for _, version, _, _, answered in seen if version == 2)
    assert all(version == 2 for _, version, _, sent, _ in seen if sent > first_new)
    assert len(seen) > 100


def test_two_workers_export_one_served_version_after_a_new_champion(tmp_path, trained_home, rows):
    """`--workers 2`: /metrics sums both workers' files. A retired version's series cannot be removed from a
    worker's file (prometheus_client's multi-process mode), so it drops to 0, which the rules and dashboards
    read as not served; no UserWarning is printed."""
    cli = copy_home(trained_home, tmp_path / "home")
    with serve(cli, workers=2) as server, server.client() as client:
        assert wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60)
        for index in range(40):  # connections spread over both workers
            with server.client() as fresh:
                assert fresh.post("/v1/score", json=body(rows.iloc[index])).status_code == 200
        assert cli("model", "promote", "2").returncode == 0

        def served() -> dict[str, float]:
            values: dict[str, float] = {}
            for line in client.get("/metrics").text.splitlines():
                if line.startswith("fraud_model_info{"):
                    version = line.split('version="')[1].split('"')[0]
                    values[version] = max(values.get(version, 0.0), float(line.rsplit(" ", 1)[1]))
            return values

        assert wait_until(lambda: served() == {"1": 0.0, "2": 1.0}, timeout=30), served()
        text = client.get("/metrics").text
        scored = [line for line in text.splitlines() if line.startswith("fraud_predictions_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in scored) == 40  # summed over the workers
        info = [line for line in text.splitlines() if line.startswith("fraud_model_info{")]
        workers = {int(line.split('pid="')[1].split('"')[0]) for line in info}
        assert len(workers) == 2  # both workers report

        # A worker killed (as by the OOM killer) is replaced by uvicorn; its live gauges leave the scrape
        # (they named the version it served for as long as the folder lived), its counts stay.
        killed = min(workers)
        os.kill(killed, signal.SIGKILL)

        def reporting() -> set[int]:
            with server.client() as fresh:  # a connection of its own: the kept one may be the killed one's
                lines = fresh.get("/metrics").text.splitlines()
            return {
                int(line.split('pid="')[1].split('"')[0])
                for line in lines
                if line.startswith("fraud_model_info{")
            }

        assert wait_until(lambda: len(reporting() - {killed}) == 2, timeout=60), reporting()
        assert killed not in reporting()
        with server.client() as fresh:
            text = fresh.get("/metrics").text
        scored = [line for line in text.splitlines() if line.startswith("fraud_predictions_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in scored) == 40
    assert "UserWarning" not in server.log.read_text()


def test_restart_with_the_registry_down_serves_the_last_good_model(tmp_path, trained_home, rows):
    cli = copy_home(trained_home, tmp_path / "home")
    with serve(cli) as server, server.client() as client:
        expected = client.post("/v1/score", json=body(rows.iloc[0])).json()["fraud_probability"]
        server.terminate()
    down = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    with serve(cli, **down) as server, server.client() as client:
        assert client.get("/readyz").status_code == 200
        info = client.get("/v1/model").json()
        assert (info["version"], info["source"], info["registry_reachable"]) == (1, "local-cache", False)
        assert client.post("/v1/score", json=body(rows.iloc[0])).json()["fraud_probability"] == expected
        assert client.get("/admin/models", headers=ADMIN).status_code == 503


def test_sigterm_flushes_every_captured_prediction(tmp_path, trained_home, rows):
    cli = copy_home(trained_home, tmp_path / "home")
    hold = {"FRAUD_CAPTURE_MAX_SECONDS": "3600", "FRAUD_CAPTURE_MAX_ROWS": "100000"}  # nothing flushes early
    with serve(cli, **hold) as server, server.client() as client:
        for i in range(37):
            assert client.post("/v1/score", json=body(rows.iloc[i], f"s-{i}")).status_code == 200
        many = {"transactions": [body(r, f"b-{i}") for i, (_, r) in enumerate(rows.head(250).iterrows())]}
        assert (
            client.post("/v1/score/batch", json=many, headers={"X-Request-ID": "flush-batch"}).status_code
            == 200
        )
        assert not (cli.home / "store" / "predictions").exists()  # still buffered
        # uvicorn shuts down gracefully, then re-raises the signal: `fraud` turns SIGTERM into Ctrl-C's
        # KeyboardInterrupt (so the command's clean-up runs), which uvicorn.run ends quietly, as after Ctrl-C
        assert server.terminate() == 0
    assert "Application shutdown complete" in server.log.read_text()
    logged = read_predictions(LocalObjectStore(cli.home / "store"))
    assert logged.skipped == ()
    assert len(logged.frame) == 37 + 250
    # Stored in the scoring client's namespace (what feedback labels are matched within).
    assert set(logged.frame["transaction_id"]) == {f"{NAMESPACE}:s-{i}" for i in range(37)} | {
        f"{NAMESPACE}:b-{i}" for i in range(250)
    }
    assert (logged.frame["model_version"] == 1).all()


BAD_REQUESTS = [
    ("/v1/score", '{"V1": NaN}', "application/json"),
    ("/v1/score", '{"V1": "1.0"', "application/json"),
    ("/v1/score", "V1=1", "application/x-www-form-urlencoded"),
    ("/v1/score/batch", json.dumps({"transactions": []}), "application/json"),
    ("/v1/score/batch", b"\xff\xfe not utf-8", "application/json"),
]


def test_bad_input_over_http_is_4xx_with_problems_never_500(shared):
    with shared.client() as client:
        for path, raw, content_type in BAD_REQUESTS:
            response = client.post(path, content=raw, headers={"content-type": content_type})
            assert response.status_code == 422, (path, raw, response.text)
            assert response.json()["problems"], response.text
        huge = client.post(
            "/v1/score/batch", content=b"x" * (BODY_LIMIT + 1), headers={"content-type": "application/json"}
        )
        assert huge.status_code == 413
        assert f"exceeds the limit of {BODY_LIMIT} bytes" in huge.json()["error"]
