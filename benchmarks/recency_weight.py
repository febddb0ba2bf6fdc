"""Should a retrain weight the newly labelled rows up? Measured on real rows before deciding (issue 11).

The split of benchmarks/adaptation.py (a k-means cluster of the shared real rows' frauds held out of the base
data as the new pattern; base and post-drift rows by a hash), repeated for every cluster of at least 20
frauds and for two label budgets. The retraining set is built as `fraud retrain` builds it: the base rows,
then the labelled post-drift stream after them at the base's mean interval. The pipeline's own training use
case (`TrainModel`: time-ordered folds, rounds and imbalance strategy) fits it; its refit is then repeated
with the stream's rows weighted by w (w = 1 is what the pipeline does today: the same booster).

Reported per w, mean over clusters and seeds, on the fresh post-drift rows (never labelled): AUPRC, the
share of the new pattern's fresh frauds among the top-k scores (k = the fresh frauds), and the share of the
AUPRC gap recovered between the champion before (base rows only) and a model trained with the stream's rows
at their own times from the start (the same rows, no up-weighting).

    .venv/bin/python benchmarks/recency_weight.py [--source PATH.csv.gz] [--seeds 3] [--labels 500 2000]
        [--weights 1 2 4 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adaptation import DEFAULT_SOURCE, MIN_CLUSTER_FRAUDS, fraud_clusters, split_rows

from fraud_detection.application.retraining import times_after
from fraud_detection.application.train import FoldedData, TrainingResult, TrainModel
from fraud_detection.domain.features import build_features
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.schema import LABEL, TIME, check_transactions
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource
from fraud_detection.infrastructure.lightgbm.trainer import LightGBMTrainer, booster_params

CLUSTERS = 4
REVIEW_COST = 5.0


@dataclass(frozen=True)
class Quality:
    auprc: float
    pattern_top_k: float  # share of the fresh pattern's frauds among the top-k scores, k = fresh frauds

    @classmethod
    def of(cls, scores: np.ndarray, fresh: pd.DataFrame, pattern: pd.Index) -> Quality:
        truth = fresh[LABEL].to_numpy()
        top = fresh.index[np.argsort(-scores, kind="stable")[: int(truth.sum())]]
        return cls(average_precision(truth, scores), float(np.isin(pattern, top).mean()))


def retraining_set(base: pd.DataFrame, stream: pd.DataFrame) -> pd.DataFrame:
    """As BuildRetrainingSet builds it: the stream's rows after the base's, in order."""
    recent = stream.copy()
    recent[TIME] = times_after(base[TIME].to_numpy(dtype=np.float64), len(recent))
    return pd.concat([base, recent], ignore_index=True)


def train(frame: pd.DataFrame, params: TrainingParams) -> tuple[FoldedData, TrainingResult]:
    data = FoldedData.of(time_ordered_folds(frame, FoldPolicy()))
    return data, TrainModel(LightGBMTrainer(), params, REVIEW_COST)(data)


def weighted_refit(data: FoldedData, result: TrainingResult, recent: int, weight: float) -> lgb.Booster:
    """The pipeline's refit (its chosen settings and rounds), the last `recent` rows weighted by `weight`."""
    weights = np.ones(len(data.data))
    weights[len(weights) - recent :] = weight
    dataset = lgb.Dataset(data.data.features, label=data.data.labels, weight=weights)
    return lgb.train(booster_params(result.params), dataset, num_boost_round=result.refit_rounds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--labels", type=int, nargs="+", default=[500, 2_000])
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    options = parser.parse_args()
    if not options.source.exists():
        sys.exit(f"real rows not found at {options.source} (--source)")
    frame = check_transactions(FileTransactionSource().read(str(options.source)), str(options.source))
    frame = frame.sort_values(TIME, kind="stable").reset_index(drop=True)
    _, found = fraud_clusters(frame, CLUSTERS)
    held_out = [int(c) for c in np.flatnonzero(np.bincount(found, minlength=CLUSTERS) >= MIN_CLUSTER_FRAUDS)]
    print(
        f"{len(frame):,} real rows; held-out clusters {held_out}; seeds {options.seeds}; w {options.weights}"
    )
    rows: list[dict[str, float]] = []
    started = time.perf_counter()
    for held in held_out:
        for labels in options.labels:
            parts = split_rows(frame, CLUSTERS, labels, held)
            base, stream, fresh = parts["base"], parts["stream"], parts["fresh"]
            pattern = parts["fresh_pattern"].index  # the frame's index, as the fresh rows keep it
            fresh_features = build_features(fresh)
            features = fresh_features.to_numpy(dtype=np.float64)
            for seed in range(options.seeds):
                params = replace(TrainingParams(), seed=42 + seed)
                _, before = train(base, params)
                _, upfront = train(pd.concat([base, stream], ignore_index=True), params)
                data, retrain = train(retraining_set(base, stream), params)
                low = Quality.of(before.model.predict_proba(fresh_features), fresh, pattern)
                high = Quality.of(upfront.model.predict_proba(fresh_features), fresh, pattern)
                same = weighted_refit(data, retrain, len(stream), 1.0).predict(features)
                assert np.allclose(same, retrain.model.predict_proba(fresh_features)), "w=1 differs"
                for weight in options.weights:
                    booster = weighted_refit(data, retrain, len(stream), weight)
                    got = Quality.of(np.asarray(booster.predict(features)), fresh, pattern)
                    rows.append({
                        "cluster": held, "labels": labels, "seed": seed, "w": weight,
                        "auprc": got.auprc, "pattern_top_k": got.pattern_top_k,
                        "before": low.auprc, "upfront": high.auprc,
                    })  # fmt: skip
            print(f"  cluster {held}, {labels:,} labels: done ({time.perf_counter() - started:.0f} s)")
    table = pd.DataFrame(rows)
    columns = ["auprc", "pattern_top_k", "before", "upfront"]
    for title, keys in (("per cluster and label budget", ["cluster", "labels", "w"]),
                        ("all clusters", ["labels", "w"])):  # fmt: skip
        means = table.groupby(keys)[columns].mean()
        # The gap's share from the means: one seed's gap can be ~0 (the champion already catches the pattern).
        means["recovered"] = (means["auprc"] - means["before"]) / (means["upfront"] - means["before"])
        print(f"\n{title} (mean over seeds):\n{means.round(4).to_string()}")


if __name__ == "__main__":
    main()
