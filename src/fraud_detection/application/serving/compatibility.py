"""Whether a registered version can be served by this code."""

from __future__ import annotations

from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.model import ModelVersion


def compatible_threshold(version: ModelVersion) -> float:
    """The version's decision threshold, once its feature version matches this code's."""
    metadata = version.metadata
    if metadata is None:
        raise IncompatibleModelError(f"{version.label} has no feature version or threshold recorded")
    if metadata.feature_version != FEATURE_VERSION:
        raise IncompatibleModelError(
            f"{version.label} was trained on features {metadata.feature_version}, this code computes "
            f"{FEATURE_VERSION}"
        )
    return metadata.threshold
