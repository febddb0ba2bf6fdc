"""Does a retrain learn a fraud pattern the champion never saw? Real rows, through the CLI and HTTP API.

The frauds of the shared real rows are clustered (k-means on V1..V28) and one cluster is held out of the base
training data: the new pattern. The other rows are cut in two halves by a hash of (Time, Amount, V1): one
trains the champion (`fraud pipeline run`); the other plus the held-out frauds is the post-drift traffic.
Half of the held-out frauds, with the earliest traffic, make a labelled stream of at most 2,000 rows: scored
through `POST /v1/score/batch`, labelled through `POST /v1/feedback`, then `fraud retrain` runs. The rest of
the traffic (never labelled) is the fresh evaluation set, scored through `fraud batch submit` by: the
champion before, the retrained champion, and a model trained with the cluster from the start
(`fraud pipeline run` on the base rows plus the stream's rows at their own times).

    .venv/bin/python benchmarks/adaptation.py [--source PATH.csv.gz] [--labels 2000] [--clusters 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from fraud_detection.domain.features import SCORING_INPUTS, build_features
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.schema import LABEL, TIME, V_COLUMNS, check_transactions
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "creditcard_real_sample.csv.gz"
FRAUD = str(Path(sys.executable).parent / "fraud")
TOKEN = "adaptation-benchmark-token-0123456789"
BATCH = 1_000


class Home:
    """One FRAUD_HOME and the CLI against it."""

    def __init__(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        self.path = path
        self.key: str | None = None
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FRAUD_", "MLFLOW_TRACKING", "PREFECT_API"))
        }
        self.env = env | {
            "FRAUD_HOME": str(path),
            "FRAUD_ADMIN_TOKEN": TOKEN,
            "FRAUD_RETRAIN_ON_EVENTS": "false",
        }

    def run(self, *args: str) -> str:
        done = subprocess.run([FRAUD, *args], env=self.env, capture_output=True, text=True, cwd=self.path)
        if done.returncode:
            sys.exit(f"fraud {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
        return done.stdout + done.stderr

    def api_key(self) -> str:
        """A key of an API client that may score and send labels (made once, as an operator would)."""
        if self.key is None:
            args = ["clients", "add", "benchmark", "--scope", "score", "--scope", "feedback"]
            done = subprocess.run([FRAUD, *args], env=self.env, capture_output=True, text=True, cwd=self.path)
            if done.returncode:
                sys.exit(f"fraud clients add failed:\n{done.stderr[-3000:]}")
            self.key = done.stdout.strip()
        return self.key

    def train(self, frame: pd.DataFrame, name: str) -> dict:
        frame.to_csv(self.path / f"{name}.csv", index=False)
        summary = self.path / f"{name}.json"
        self.run(
            "pipeline", "run", "--source", str(self.path / f"{name}.csv"), "--summary-json", str(summary)
        )
        return json.loads(summary.read_text())

    def score(self, frame: pd.DataFrame, name: str, model: str = "champion") -> pd.DataFrame:
        """`fraud batch submit` of `frame` (its labels removed) with `model` (alias or version)."""
        source = self.path / "batch" / "in" / f"{name}.csv"  # the default batch roots of this home
        output = self.path / "batch" / "out" / f"{name}-scored.parquet"
        source.parent.mkdir(parents=True, exist_ok=True)
        frame.drop(columns=[LABEL]).to_csv(source, index=False)
        self.run("batch", "submit", str(source), str(output), "--model", model, "--wait")
        return pd.read_parquet(output).sort_values("row").reset_index(drop=True)

    def champion(self) -> dict:
        versions = json.loads(self.run("model", "list", "--json"))
        return next(v for v in versions if "champion" in v["aliases"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MIN_CLUSTER_FRAUDS = 20


def fraud_clusters(frame: pd.DataFrame, clusters: int) -> tuple[pd.DataFrame, np.ndarray]:
    """`frame`'s frauds and their k-means cluster (on V1..V28)."""
    frauds = frame[frame[LABEL] == 1]
    return frauds, KMeans(n_clusters=clusters, n_init=10, random_state=0).fit_predict(frauds[list(V_COLUMNS)])


