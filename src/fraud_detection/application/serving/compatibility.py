"""Whether a registered version can be served by this code."""

from __future__ import annotations

from fraud_detection.domain.errors import IncompatibleModelError, UntrustedModelError
from fraud_detection.domain.model import (
    REGISTRATION_FAILED_TAG,
    REGISTRATION_STARTED,
    REGISTRATION_TAG,
    ModelVersion,
)
from fraud_detection.domain.ports.registry import ModelRegistry


def compatible_threshold(version: ModelVersion) -> float:
    """The version's decision threshold, once its feature version matches this code's."""
    # Imported here: the features module loads numpy, which the registry's commands (`fraud model list`) skip.
    from fraud_detection.domain.features import FEATURE_VERSION

    metadata = version.metadata
    if metadata is None and version.metadata_problem:
        raise IncompatibleModelError(f"{version.label}: {version.metadata_problem}")
    if metadata is None:
        raise IncompatibleModelError(f"{version.label} has no valid feature version or threshold recorded")
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
    if (failure := registration_failure(version)) is not None:
        raise IncompatibleModelError(
            f"{action} refused: {version.label} is what a failed registration left ({failure}); "
            "train again (fraud pipeline run or fraud retrain)"
        )


def registration_failure(version: ModelVersion) -> str | None:
    """Why `version` is half a version, or None: its registration failed, or its process stopped during it
    (no reference profile, training configuration or alias may have been written)."""
    if (failure := version.tags.get(REGISTRATION_FAILED_TAG)) is not None:
        return failure
    if version.tags.get(REGISTRATION_TAG) == REGISTRATION_STARTED:
        return "its registration never finished (the process stopped during it)"
    return None


def loadable(registry: ModelRegistry, version: int, action: str) -> ModelVersion:
    """The version, once it is `servable` and its artifact loads as serving would load it (digest, format,
    tags agreeing with the artifact's metadata): a champion the API refuses to load would leave it serving
    the previous one, and a replica with no local copy not ready. Costs one download and parse (~0.3 s)."""
    found = registry.get(version)  # ModelNotFoundError naming it
    servable(found, action)
    try:
        registry.load_model(found)
    except UntrustedModelError as error:
        raise IncompatibleModelError(f"{action} refused: {error}") from None
    return found
