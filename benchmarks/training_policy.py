"""The training policy against the one it replaced, on the newest rows neither saw, time order kept.

Each dataset is sorted by `Time`; the newest 20% (less 600 s after the cut) is held out. On the earlier 80%:
- "before": the earlier policy, a 75/25 time split of those rows, LightGBM at learning rate 0.05 stopped on
  the validation AUPRC (50 rounds' patience), the better of the two imbalance strategies on validation;
- "folds + refit": `TrainModel` as the pipeline runs it (3 expanding folds, refit on every row);
- `LGBMClassifier(n_estimators=300, learning_rate=0.05)` fit on all the earlier rows, as a plain baseline.

    .venv/bin/python benchmarks/training_policy.py [--synthetic .fraud/data/creditcard.csv] [--real PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from fraud_detection.application.train import FoldedData, TrainModel, labelled
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.schema import TIME, check_transactions
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource
from fraud_detection.infrastructure.lightgbm import LightGBMTrainer
from fraud_detection.infrastructure.lightgbm.trainer import booster_params

GAP_SECONDS = 600.0
DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "creditcard_real_sample.csv.gz"


def before_policy(earlier: pd.DataFrame) -> lgb.Booster:
    cut = int(len(earlier) * 0.75)
    train, valid = earlier.iloc[:cut], earlier.iloc[cut:]
    valid = valid[valid[TIME] >= train[TIME].iloc[-1] + GAP_SECONDS]
    fit, stop = labelled(train), labelled(valid)
    best: tuple[float, lgb.Booster] | None = None
    for weight in (1.0, float(np.sqrt((len(fit) - fit.frauds) / max(fit.frauds, 1)))):
        params = booster_params(TrainingParams(learning_rate=0.05, scale_pos_weight=weight))
        booster = lgb.train(
            params | {"metric": "average_precision"},
            lgb.Dataset(fit.features, fit.labels),
            2_000,
            valid_sets=[lgb.Dataset(stop.features, stop.labels)],
            callbacks=[lgb.early_stopping(50, verbose=False)],
        )
        score = average_precision(
            stop.labels, np.asarray(booster.predict(stop.features, num_iteration=booster.best_iteration))
        )
        if best is None or score > best[0]:
            best = (score, booster)
    assert best is not None
    return best[1]


def compare(name: str, frame: pd.DataFrame) -> None:
    frame = frame.sort_values(TIME, kind="stable").reset_index(drop=True)
    cut = int(len(frame) * 0.8)
    earlier, later = frame.iloc[:cut], frame.iloc[cut:]
    test = labelled(later[later[TIME] >= earlier[TIME].iloc[-1] + GAP_SECONDS])
    before = before_policy(earlier)
    result = TrainModel(LightGBMTrainer(), TrainingParams(), review_cost=5.0)(
        FoldedData.of(time_ordered_folds(earlier, FoldPolicy()))
    )
    rows = labelled(earlier)
    plain = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, verbose=-1).fit(
        rows.features, rows.labels
    )
    figures = {
        "before": np.asarray(before.predict(test.features, num_iteration=before.best_iteration)),
        "folds + refit": result.model.predict_proba(test.features),
        "LGBMClassifier(300, 0.05)": np.asarray(plain.predict_proba(test.features))[:, 1],
    }
    print(f"{name}: AUPRC on the newest {len(test):,} rows ({test.frauds} frauds)")
    for label, scores in figures.items():
        print(f"  {label:<28} {average_precision(test.labels, scores):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--synthetic", type=Path, default=Path(".fraud/data/creditcard.csv"))
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    options = parser.parse_args()
    for name, path in (("synthetic", options.synthetic), ("real rows", options.real)):
        if not path.exists():
            print(f"{name}: no file at {path}, skipped")
            continue
        compare(name, check_transactions(FileTransactionSource().read(str(path)), str(path)))


if __name__ == "__main__":
    main()
