"""A historical drift check next to a live one, through the real CLI and a served API: a check of a past
window (`--since/--until`, here an empty one) is stored and listed, but the live verdict that `fraud drift
show`, drift/latest.json and the API's /metrics report stays the one the last live check found."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.infrastructure.arrow.prediction_log import read_predictions
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.simulation import generate_transactions
from fraud_detection.simulation.scenarios import get_scenario
from tests.e2e.conftest import make_cli
from tests.e2e.serving import serve, train_champion, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = 5_000
BATCH = 2_500


def score(client: httpx.Client, frame: pd.DataFrame) -> None:
    for start in range(0, len(frame), BATCH):
        rows = [
            {name: float(row[name]) for name in ("Time", *SCORING_INPUTS)} | {"transaction_id": f"t-{i}"}
            for i, (_, row) in enumerate(frame.iloc[start : start + BATCH].iterrows(), start=start)
        ]
        response = client.post("/v1/score/batch", json={"transactions": rows})
        assert response.status_code == 200, response.text


def gauges(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def test_a_past_window_is_stored_as_history_and_never_replaces_the_live_verdict(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    train_champion(home)
    cli = make_cli(home, FRAUD_CAPTURE_MAX_SECONDS="0.5")
    # Ten times the champion's fraud rate: far more alerts than its reference, the model is at risk.
    traffic = generate_transactions(
        ROWS, seed=404, scenario=get_scenario("fraud_rate_change", fraud_rate=0.2)
    )
    with serve(cli) as server, server.client() as client:
        score(client, traffic)
        store = LocalObjectStore(home / "store")
        assert wait_until(lambda: len(read_predictions(store).frame) >= ROWS, timeout=30)

        checked = cli("drift", "check", "--last-rows", str(ROWS), "--no-publish", "--json")
        assert checked.returncode == 0, checked.stderr
        live = json.loads(checked.stdout)
        assert live["status"] == "model_at_risk", live["reason"]
        assert live["historical"] is False

        past = cli("drift", "check", "--since", "2020-01-01", "--until", "2020-01-02", "--no-publish")

        assert past.returncode == 0, past.stderr
        assert past.stdout.startswith("insufficient_data"), past.stdout
        assert "stored as a historical report" in past.stderr
        assert "the live verdict (`fraud drift show`, /metrics) is unchanged" in past.stderr
        shown = json.loads(cli("drift", "show", "--json").stdout)
        assert (shown["id"], shown["status"], shown["model_at_risk"]) == (live["id"], "model_at_risk", True)
        # The API re-reads the stored latest at most every 15 s (it read "no report yet" at its start): once
        # the drift series appear, they come from a read made after both checks.
        scrape = lambda: gauges(client.get("/metrics").text)  # noqa: E731
        assert wait_until(lambda: "fraud_model_at_risk" in scrape(), timeout=60, interval=1)
        metrics = scrape()
        assert metrics["fraud_model_at_risk"] == 1.0
        assert metrics["fraud_drift_insufficient_data"] == 0.0
        assert metrics["fraud_drift_window_rows"] == ROWS

    listed = cli("drift", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    reports = json.loads(listed.stdout)
    assert [(r["historical"], r["status"]) for r in reports] == [
        (True, "insufficient_data"),
        (False, "model_at_risk"),
    ]
    assert reports[1]["id"] == live["id"]
    stored = home / "store" / "drift" / "reports" / f"{reports[0]['name']}.json"
    assert json.loads(stored.read_text())["historical"] is True
    table = cli("drift", "list").stdout.splitlines()  # piped: tab-separated, newest first
    assert table[0].split("\t")[:3] == ["report", "kind", "status"]
    assert [line.split("\t")[1:3] for line in table[1:]] == [
        ["historical", "insufficient_data"],
        ["live", "model_at_risk"],
    ]
