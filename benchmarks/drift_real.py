"""Drift decisions on real rows, through the HTTP API and the CLI: does "model at risk" stay quiet on
unchanged traffic and fire when the model is hurt?

The frauds of the shared real rows are clustered (k-means, as benchmarks/adaptation.py) and the cluster a
model fit without it scores lowest is held out: the new pattern. The other rows are cut in two halves by a
hash of (Time, Amount, V1): one trains the pipeline (`fraud pipeline run`), the other is the traffic. Each
window is 5,000 rows drawn from the traffic across the whole two days (hours of day mixed, as a day of
production traffic mixes them), posted to `POST /v1/score/batch` of `fraud serve`, then checked with
`fraud drift check --last-rows 5000 --no-publish --json`. Scenarios:

- none: the traffic as it is;
- fraud_x3: three times the traffic's fraud rate (frauds drawn with replacement);
- new_pattern: the held-out frauds at 2% of the window;
- top3_shift: the model's three most important inputs shifted by 0.5 standard deviations (of its rows);
- amount_x1.3: every Amount times 1.3.

Per scenario: windows judged "model at risk", windows with input drift (a diagnostic), the evidence fired,
realised precision and recall at the served threshold (the API's decisions against the labels), estimated
precision and recall (the check's, no labels) and their mean absolute error, and whether the scenario hurt:
realised precision or recall below the unchanged windows' mean by more than 0.10 (the policy's realised
tolerance). Only windows that hurt are required detections. Then: hour-of-day slices of the traffic (the
daily cycle, unmixed), and the wall time of `fraud drift check` on a 100,000-row window, start-up included.

    .venv/bin/python benchmarks/drift_real.py [--windows 200] [--scenario-windows 100] [--source PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from adaptation import DEFAULT_SOURCE, FRAUD, Home, held_out_pattern, serving
from drift import champion as champion_model

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.schema import LABEL, TIME, check_transactions
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource

WINDOW_ROWS = 5_000
HARM = 0.10  # DriftPolicy.realised_tolerance
SCENARIOS = ("none", "fraud_x3", "new_pattern", "top3_shift", "amount_x1.3")
TIMING_ROWS = 100_000


class Traffic:
    """The traffic half, the held-out pattern and the training rows' spread, to draw windows from."""

    def __init__(self, traffic: pd.DataFrame, pattern: pd.DataFrame, base: pd.DataFrame, top3: list[str]):
        self.rows, self.pattern = traffic.reset_index(drop=True), pattern.reset_index(drop=True)
        self.frauds = np.flatnonzero(self.rows[LABEL].to_numpy() == 1)
        self.legit = np.flatnonzero(self.rows[LABEL].to_numpy() == 0)
        self.spread = base[list(SCORING_INPUTS)].std()
        self.top3 = top3

    def window(self, scenario: str, rng: np.random.Generator, rows: int = WINDOW_ROWS) -> pd.DataFrame:
        if scenario == "fraud_x3":
            frauds = round(3 * len(self.frauds) / len(self.rows) * rows)
            picked = np.r_[
                rng.choice(self.frauds, frauds), rng.choice(self.legit, rows - frauds, replace=False)
            ]
            return self.rows.iloc[picked]
        if scenario == "new_pattern":
            frauds = round(0.02 * rows)
            normal = self.rows.iloc[rng.choice(len(self.rows), rows - frauds, replace=False)]
            return pd.concat([normal, self.pattern.iloc[rng.choice(len(self.pattern), frauds)]])
        window = self.rows.iloc[rng.choice(len(self.rows), rows, replace=False)].copy()
        if scenario == "top3_shift":
            for name in self.top3:
                window[name] += 0.5 * self.spread[name]
        elif scenario == "amount_x1.3":
            window["Amount"] *= 1.3
        return window


