"""Where state lives: FRAUD_HOME, the object store, MLflow, the event bus and the default dataset."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings


class StoreSettings(BaseSettings):
    home: Path = Field(
        Path(".fraud"), description="Data dir of the embedded mode (store, MLflow DB, reports)."
    )
    storage_uri: str | None = Field(
        None, description="Object store: `s3://bucket/prefix` or a folder path; default `<home>/store`."
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible server (SeaweedFS, MinIO); unset for AWS S3."
    )
    aws_region: str = Field(
        "eu-west-1",
        validation_alias=AliasChoices("FRAUD_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
        description="AWS region for S3 and EventBridge.",
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "FRAUD_MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry server; default SQLite `<home>/mlflow.db`.",
    )
    mlflow_experiment: str = Field("fraud-detection", description="MLflow experiment for training runs.")
    model_name: str = Field("fraud-lgbm", description="Registered model name.")
    event_bus: str | None = Field(
        None, description="EventBridge bus name for domain events; unset = in-process (logged)."
    )
    dataset_path: Path | None = Field(
        None, description="Default source of `fraud pipeline run`; default `<home>/data/creditcard.csv`."
    )
