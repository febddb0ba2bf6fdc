"""Does the rollout policy promote a better challenger and roll back a worse one, on real rows?

The shared real rows, in time order, are cut in three: the training part (earliest 50%), a recent part (next
15%), the live part (the rest, about 24 hours of `Time`). The models, each trained by the project's
`TrainModel` (folds, refit, cost-rule threshold; review cost 5):
- champion: the training part (trained before the recent rows existed);
- better challenger: a 90% subsample of the training and recent parts (the retrain on newer data);
- worse challenger: a 15% subsample of the training part with 40% of its fraud labels moved onto as many
  legitimate rows (a retrain on a broken extract).
Every model's AUPRC and realised precision/recall at its own threshold on the live part are printed, with a
logistic regression fit on the training part, so "better" and "worse" are measured, not assumed.

The rollout is replayed with the domain as production uses it: the live part streams in 30-minute windows of
`Time`; both models score every transaction; in canary a transaction is served by the challenger when
`CanaryRouter(percent, salt)(key)`, as in `fraud serve`; labels arrive with a delay (frauds: all, legitimate
rows: 80%, each after a delay drawn uniformly in 1-4 hours of `Time`, a scaled stand-in for days of
chargebacks); after each window `judge` sees the evidence as production gathers it (rows scored since the
stage began, the labels that have arrived on every transaction since the rollout began, each labelled fraud's
rank as the alert rate at which each model flags it among every transaction scored since then, the label-free
estimate of each model at its threshold) and ADVANCE/ROLL_BACK move the `Rollout`. Volume minimums are scaled
to the sample (about 260 transactions and 4 frauds an hour); the tolerances are the defaults. 20 seeds vary
the challengers' subsamples and LightGBM seed, the label delays, which legitimate rows are labelled, and the
canary salt. Other policies (and labels of the current stage only, instead of pooled; the policy without its
ranking check, the same-run baseline of that rule) are replayed on the same scores to show what the outcome
depends on. Each challenger is also classed by the whole live part: within the policy's tolerances of the
champion (precision, recall, alert rate at the served thresholds) or not, and its cost (missed fraud Amount +
5 per alert, the rule its threshold was chosen by). Figures, not asserts; writes benchmarks/out/rollout.json.

    .venv/bin/python benchmarks/rollout.py [--seeds 20] [--source PATH.csv.gz]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fraud_detection.application.rollout.ranks import alert_rates_at
from fraud_detection.application.train import FoldedData, TrainModel, labelled
from fraud_detection.domain.decision import flagged
from fraud_detection.domain.drift.estimate import estimate_performance
from fraud_detection.domain.errors import InsufficientDataError
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.rollout import (
    Action,
    CanaryRouter,
    PairedLabels,
    RoleEvidence,
    Rollout,
    RolloutEvidence,
    RolloutPolicy,
    Stage,
    judge,
)  # fmt: skip
from fraud_detection.domain.schema import LABEL, TIME, check_transactions
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.arrow.sources import FileTransactionSource
from fraud_detection.infrastructure.lightgbm import LightGBMTrainer

HERE = Path(__file__).resolve()
SOURCES = [parent / "shared" / "data" / "creditcard_real_sample.csv.gz" for parent in HERE.parents[1:4]]
WINDOW_SECONDS = 1_800.0
REVIEW_COST = 5.0  # FRAUD_REVIEW_COST's default: the cost rule the thresholds are chosen by
THREADS = 1  # measured faster than 2 on these few thousand rows (and the cores are shared)
LEGIT_LABELLED = 0.8
DELAY_HOURS = (1.0, 4.0)
# Scaled to the sample: the defaults (10,000 shadow rows, 2,000 labels, 24 h) exceed the live part.
SCALED = RolloutPolicy(
    min_shadow_hours=4.0, min_shadow_rows=1_000, min_labels=800, min_frauds=20, canary_steps=(10.0, 50.0),
    min_canary_hours=2.0, min_canary_rows=50, min_rows_for_rates=300,
)  # fmt: skip
FIRST = "scaled (defaults' tolerances)"
VARIANTS = {
    FIRST: SCALED,
    "min_frauds 40": replace(SCALED, min_frauds=40),
    "min_rows_for_rates 1,000 (default)": replace(SCALED, min_rows_for_rates=1_000),
    "tolerances 0.10": replace(SCALED, precision_tolerance=0.10, recall_tolerance=0.10),
    "tolerances 0.02": replace(SCALED, precision_tolerance=0.02, recall_tolerance=0.02),
    "alert-rate tolerance 1.0": replace(SCALED, alert_rate_tolerance=1.0),
    "labels of the current stage only": SCALED,
    "no ranking check (the policy before)": replace(SCALED, ranking_margin=1.0),
    "ranking margin 0.02": replace(SCALED, ranking_margin=0.02),
    "ranking margin 0.03": replace(SCALED, ranking_margin=0.03),
    "ranking margin 0.10": replace(SCALED, ranking_margin=0.10),
}
# Production pools the matured labels of every stage (application/rollout/evidence.py; both models score
# every transaction in every stage), so a canary step does not start again from no labels; this variant
# counts only the current stage's labels, as the first version of the policy did.
PER_STAGE = {"labels of the current stage only"}


@dataclass(frozen=True)
class Scored:
    """One model on the live part: scores, its served threshold, the weight its estimate undoes."""

    name: str
    scores: np.ndarray
    threshold: float
    positive_weight: float

    @property
    def alerts(self) -> np.ndarray:
        return flagged(self.scores, self.threshold)

    def quality(self, labels: np.ndarray, amounts: np.ndarray) -> dict[str, float]:
        alerts, frauds = self.alerts, labels == 1
        hits = int(np.count_nonzero(alerts & frauds))
        return {
            "cost": float(amounts[frauds & ~alerts].sum() + REVIEW_COST * alerts.sum()),
            "auprc": average_precision(labels, self.scores),
            "precision": hits / max(int(alerts.sum()), 1),
            "recall": hits / max(int(frauds.sum()), 1),
            "alert_rate": float(alerts.mean()),
        }


def train(name: str, frame: pd.DataFrame, live: pd.DataFrame, seed: int) -> Scored:
    data = FoldedData.of(time_ordered_folds(frame, FoldPolicy()))
    result = TrainModel(
        LightGBMTrainer(), TrainingParams(seed=seed, threads=THREADS), review_cost=REVIEW_COST
    )(data)
    scores = result.model.predict_proba(labelled(live).features)
    return Scored(name, scores, result.threshold.threshold, result.params.scale_pos_weight)


def worse_rows(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = frame.iloc[np.sort(rng.choice(len(frame), int(0.15 * len(frame)), replace=False))].copy()
    y = rows[LABEL].to_numpy().copy()
    frauds, legit = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    moved = round(0.4 * len(frauds))
    y[rng.choice(frauds, moved, replace=False)] = 0
    y[rng.choice(legit, moved, replace=False)] = 1
    rows[LABEL] = y
    return rows


def worse(training: pd.DataFrame, live: pd.DataFrame, rng: np.random.Generator, seed: int) -> Scored:
    """A draw whose folds the trainer refuses (an evaluation block with no fraud) is drawn again, as an
    operator would re-extract."""
    for _ in range(10):
        try:
            return train("worse", worse_rows(training, rng), live, seed)
        except InsufficientDataError:
            continue
    raise SystemExit("no trainable worse subsample in 10 draws")


@dataclass(frozen=True)
class Stream:
    """The live part as the rollout meets it: times, labels, when each label arrives (inf: never)."""

    times: np.ndarray
    labels: np.ndarray
    arrives: np.ndarray
    keys: list[str]

    @classmethod
    def of(cls, live: pd.DataFrame, rng: np.random.Generator) -> Stream:
        times, labels = live[TIME].to_numpy(dtype=np.float64), live[LABEL].to_numpy(dtype=np.int64)
        delay = rng.uniform(*DELAY_HOURS, len(live)) * 3_600
        kept = (labels == 1) | (rng.random(len(live)) < LEGIT_LABELLED)
        keys = [f"txn-{int(i)}" for i in live.index]
        return cls(times, labels, np.where(kept, times + delay, np.inf), keys)


def paired_labels(
    stream: Stream, rows: slice, now: float, challenger: Scored, champion: Scored
) -> PairedLabels:
    """As production gathers them: counts on the labelled rows, ranks over every row both scored."""
    mine, theirs = challenger.alerts[rows], champion.alerts[rows]
    arrived = stream.arrives[rows] <= now
    y, a, b = stream.labels[rows][arrived] == 1, mine[arrived], theirs[arrived]
    frauds = arrived & (stream.labels[rows] == 1)

    def count(mask: np.ndarray) -> int:
        return int(np.count_nonzero(mask))

    ranks = zip(
        alert_rates_at(challenger.scores[rows], challenger.scores[rows][frauds]).tolist(),
        alert_rates_at(champion.scores[rows], champion.scores[rows][frauds]).tolist(),
        strict=True,
    )
    return PairedLabels(
        labelled=int(arrived.sum()), frauds=count(y),
        caught_by_both=count(y & a & b), caught_by_challenger_only=count(y & a & ~b),
        caught_by_champion_only=count(y & ~a & b), false_alarms_of_challenger_only=count(~y & a & ~b),
        false_alarms_of_champion_only=count(~y & ~a & b), false_alarms_of_both=count(~y & a & b),
        champion_alert_rate=float(theirs.mean()) if len(theirs) else None, fraud_alert_rates=tuple(ranks),
    )  # fmt: skip


def role(model: Scored, version: int, rows: slice) -> RoleEvidence:
    estimate = estimate_performance(model.scores[rows], model.threshold, model.positive_weight)
    return RoleEvidence(version, estimate.rows, estimate.alerts, 0, estimate.precision, estimate.recall)


def replay(
    stream: Stream, champion: Scored, challenger: Scored, policy: RolloutPolicy, salt: str, pooled: bool
) -> dict[str, Any]:
    """Stream the live part window by window through `judge`; the outcome and what it took."""
    start = float(stream.times[0])
    rollout = Rollout.start("fraud", 2, 1, start)
    served = np.zeros(len(stream.times), dtype=bool)  # served by the challenger
    mine, theirs = challenger.alerts, champion.alerts
    stage_start, done, now = 0, 0, start
    verdict = None
    while done < len(stream.times) and rollout.active:
        now += WINDOW_SECONDS
        end = int(np.searchsorted(stream.times, now, side="right"))
        if rollout.stage is Stage.CANARY:
            routes = CanaryRouter(rollout.canary_percent, salt)
            served[done:end] = [routes(k) for k in stream.keys[done:end]]
        done, rows = end, slice(stage_start, end)
        pairs = slice(0, end) if pooled else rows  # the rows whose labels count
        paired = end - stage_start
        correlation = (
            float(spearmanr(challenger.scores[rows], champion.scores[rows])[0]) if paired > 2 else None
        )
        evidence = RolloutEvidence(
            champion=role(champion, 1, rows), challenger=role(challenger, 2, rows), paired_rows=paired,
            agreement=float(np.mean(mine[rows] == theirs[rows])) if paired else None,
            score_correlation=correlation,
            labels=paired_labels(stream, pairs, now, challenger, champion),
            canary_rows=int(served[rows].sum()),
        )  # fmt: skip
        verdict = judge(rollout, evidence, policy, now)
        if verdict.action is not Action.HOLD and verdict.to is not None:
            rollout = rollout.moved(verdict.to, verdict.percent, verdict.reason, now, evidence.to_dict())
            stage_start = end
    seen = paired_labels(stream, slice(0, done), now, challenger, champion)
    checks = verdict.checks if verdict is not None else ()
    return {
        "outcome": {Stage.CHAMPION: "promoted", Stage.ROLLED_BACK: "rolled back"}.get(rollout.stage, "held"),
        "stage": str(rollout.stage), "hours": (now - start) / 3_600, "canary_served": int(served.sum()),
        "labelled": seen.labelled, "frauds": seen.frauds, "reason": "" if verdict is None else verdict.reason,
        "harmful": [c.name for c in checks if c.harmful], "waiting": [c.name for c in checks if not c.passed],
        "stages": [f"{t.to_stage}{f' {t.percent:g}%' if t.percent else ''}" for t in rollout.history[1:]],
    }  # fmt: skip


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def spread(key: str, outcome: str) -> dict[str, float] | None:
        values = [r[key] for r in runs if r["outcome"] == outcome]
        return (
            {"median": float(np.median(values)), "min": min(values), "max": max(values)} if values else None
        )

    counts = {name: sum(r["outcome"] == name for r in runs) for name in ("promoted", "held", "rolled back")}
    return counts | {
        f"{outcome}_{key}": spread(key, outcome)
        for outcome in ("promoted", "rolled back") for key in ("labelled", "frauds", "hours")
    }  # fmt: skip


def acceptable(challenger: Scored, champion: Scored, labels: np.ndarray, amounts: np.ndarray) -> bool:
    """Whether the challenger is within the policy's tolerances of the champion on the whole live part at
    the served thresholds: what the policy should find out from its share of the labels."""
    mine, theirs = challenger.quality(labels, amounts), champion.quality(labels, amounts)
    return bool(
        mine["recall"] - theirs["recall"] >= -SCALED.recall_tolerance
        and mine["precision"] - theirs["precision"] >= -SCALED.precision_tolerance
        and abs(mine["alert_rate"] / theirs["alert_rate"] - 1) <= SCALED.alert_rate_tolerance
    )


def load(source: Path | None) -> pd.DataFrame:
    path = source or next((p for p in SOURCES if p.exists()), None)
    if path is None or not path.exists():
        raise SystemExit(f"no real rows at {source or SOURCES[0]}")
    frame = check_transactions(FileTransactionSource().read(str(path)), str(path))
    return frame.sort_values(TIME, kind="stable").reset_index(drop=True)


def real_rows_parser(description: str | None, seeds: int, output: str) -> argparse.ArgumentParser:
    """The options every benchmark on the shared real rows takes: where the rows are, how many seeds,
    where the JSON goes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path)
    parser.add_argument("--seeds", type=int, default=seeds)
    parser.add_argument("--output", type=Path, default=Path(output))
    return parser


