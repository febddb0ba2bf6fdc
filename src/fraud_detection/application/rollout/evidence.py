"""`GatherEvidence`: both models' captured scores since the stage began, paired by transaction id, and the
matured labels on the transactions both scored since the rollout began (what `domain.rollout.judge`
decides on).

Served captures ("predictions") hold the answer given: the champion's, or the challenger's on canary rows.
Shadow captures (SHADOW_CAPTURE_PREFIX) hold the other model's score of the same request; a scoring that
failed or ran out of time is a shadow row with probability NaN (an error of that version). Everything is
column arithmetic on NumPy arrays: 100,000 captured rows take a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from fraud_detection.application.rollout.ranks import alert_rates_at, spearman
from fraud_detection.domain.drift.estimate import PerformanceEstimate, calibrated
from fraud_detection.domain.errors import TooManyCapturedRowsError
from fraud_detection.domain.feedback import TimeWindow
from fraud_detection.domain.ports.drift import (
    NO_TRANSACTION_KEY,
    CapturedPredictions,
    CapturedRows,
    transaction_keys,
)
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.domain.rollout import PairedLabels, RoleEvidence, Rollout, RolloutEvidence


@dataclass(frozen=True)
class _Scores:
    """One version's scorings of the stage: every finite one, and those with a transaction id (the first
    scoring of each id), sorted by id for pairing."""

    version: int
    rows: int
    alerts: int
    errors: int
    probabilities: np.ndarray
    decisions: np.ndarray
    ids: np.ndarray  # `transaction_keys` of the ids, sorted, unique
    id_probabilities: np.ndarray
    id_decisions: np.ndarray


class GatherEvidence:
    def __init__(
        self,
        served: CapturedPredictions,
        shadow: CapturedPredictions,
        feedback: FeedbackStore,
        positive_weight: Callable[[int], float] | None = None,
        max_rows: int | None = None,
    ) -> None:
        """`positive_weight`: a version's training weight of positives, undone before estimating its
        precision and recall (1.0, i.e. calibrated, when not given). `max_rows`: the most captured rows,
        served and shadow together, a gathering reads before it gives up with `TooManyCapturedRowsError`
        (the API's bound on the memory a status takes next to its traffic; None: no bound)."""
        self._served, self._shadow, self._feedback = served, shadow, feedback
        self._weight = positive_weight or (lambda version: 1.0)
        self._max_rows = max_rows

    def __call__(self, rollout: Rollout, now: float) -> RolloutEvidence:
        """Rates, agreement and canary volume over the current stage; matured labels over the whole
        rollout. Labels arrive hours or days after scoring, so a canary step rarely has labelled frauds of
        its own: pooled since the start, the realised checks keep judging at every step
        (benchmarks/rollout.py: with labels per stage, 2 of 18 out-of-tolerance challengers were promoted;
        pooled, none)."""
        start, until = _moment(rollout.started_at), _moment(now)
        read = self._read(rollout, start, until)  # the captured rows are let go before the rank arithmetic
        pairs = _paired(read.challenger, read.champion)
        agreement = float(np.mean(pairs.challenger == pairs.champion)) if len(pairs.ids) else None
        return RolloutEvidence(
            champion=self._role(read.champion, read.champion_latency),
            challenger=self._role(read.challenger, read.challenger_latency),
            paired_rows=len(pairs.ids),
            agreement=agreement,
            score_correlation=spearman(pairs.challenger_scores, pairs.champion_scores),
            labels=self._labels(pairs if read.whole is None else read.whole, TimeWindow(start, until)),
            canary_rows=read.canary_rows,
        )

    def _read(self, rollout: Rollout, start: datetime, until: datetime) -> _Read:
        """Both versions' scorings of the stage, and the pairs of the whole rollout when it began before
        this stage. No inputs, ids as keys: days of traffic, read in the API's process too
        (`GET /admin/rollout`)."""
        served_all, shadow_all = self._read_scores(start, until)
        name, stage = rollout.model_name, _moment(rollout.stage_since)
        served, shadow = _since(served_all, stage), _since(shadow_all, stage)
        champion = _scores(rollout.champion or 0, name, served, shadow)
        challenger = _scores(rollout.challenger, name, served, shadow)
        whole = None  # in the first stage (every row is of this stage): the stage's pairs
        if served is not served_all or shadow is not shadow_all:
            whole = _paired(
                _scores(rollout.challenger, name, served_all, shadow_all),
                _scores(rollout.champion or 0, name, served_all, shadow_all),
            )
        return _Read(
            champion=champion,
            challenger=challenger,
            whole=whole,
            champion_latency=_latency(served, champion.version, name),
            challenger_latency=_latency(served, challenger.version, name),
            canary_rows=_finite_rows_of(served, rollout.challenger, name),
        )

    def _read_scores(self, start: datetime, until: datetime) -> tuple[CapturedRows, CapturedRows]:
        """Served then shadow rows of the rollout, within `max_rows` together."""
        limit = self._max_rows
        try:
            served = self._served.read_scores(start, until, limit)
            shadow = self._shadow.read_scores(start, until, None if limit is None else limit - len(served))
        except TooManyCapturedRowsError as error:  # named with the whole limit, not the shadow's share
            raise TooManyCapturedRowsError(error.limit if limit is None else limit) from None
        return served, shadow

    def _role(self, scores: _Scores, latency: tuple[float | None, int]) -> RoleEvidence:
        chance = calibrated(scores.probabilities, self._weight(scores.version)) if scores.rows else None
        estimate = PerformanceEstimate(
            rows=scores.rows,
            alerts=scores.alerts,
            expected_frauds=float(chance.sum()) if chance is not None else 0.0,
            expected_true_positives=float(chance[scores.decisions].sum()) if chance is not None else 0.0,
        )
        return RoleEvidence(
            version=scores.version,
            rows=scores.rows,
            alerts=scores.alerts,
            errors=scores.errors,
            estimated_precision=estimate.precision,
            estimated_recall=estimate.recall,
            latency_p99_ms=latency[0],
            latency_rows=latency[1],
        )

    def _labels(self, paired: _Pairs, window: TimeWindow) -> PairedLabels:
        records = list(self._feedback.labelled_in(window))
        if not records or not len(paired.ids):
            return PairedLabels()
        ids = transaction_keys(record.transaction_id for record in records)
        fraud = np.array([record.is_fraud for record in records], dtype=bool)
        ids, first = np.unique(ids, return_index=True)
        fraud = fraud[first]
        at_label, at_pair = _common(ids, paired.ids)
        y, h, c = fraud[at_label], paired.challenger[at_pair], paired.champion[at_pair]
        frauds = at_pair[y]

        def count(mask: np.ndarray) -> int:
            return int(np.count_nonzero(mask))

        ranks = zip(
            alert_rates_at(paired.challenger_scores, paired.challenger_scores[frauds]).tolist(),
            alert_rates_at(paired.champion_scores, paired.champion_scores[frauds]).tolist(),
            strict=True,
        )
        return PairedLabels(
            labelled=len(y),
            frauds=count(y),
            caught_by_both=count(y & h & c),
            caught_by_challenger_only=count(y & h & ~c),
            caught_by_champion_only=count(y & ~h & c),
            false_alarms_of_challenger_only=count(~y & h & ~c),
            false_alarms_of_champion_only=count(~y & ~h & c),
            false_alarms_of_both=count(~y & h & c),
            champion_alert_rate=float(np.mean(paired.champion)),
            fraud_alert_rates=tuple(ranks),
        )


@dataclass(frozen=True)
class _Pairs:
    """The transactions both scored since the rollout began: ids, each model's decision and score."""

    ids: np.ndarray
    challenger: np.ndarray
    champion: np.ndarray
    challenger_scores: np.ndarray
    champion_scores: np.ndarray


@dataclass(frozen=True)
class _Read:
    """What the evidence keeps of the captured rows: per version, not per row read."""

    champion: _Scores
    challenger: _Scores
    whole: _Pairs | None  # the pairs since the rollout began, when it began before this stage
    champion_latency: tuple[float | None, int]
    challenger_latency: tuple[float | None, int]
    canary_rows: int


def _paired(challenger: _Scores, champion: _Scores) -> _Pairs:
    mine, theirs = _common(challenger.ids, champion.ids)
    return _Pairs(
        challenger.ids[mine],
        challenger.id_decisions[mine],
        champion.id_decisions[theirs],
        challenger.id_probabilities[mine],
        champion.id_probabilities[theirs],
    )


def _common(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the keys both sorted, unique arrays hold sit in each, in key order: a binary search of one in
    the other (intersect1d sorts both together: five copies of the keys, and slower)."""
    if not len(left) or not len(right):
        return np.empty(0, np.intp), np.empty(0, np.intp)
    at = np.searchsorted(right, left)
    at[at == len(right)] = 0  # past the end: not there (checked below like any other position)
    found = right[at] == left
    return np.flatnonzero(found), at[found]


def _since(rows: CapturedRows, moment: datetime) -> CapturedRows:
    """The rows scored at or after `moment` (captures are UTC datetime64[us])."""
    keep = rows.scored_at >= np.datetime64(moment.replace(tzinfo=None), "us")
    return rows if keep.all() else rows.take(keep)


def _scores(version: int, name: str, served: CapturedRows, shadow: CapturedRows) -> _Scores:
    """One version's scorings, each column copied once: over days of traffic, every copy is ~10 bytes a
    transaction more in the API's memory (benchmarks/captured_reads.py, "status")."""
    picked = [(rows, _of(rows, version, name)) for rows in (served, shadow)]
    kept = [(rows, mask & np.isfinite(rows.probabilities)) for rows, mask in picked]
    errors = sum(int(np.count_nonzero(mask)) for _, mask in picked) - sum(
        int(np.count_nonzero(mask)) for _, mask in kept
    )
    probabilities = np.concatenate([rows.probabilities[mask] for rows, mask in kept])
    decisions = np.concatenate([rows.decisions[mask] for rows, mask in kept]).astype(bool, copy=False)
    keys = np.concatenate([rows.id_keys()[mask] for rows, mask in kept])
    del picked, kept
    has_id = keys != NO_TRANSACTION_KEY
    if has_id.all():  # the usual case: every client sent an id
        ids, first = np.unique(keys, return_index=True)  # a retried id: its first scoring
        id_probabilities, id_decisions = probabilities[first], decisions[first]
        kept_probabilities, kept_decisions = id_probabilities, id_decisions
    else:
        ids, first = np.unique(keys[has_id], return_index=True)
        id_probabilities, id_decisions = probabilities[has_id][first], decisions[has_id][first]
        kept_probabilities = np.concatenate([probabilities[~has_id], id_probabilities])
        kept_decisions = np.concatenate([decisions[~has_id], id_decisions])
    return _Scores(
        version=version,
        rows=len(kept_probabilities),
        alerts=int(np.count_nonzero(kept_decisions)),
        errors=errors,
        probabilities=kept_probabilities,
        decisions=kept_decisions,
        ids=ids,
        id_probabilities=id_probabilities,
        id_decisions=id_decisions,
    )


def _of(rows: CapturedRows, version: int, name: str) -> np.ndarray:
    mask: np.ndarray = (rows.model_versions == version) & (rows.model_names == name)
    return mask


def _latency(served: CapturedRows, version: int, name: str) -> tuple[float | None, int]:
    """p99 of the model's time over the version's served rows that were scored alone (rows of a batch, and
    captures made before the time was recorded, have none)."""
    if served.model_ms is None:
        return None, 0
    times = served.model_ms[_of(served, version, name)]
    times = times[np.isfinite(times)]
    p99 = float(np.percentile(times, 99)) if len(times) else None
    return p99, len(times)


def _finite_rows_of(rows: CapturedRows, version: int, name: str) -> int:
    return int(np.count_nonzero(_of(rows, version, name) & np.isfinite(rows.probabilities)))


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
