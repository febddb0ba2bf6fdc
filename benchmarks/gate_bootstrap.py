"""What the promotion gate's paired bootstrap costs as its rows grow, against sorting every resample.

The gate resamples its rows 1,000 times (`domain/gate_confidence.py`). A curve metric (AUPRC, ROC AUC,
recall at precision 0.9) is read off each model's rows sorted once and weighted by a resample's draws; the
baseline, in the same run, computes the same metric on each resample's own rows (a sort per resample), as
the gate did before. Both give the same share and interval (checked here too). Scores are rounded to 3
decimals so ties occur, as with a model's scores. Prints seconds per resample and the ratio; figures, not
asserts.

    .venv/bin/python benchmarks/gate_bootstrap.py [--rows 50000 500000] [--resamples 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fraud_detection.domain.gate_confidence import metric_function, paired_bootstrap

FRAUD_RATE = 0.002  # about the real rows' 0.17%


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--resamples", type=int, default=20)
    parser.add_argument("--metric", default="auprc", choices=["auprc", "roc_auc", "recall_at_precision_90"])
    args = parser.parse_args()
    print(f"{'rows':>9} {'sorted once':>12} {'sort each':>10} {'ratio':>6}  same result")
    for rows in args.rows:
        rng = np.random.default_rng(rows)
        labels = (rng.random(rows) < FRAUD_RATE).astype(np.int64)
        challenger = np.round(rng.random(rows) + 0.5 * labels, 3)
        champion = np.round(rng.random(rows) + 0.45 * labels, 3)
        fast = metric_function(args.metric, 100)
        timed = []
        for metric in (fast, fast.on_rows):  # the second: a plain function, so each resample is sorted
            start = time.perf_counter()
            found = paired_bootstrap(labels, (challenger, 0.5), (champion, 0.5), metric, args.resamples)
            timed.append(((time.perf_counter() - start) / args.resamples, found))
        (once, first), (each, second) = timed
        print(f"{rows:>9,} {once:>11.3f}s {each:>9.3f}s {each / once:>5.1f}x  {first == second}")


if __name__ == "__main__":
    main()
