"""Every setting, read from environment variables (prefix `FRAUD_`, plus MLflow's own `MLFLOW_TRACKING_URI`).

The defaults are the embedded mode: a local folder store and SQLite MLflow under `FRAUD_HOME`, no server.
README's configuration reference is generated from this class (`fraud config`); keep the descriptions true.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraud_detection.domain.batch_roots import BatchRoots, check_roots, normalize_root

MIN_TOKEN_LENGTH = 32
PLACEHOLDER = "change-me"  # .env.example's placeholders start with it
FEEDBACK_URL_SCHEMES = ("redis://", "rediss://", "unix://")
# FRAUD_HOME entries that are the system's own state: batch roots may not overlap them.
STATE_ENTRIES = (
    "store", "mlflow.db", "mlartifacts", "serving", "compiled-models", "scratch", "logs", "feedback.db",
    "api-clients.json", "reports", "capture-spill",
)  # fmt: skip


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_", extra="ignore", frozen=True)

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
    generator_rows: int = Field(284_807, gt=0, description="Rows `fraud data generate` writes by default.")
    seed: int = Field(42, description="Seed of the generator and of training.")
    review_cost: float = Field(
        5.0, ge=0, description="Cost of reviewing one alert (euros), for the threshold."
    )
    top_k: int = Field(100, gt=0, description="k of precision@k (alerts a team reviews per test period).")
    promotion_metric: str = Field(
        "auprc", description="Metric the promotion gate compares on rows neither model was fitted on."
    )
    promotion_margin: float = Field(
        0.0, ge=0, description="The challenger must beat the champion by more than this."
    )
    train_folds: int = Field(
        3, ge=1, le=20, description="Time-ordered folds that choose the model and give out-of-time scores."
    )
    first_fit_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Earliest share of rows that is only fitted on (never scored out of fold).",
    )
    split_gap_seconds: float = Field(
        600.0, ge=0, description="Transactions dropped after each fold's last fitted row."
    )
    train_max_rounds: int = Field(2_000, gt=0, description="Upper bound of boosting rounds.")
    train_threads: int = Field(2, gt=0, description="Threads LightGBM uses.")
    validation_min_rows: int = Field(1_000, gt=0, description="Fewest rows a dataset may have.")
    validation_fraud_rate_min: float = Field(0.0002, ge=0, description="Lowest plausible fraud rate.")
    validation_fraud_rate_max: float = Field(0.05, le=1, description="Highest plausible fraud rate.")
    validation_amount_max: float = Field(100_000.0, gt=0, description="Largest plausible Amount.")

    admin_token: SecretStr | None = Field(
        None, description="Bearer token of the /admin endpoints; unset = admin endpoints disabled (403)."
    )
    api_clients_file: Path | None = Field(
        None,
        description="JSON file of API clients, scopes and hashed keys (`fraud clients`); "
        "default `<home>/api-clients.json`. Re-read when it changes.",
    )
    api_clients_secret: str | None = Field(
        None, description="AWS Secrets Manager secret holding the API clients document (instead of the file)."
    )
    api_clients_refresh_seconds: float = Field(
        60.0, gt=0, description="How often the API re-reads FRAUD_API_CLIENTS_SECRET (key rotation)."
    )
    api_docs: bool = Field(
        False, description="Serve /docs and /openapi.json (off by default: they map the API for anyone)."
    )
    api_concurrency_max: int = Field(
        256, gt=0, description="Most requests `fraud serve` handles at once; more get 503 at once."
    )
    api_body_seconds: float = Field(
        10.0, gt=0, description="Longest the API waits for the rest of a request body (slow clients: 408)."
    )
    api_header_seconds: float = Field(
        10.0, gt=0, description="`fraud serve` closes a connection whose request headers take longer."
    )
    model_poll_seconds: float = Field(
        30.0, ge=0, description="How often the API checks the registry for a new champion (0 = never)."
    )
    score_batch_max: int = Field(10_000, gt=0, description="Most transactions in one /v1/score/batch call.")
    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0, description="Largest request body the API accepts.")
    top_reasons: int = Field(5, ge=0, description="Feature contributions returned per explained transaction.")
    capture_max_rows: int = Field(10_000, gt=0, description="Captured predictions per Parquet micro-batch.")
    capture_max_seconds: float = Field(
        5.0, gt=0, description="Longest a captured prediction waits unwritten."
    )
    capture_max_pending_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        description="Memory bound of captured predictions waiting to be written (the oldest dropped beyond).",
    )
    capture_spill_dir: Path | None = Field(
        None,
        description="Local folder for captured predictions the store refused and the write-ahead journal; "
        "default `<home>/capture-spill`.",
    )
    capture_spill_max_bytes: int = Field(
        1024 * 1024 * 1024, gt=0, description="Disk bound of the capture spill folder."
    )
    capture_journal_seconds: float = Field(
        1.0,
        ge=0,
        description="Captured rows are journaled to local disk this often: a killed API loses at most this "
        "interval (0 = no journal).",
    )
    capture_retention_days: float = Field(
        90.0,
        ge=0,
        description="Captured predictions in a local store are deleted after N days (0 = kept forever; S3: "
        "bucket lifecycle rule).",
    )

    broker_url: str | None = Field(
        None, description="Celery broker for batch jobs (redis://...); unset = jobs run in this process."
    )
    result_backend: str | None = Field(None, description="Celery result backend; default: the broker URL.")
    broker_visibility_timeout: int = Field(
        3600, gt=0, description="Seconds before a task a dead worker held is handed to another worker."
    )
    batch_chunk_rows: int = Field(250_000, gt=0, description="Rows per batch-scoring task (chunk).")
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

    drift_family_alpha: float = Field(
        0.01, gt=0, lt=1, description="Chance of a false alarm per check for each verdict (Bonferroni)."
    )
    drift_min_rows: int = Field(1_000, ge=2, description="Fewest captured rows a drift check decides on.")
    drift_min_psi: float = Field(
        0.05, ge=0, description="Smallest PSI that counts as input drift (a diagnostic) for a column."
    )
    drift_min_score_psi: float = Field(
        0.1, ge=0, description="Smallest score PSI that counts as evidence that the model is at risk."
    )
    drift_precision_tolerance: float = Field(
        0.05, ge=0, description="Fall of the estimated precision (no labels) that puts the model at risk."
    )
    drift_recall_tolerance: float = Field(
        0.02, ge=0, description="Fall of the estimated recall (no labels) that puts the model at risk."
    )
    drift_realised_tolerance: float = Field(
        0.10, ge=0, description="Fall of the realised precision or recall (labels) that puts it at risk."
    )
    drift_window_hours: float = Field(
        24.0, gt=0, description="Default drift-check window: predictions captured in the last N hours."
    )

    feedback_url: str | None = Field(
        None,
        description="Label feedback store for several API replicas (redis://...); unset = SQLite "
        "`<home>/feedback.db` (one host).",
    )
    feedback_retention_days: float = Field(
        180.0, gt=0, description="Days scored transaction ids and their labels are kept for feedback."
    )
    feedback_batch_max: int = Field(1_000, gt=0, description="Most labels in one POST /v1/feedback call.")
    quality_window_days: float = Field(
        30.0,
        gt=0,
        description="Default `fraud quality measure` window: transactions scored in the last N days.",
    )

    retrain_lookback_days: float = Field(
        30.0, gt=0, description="Captured, labelled transactions of the last N days join a retrain's data."
    )
    retrain_on_events: bool = Field(
        True,
        description="Without an event bus: DriftDetected / RetrainRequested start `fraud retrain` locally.",
    )

    @field_validator("admin_token", mode="before")
    @classmethod
    def _admin_token(cls, value: object) -> object:
        """Empty means unset (admin disabled); a set token must be long enough to resist guessing."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or text == "":
            return None
        if isinstance(text, str) and text.startswith(PLACEHOLDER):
            raise ValueError("is still the .env.example placeholder; generate one: `openssl rand -hex 32`")
        if isinstance(text, str) and len(text) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters (or empty to disable admin)")
        return value

    @field_validator("cache_key", mode="before")
    @classmethod
    def _cache_key(cls, value: object) -> object:
        """Empty means unset (a generated key file); a set key must be long enough to resist guessing."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or text == "":
            return None
        if isinstance(text, str) and len(text) < 32:
            raise ValueError("must be at least 32 characters (or empty for a generated key file)")
        return value

    @field_validator("feedback_url", mode="before")
    @classmethod
    def _feedback_url(cls, value: object) -> object:
        """Empty means unset (SQLite); otherwise only a Redis URL is understood."""
        if value == "":
            return None
        if isinstance(value, str) and not value.startswith(FEEDBACK_URL_SCHEMES):
            schemes = ", ".join(FEEDBACK_URL_SCHEMES)
            raise ValueError(f"must start with one of {schemes} (or be empty for SQLite)")
        return value

    @field_validator("batch_input_roots", "batch_output_roots", mode="after")
    @classmethod
    def _batch_roots(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A root inside FRAUD_HOME's state (store, MLflow, model cache...) is refused at start."""
        if value is not None:
            setting = f"FRAUD_{str(info.field_name).upper()}"
            check_roots(setting, _roots(value), batch_state(info.data), _home(info.data))
        return value

    @property
    def batch_roots(self) -> BatchRoots:
        """Resolved (realpath) input and output roots of batch jobs."""
        home = self.home.resolve()
        inputs = _roots(self.batch_input_roots or str(home / "batch" / "in"))
        outputs = _roots(self.batch_output_roots or str(home / "batch" / "out"))
        return BatchRoots(inputs, outputs)

    @property
    def resolved_storage_uri(self) -> str:
        return self.storage_uri or str((self.home / "store").resolve())

    @property
    def resolved_tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def resolved_dataset_path(self) -> Path:
        return (self.dataset_path or self.home / "data" / "creditcard.csv").resolve()

    @property
    def resolved_capture_spill_dir(self) -> Path:
        return (self.capture_spill_dir or self.home / "capture-spill").resolve()

    @property
    def model_cache_dir(self) -> Path:
        """The served model's local copy (per host: it is what survives a registry outage)."""
        return (self.home / "serving").resolve()

    @property
    def mlflow_artifact_root(self) -> str:
        """Artifacts of the embedded mode live beside the SQLite DB (a server decides its own)."""
        return (self.home / "mlartifacts").resolve().as_uri()

    @property
    def resolved_api_clients_file(self) -> Path:
        return (self.api_clients_file or self.home / "api-clients.json").resolve()

    @property
    def feedback_db_path(self) -> Path:
        """The SQLite feedback store (when FRAUD_FEEDBACK_URL is unset), shared by this host's API workers."""
        return (self.home / "feedback.db").resolve()


def _roots(text: str) -> tuple[str, ...]:
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
    return {
        name: normalize_root(location if location.startswith("s3://") else os.path.realpath(location))
        for name, location in state.items()
    }
