"""MLflow model versions as domain `ModelVersion`s (metadata from their tags, see `version_tags`)."""

from __future__ import annotations

from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion

from fraud_detection.domain.model import ModelVersion
from fraud_detection.infrastructure.mlflow.version_tags import read_metadata


def to_model_version(mlflow_version: MlflowModelVersion) -> ModelVersion:
    tags = {str(key): str(value) for key, value in (mlflow_version.tags or {}).items()}
    created = datetime.fromtimestamp(mlflow_version.creation_timestamp / 1000, tz=UTC)
    metadata, problem = read_metadata(tags)
    return ModelVersion(
        name=str(mlflow_version.name),
        version=int(mlflow_version.version),
        aliases=tuple(sorted(mlflow_version.aliases or ())),
        run_id=mlflow_version.run_id or None,
        created_at=created.isoformat(),
        metadata=metadata,
        tags=tags,
        metadata_problem=problem,
    )
