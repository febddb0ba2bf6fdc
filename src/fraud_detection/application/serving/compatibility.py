"""Whether a registered version can be served by this code."""

from __future__ import annotations

from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.features import FEATURE_VERSION
from fraud_detection.domain.model import REGISTRATION_FAILED_TAG, ModelVersion


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


def servable(version: ModelVersion, action: str) -> None:
    """Refuse a champion (or challenger) this code could not serve: the API would keep the last model it
    loaded, and a replica starting without a local copy would never become ready."""
    try:
        compatible_threshold(version)
    except IncompatibleModelError as error:
        raise IncompatibleModelError(f"{action} refused: {error}, so the API could not serve it") from None
    if (failure := version.tags.get(REGISTRATION_FAILED_TAG)) is not None:
        raise IncompatibleModelError(
            f"{action} refused: {version.label} is what a failed registration left ({failure}); "
            "train again (fraud pipeline run or fraud retrain)"
        )
