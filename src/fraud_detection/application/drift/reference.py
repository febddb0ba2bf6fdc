"""Build and store a model version's reference profile, at training time (see domain/drift/profile.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

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
        training_inputs: np.ndarray,
        reference_scores: np.ndarray,
        threshold: float,
    ) -> ReferenceProfile:
        """`training_inputs` are the raw inputs (n, 29) the model was fitted on, in `SCORING_INPUTS` order;
        `reference_scores` the served model's scores of its reference rows (see the register stage)."""
        features = tuple(
            DistributionProfile.of(name, training_inputs[:, position])
            for position, name in enumerate(SCORING_INPUTS)
        )
        scores = np.asarray(reference_scores, dtype=np.float64)
        profile = ReferenceProfile(
            model_name=model_name,
            model_version=version,
            features=features,
            score=DistributionProfile.of("score", scores),
            alerts=int(np.count_nonzero(scores >= threshold)),
            scored_rows=len(scores),
            threshold=threshold,
            created_at=datetime.now(UTC).isoformat(),
            outliers=signature_of(training_inputs, features),
        )
        self._profiles.save(profile)
        return profile