def post(client: httpx.Client, window: pd.DataFrame) -> np.ndarray:
    """Score the window through the API; the decisions, in the window's order."""
    columns = [TIME, *SCORING_INPUTS]
    rows = [dict(zip(columns, map(float, values), strict=True)) for values in window[columns].to_numpy()]
    decisions = []
    for start in range(0, len(rows), 5_000):
        response = client.post("/v1/score/batch", json={"transactions": rows[start : start + 5_000]})
        response.raise_for_status()
        decisions += [item["decision"] == "fraud" for item in response.json()["results"]]
    return np.array(decisions)


def check(home: Home, rows: int) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [FRAUD, "drift", "check", "--last-rows", str(rows), "--no-publish", "--json"],
        env=home.env, capture_output=True, text=True, cwd=home.path,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"fraud drift check failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), seconds


def realised(decisions: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    hits = int(np.count_nonzero(decisions & (labels == 1)))
    return hits / max(int(decisions.sum()), 1), hits / max(int(labels.sum()), 1)


def evidence(report: dict[str, Any], name: str) -> float | None:
    found = next((e for e in report.get("evidence", []) if e["name"] == name), None)
    return None if found is None else found["observed"]


def run_scenario(
    home: Home, client: httpx.Client, traffic: Traffic, scenario: str, windows: int, seed: int
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    results = []
    for number in range(windows):
        window = traffic.window(scenario, rng)
        decisions = post(client, window)
        time.sleep(1.0)  # the capture flushes every 0.5 s
        report, seconds = check(home, len(window))
        precision, recall = realised(decisions, window[LABEL].to_numpy())
        results.append(
            {
                "at_risk": report["model_at_risk"],
                "input_drift": report["input_drift"],
                "fired": report["fired_evidence"],
                "rows": report["window"]["rows"],
                "realised_precision": precision,
                "realised_recall": recall,
                "estimated_precision": evidence(report, "estimated_precision"),
                "estimated_recall": evidence(report, "estimated_recall"),
                "seconds": seconds,
            }
        )
        if (number + 1) % 25 == 0:
            print(f"  {scenario}: {number + 1}/{windows} windows", flush=True)
    return results


def summarise(scenario: str, results: list[dict[str, Any]], baseline: dict[str, float]) -> dict[str, Any]:
    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in results]))

    def mae(metric: str) -> float:
        pairs = [(r[f"estimated_{metric}"], r[f"realised_{metric}"]) for r in results]
        return float(np.mean([abs(e - r) for e, r in pairs if e is not None]))

    def harm(r: dict[str, Any]) -> float:
        return max(baseline["precision"] - r["realised_precision"], baseline["recall"] - r["realised_recall"])

    hurt = [r for r in results if harm(r) > HARM]
    summary = {
        "windows": len(results),
        "at_risk": sum(r["at_risk"] for r in results),
        "input_drift": sum(r["input_drift"] for r in results),
        "fired": dict(Counter(name for r in results for name in r["fired"]).most_common()),
        "realised_precision": mean("realised_precision"),
        "realised_recall": mean("realised_recall"),
        "estimated_precision": mean("estimated_precision"),
        "estimated_recall": mean("estimated_recall"),
        "mae_precision": mae("precision"),
        "mae_recall": mae("recall"),
        "harm": max(
            baseline["precision"] - mean("realised_precision"), baseline["recall"] - mean("realised_recall")
        ),
        "hurt": len(hurt),
        "hurt_detected": sum(r["at_risk"] for r in hurt),
        "check_seconds_median": statistics.median(r["seconds"] for r in results),
    }
    print(
        f"{scenario:<12} at risk {summary['at_risk']:>3}/{len(results)}  "
        f"input drift {summary['input_drift']:>3}  "
        f"realised P/R {summary['realised_precision']:.3f}/{summary['realised_recall']:.3f}  "
        f"estimated {summary['estimated_precision']:.3f}/{summary['estimated_recall']:.3f} "
        f"(MAE {summary['mae_precision']:.3f}/{summary['mae_recall']:.3f})  harm {summary['harm']:+.3f}, "
        f"windows hurt {summary['hurt']:>3}, "
        f"detected {summary['hurt_detected']:>3}  fired {summary['fired']}",
        flush=True,
    )
    return summary