def main() -> None:
    options = real_rows_parser(__doc__, 20, "benchmarks/out/rollout.json").parse_args()
    started = time.perf_counter()
    frame = load(options.source)
    a, b = int(0.5 * len(frame)), int(0.65 * len(frame))
    training, recent, live = frame.iloc[:a], frame.iloc[a:b], frame.iloc[b:]
    labels, amounts = live[LABEL].to_numpy(dtype=np.int64), live["Amount"].to_numpy(dtype=np.float64)
    for name, part in (("training", training), ("recent", recent), ("live", live)):
        hours = (part[TIME].iloc[-1] - part[TIME].iloc[0]) / 3_600
        print(f"{name:<9} {len(part):>6,} rows {int(part[LABEL].sum()):>4} frauds {hours:5.1f} h of Time")
    champion = train("champion", training, live, seed=42)
    fit, scored = labelled(training), labelled(live)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5_000)).fit(
        fit.features, fit.labels
    )
    regression = average_precision(labels, logistic.predict_proba(scored.features)[:, 1])
    quality: dict[str, Any] = {"champion": champion.quality(labels, amounts), "better": [], "worse": []}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {v: {"better": [], "worse": []} for v in VARIANTS}
    both = pd.concat([training, recent])
    for seed in range(options.seeds):
        rng = np.random.default_rng(seed)
        newer = both.iloc[np.sort(rng.choice(len(both), int(0.9 * len(both)), replace=False))]
        challengers = {
            "better": train("better", newer, live, seed),
            "worse": worse(training, live, rng, seed),
        }
        stream = Stream.of(live, rng)
        line = []
        for kind, challenger in challengers.items():
            ok = acceptable(challenger, champion, labels, amounts)
            quality[kind].append(challenger.quality(labels, amounts) | {"acceptable": ok})
            for variant, policy in VARIANTS.items():
                runs[variant][kind].append(
                    replay(stream, champion, challenger, policy, f"rollout-{seed}", variant not in PER_STAGE)
                )
            q = quality[kind][-1]
            line.append(
                f"{kind} AUPRC {q['auprc']:.3f} P {q['precision']:.3f} R {q['recall']:.3f} "
                f"cost {q['cost']:>5.0f} {'ok ' if ok else 'bad'} -> {runs[FIRST][kind][-1]['outcome']:<11}"
            )
        print(f"seed {seed:>2}: " + " | ".join(line), flush=True)
    print(f"\nlive part, at each model's own threshold: logistic regression AUPRC {regression:.3f}")
    report(quality, runs)
    results = {
        "policy": asdict(SCALED), "variants": {name: asdict(p) for name, p in VARIANTS.items()},
        "window_seconds": WINDOW_SECONDS, "legit_labelled": LEGIT_LABELLED, "delay_hours": DELAY_HOURS,
        "logistic_regression_auprc": regression, "quality": quality, "runs": runs,
        "summary": {v: {k: summary(r) for k, r in kinds.items()} for v, kinds in runs.items()},
        "seconds": time.perf_counter() - started,
    }  # fmt: skip
    options.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = options.output.with_suffix(".tmp")
    temporary.write_text(json.dumps(results, indent=2, default=float))
    temporary.replace(options.output)
    print(f"{time.perf_counter() - started:.0f} s; figures: {options.output}")


