"""Does the promotion gate flatter the challenger when it compares precision or recall? Real rows, time order.

With FRAUD_PROMOTION_METRIC `precision` or `recall` the gate compares champion and challenger at their own
thresholds on the rows new to the champion. The challenger's threshold is chosen (cost rule) on its
out-of-fold scores, and those include the gate's rows: the rows it is judged on helped set the bar it is
judged at. The champion's threshold saw none of them. This measures how much that leaks.

The shared real rows, in time order: the champion is trained (`TrainModel`, as the pipeline does) on the
earliest 50%, the challenger on a 90% subsample of the earliest 65% (a retrain that added the next 15%), and
the rest (35%) is the future that decides which of the two was really better. The gate's rows and scores are
the pipeline's own: the challenger's out-of-fold rows new to the champion (`rows_not_in`), rescored block by
block (`prequential_scores`, GATE_BLOCKS). Per seed, the challenger's precision and recall on the gate's rows
at
- its served threshold (chosen on every out-of-fold row: what the gate uses), and
- a threshold chosen by the same rule on the out-of-fold rows the gate does not use (no leak),
against the same model's precision and recall on the future at its served threshold; the champion's gate
figures against its own future ones are the baseline of the same error without any leak. Figures, not
asserts; writes benchmarks/out/gate_threshold.json.

    .venv/bin/python benchmarks/gate_threshold.py [--seeds 20] [--source PATH.csv.gz]
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
from rollout import REVIEW_COST, THREADS, load, real_rows_parser

from fraud_detection.application.promote import GATE_BLOCKS
from fraud_detection.application.train import FoldedData, TrainingResult, TrainModel, labelled
from fraud_detection.domain.decision import flagged
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.promotion import rows_not_in
from fraud_detection.domain.threshold import choose_threshold
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.lightgbm import LightGBMTrainer


def fit(frame: pd.DataFrame, seed: int) -> tuple[FoldedData, TrainingResult, TrainModel]:
    data = FoldedData.of(time_ordered_folds(frame, FoldPolicy()))
    trainer = TrainModel(
        LightGBMTrainer(), TrainingParams(seed=seed, threads=THREADS), review_cost=REVIEW_COST
    )
    return data, trainer(data), trainer


def rates(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    alerts, frauds = flagged(scores, threshold), labels == 1
    hits = int(np.count_nonzero(alerts & frauds))
    return {"precision": hits / max(int(alerts.sum()), 1), "recall": hits / max(int(frauds.sum()), 1)}


def one_seed(frame: pd.DataFrame, seed: int) -> dict[str, Any]:
    a, b = int(0.5 * len(frame)), int(0.65 * len(frame))
    old, both, future = frame.iloc[:a], frame.iloc[:b], frame.iloc[b:]
    rng = np.random.default_rng(seed)
    newer = both.iloc[np.sort(rng.choice(len(both), int(0.9 * len(both)), replace=False))]
    _, champion, _ = fit(old, seed)
    data, challenger, trainer = fit(newer, seed)
    positions = data.folds.out_of_fold
    unseen = rows_not_in(data.folds.ordered.iloc[positions], old)
    oof = challenger.out_of_fold
    gate_labels = oof.labels[unseen]
    gate_scores = trainer.prequential_scores(
        data, challenger, positions[unseen], GATE_BLOCKS, FoldPolicy().gap_seconds
    )
    served = challenger.threshold.threshold
    clean = choose_threshold(
        oof.labels[~unseen], challenger.oof_scores[~unseen], oof.amounts[~unseen], REVIEW_COST
    ).threshold
    later = labelled(future)
    gate_rows = oof.take(np.flatnonzero(unseen))
    return {
        "seed": seed,
        "gate_rows": int(unseen.sum()),
        "gate_frauds": int(gate_labels.sum()),
        "thresholds": {"served": served, "clean": clean, "champion": champion.threshold.threshold},
        "challenger_gate_served": rates(gate_labels, gate_scores, served),
        "challenger_gate_clean": rates(gate_labels, gate_scores, clean),
        "challenger_future": rates(later.labels, challenger.model.predict_proba(later.features), served),
        "champion_gate": rates(
            gate_labels, champion.model.predict_proba(gate_rows.features), champion.threshold.threshold
        ),
        "champion_future": rates(
            later.labels, champion.model.predict_proba(later.features), champion.threshold.threshold
        ),
    }


def main() -> None:
    options = real_rows_parser(__doc__, 20, "benchmarks/out/gate_threshold.json").parse_args()
    started = time.perf_counter()
    frame = load(options.source)
    runs = []
    for seed in range(options.seeds):
        run = one_seed(frame, seed)
        runs.append(run)
        t = run["thresholds"]
        print(
            f"seed {seed:>2}: {run['gate_rows']:,} gate rows, {run['gate_frauds']} frauds; threshold served "
            f"{t['served']:.4f}, clean {t['clean']:.4f}, champion {t['champion']:.4f}",
            flush=True,
        )
    report(runs)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps({"runs": runs}, indent=2))
    print(f"\n{len(runs)} seeds in {time.perf_counter() - started:.0f} s; wrote {options.output}")


def report(runs: list[dict[str, Any]]) -> None:
    """Mean (and spread) of each gate estimate minus the same model's figure on the future."""
    print("\n                        gate - future (mean +- sd over seeds)")
    print(f"{'':<34}{'precision':>20}{'recall':>20}")
    rows = (
        ("challenger, served threshold", "challenger_gate_served", "challenger_future"),
        ("challenger, clean threshold", "challenger_gate_clean", "challenger_future"),
        ("champion (no leak: baseline)", "champion_gate", "champion_future"),
    )
    for name, gate, future in rows:
        cells = []
        for metric in ("precision", "recall"):
            errors = np.array([r[gate][metric] - r[future][metric] for r in runs])
            cells.append(f"{errors.mean():+.3f} +- {errors.std(ddof=1) if len(errors) > 1 else 0:.3f}")
        print(f"{name:<34}{cells[0]:>20}{cells[1]:>20}")
    for metric in ("precision", "recall"):
        shift = np.array(
            [r["challenger_gate_served"][metric] - r["challenger_gate_clean"][metric] for r in runs]
        )
        truth = [r["challenger_future"][metric] > r["champion_future"][metric] for r in runs]
        served = [r["challenger_gate_served"][metric] > r["champion_gate"][metric] for r in runs]
        clean = [r["challenger_gate_clean"][metric] > r["champion_gate"][metric] for r in runs]
        print(
            f"{metric}: served - clean on the gate rows {shift.mean():+.3f} (min {shift.min():+.3f}, max "
            f"{shift.max():+.3f}); gate promotes {sum(served)}/{len(runs)} served, {sum(clean)}/{len(runs)} "
            f"clean; challenger really better on the future in {sum(truth)}/{len(runs)}; decisions matching "
            f"the future: served {sum(s == t for s, t in zip(served, truth, strict=True))}, clean "
            f"{sum(c == t for c, t in zip(clean, truth, strict=True))}"
        )


if __name__ == "__main__":
    main()