def hour_slices(home: Home, client: httpx.Client, traffic: Traffic) -> list[dict[str, Any]]:
    """Each 6-hour slice of the day on its own (both days pooled): the daily cycle, not mixed away."""
    hours = (traffic.rows[TIME] // 3600 % 24).to_numpy()
    found = []
    for start in range(0, 24, 6):
        window = traffic.rows[(hours >= start) & (hours < start + 6)]
        post(client, window)
        time.sleep(1.0)
        report, _ = check(home, len(window))
        found.append(
            {
                "hours": f"{start:02d}-{start + 6:02d}",
                "rows": len(window),
                "at_risk": report["model_at_risk"],
                "input_drift": report["input_drift"],
                "drifted_inputs": report["drifted_inputs"],
                "fired": report["fired_evidence"],
            }
        )
        print(f"hours {found[-1]['hours']}: {len(window):,} rows, {report['reason']}", flush=True)
    return found


def timing(home: Home, client: httpx.Client, traffic: Traffic) -> list[float]:
    rng = np.random.default_rng(99)
    for _ in range(TIMING_ROWS // WINDOW_ROWS):
        post(client, traffic.window("none", rng))
    time.sleep(1.0)
    seconds = [check(home, TIMING_ROWS)[1] for _ in range(3)]
    print(
        f"fraud drift check on {TIMING_ROWS:,} rows: {', '.join(f'{s:.2f}' for s in seconds)} s", flush=True
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--windows", type=int, default=200, help="unchanged windows")
    parser.add_argument("--scenario-windows", type=int, default=100, help="windows per harmful scenario")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/drift_real"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/drift_real.json"))
    options = parser.parse_args()
    frame = check_transactions(FileTransactionSource().read(str(options.source)), str(options.source))
    frame = frame.sort_values(TIME, kind="stable").reset_index(drop=True)
    pattern = held_out_pattern(frame, clusters=4)
    others = frame.drop(index=pattern)
    key = pd.util.hash_pandas_object(others[[TIME, "Amount", "V1"]], index=False).to_numpy()
    base, traffic = others[key % 2 == 0], others[key % 2 == 1]
    home = Home(options.workdir.resolve())
    home.train(base, "base")
    print(
        f"trained on {len(base):,} rows ({int(base[LABEL].sum())} frauds); traffic "
        f"{len(traffic):,} rows ({int(traffic[LABEL].sum())} frauds); pattern {len(pattern)} frauds",
        flush=True,
    )
    versions = json.loads(home.run("model", "list", "--json"))
    champion = next(v for v in versions if "champion" in v["aliases"])
    importance = champion_model(home.path)[0].feature_importance()
    top3 = sorted(importance, key=lambda name: -importance[name])[:3]
    pool = Traffic(traffic, frame.loc[pattern], base, top3)
    results: dict[str, Any] = {"champion": champion["version"], "top3": top3}
    with serving(home) as client:
        none = run_scenario(home, client, pool, "none", options.windows, seed=1)
        baseline = {
            "precision": float(np.mean([r["realised_precision"] for r in none])),
            "recall": float(np.mean([r["realised_recall"] for r in none])),
        }
        results["none"] = summarise("none", none, baseline)
        for number, scenario in enumerate(SCENARIOS[1:], start=2):
            found = run_scenario(home, client, pool, scenario, options.scenario_windows, seed=number)
            results[scenario] = summarise(scenario, found, baseline)
        results["hour_slices"] = hour_slices(home, client, pool)
        results["check_seconds_100k"] = timing(home, client, pool)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2))
    print(f"figures: {options.output}")


if __name__ == "__main__":
    main()
