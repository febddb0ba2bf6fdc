"""The promotion gate: champion and challenger scored on labelled rows neither was fitted on.

The challenger's rows are its out-of-fold rows: each was scored by the fold model that had only seen earlier
rows (the newest rows, where a retraining set's newly labelled transactions sit, by its last-fold model).
The champion was refit on every row of its own dataset, so only the rows that are not in that dataset are
fair: in a retrain, the newly labelled rows. When there are none, or they hold no fraud, the gate says so
and keeps the champion, unless forced: comparing a model on its own training rows says nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fraud_detection.application.champion import (
    PREVIOUS_CHAMPION_TAG,
    RolloutState,
    active_rollout_or_none,
    finish_champion_move,
    put_champion_back,
    rollout_holding_champion,
    set_champion,
    stored_history,
)
from fraud_detection.application.evaluate import EvaluateModel
from fraud_detection.domain.dataset import DatasetId
from fraud_detection.domain.errors import DatasetNotFoundError, RolloutRefusedError, UntrustedModelError
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.gate_confidence import metric_function, paired_bootstrap
from fraud_detection.domain.model import CHALLENGER, CHAMPION, GATE_DECISION_TAG, ModelVersion
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.promotion import PromotionDecision, PromotionPolicy, first_of_each, rows_not_in
from fraud_detection.domain.rollout import Rollout
from fraud_detection.domain.training import LabelledData

# Blocks of the rows new to the champion that the challenger scores one by one, each with a model fit on
# every row before it (see ChallengerEvidence.rescore): 4 keeps a retrain's extra fits to seconds.
GATE_BLOCKS = 4


@dataclass(frozen=True)
class ChallengerEvidence:
    """The challenger's out-of-fold rows: raw transactions, their features, scores and the out-of-time
    metrics over all of them. `rescore`, given a mask of those rows, scores them again in time-ordered
    blocks, each by a model fit on every row before it: a retrain's new rows fall in the folds' last block,
    whose model had seen few of them, so the fold scores would hide what the new rows teach (on the real
    rows with a held-out fraud pattern: fold scores AUPRC 0.756 against the champion's 0.782, block by
    block 0.807; see benchmarks/adaptation.py)."""

    rows: pd.DataFrame
    data: LabelledData
    scores: np.ndarray
    threshold: float
    metrics: dict[str, float]
    rescore: Callable[[np.ndarray], np.ndarray] | None = None


class PromoteChallenger:
    def __init__(
        self,
        registry: ModelRegistry,
        policy: PromotionPolicy,
        evaluate: EvaluateModel,
        publisher: EventPublisher,
        datasets: DatasetStore,
        start_rollout: Callable[[int, str], object] | None = None,
        rollout_state: RolloutState | None = None,
    ) -> None:
        """`start_rollout` (FRAUD_PROMOTION_MODE=staged): a challenger that passes the gate starts a shadow
        rollout against the champion (`version, reason`) instead of taking the champion alias at once.
        `rollout_state`: the stored rollout; while one is active, neither alias moves here."""
        self._registry = registry
        self._policy = policy
        self._evaluate = evaluate
        self._publisher = publisher
        self._datasets = datasets
        self._start_rollout = start_rollout
        self._rollout_state = rollout_state

    def rollout_in_progress(self) -> Rollout | None:
        """The active rollout, if any: its challenger keeps the `challenger` alias while it runs."""
        return active_rollout_or_none(self._rollout_state)

    def __call__(
        self, challenger: ModelVersion, evidence: ChallengerEvidence, force: bool = False
    ) -> PromotionDecision:
        return self.record(challenger, *self.decide(challenger, evidence, force))

    def decide(
        self, challenger: ModelVersion, evidence: ChallengerEvidence, force: bool = False
    ) -> tuple[PromotionDecision, ModelVersion | None]:
        """The decision and the champion it was taken against; reads only (a run may stop here). A
        challenger already champion is a retry of this stage after its alias moved (the registry failed
        later in `record`): it is decided again against the champion it replaced, so the retry records the
        same comparison; before, it compared the challenger with itself and recorded "no champion yet"."""
        champion = self._registry.get_by_alias(CHAMPION)
        if champion is not None and champion.version == challenger.version:
            replaced = champion.tags.get(PREVIOUS_CHAMPION_TAG, "")
            champion = self._registry.get(int(replaced)) if replaced.isdecimal() else None
        decision = self._decide(challenger, evidence, champion)
        if force and not decision.promote:
            decision = replace(
                decision,
                promote=True,
                forced=True,
                reason=f"forced by the operator; the gate said: {decision.reason}",
            )
        return decision, champion

    def record(
        self, challenger: ModelVersion, decision: PromotionDecision, champion: ModelVersion | None
    ) -> PromotionDecision:
        """Write the decision: a staged rollout or the champion alias (and its event), then the decision's
        tags, the reason before the decision (`GATE_DECISION_TAG`, read as "judged"). A process stopped
        between the alias and the tags is retried as one whose alias moved (`decide`); with the tags first,
        a version tagged `promote` never became champion, and every later retrain on its labels stopped as
        "already trained on". Under `champion_turn`, from the check of the champion to the move."""
        with self._registry.champion_turn():
            return self._record(challenger, decision, champion)

    def _record(
        self, challenger: ModelVersion, decision: PromotionDecision, champion: ModelVersion | None
    ) -> PromotionDecision:
        # Staged only against a champion that serves (one built for other features is simply replaced).
        staged = bool(
            decision.promote
            and self._start_rollout is not None
            and champion is not None
            and champion.metadata is not None
            and champion.metadata.feature_version == FEATURE_VERSION
        )
        if staged and self._start_rollout is not None:
            decision = self._staged(self._start_rollout, challenger.version, decision)
        elif decision.promote:
            decision = self._unless_rollout(challenger.version, decision)
            decision = self._unless_champion_moved(challenger.version, decision, champion)
        if not decision.promote:
            self._undo_earlier_move(challenger.version, champion)
        if decision.promote and not decision.staged:
            current = self._registry.get_by_alias(CHAMPION)
            if current is not None and current.version == challenger.version:  # moved by an earlier try
                replaced = champion.version if champion is not None else None
                finish_champion_move(
                    self._registry, self._publisher, challenger.version, replaced, decision.reason
                )
            else:
                set_champion(self._registry, self._publisher, challenger.version, decision.reason)
            self._registry.remove_alias(CHALLENGER)
        self._registry.set_tag(challenger.version, "promotion_reason", decision.reason)
        self._registry.set_tag(challenger.version, GATE_DECISION_TAG, decision.outcome)
        return decision

    def _undo_earlier_move(self, version: int, champion: ModelVersion | None) -> None:
        """A retry that now keeps the champion (its dataset or model became unreadable) while an earlier try
        had moved the alias: the alias and history go back, as a rollback leaves them, so the registry
        agrees with the decision recorded; before, the challenger served under "keep". Not while a rollout
        is active: one started meanwhile runs against the moved alias, and only it may move the alias now."""
        current = self._registry.get_by_alias(CHAMPION)
        if champion is None or current is None or current.version != version:
            return
        if active_rollout_or_none(self._rollout_state) is not None:  # the alias is the rollout's now
            return
        _, history = stored_history(self._registry, current).rollback(version, champion.version)
        reason = f"an earlier try's promotion of v{version} undone: its retry kept v{champion.version}"
        put_champion_back(self._registry, self._publisher, champion.version, history, version, reason)

    @staticmethod
    def _staged(
        start: Callable[[int, str], object], version: int, decision: PromotionDecision
    ) -> PromotionDecision:
        """Shadow first: the champion alias moves only when the rollout reaches champion. A rollout of
        another version under way keeps this one registered, not rolled out (an operator chooses)."""
        try:
            start(version, f"the promotion gate passed: {decision.reason}")
        except RolloutRefusedError as refused:
            reason = f"{decision.reason}; not rolled out: {refused} (`fraud rollout start {version}` later)"
            return replace(decision, promote=False, reason=reason)
        staged = f"{decision.reason}; staged: v{version} starts in shadow (`fraud rollout status`)"
        return replace(decision, reason=staged, staged=True)

    def _unless_rollout(self, version: int, decision: PromotionDecision) -> PromotionDecision:
        """A direct promotion (or a forced one) waits for an active rollout to end: the champion moves only
        through the rollout meanwhile (application/champion.py)."""
        why = rollout_holding_champion(self._rollout_state)
        if why is None:
            return decision
        reason = f"{decision.reason}; not promoted: {why} (then `fraud model promote {version}`)"
        return replace(decision, promote=False, reason=reason)

    def _unless_champion_moved(
        self, version: int, decision: PromotionDecision, champion: ModelVersion | None
    ) -> PromotionDecision:
        """Keep a champion that changed after the decision (an operator's promote or rollback while the gate
        ran): the challenger was not compared with it. Before, the gate replaced it silently, and the
        operator's move was undone under a reason naming the champion it had replaced."""
        current = self._registry.get_by_alias(CHAMPION)
        decided = champion.version if champion is not None else None
        if current is None or current.version in (version, decided):
            return decision
        moved = f"from v{decided}" if decided is not None else "from none"
        reason = (
            f"{decision.reason}; not promoted: the champion moved {moved} to v{current.version} while the "
            f"gate ran, and v{version} was not compared with it (`fraud model promote {version}` overrides)"
        )
        return replace(decision, promote=False, reason=reason)

    def _decide(
        self, challenger: ModelVersion, evidence: ChallengerEvidence, champion: ModelVersion | None
    ) -> PromotionDecision:
        metric = self._policy.metric
        if champion is None or champion.version == challenger.version:
            return self._policy.decide(evidence.metrics, None)
        keep = f"champion v{champion.version} kept (`fraud model promote {challenger.version}` overrides)"
        if champion.metadata is None and champion.metadata_problem:  # edited tags: a person decides
            reason = f"{keep}: {champion.metadata_problem}, so it is neither compared nor replaced"
            return PromotionDecision(False, reason, metric, evidence.metrics[metric], None)
        if champion.metadata is None or champion.metadata.feature_version != FEATURE_VERSION:
            built_for = champion.metadata.feature_version if champion.metadata else "unknown"
            reason = (
                f"champion v{champion.version} uses feature version {built_for}, this code computes "
                f"{FEATURE_VERSION}: it cannot be served or compared, so the challenger replaces it"
            )
            return PromotionDecision(True, reason, metric, evidence.metrics[metric], None)
        try:
            fitted = self._datasets.load(DatasetId(champion.metadata.dataset_id))
        except DatasetNotFoundError:
            reason = (
                f"{keep}: its training data, dataset {champion.metadata.dataset_id[:12]}, is not in the "
                "store, so no rows can be shown to be new to it"
            )
            return PromotionDecision(False, reason, metric, evidence.metrics[metric], None)
        new = rows_not_in(evidence.rows, fitted)
        unseen = new & first_of_each(evidence.rows)
        rows, frauds = int(unseen.sum()), int(evidence.data.labels[unseen].sum())
        copies = int(new.sum()) - rows
        if frauds == 0 or frauds == rows:
            # Why nothing: a ranking metric needs both classes ("15 rows, with 15 frauds: nothing to compare
            # on" read as a contradiction).
            if rows == 0:
                reason = (
                    f"{keep}: none of the challenger's out-of-fold rows is new to champion "
                    f"v{champion.version} (it was fitted on all of them): nothing to compare on"
                )
            else:
                missing = "no fraud" if frauds == 0 else "no legitimate row"
                reason = (
                    f"{keep}: the challenger's out-of-fold rows hold {rows:,} rows that champion "
                    f"v{champion.version} was not fitted on, with {frauds:,} frauds: {missing} among them, "
                    "so nothing to compare on"
                )
            return PromotionDecision(False, reason, metric, evidence.metrics[metric], None, rows, frauds)
        if frauds < self._policy.min_frauds:
            reason = (
                f"{keep}: the challenger's out-of-fold rows hold {rows:,} rows that champion "
                f"v{champion.version} was not fitted on, with {frauds:,} frauds, fewer than the "
                f"{self._policy.min_frauds} FRAUD_PROMOTION_MIN_FRAUDS asks for: too few to tell the better "
                "model; the next retrain compares again on every label gathered by then"
            )
            return PromotionDecision(False, reason, metric, evidence.metrics[metric], None, rows, frauds)
        data = evidence.data.take(np.flatnonzero(unseen))
        scores = evidence.rescore(unseen) if evidence.rescore else evidence.scores[unseen]
        mine = self._evaluate.of_scores(data, scores, evidence.threshold)
        try:
            champion_model = self._registry.load_model(champion)
        except UntrustedModelError as error:  # a security event: a person decides, not the gate
            reason = (
                f"{keep}: it failed its integrity check, so it was not loaded and nothing was compared "
                f"({error})"
            )
            return PromotionDecision(False, reason, metric, evidence.metrics[metric], None, rows, frauds)
        theirs = self._evaluate(champion_model, data, champion.metadata.threshold)
        described = f"{rows:,} labelled rows ({frauds:,} frauds) neither model was fitted on"
        if copies:
            described += f" ({copies:,} copies of them counted once)"
        confidence = paired_bootstrap(
            data.labels,
            (scores, evidence.threshold),
            (theirs.scores, champion.metadata.threshold),
            metric_function(metric, self._evaluate.top_k),
        )
        decision = self._policy.decide(
            mine.metrics.as_dict(), theirs.metrics.as_dict(), f"v{champion.version}", described, confidence
        )
        return replace(decision, rows=rows, frauds=frauds)
