"""`BuildRetrainingSet`: the dataset a retrain learns from, the champion's training data plus the recent
captured transactions that have been labelled through feedback.

Captured rows get `Time` values after the base data's last one, in the order they were scored, spaced at
the base data's mean interval between transactions (scoring times can bunch up: a backfill scores a day in
seconds, and the folds' gap after each boundary would then swallow every recent row). The folds are
time-ordered, so recent rows sit in the last blocks, scored out of fold, and the promotion gate compares
challenger and champion on them, the data that drifted; the refit learns from every one of them.
Rows without a label are left out: an unlabelled transaction is not known to be legit yet.

A retrain with nothing to gain is skipped, saying why, so repeated triggers cost nothing: a drift check
publishes `DriftDetected` every hour the model stays at risk, and a nightly schedule runs whatever arrived.
- While a rollout is active its challenger is being judged on live traffic, and no new challenger could be
  promoted before it ends (application/champion.py).
- When a registered version (of this feature version) was already trained on exactly this set (datasets
  are content-addressed), training is deterministic: it would register the same model for the same gate
  decision. The next label makes the set new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from fraud_detection.application.champion import RolloutState, rollout_holding_champion
from fraud_detection.domain.dataset import DatasetId, DatasetRef
from fraud_detection.domain.errors import IncompatibleModelError, ModelNotFoundError
from fraud_detection.domain.features import FEATURE_VERSION, SCORING_INPUTS
from fraud_detection.domain.model import CHAMPION, GATE_DECISION_TAG, REGISTRATION_FAILED_TAG, ModelVersion
from fraud_detection.domain.plausibility import MAX_STDS, implausible
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.drift import CapturedPredictions
from fraud_detection.domain.ports.feedback import FeedbackStore
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.promotion import rows_not_in
from fraud_detection.domain.schema import LABEL, TIME, TRANSACTION_COLUMNS, V_COLUMNS
from fraud_detection.domain.training_config import TRAINING_CONFIG_TAG, same_config

SECONDS_AFTER_BASE = 1.0
ID_COLUMN = "transaction_id"


def times_after(base_times: np.ndarray, count: int) -> np.ndarray:
    """`Time` values for `count` rows placed after the base rows, in order, at the base's mean interval."""
    interval = (base_times.max() - base_times.min()) / max(len(base_times) - 1, 1) or SECONDS_AFTER_BASE
    start = float(base_times.max()) + SECONDS_AFTER_BASE
    return start + interval * np.arange(count, dtype=np.float64)


@dataclass(frozen=True)
class RetrainingSet:
    base: DatasetRef
    # None: nothing to train (no labelled captured rows, a rollout under way, or `trained_as` has it all)
    dataset: DatasetRef | None
    labelled_rows: int
    labelled_frauds: int
    labels_without_capture: int  # labels whose captured row is outside the lookback or unreadable
    detail: str
    trained_as: int | None = None  # the registered version already trained on exactly this set
    # What it learnt from, for the run's record (`retraining/labels.json`): the labelled rows joined, as
    # (transaction id, is fraud, labelled at), and the start of the lookback window they were read from.
    labels: tuple[tuple[str, bool, str], ...] = ()
    since: str = ""

    def lineage(self) -> dict[str, object]:
        """Which labels a retrain used, up to when: a challenger's record must say what it learnt from."""
        return {
            "base_dataset": self.base.id.value,
            "dataset": None if self.dataset is None else self.dataset.id.value,
            "lookback_since": self.since,
            "labels": [
                {"transaction_id": tid, "is_fraud": fraud, "labelled_at": at}
                for tid, fraud, at in self.labels
            ],
        }


