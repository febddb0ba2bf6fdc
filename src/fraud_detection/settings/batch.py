"""Batch jobs and their workers: the broker, chunking, the roots jobs may read and write, model caches."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

from fraud_detection.domain.batch_roots import check_roots, inside, normalize_root
from fraud_detection.domain.jobs import RENEWALS_PER_LOST, RUN_LOST_SECONDS
from fraud_detection.domain.windows import MAX_INTERVAL_SECONDS
from fraud_detection.settings.rules import URL_LIKE, check_url, folder_not_file, unset_if_empty

# Celery's Redis transport: the visibility timeout and sweeps are Redis's.
BROKER_SCHEMES = ("redis://", "rediss://", "redis+socket://")

# FRAUD_HOME entries that are the system's own state: batch roots may not overlap them.
STATE_ENTRIES = (
    "store", "mlflow.db", "mlartifacts", "serving", "compiled-models", "scratch", "logs", "feedback.db",
    "api-clients.json", "reports", "capture-spill", "data",
)  # fmt: skip


class BatchSettings(BaseSettings):
    broker_url: str | None = Field(
        None, description="Celery broker for batch jobs (redis://...); unset = jobs run in this process."
    )
    result_backend: str | None = Field(None, description="Celery result backend; default: the broker URL.")
    broker_visibility_timeout: int = Field(
        3600, gt=0, description="Seconds before a task a dead worker held is handed to another worker."
    )
    batch_chunk_rows: int = Field(250_000, gt=0, description="Rows per batch-scoring task (chunk).")
    batch_sweep_seconds: int = Field(
        60,
        ge=0,
        le=MAX_INTERVAL_SECONDS,  # larger overflowed the sweeper thread's wait: it died, silently
        description="Seconds between a worker's looks for jobs whose tasks the broker lost (open, nothing "
        "queued, no progress): such a job is queued again after two looks. Without a broker the API looks "
        "likewise, for jobs a restart left open. 0 = off.",
    )
    batch_run_lost_seconds: float = Field(
        RUN_LOST_SECONDS,
        ge=5,
        le=MAX_INTERVAL_SECONDS,
        description="A batch step renews its run mark every fifth of this; a mark not renewed this long is "
        "a dead worker's (SIGKILLed, out of memory), and the sweeps queue its job again rather than wait "
        "for FRAUD_BROKER_VISIBILITY_TIMEOUT.",
    )
    batch_input_roots: str | None = Field(
        None,
        description="Where batch jobs may read: comma-separated folders and/or `s3://bucket/prefix`; "
        "default `<home>/batch/in`. Never inside the system's own state.",
    )
    batch_output_roots: str | None = Field(
        None,
        description="Where batch jobs may write (never overwriting): folders and/or `s3://bucket/prefix`; "
        "default `<home>/batch/out`. Never inside the system's own state.",
    )
    batch_namespace_folders: bool = Field(
        False,
        description="Each API client's jobs read and write only below its namespace's folder of every batch "
        "root (`<root>/<namespace>/`), so tenants cannot name each other's files; operators' jobs (`fraud "
        "batch submit`) anywhere below the roots.",
    )
    worker_metrics_port: int = Field(
        9100, ge=0, le=65535, description="`fraud worker`'s /metrics port (0=off)."
    )
    worker_preload: bool = Field(
        True, description="`fraud worker` loads (and compiles) the champion as it starts, not in a first job."
    )
    model_compile: bool = Field(
        True, description="Compile models for batch scoring (lleaves) when available; else plain LightGBM."
    )
    cache_key: SecretStr | None = Field(
        None,
        description="Secret (32+ characters) sealing the local model copy and compiled-model cache "
        "(HMAC-SHA256); unset = a generated 0600 key file per cache folder. Set it when those are shared.",
    )

    @property
    def batch_run_renew_seconds(self) -> float:
        return self.batch_run_lost_seconds / RENEWALS_PER_LOST

    @field_validator("broker_url", "result_backend", mode="before")
    @classmethod
    def _broker(cls, value: object) -> object:
        """Empty means unset; otherwise a URL Celery's Redis transport understands (checked here, not when
        the first job is queued)."""
        value = unset_if_empty(value)
        if isinstance(value, str) and value.startswith("memory://"):
            # It was accepted, then `fraud worker` died in a ModuleNotFoundError traceback and `fraud batch
            # submit` reported Redis on localhost:6379 unreachable.
            raise ValueError(
                "memory:// is Celery's in-process broker: no `fraud worker` could ever see its jobs; "
                "unset it to run batch jobs inside the command or the API, or name a Redis (redis://host:6379/0)"
            )
        if isinstance(value, str):
            check_url(
                value,
                BROKER_SCHEMES,
                needs_host=value.startswith(("redis://", "rediss://")),
                needs_path=value.startswith("redis+socket://"),
            )
        return value

    @field_validator("cache_key", mode="before")
    @classmethod
    def _cache_key(cls, value: object) -> object:
        """Empty means unset (a generated key file); a set key must be long enough to resist guessing."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or text == "":
            return None
        if isinstance(text, str) and not text.strip():
            raise ValueError("is only whitespace; generate one: `openssl rand -hex 32`")
        if isinstance(text, str) and len(text) < 32:
            raise ValueError("must be at least 32 characters (or empty for a generated key file)")
        return value

    @field_validator("batch_input_roots", "batch_output_roots", mode="after")
    @classmethod
    def _batch_roots(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A root inside FRAUD_HOME's state (store, MLflow, model cache...) is refused at start. A value of
        commas and spaces names no root: unset, like an empty one (it meant no root at all, and every job
        failed with "none configured")."""
        if value is not None and not split_roots(value):
            return None
        if value is not None:
            setting = f"FRAUD_{str(info.field_name).upper()}"
            for item in (item.strip() for item in value.split(",")):
                if URL_LIKE.match(item) and not item.startswith("s3://"):  # `gs://b` became a folder `gs:/b`
                    raise ValueError(f"'{item}' is neither a folder nor s3://bucket/prefix")
                if item and not item.startswith("s3://"):  # a file as a root refused every job, naming it
                    folder_not_file(item)
            check_roots(setting, split_roots(value), batch_state(info.data), _home(info.data))
        return value

    @field_validator("batch_namespace_folders", mode="after")
    @classmethod
    def _roots_apart(cls, value: bool, info: ValidationInfo) -> bool:
        """With namespace folders, no root may lie inside another (of either direction): a namespace named
        after the inner root's folder would get all of it (`/data/out` for namespace `out` of `/data`), and
        another namespace's folder of the outer root could lie in it."""
        if value:
            roots = [
                root
                for name in ("batch_input_roots", "batch_output_roots")
                if isinstance(text := info.data.get(name), str)
                for root in split_roots(text)
            ]
            for outer in roots:
                for inner in roots:
                    if inner != outer and inside(inner, outer):
                        raise ValueError(
                            f"root '{inner}' lies inside root '{outer}': with namespace folders, a "
                            "namespace could reach another's files; use roots side by side"
                        )
        return value


def split_roots(text: str) -> tuple[str, ...]:
    """Comma-separated roots: S3 prefixes as given, folders resolved (realpath) against the working folder."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    return tuple(
        normalize_root(item if item.startswith("s3://") else os.path.realpath(os.path.expanduser(item)))
        for item in items
    )


def _home(data: dict[str, object]) -> str:
    return os.path.realpath(Path(str(data.get("home", ".fraud"))).expanduser())


def batch_state(data: dict[str, object]) -> dict[str, str]:
    """The system's own state that batch roots must stay clear of (name -> normalised location)."""
    home = Path(_home(data))
    store = str(data.get("storage_uri") or home / "store")
    state = {name: str(home / name) for name in STATE_ENTRIES}
    state["FRAUD_STORAGE_URI"] = store.removeprefix("file://") if not store.startswith("s3://") else store
    tracking = str(data.get("mlflow_tracking_uri") or "")
    if tracking.startswith("sqlite:///"):
        state["MLFLOW_TRACKING_URI"] = tracking.removeprefix("sqlite:///")
    if data.get("capture_spill_dir"):  # captured predictions waiting for the store: never a batch root
        state["FRAUD_CAPTURE_SPILL_DIR"] = os.path.expanduser(str(data["capture_spill_dir"]))
    # Wherever they were moved: the clients' key digests, and the raw training file with its labels (a
    # job's error quoted the clients file's lines back as bad column names).
    for name in ("api_clients_file", "dataset_path"):
        if data.get(name):
            state[f"FRAUD_{name.upper()}"] = os.path.expanduser(str(data[name]))
    return {
        name: normalize_root(location if location.startswith("s3://") else os.path.realpath(location))
        for name, location in state.items()
    }
