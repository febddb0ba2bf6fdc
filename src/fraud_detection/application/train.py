"""Train: select on time-ordered folds, refit on every labelled row, threshold from the out-of-fold scores.

For each imbalance strategy, one model per fold is fitted on the rows before its evaluation block; the
number of rounds is the minimum of the fold-averaged evaluation log-loss; the out-of-fold scores at that
number of rounds rank the strategies (AUPRC pooled over the folds) and give the threshold (the cost rule)
and the reported, out-of-time metrics. The model that is registered is then refit on every row, the newest
included: in fraud the newest rows are the most valuable, and a model fitted on an earlier share of them
never learns what has just changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from fraud_detection.domain.features import build_features
from fraud_detection.domain.folds import Fold, FoldPolicy, TimeFolds
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.ports.modelling import FraudModel, ModelTrainer, RoundCallback
from fraud_detection.domain.schema import AMOUNT, LABEL, TIME
from fraud_detection.domain.selection import refit_rounds, rounds_by_mean_loss
from fraud_detection.domain.threshold import ThresholdChoice, choose_threshold
from fraud_detection.domain.training import LabelledData, TrainingParams
from fraud_detection.domain.training_config import training_config


def labelled(frame: pd.DataFrame) -> LabelledData:
    """Features, labels and amounts (the fraud loss of the cost rule) of a slice of transactions."""
    return LabelledData(
        features=build_features(frame),
        labels=frame[LABEL].to_numpy(dtype="float64"),
        amounts=frame[AMOUNT].to_numpy(dtype="float64"),
    )


@dataclass(frozen=True)
class FoldedData:
    """Every labelled row in time order, and the folds over it."""

    data: LabelledData
    folds: TimeFolds

    @classmethod
    def of(cls, folds: TimeFolds) -> FoldedData:
        return cls(labelled(folds.ordered), folds)

    def parts(self, fold: Fold) -> tuple[LabelledData, LabelledData]:
        return self.data.take(fold.fit), self.data.take(fold.evaluate)

    @cached_property
    def out_of_fold(self) -> LabelledData:
        return self.data.take(self.folds.out_of_fold)


@dataclass(frozen=True)
class Candidate:
    """One imbalance strategy tried: its positive-class weight, the rounds the folds chose, and the AUPRC of
    its out-of-fold scores (pooled, and per fold)."""

    strategy: str
    scale_pos_weight: float
    oof_auprc: float
    rounds: int
    fold_auprc: tuple[float, ...]


@dataclass(frozen=True)
class TrainingResult:
    model: FraudModel  # refit on every row
    params: TrainingParams
    chosen: Candidate
    candidates: tuple[Candidate, ...]
    threshold: ThresholdChoice  # chosen on the out-of-fold scores
    out_of_fold: LabelledData  # the rows scored out of fold, in time order
    oof_scores: np.ndarray  # their scores, each from the fold model that never saw the row
    refit_rounds: int
    mean_fold_fit_rows: float


def imbalance_strategies(train: LabelledData) -> list[tuple[str, float]]:
    """Unweighted, and positives up-weighted by sqrt(negatives/positives) (a milder form of LightGBM's
    is_unbalance, which over-weights at a 0.17% fraud rate and lowered AUPRC on the real rows)."""
    positives = max(train.frauds, 1)
    return [("none", 1.0), ("sqrt_balanced", math.sqrt((len(train) - positives) / positives))]


Progress = Callable[[str], None]


def _silent(message: str) -> None:
    """No progress shown (tests, library use)."""


# Within one fit, a line this often: a fold's fit on 2.85M rows ran for minutes with nothing shown. A fit
# quicker than this (the default dataset's) adds no line.
ROUND_REPORT_SECONDS = 15.0


class TrainModel:
    def __init__(
        self,
        trainer: ModelTrainer,
        params: TrainingParams,
        review_cost: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._trainer = trainer
        self._params = params
        self._review_cost = review_cost
        self._clock = clock

    def _elapsed(self, started: float) -> str:
        return f" ({self._clock() - started:.0f} s in)"

    def _rounds(self, progress: Progress, fit: str, started: float, most: str = "/") -> RoundCallback | None:
        """Tells `progress` the round a fit has reached, every ROUND_REPORT_SECONDS of it (silent: no
        callback at all, so the trainer does not call one per round)."""
        if progress is _silent:
            return None
        last = self._clock()

        def told(done: int, rounds: int) -> None:
            nonlocal last
            now = self._clock()
            if now - last < ROUND_REPORT_SECONDS:
                return
            last = now
            progress(f"{fit}: round {done}{most}{rounds} ({now - started:.0f} s in)")

        return told

    def config(self, folds: FoldPolicy) -> dict[str, object]:
        """What this trainer with `folds` makes of a dataset (domain/training_config.py)."""
        return training_config(self._params, folds, self._review_cost)

    def __call__(self, data: FoldedData, progress: Progress = _silent) -> TrainingResult:
        """`progress`: a line per fold fitted and before the refit (minutes each on millions of rows)."""
        tried: list[tuple[Candidate, TrainingParams, np.ndarray]] = []
        started = self._clock()
        for strategy, weight in imbalance_strategies(data.data):
            params = self._params.with_scale_pos_weight(weight)
            candidate, scores = self._cross_validate(data, strategy, params, progress, started)
            tried.append((candidate, params, scores))
        # max() keeps the first of equal scores: the unweighted model wins ties.
        chosen, params, oof_scores = max(tried, key=lambda entry: entry[0].oof_auprc)
        oof = data.out_of_fold
        mean_fit_rows = float(np.mean([len(fold.fit) for fold in data.folds.folds]))
        rounds = refit_rounds(chosen.rounds, mean_fit_rows, len(data.data))
        progress(
            f"refit on {len(data.data):,} rows, {rounds} rounds ({chosen.strategy} won)"
            f"{self._elapsed(started)}"
        )
        model = self._trainer.fit(data.data, params, rounds, self._rounds(progress, "refit", started))
        threshold = choose_threshold(oof.labels, oof_scores, oof.amounts, self._review_cost)
        candidates = tuple(candidate for candidate, _, _ in tried)
        return TrainingResult(
            model, params, chosen, candidates, threshold, oof, oof_scores, rounds, mean_fit_rows
        )

    def prequential_scores(
        self,
        data: FoldedData,
        result: TrainingResult,
        positions: np.ndarray,
        blocks: int,
        gap_seconds: float,
        progress: Progress = _silent,
    ) -> np.ndarray:
        """Scores of the rows at `positions` (ascending, in the time-ordered data), cut into `blocks`
        consecutive blocks, each scored by a model fit with the chosen settings on every row more than
        `gap_seconds` before the block: what the challenger makes of rows it has not seen, having learnt
        from all the rows before them. The gate uses it on the rows new to the champion, where the folds'
        models (whose blocks are wider) had seen few or none of the new rows before them."""
        times = data.folds.ordered[TIME].to_numpy(dtype=np.float64)
        scores = np.empty(len(positions), dtype=np.float64)
        done = 0
        started = self._clock()
        parts = np.array_split(np.asarray(positions), max(1, min(blocks, len(positions))))
        for number, block in enumerate(parts, start=1):
            if not len(block):
                continue
            end = int(np.searchsorted(times, times[block[0]] - gap_seconds, side="right"))
            fitted = np.arange(min(end, int(block[0])))
            rounds = refit_rounds(result.chosen.rounds, result.mean_fold_fit_rows, len(fitted))
            block_name = f"block {number}/{len(parts)}"
            progress(f"{block_name}: fitting on {len(fitted):,} rows{self._elapsed(started)}")
            told = self._rounds(progress, block_name, started)
            model = self._trainer.fit(data.data.take(fitted), result.params, rounds, told)
            scores[done : done + len(block)] = model.predict_proba(data.data.take(block).features)
            done += len(block)
        return scores

    def _cross_validate(
        self, data: FoldedData, strategy: str, params: TrainingParams, progress: Progress, started: float
    ) -> tuple[Candidate, np.ndarray]:
        fits, evaluations = [], []
        folds = data.folds.folds
        for number, fold in enumerate(folds, start=1):
            train, evaluate = data.parts(fold)
            fold_name = f"{strategy}: fold {number}/{len(folds)}"
            progress(f"{fold_name}, fitting on {len(train):,} rows{self._elapsed(started)}")
            told = self._rounds(progress, fold_name, started, most=" of at most ")
            fits.append(self._trainer.fit_fold(train, evaluate, params, told))
            evaluations.append(evaluate)
            # The rounds are chosen within the length every fold reached: rounds past the shortest curve
            # so far could never be chosen, so later folds stop there (on the default data this halved
            # the training time).
            params = replace(params, max_rounds=min(len(fit.valid_loss) for fit in fits))
        rounds = rounds_by_mean_loss([fit.valid_loss for fit in fits])
        fold_scores = [fit.scores(part.features, rounds) for fit, part in zip(fits, evaluations, strict=True)]
        per_fold = tuple(
            average_precision(part.labels, scores)
            for part, scores in zip(evaluations, fold_scores, strict=True)
        )
        scores = np.concatenate(fold_scores)
        pooled = average_precision(data.out_of_fold.labels, scores)
        return Candidate(strategy, params.scale_pos_weight, pooled, rounds, per_fold), scores
