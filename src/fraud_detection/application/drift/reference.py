"""Build and store a model version's reference profile, at training time (see domain/drift/profile.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from fraud_detection.domain.decision import alert_count, flagged
from fraud_detection.domain.drift.estimate import estimate_performance
from fraud_detection.domain.drift.outliers import signature_of
from fraud_detection.domain.drift.profile import DistributionProfile, ReferenceProfile
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.ports.drift import ReferenceProfiles


class StoreReferenceProfile:
    def __init__(self, profiles: ReferenceProfiles) -> None:
        self._profiles = profiles

    def __call__(
        self,
        model_name: str,
        version: int,
        training_inputs: np.ndarray | Sequence[np.ndarray],
        reference_scores: np.ndarray,
        threshold: float,
        *,
        held_out_scores: np.ndarray | None = None,
        held_out_labels: np.ndarray | None = None,
        positive_weight: float = 1.0,
    ) -> ReferenceProfile:
        """`training_inputs` are the raw inputs the model was fitted on, in `SCORING_INPUTS` order: an (n,
        29) matrix, or one array per column (the training set's, without a copy of them all);
        `reference_scores` the served model's scores of those rows (the score distribution);
        `held_out_scores` and `held_out_labels` the out-of-fold rows (alert rate, estimated and realised
        precision/recall; without them the reference scores stand in and nothing is realised);
        `positive_weight` the training's scale_pos_weight (see domain/drift/estimate.py)."""
        columns = training_inputs.T if isinstance(training_inputs, np.ndarray) else training_inputs
        features = tuple(
            DistributionProfile.of(name, column) for name, column in zip(SCORING_INPUTS, columns, strict=True)
        )
        scores = np.asarray(reference_scores, dtype=np.float64)
        held_out = scores if held_out_scores is None else np.asarray(held_out_scores, dtype=np.float64)
        precision, recall = _realised(held_out, held_out_labels, threshold)
        profile = ReferenceProfile(
            model_name=model_name,
            model_version=version,
            features=features,
            score=DistributionProfile.of("score", scores),
            alerts=alert_count(held_out, threshold),
            scored_rows=len(held_out),
            threshold=threshold,
            created_at=datetime.now(UTC).isoformat(),
            outliers=signature_of(training_inputs, features),
            estimate=estimate_performance(held_out, threshold, positive_weight),
            realised_precision=precision,
            realised_recall=recall,
            positive_weight=positive_weight,
        )
        self._profiles.save(profile)
        return profile


def _realised(
    scores: np.ndarray, labels: np.ndarray | None, threshold: float
) -> tuple[float | None, float | None]:
    if labels is None:
        return None, None
    alerts, frauds = flagged(scores, threshold), np.asarray(labels) == 1
    hits = int(np.count_nonzero(alerts & frauds))
    return (
        hits / int(alerts.sum()) if alerts.any() else None,
        hits / int(frauds.sum()) if frauds.any() else None,
    )
