"""The monitoring loop end to end, through the real CLI and HTTP API: serve a champion, normal traffic (the
model is not at risk), drifted traffic (model at risk, input drift reported beside it, DriftDetected
published), labels through POST /v1/feedback, the
retrain flow trains a challenger on the champion's data plus the labelled rows, the gate decides and says
why, and the API serves the new champion by itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.metrics import average_precision
from fraud_detection.infrastructure.arrow.prediction_log import read_predictions
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.simulation import generate_transactions
from fraud_detection.simulation.scenarios import (
    NEW_PATTERN_FEATURES,
    QUIET_FEATURES,
    TOP_FRAUD_FEATURES,
    DriftScenario,
)
from tests.api_clients import NAMESPACE
from tests.e2e.conftest import make_cli
from tests.e2e.serving import send_labels, serve, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BATCH = 5_000
# Inputs move (detectable without labels) and frauds take a pattern the champion never saw (a retrain on
# labelled recent rows can learn it): the case where retraining should win the gate.
SHIFT_AND_NEW_PATTERN = DriftScenario(
    "shift_and_new_pattern",
    "covariate shift of the quiet features, and frauds with a new pattern at 2%",
    {
        "shift_features": QUIET_FEATURES,
        "shift_std": 0.5,
        "pattern_from": TOP_FRAUD_FEATURES,
        "pattern_to": NEW_PATTERN_FEATURES,
        "fraud_rate": 0.02,
    },
)


def score(client: httpx.Client, frame: pd.DataFrame, prefix: str) -> tuple[np.ndarray, set[int]]:
    """Score `frame` through the API; the probabilities and the model versions that gave them."""
    probabilities: list[float] = []
    versions: set[int] = set()
    for start in range(0, len(frame), BATCH):
        part = frame.iloc[start : start + BATCH]
        rows = [
            {name: float(row[name]) for name in ("Time", *SCORING_INPUTS)}
            | {"transaction_id": f"{prefix}-{i}"}
            for i, (_, row) in enumerate(part.iterrows(), start=start)
        ]
        response = client.post("/v1/score/batch", json={"transactions": rows})
        assert response.status_code == 200, response.text
        body = response.json()
        versions.add(body["model"]["version"])
        probabilities += [item["fraud_probability"] for item in body["results"]]
    return np.asarray(probabilities), versions


def test_drift_triggers_a_retrain_whose_champion_the_api_serves(tmp_path, trained_home, prefect_api_url):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    cli = make_cli(
        home,
        PREFECT_API_URL=prefect_api_url,
        FRAUD_CAPTURE_MAX_SECONDS="0.5",
        FRAUD_RETRAIN_ON_EVENTS="true",
    )
    before = json.loads(cli("model", "list", "--json").stdout)
    champion = next(v["version"] for v in before if "champion" in v["aliases"])

    # Fresh rows of the new pattern, never labelled: how well each champion scores it.
    fresh = generate_transactions(4_000, seed=303, scenario=SHIFT_AND_NEW_PATTERN)
    with serve(cli) as server, server.client() as client:
        old_scores, old_versions = score(client, fresh, "h")
        assert old_versions == {champion}
        normal = generate_transactions(6_000, seed=101, fraud_rate=0.005)
        score(client, normal, "n")
        assert wait_until(lambda: captured_rows_in(home) >= 10_000, timeout=30)
        quiet = cli("drift", "check", "--last-rows", "6000", "--json")
        assert quiet.returncode == 0, quiet.stderr
        report = json.loads(quiet.stdout)
        assert report["model_at_risk"] is False, report["reason"]  # normal traffic starts no retrain
        assert report["status"] in {"no_drift", "input_drift"}, report["reason"]
        assert report["model_version"] == champion

        drifted = generate_transactions(30_000, seed=202, scenario=SHIFT_AND_NEW_PATTERN)
        score(client, drifted, "d")
        assert wait_until(lambda: captured_rows_in(home) >= 40_000, timeout=30)
        labels = [
            {"transaction_id": f"d-{i}", "is_fraud": bool(label)} for i, label in enumerate(drifted["Class"])
        ]
        send_labels(client, labels)  # as the `service` client: the namespace that scored the ids

        checked = cli("drift", "check", "--last-rows", "30000", timeout=900)
        output = checked.stdout + checked.stderr
        assert checked.returncode == 0, output
        assert "model at risk: " in output  # the verdict that retrains, with its evidence
        assert "V15" in output  # the input diagnostic, reported beside it
        assert "published DriftDetected" in output
        assert "30,000 labelled captured rows" in output, output[-4000:]  # the retrain's set: base + labels
        # The verdict, then the retrain it started (its whole progress came first, before the verdict).
        assert checked.stderr.index("published DriftDetected") < checked.stderr.index(
            "labelled captured rows"
        )

        after = json.loads(cli("model", "list", "--json").stdout)
        new = next(v for v in after if v["version"] not in {b["version"] for b in before})
        decision = new["tags"]["promotion_decision"]
        assert decision in {"promote", "keep"}
        assert ("PROMOTED: " if decision == "promote" else "KEPT CHAMPION: ") in output  # and the reason
        if decision == "promote":
            served = lambda: client.get("/v1/model").json().get("version") == new["version"]  # noqa: E731
            assert wait_until(served, timeout=30), "the API did not pick up the new champion"
        assert decision == "promote", (
            f"expected the retrain on the new pattern to win the gate: {output[-3000:]}"
        )
        assert "labelled rows" in new["tags"]["promotion_reason"]  # compared on rows new to the champion
        # The run says what started it and which labels it learnt from (a lineage audit found neither).
        tracking = MlflowClient(f"sqlite:///{home}/mlflow.db")
        run = tracking.get_run(new["run_id"]).data
        assert run.tags["retrain.reason"].startswith("DriftDetected: ")
        assert run.tags["retrain.labelled_rows"] == "30000"
        assert "setting.review_cost" in run.params
        learnt = json.loads(
            Path(tracking.download_artifacts(new["run_id"], "retraining/labels.json")).read_text()
        )
        assert len(learnt["labels"]) == 30_000
        assert {label["transaction_id"] for label in learnt["labels"]} == {
            f"{NAMESPACE}:d-{i}" for i in range(30_000)
        }
        new_scores, new_versions = score(client, fresh, "h2")
        assert new_versions == {new["version"]}
        truth = fresh["Class"].to_numpy()
        before, after = average_precision(truth, old_scores), average_precision(truth, new_scores)
        print(f"fresh rows of the new pattern: AUPRC {before:.4f} before the retrain, {after:.4f} after")
        assert after > before + 0.05, (before, after)
    # The same trigger again, no label since: the promoted set already holds every labelled row (before,
    # they joined again on top of it), so nothing is trained and no version registered.
    again = cli("retrain", "--reason", "the same labels again", timeout=900)
    assert again.returncode == 0, again.stderr
    assert "30,000 labelled captured transactions of the last 30 days are all rows of dataset" in again.stderr
    assert max(v["version"] for v in json.loads(cli("model", "list", "--json").stdout)) == new["version"]
    latest = json.loads(cli("drift", "show", "--json").stdout)
    assert latest["status"] == "model_at_risk"
    assert latest["model_at_risk"]
    assert latest["input_drift"]
    assert "alert_rate" in latest["fired_evidence"], latest["reason"]  # 2% frauds, not the reference's rate
    assert set(latest["drifted_inputs"]) >= {"V15", "V22", "V24"}


def captured_rows_in(home: Path) -> int:
    return len(read_predictions(LocalObjectStore(home / "store")).frame)


def test_normal_windows_differ_from_the_drifted_one() -> None:
    """The scenario above really moves the quiet features (guards the test's premise, cheaply)."""
    normal = generate_transactions(5_000, seed=1, fraud_rate=0.005)
    drifted = generate_transactions(5_000, seed=2, scenario=SHIFT_AND_NEW_PATTERN)
    for name in QUIET_FEATURES:
        assert drifted[name].mean() - normal[name].mean() > 0.2 * normal[name].std()
    assert np.isclose(drifted["Class"].mean(), 0.02, atol=0.002)