def held_out_pattern(frame: pd.DataFrame, clusters: int, held: int | None = None) -> pd.Index:
    """The index of the frauds of one k-means cluster of `frame`'s frauds: the new pattern (`held`, or the
    one chosen below)."""
    frauds, found = fraud_clusters(frame, clusters)
    if held is not None:
        return frauds.index[found == held]
    sizes = np.bincount(found, minlength=clusters)
    # The held-out pattern: of the clusters with at least 20 frauds, the one a model fit without it scores
    # lowest (a cluster the other frauds already explain is no new pattern: the champion would catch it).
    unseen_score = {}
    for cluster in np.flatnonzero(sizes >= MIN_CLUSTER_FRAUDS):
        members = frauds.index[found == cluster]
        rest = frame.drop(index=members)
        model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, verbose=-1)
        model.fit(build_features(rest), rest[LABEL])
        unseen_score[int(cluster)] = float(
            np.median(np.asarray(model.predict_proba(build_features(frame.loc[members])))[:, 1])
        )
    held = min(unseen_score, key=unseen_score.__getitem__)
    pattern = frauds.index[found == held]
    print(
        f"fraud clusters (k-means, k={clusters}): sizes {sizes.tolist()}; median score of each "
        "(>= 20 frauds) "
        f"by a model fit without it: { {c: round(v, 3) for c, v in unseen_score.items()} }; "
        f"held out: cluster {held}, {sizes[held]} frauds"
    )
    return pattern


def split_rows(
    frame: pd.DataFrame, clusters: int, labels: int, held: int | None = None
) -> dict[str, pd.DataFrame]:
    frame = frame.sort_values(TIME, kind="stable").reset_index(drop=True)
    pattern = held_out_pattern(frame, clusters, held)
    others = frame.drop(index=pattern)
    # Base and post-drift rows by a hash of (Time, Amount, V1), as benchmarks/real_data.py: the shared rows
    # over-represent the first hours of the file, and a time cut leaves a base whose V3 mean (0.65) fails
    # validation.
    key = pd.util.hash_pandas_object(others[[TIME, "Amount", "V1"]], index=False).to_numpy()
    base, later = others[key % 2 == 0], others[key % 2 == 1]
    labelled_pattern, fresh_pattern = frame.loc[pattern[::2]], frame.loc[pattern[1::2]]
    stream_later = later.iloc[: labels - len(labelled_pattern)]
    # The new pattern arrives spread through the traffic, not as one burst at its end: each row's place in
    # the stream is its rank within its own part (a time cut would put the pattern's frauds, drawn from
    # both days, after the earliest hours of other traffic).
    place = np.r_[
        (np.arange(len(stream_later)) + 0.5) / len(stream_later),
        (np.arange(len(labelled_pattern)) + 0.5) / len(labelled_pattern),
    ]
    stream = pd.concat([stream_later, labelled_pattern]).iloc[np.argsort(place, kind="stable")]
    fresh = pd.concat([later.iloc[len(stream_later) :], fresh_pattern]).sort_values(TIME, kind="stable")
    return {"base": base, "stream": stream, "fresh": fresh, "fresh_pattern": fresh_pattern}


def label_through_the_api(home: Home, stream: pd.DataFrame) -> tuple[float | None, int, str]:
    """Serve the champion, score the stream, post its labels; then retrain and wait until the API serves the
    new champion. Returns the seconds from the last label to the new champion being served (None when the
    gate kept the old one), the retrained version and the gate's reason."""
    with serving(home) as client:
        before = client.get("/v1/model").json()["version"]
        ids = [f"s-{i}" for i in range(len(stream))]
        rows = [
            {name: float(value) for name, value in zip(("Time", *SCORING_INPUTS), values, strict=True)}
            | {"transaction_id": tid}
            for tid, values in zip(ids, stream[[TIME, *SCORING_INPUTS]].to_numpy(), strict=True)
        ]
        for start in range(0, len(rows), BATCH):
            response = client.post("/v1/score/batch", json={"transactions": rows[start : start + BATCH]})
            response.raise_for_status()
        time.sleep(2)  # the capture flushes every 0.5 s
        post_labels(client, dict(zip(ids, stream[LABEL].astype(bool), strict=True)))
        last_label = time.perf_counter()
        home.run("retrain", "--reason", "adaptation benchmark")
        versions = json.loads(home.run("model", "list", "--json"))
        new = max(versions, key=lambda v: v["version"])
        reason = new["tags"].get("promotion_reason", "")
        if "champion" not in new["aliases"]:
            return None, int(new["version"]), reason
        while (served := client.get("/v1/model").json()["version"]) == before:
            if time.perf_counter() - last_label > 600:
                sys.exit(
                    "the API did not serve a new champion within 10 minutes (the gate kept the old one?)"
                )
            time.sleep(0.2)
        return time.perf_counter() - last_label, int(served), reason


