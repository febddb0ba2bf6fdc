"""GET /v1/model: what this process is serving, and where it came from."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends

from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder, ServingModel
from fraud_detection.entrypoints.api import dependencies
from fraud_detection.entrypoints.api.schemas import ErrorOut, ModelInfo

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", response_model=ModelInfo, responses={503: {"model": ErrorOut}})
def served_model(
    holder: ModelHolder = Depends(dependencies.holder),
    loader: ChampionLoader = Depends(dependencies.loader),
) -> dict[str, Any]:
    return model_info(holder.require(), loader.registry_reachable)


def model_info(serving: ServingModel, registry_reachable: bool | None) -> dict[str, Any]:
    version, metadata = serving.version, serving.version.metadata
    assert metadata is not None  # a model without metadata is refused at load
    return {
        "name": version.name,
        "version": version.version,
        "aliases": list(version.aliases),
        "source": serving.source,
        "registry_reachable": registry_reachable,
        "loaded_at": serving.loaded_at,
        "registered_at": version.created_at,
        "run_id": version.run_id,
        "feature_version": metadata.feature_version,
        "threshold": serving.threshold,
        "dataset_id": metadata.dataset_id,
        "metrics": {k: (None if math.isnan(v) else v) for k, v in metadata.metrics.items()},
    }
