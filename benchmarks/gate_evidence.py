"""How many new labelled frauds does the promotion gate need before its decision means something? Real rows.

The gate compares champion and challenger on labelled rows neither was fitted on (in a retrain, the newly
labelled ones) and promotes when the challenger's AUPRC there is higher. On a handful of frauds AUPRC takes
a few coarse values (2 frauds: 1.0, 0.75, 0.5, ...), so a worse challenger can win by chance.

The models are those of benchmarks/rollout.py, each trained by the project's `TrainModel` on the shared real
rows in time order (training part: the earliest 50%; recent: the next 15%; live: the rest):
- champion: the training part;
- better challenger: a 90% subsample of the training and recent parts (the retrain on newer data);
- worse challenger: a 15% subsample of the training part with 40% of its fraud labels moved onto as many
  legitimate rows (a retrain on a broken extract);
- same: the champion's rows again with another LightGBM seed (neither better nor worse).
For every seed and every count of frauds k, `--windows` contiguous time windows of the live part holding
exactly k frauds (the newly labelled rows of a retrain arrive as a span of time, every row labelled) are
drawn; on each, the gate's rule (challenger AUPRC > champion AUPRC + margin, `domain/promotion.py`) is
applied as the gate applies it. Prints, per k, how often each challenger would be promoted; the gate with a
minimum of m frauds refuses every k < m and is otherwise the same rule, so the table reads as "what each
minimum lets through". The models are scored once on the live part (the gate's block-by-block rescoring of
a retrain's challenger is left out: it changes the challenger's scores, not how noisy AUPRC is on k frauds).
With `--min-confidence C` a lead also needs the challenger ahead in at least C of `--resamples` bootstrap
resamples of the window (`domain/gate_confidence.py`, FRAUD_PROMOTION_MIN_CONFIDENCE).
Figures, not asserts; writes benchmarks/out/gate_evidence.json.

    .venv/bin/python benchmarks/gate_evidence.py [--seeds 10] [--windows 400] [--source PATH.csv.gz]
        [--min-confidence 0.8] [--resamples 200]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rollout import Scored, load, real_rows_parser, train, worse

from fraud_detection.domain.gate_confidence import metric_function, paired_bootstrap
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.promotion import PromotionPolicy
from fraud_detection.domain.schema import LABEL

FRAUD_COUNTS = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40)
KINDS = ("better", "same", "worse")


def windows_with(labels: np.ndarray, frauds: int, count: int, rng: np.random.Generator) -> list[slice]:
    """`count` contiguous spans holding exactly `frauds` frauds: each starts at a random row and runs to the
    row before the next fraud after the `frauds`-th (a random share of that stretch of legitimate rows)."""
    at = np.flatnonzero(labels == 1)
    if len(at) < frauds:
        return []
    spans = []
    for _ in range(count):
        first = int(rng.integers(0, len(at) - frauds + 1))  # the span's first fraud, by index
        begin_low = at[first - 1] + 1 if first > 0 else 0
        end_high = at[first + frauds] if first + frauds < len(at) else len(labels)
        begin = int(rng.integers(begin_low, at[first] + 1))
        end = int(rng.integers(at[first + frauds - 1] + 1, end_high + 1))
        spans.append(slice(begin, end))
    return spans


def promoted_share(
    challenger: Scored,
    champion: Scored,
    labels: np.ndarray,
    spans: list[slice],
    policy: PromotionPolicy,
    resamples: int,
) -> float:
    wins = 0
    for span in spans:
        metric = {"auprc": average_precision(labels[span], challenger.scores[span])}
        incumbent = {"auprc": average_precision(labels[span], champion.scores[span])}
        confidence = None
        if policy.min_confidence > 0 and metric["auprc"] > incumbent["auprc"] + policy.min_improvement:
            confidence = paired_bootstrap(
                labels[span],
                (challenger.scores[span], 0.5),
                (champion.scores[span], 0.5),
                metric_function("auprc", 100),
                resamples,
            )
        wins += policy.decide(metric, incumbent, confidence=confidence).promote
    return wins / len(spans)


def main() -> None:
    parser = real_rows_parser(__doc__, 10, "benchmarks/out/gate_evidence.json")
    parser.add_argument("--windows", type=int, default=400)
    parser.add_argument("--margin", type=float, default=0.0, help="FRAUD_PROMOTION_MARGIN (default 0)")
    parser.add_argument(
        "--min-confidence", type=float, default=0.0, help="FRAUD_PROMOTION_MIN_CONFIDENCE (default 0: off)"
    )
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap resamples per window")
    options = parser.parse_args()
    started = time.perf_counter()
    policy = PromotionPolicy("auprc", options.margin, min_confidence=options.min_confidence)
    frame = load(options.source)
    a, b = int(0.5 * len(frame)), int(0.65 * len(frame))
    training, recent, live = frame.iloc[:a], frame.iloc[a:b], frame.iloc[b:]
    labels = live[LABEL].to_numpy(dtype=np.int64)
    print(
        f"live part: {len(live):,} rows, {int(labels.sum())} frauds; margin {options.margin:g}, "
        f"min confidence {options.min_confidence:g}"
    )
    champion = train("champion", training, live, seed=42)
    champion_auprc = average_precision(labels, champion.scores)
    both = pd.concat([training, recent])
    shares: dict[str, dict[int, list[float]]] = {kind: {k: [] for k in FRAUD_COUNTS} for kind in KINDS}
    rows: dict[int, list[int]] = {k: [] for k in FRAUD_COUNTS}
    whole: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for seed in range(options.seeds):
        rng = np.random.default_rng(seed)
        newer = both.iloc[np.sort(rng.choice(len(both), int(0.9 * len(both)), replace=False))]
        challengers = {
            "better": train("better", newer, live, seed),
            "same": train("same", training, live, seed + 1_000),
            "worse": worse(training, live, rng, seed),
        }
        for kind, challenger in challengers.items():
            whole[kind].append(average_precision(labels, challenger.scores))
        for k in FRAUD_COUNTS:
            spans = windows_with(labels, k, options.windows, rng)
            rows[k] += [span.stop - span.start for span in spans]
            for kind, challenger in challengers.items():
                shares[kind][k].append(
                    promoted_share(challenger, champion, labels, spans, policy, options.resamples)
                )
        print(
            f"seed {seed:>2}: AUPRC on the whole live part: champion {champion_auprc:.3f}"
            + "".join(f", {kind} {whole[kind][-1]:.3f}" for kind in KINDS),
            flush=True,
        )
    print("\nshare of windows in which the gate would promote the challenger (mean over seeds; min-max)")
    print(f"{'frauds':>6} {'rows (median)':>13} " + " ".join(f"{kind:>20}" for kind in KINDS))
    for k in FRAUD_COUNTS:
        cells = " ".join(
            f"{np.mean(shares[kind][k]):>8.3f} ({min(shares[kind][k]):.2f}-{max(shares[kind][k]):.2f})"
            for kind in KINDS
        )
        print(f"{k:>6} {int(np.median(rows[k])):>13,} {cells}")
    results: dict[str, Any] = {
        "margin": options.margin,
        "min_confidence": options.min_confidence,
        "resamples": options.resamples,
        "seeds": options.seeds,
        "windows": options.windows,
        "champion_auprc": champion_auprc,
        "challenger_auprc": whole,
        "promoted_share": {kind: {str(k): v for k, v in by_k.items()} for kind, by_k in shares.items()},
        "median_rows": {str(k): float(np.median(v)) for k, v in rows.items()},
        "seconds": time.perf_counter() - started,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = options.output.with_suffix(".tmp")
    temporary.write_text(json.dumps(results, indent=2))
    temporary.replace(options.output)
    print(f"{time.perf_counter() - started:.0f} s; figures: {options.output}")


if __name__ == "__main__":
    main()