class BuildRetrainingSet:
    def __init__(
        self,
        registry: ModelRegistry,
        datasets: DatasetStore,
        captured: CapturedPredictions,
        feedback: FeedbackStore,
        lookback_days: float,
        rollout_state: RolloutState | None = None,
        config: Mapping[str, object] | None = None,
    ) -> None:
        """`config`: the training configuration a retrain would use (domain/training_config.py); a version
        trained on the same set with another one does not make the retrain redundant."""
        self._registry, self._datasets, self._captured, self._feedback = (
            registry,
            datasets,
            captured,
            feedback,
        )
        self._lookback_days, self._lookback = lookback_days, timedelta(days=lookback_days)
        self._rollout_state = rollout_state
        self._config = config

    def __call__(
        self, now: datetime | None = None, progress: Callable[[str], None] = lambda message: None
    ) -> RetrainingSet:
        """`progress`: a line before each long read or write (the captured weeks, the base dataset, the new
        one): on millions of rows each takes minutes, silent before."""
        since = (now or datetime.now(UTC)) - self._lookback
        started = time.monotonic()

        def step(message: str) -> None:
            progress(f"{message} ({time.monotonic() - started:.0f} s in)")

        base = self._base()
        held = rollout_holding_champion(self._rollout_state)
        if held is not None:
            return RetrainingSet(base, None, 0, 0, 0, f"nothing to retrain now: {held}")
        step("reading the labels")
        records = {record.transaction_id: record for record in self._feedback.labels()}
        labels = {transaction_id: record.is_fraud for transaction_id, record in records.items()}
        step(f"reading the captured rows of the last {self._lookback_days:g} days for {len(labels):,} labels")
        recent = self._labelled_rows(labels, since)
        found = len(recent)
        if not found:
            detail = (
                f"no labelled captured transactions in the last {self._lookback_days:g} days "
                f"({len(labels):,} labels in all); nothing new to learn from"
            )
            return RetrainingSet(base, None, 0, 0, len(labels), detail)
        step(f"{found:,} labelled captured rows; reading dataset {base.id.short} ({base.rows:,} rows)")
        frame = self._datasets.load(base.id)
        # Labelled rows the base already holds (a promoted retrain's set is the next base) join once only.
        recent = recent.loc[rows_not_in(recent, frame)].reset_index(drop=True)
        errors = implausible(recent[list(V_COLUMNS)].to_numpy())
        left_out = _left_out(recent.loc[errors, ID_COLUMN].tolist())
        recent = recent.loc[~errors].reset_index(drop=True)
        matched, unmatched = len(recent), len(labels) - found
        if not matched:
            if left_out:
                detail = f"no labelled captured row to learn from{left_out}"
                return RetrainingSet(base, None, 0, 0, unmatched, detail)
            detail = (
                f"the {found:,} labelled captured transactions of the last {self._lookback_days:g} days are "
                f"all rows of dataset {base.id.short} already (the champion learned them in an earlier "
                "retrain); nothing new to learn from"
            )
            return RetrainingSet(base, None, 0, 0, unmatched, detail)
        recent[TIME] = times_after(frame[TIME].to_numpy(dtype=np.float64), matched)
        used = tuple(
            (str(i), records[i].is_fraud, records[i].labelled_at.isoformat()) for i in recent[ID_COLUMN]
        )
        combined = pd.concat([frame, recent[list(TRANSACTION_COLUMNS)]], ignore_index=True)
        step(f"storing the retraining set: {len(combined):,} rows")
        dataset = self._datasets.save(combined, f"retrain:{base.id.short}+{matched}-labelled")
        frauds = int(recent[LABEL].sum())
        already = found - matched - int(errors.sum())
        known = f", {already:,} more already in it" if already else ""
        detail = (
            f"{base.rows:,} rows of dataset {base.id.short} + {matched:,} labelled captured rows "
            f"({frauds:,} frauds){known} -> dataset {dataset.id.short}"
        )
        trained = self._trained_on(dataset.id)
        if trained is not None:
            gate = trained.tags[GATE_DECISION_TAG]
            detail = (
                f"{detail}, which v{trained.version} was already trained on (gate: {gate}); no label has "
                "arrived since, so a retrain would register the same model: nothing new to learn from "
                f"(`fraud model promote {trained.version}` serves it){left_out}"
            )
            return RetrainingSet(base, None, matched, frauds, unmatched, detail, trained.version)
        earlier = self._trained_on(dataset.id, any_config=True)
        if earlier is not None:
            detail = f"{detail} (v{earlier.version} was trained on it with another training configuration)"
        detail += left_out
        return RetrainingSet(base, dataset, matched, frauds, unmatched, detail, None, used, since.isoformat())

    def _trained_on(self, dataset: DatasetId, any_config: bool = False) -> ModelVersion | None:
        """The newest version of this feature version fitted on exactly `dataset` (a version of another
        feature version is a different model: retraining it is the point). What a failed registration left
        does not count: it can never be promoted, and it blocked every later retrain on the same labels,
        pointing to a `fraud model promote` that is refused. Nor does a version the gate never judged (its
        retrain stopped during `promote`): every later retrain on the same labels stopped before training,
        so the gate never judged that model at all."""
        for version in self._registry.list_versions():
            metadata = version.metadata
            if (
                REGISTRATION_FAILED_TAG not in version.tags
                and GATE_DECISION_TAG in version.tags
                and metadata is not None
                and metadata.dataset_id == dataset.value
                and metadata.feature_version == FEATURE_VERSION
                and (
                    any_config
                    or self._config is None
                    or same_config(version.tags.get(TRAINING_CONFIG_TAG), self._config)
                )
            ):
                return version
        return None

    def _base(self) -> DatasetRef:
        champion = self._registry.get_by_alias(CHAMPION)
        if champion is not None and champion.metadata is None and champion.metadata_problem:
            raise IncompatibleModelError(
                f"champion {champion.label}: {champion.metadata_problem}; its dataset cannot be told, so "
                "nothing is retrained"
            )
        if champion is None or champion.metadata is None:
            raise ModelNotFoundError("no champion to retrain from; run `fraud pipeline run` first")
        return self._datasets.get(DatasetId(champion.metadata.dataset_id))

    def _labelled_rows(self, labels: dict[str, bool], since: datetime) -> pd.DataFrame:
        # The labelled rows alone: the lookback's weeks of traffic would have to fit in memory.
        rows = self._captured.read_ids(since, labels.keys())
        # The empty frame's columns and dtype are never read (the caller stops at its length of 0), so no
        # mutant of these two lines can be told apart.
        columns = [TIME, *SCORING_INPUTS, LABEL]  # pragma: no mutate
        if not len(rows) or rows.transaction_ids is None or not labels:
            return pd.DataFrame(columns=columns, dtype=np.float64)  # pragma: no mutate
        ids = pd.Series(rows.transaction_ids)
        # The first scoring of an id scored twice, as the feedback store keeps it: the label was matched with
        # that decision, and a later re-score (a retry, or another caller naming the id) never replaces it.
        # The rows arrive in scoring order.
        keep = ids.isin(labels.keys()).to_numpy() & ~ids.duplicated(keep="first").to_numpy()
        frame = pd.DataFrame(rows.inputs[keep], columns=list(SCORING_INPUTS))
        frame.insert(0, TIME, 0.0)  # set by the caller, after the base
        frame[LABEL] = ids[keep].map(labels).astype(np.float64).to_numpy()
        frame[ID_COLUMN] = ids[keep].to_numpy()  # for the record of what was learnt; not a training column
        return frame


SHOWN_IDS = 5


def _left_out(ids: list[object]) -> str:
    """What the detail says of labelled rows left out as input errors (domain/plausibility.py)."""
    if not ids:
        return ""
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS]) + (", ..." if len(ids) > SHOWN_IDS else "")
    return (
        f"; {len(ids):,} left out, each with a V value beyond {MAX_STDS:g} standard deviations of its "
        f"column (the full dataset's largest is 103): an input error, not a pattern to learn (transaction "
        f"ids {shown})"
    )
