"""MLflow model versions as domain `ModelVersion`s; `ModelMetadata` stored as model-version tags.

Tags rather than only the MLmodel file's metadata, so the registry alone (UI, search, `fraud model list`)
shows what each version was trained on and how it scored, without downloading artifacts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion

from fraud_detection.domain.model import ModelMetadata, ModelVersion

FEATURE_VERSION_TAG = "feature_version"
THRESHOLD_TAG = "threshold"
DATASET_ID_TAG = "dataset_id"
METRIC_TAG_PREFIX = "metric."


def metadata_tags(metadata: ModelMetadata) -> dict[str, str]:
    # str(float) is the shortest text that parses back to the same float, so values round-trip exactly.
    return {
        FEATURE_VERSION_TAG: metadata.feature_version,
        THRESHOLD_TAG: str(float(metadata.threshold)),
        DATASET_ID_TAG: metadata.dataset_id,
    } | {f"{METRIC_TAG_PREFIX}{name}": str(float(value)) for name, value in metadata.metrics.items()}


def metadata_from_tags(tags: dict[str, str]) -> ModelMetadata | None:
    """None for a version registered without our tags (e.g. by hand in the UI)."""
    required = (FEATURE_VERSION_TAG, THRESHOLD_TAG, DATASET_ID_TAG)
    if any(key not in tags for key in required):
        return None
    metrics = {
        key.removeprefix(METRIC_TAG_PREFIX): float(value)
        for key, value in tags.items()
        if key.startswith(METRIC_TAG_PREFIX)
    }
    return ModelMetadata(
        feature_version=tags[FEATURE_VERSION_TAG],
        threshold=float(tags[THRESHOLD_TAG]),
        dataset_id=tags[DATASET_ID_TAG],
        metrics=metrics,
    )


def to_model_version(mlflow_version: MlflowModelVersion) -> ModelVersion:
    tags = {str(key): str(value) for key, value in (mlflow_version.tags or {}).items()}
    created = datetime.fromtimestamp(mlflow_version.creation_timestamp / 1000, tz=UTC)
    return ModelVersion(
        name=str(mlflow_version.name),
        version=int(mlflow_version.version),
        aliases=tuple(sorted(mlflow_version.aliases or ())),
        run_id=mlflow_version.run_id or None,
        created_at=created.isoformat(),
        metadata=metadata_from_tags(tags),
        tags=tags,
    )