def post_labels(client: httpx.Client, labels: dict[str, bool], timeout: float = 60) -> None:
    """Post every label, re-sending those still `unknown`: the API learns of a scored id about a second
    after scoring it (README, "Feedback and realised quality")."""
    labels, deadline = dict(labels), time.monotonic() + timeout  # a copy: recorded labels are removed
    while labels:
        ids = list(labels)
        for start in range(0, len(ids), BATCH):
            body = [
                {"transaction_id": tid, "is_fraud": bool(labels[tid])} for tid in ids[start : start + BATCH]
            ]
            response = client.post("/v1/feedback", json={"labels": body})
            if response.status_code not in (200, 404):  # 404: every label of the call unknown (yet)
                response.raise_for_status()
            for result in response.json()["results"]:
                if result["outcome"] != "unknown":
                    labels.pop(result["transaction_id"], None)
        if labels and time.monotonic() > deadline:
            sys.exit(f"{len(labels)} labels still unknown to the API after {timeout:.0f} s")
        time.sleep(0.2 if labels else 0)


@contextmanager
def serving(home: Home) -> Iterator[httpx.Client]:
    """`fraud serve` on a free port of loopback (captures flushed every 0.5 s), a client once it is ready."""
    port = free_port()
    headers = {"Authorization": f"Bearer {home.api_key()}"}  # scoring and labels need a client's key
    log = (home.path / "serve.log").open("wb")
    env = home.env | {"FRAUD_MODEL_POLL_SECONDS": "1", "FRAUD_CAPTURE_MAX_SECONDS": "0.5"}
    server = subprocess.Popen([FRAUD, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit("fraud serve did not become ready")
                time.sleep(0.3)
            yield client
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        log.close()


def quality(scored: pd.DataFrame, truth: pd.DataFrame, pattern: pd.DataFrame) -> dict[str, float]:
    labels = truth[LABEL].to_numpy()
    flagged = scored["decision"].to_numpy() == "fraud"
    in_pattern = truth.index.isin(pattern.index)  # rows keep their index in the real file
    return {
        "auprc": average_precision(labels, scored["probability"].to_numpy()),
        "recall": float(flagged[labels == 1].mean()),
        "pattern_recall": float(flagged[in_pattern & (labels == 1)].mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/adaptation"))
    parser.add_argument("--labels", type=int, default=2_000, help="Most labelled post-drift rows.")
    parser.add_argument("--clusters", type=int, default=4)
    options = parser.parse_args()
    if not options.source.exists():
        sys.exit(f"no real rows at {options.source}")
    frame = check_transactions(FileTransactionSource().read(str(options.source)), str(options.source))
    parts = split_rows(frame, options.clusters, options.labels)
    base, stream, fresh, pattern = parts["base"], parts["stream"], parts["fresh"], parts["fresh_pattern"]
    for name, part in (("base", base), ("stream", stream), ("fresh", fresh)):
        print(f"{name}: {len(part):,} rows, {int(part[LABEL].sum())} frauds")
    workdir = options.workdir.resolve()

    live = Home(workdir / "live")
    live.train(base, "base")
    before = quality(live.score(fresh, "fresh-before"), fresh, pattern)
    seconds, version, reason = label_through_the_api(live, stream)
    print(f"gate: {reason}")
    after = quality(live.score(fresh, "fresh-after", str(version)), fresh, pattern)

    oracle_home = Home(workdir / "oracle")
    oracle_home.train(pd.concat([base, stream]).sort_values(TIME, kind="stable"), "with-pattern")
    oracle = quality(oracle_home.score(fresh, "fresh"), fresh, pattern)

    print(
        f"\nfresh post-drift rows ({len(fresh):,}, {int(fresh[LABEL].sum())} frauds, "
        f"{len(pattern)} of the new pattern)"
    )
    print(f"{'model':<40} {'AUPRC':>7} {'recall':>7} {'recall, new pattern':>20}")
    for name, figures in (
        ("champion before", before),
        (f"retrained (v{version})", after),
        ("trained with the pattern from the start", oracle),
    ):
        print(
            f"{name:<40} {figures['auprc']:>7.4f} {figures['recall']:>7.3f} "
            f"{figures['pattern_recall']:>20.3f}"
        )
    for metric in ("auprc", "recall", "pattern_recall"):
        gap = oracle[metric] - before[metric]
        recovered = (after[metric] - before[metric]) / gap if abs(gap) > 1e-9 else float("nan")
        print(f"gap recovered, {metric}: {recovered:.0%} (aim: >= 80%)")
    if seconds is None:
        print(f"the gate kept the champion: v{version} was scored as the challenger it stayed")
    else:
        print(
            f"from the last label to the new champion served: {seconds:.1f} s ({len(stream):,} labelled rows)"
        )


if __name__ == "__main__":
    main()
