"""Test AUPRC of `fraud pipeline run` on the real rows against a plain `lightgbm.LGBMClassifier()`.

Both use the pipeline's time-ordered split of the same file; the baseline fits on the training part with its
defaults (and, as a second reference, on training + validation, since it uses no early stopping).

    .venv/bin/python benchmarks/real_data.py [--source ../shared/data/creditcard_real_sample.csv.gz]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import pandas as pd

from fraud_detection.application.train import labelled
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.schema import check_transactions
from fraud_detection.domain.split import SplitPolicy, time_ordered_split
from fraud_detection.infrastructure.sources import FileTransactionSource

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "creditcard_real_sample.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/real"))
    options = parser.parse_args()
    if not options.source.exists():
        sys.exit(f"no real rows at {options.source}")
    home = options.workdir.resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_TRACKING"))}
    summary_path = home / "summary.json"
    command = [str(Path(sys.executable).parent / "fraud"), "pipeline", "run", "--source", str(options.source),
               "--summary-json", str(summary_path)]  # fmt: skip
    subprocess.run(command, env=env | {"FRAUD_HOME": str(home)}, check=True, capture_output=True)
    summary = json.loads(summary_path.read_text())

    frame = check_transactions(FileTransactionSource().read(str(options.source)), str(options.source))
    split = time_ordered_split(frame, SplitPolicy())
    train, test = labelled(split.train), labelled(split.test)
    train_valid = labelled(pd.concat([split.train, split.valid]))
    plain = lgb.LGBMClassifier(verbose=-1).fit(train.features, train.labels)
    plain_tv = lgb.LGBMClassifier(verbose=-1).fit(train_valid.features, train_valid.labels)
    baseline = average_precision(test.labels, plain.predict_proba(test.features)[:, 1])
    baseline_tv = average_precision(test.labels, plain_tv.predict_proba(test.features)[:, 1])

    ours = summary["test_metrics"]
    dataset = summary["dataset"]
    print(f"real rows: {dataset['rows']:,} rows, {dataset['frauds']} frauds; split {summary['split']}")
    print(
        f"pipeline  test AUPRC {ours['auprc']:.4f}  ROC AUC {ours['roc_auc']:.4f}  "
        f"recall@P90 {ours['recall_at_precision_90']:.3f}  "
        f"precision@{int(ours['k'])} {ours['precision_at_k']:.3f}"
    )
    for label, score in (("train", baseline), ("train + valid", baseline_tv)):
        ratio = ours["auprc"] / score
        print(f"plain LGBMClassifier() on {label:<13} test AUPRC {score:.4f}  (pipeline / plain {ratio:.3f})")


if __name__ == "__main__":
    main()