def report(quality: dict[str, Any], runs: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    def median(kind: str, key: str) -> str:
        values = [q[key] for q in quality[kind]]
        return f"{np.median(values):.3f} ({min(values):.3f}..{max(values):.3f})"

    c = quality["champion"]
    print(f"  champion  AUPRC {c['auprc']:.3f}  precision {c['precision']:.3f}  recall {c['recall']:.3f}  "
          f"alert rate {c['alert_rate']:.4f}  cost {c['cost']:.0f}")  # fmt: skip
    for kind in ("better", "worse"):
        found = quality[kind]
        print(f"  {kind:<9} AUPRC {median(kind, 'auprc')}  precision {median(kind, 'precision')}  "
              f"recall {median(kind, 'recall')}  alert rate {median(kind, 'alert_rate')}  "
              f"cost {median(kind, 'cost')} (median, range over seeds)")  # fmt: skip
        higher, cheaper = (
            sum(q["auprc"] > c["auprc"] for q in found),
            sum(q["cost"] < c["cost"] for q in found),
        )
        print(
            f"            higher AUPRC than the champion in {higher}, lower cost in {cheaper}, within the "
            f"policy's tolerances (P, R, alert rate) in {sum(q['acceptable'] for q in found)} of {len(found)}"
        )
    print(
        "\n[a/b/c]: promoted/rolled back/of the challengers within the policy's tolerances on the whole live "
        "part | of the others"
    )
    print(
        f"{'policy':<36} challenger promoted held rolled-back  labels / frauds when decided (median (range))"
    )
    for variant, kinds in runs.items():
        for kind, found in kinds.items():
            s = summary(found)
            decided = "promoted" if kind == "better" else "rolled back"
            rows, frauds = s[f"{decided}_labelled"], s[f"{decided}_frauds"]
            shown = "-" if rows is None else (
                f"{rows['median']:.0f} ({rows['min']}..{rows['max']}) / "
                f"{frauds['median']:.0f} ({frauds['min']}..{frauds['max']})"
            )  # fmt: skip
            split = []
            for within in (True, False):
                part = [r for r, q in zip(found, quality[kind], strict=True) if q["acceptable"] is within]
                up, back = (sum(r["outcome"] == o for r in part) for o in ("promoted", "rolled back"))
                split.append(f"{up}/{back}/{len(part)}")
            print(f"{variant:<36} {kind:<10} {s['promoted']:>8} {s['held']:>4} {s['rolled back']:>11}  "
                  f"{decided}: {shown}  [{' | '.join(split)}]")  # fmt: skip


if __name__ == "__main__":
    main()
