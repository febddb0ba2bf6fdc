"""Baseline endpoints the serving benchmark (benchmarks/serve.py) compares `fraud serve` with.

- `POST /score`: the least a FastAPI service scoring this model must do: a strict pydantic body with the
  same 31 fields as /v1/score, the features (V1..V28, log1p(Amount)), LightGBM's `booster.predict` on the
  champion's booster, `{"fraud_probability": p}` back. No capture, no metrics, no request id, no threshold.
  `async def` on purpose: the stronger of FastAPI's two styles for ~25 us of CPU (no thread-pool hop).
- `POST /constant`: a fixed answer that ignores the body: the HTTP floor of FastAPI + uvicorn here.
- `GET /readyz`: 200 (the booster is loaded before the app exists).

    FRAUD_HOME=<trained home> uvicorn --app-dir benchmarks serving_baselines:create_app --factory \
        --host 127.0.0.1 --port 8001 --workers 1
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

V_NAMES = tuple(f"V{i}" for i in range(1, 29))
CONSTANT_BODY = b'{"fraud_probability":0.0}'


class TransactionBase(BaseModel):
    """Strict like the service's body: no strings for numbers, no NaN, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    transaction_id: str | None = Field(None, min_length=1, max_length=128)
    Time: float | None = Field(None, ge=0)
    Amount: float = Field(ge=0, le=100_000)


V_FIELDS: dict[str, Any] = {name: (float, ...) for name in V_NAMES}
Transaction: type[TransactionBase] = create_model("Transaction", __base__=TransactionBase, **V_FIELDS)


def load_champion_booster(home: Path) -> Any:
    """The champion's LightGBM booster, through the project's registry adapter (the same artifact
    `fraud serve` loads)."""
    from fraud_detection.infrastructure.mlflow import MlflowModelRegistry
    from fraud_detection.settings import Settings

    settings = Settings(home=home)
    registry = MlflowModelRegistry(settings.resolved_tracking_uri, settings.model_name)
    version = registry.get_by_alias("champion")
    if version is None:
        raise SystemExit(f"no champion in {settings.resolved_tracking_uri}: run `fraud pipeline run` first")
    return registry.load_model(version).booster


def create_app() -> FastAPI:
    booster = load_champion_booster(Path(os.environ.get("FRAUD_HOME", ".fraud")))
    app = FastAPI(title="serving baselines")

    @app.post("/score")
    async def score(transaction: Transaction) -> dict[str, float]:
        values = transaction.__dict__
        row = [values[name] for name in V_NAMES]
        row.append(math.log1p(values["Amount"]))
        probability = booster.predict(np.array([row], dtype=np.float64))[0]
        return {"fraud_probability": float(probability)}

    @app.post("/constant")
    async def constant() -> Response:
        return Response(CONSTANT_BODY, media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app
