"""Every setting, read from environment variables (prefix `FRAUD_`, plus MLflow's own `MLFLOW_TRACKING_URI`).

The defaults are the embedded mode: a local folder store and SQLite MLflow under `FRAUD_HOME`, no server.
README's configuration reference is generated from `Settings` (`fraud config`); keep the descriptions true.

The fields are grouped by capability, one pydantic-settings mixin per module; `Settings` combines them.
pydantic orders fields from the last base to the first, so the bases are listed in reverse: the README's
table (and the validators that read earlier fields, such as the batch roots reading `home`) keep the order
stores, training, serving, batch, monitoring, rollout.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import SettingsConfigDict

from fraud_detection.domain.batch_roots import BatchRoots
from fraud_detection.settings.batch import STATE_ENTRIES, BatchSettings, batch_state, split_roots
from fraud_detection.settings.monitoring import FEEDBACK_URL_SCHEMES, MonitoringSettings
from fraud_detection.settings.rollout import RolloutSettings
from fraud_detection.settings.serving import MIN_TOKEN_LENGTH, PLACEHOLDER, ServingSettings
from fraud_detection.settings.stores import StoreSettings
from fraud_detection.settings.training import TrainingSettings

__all__ = [
    "FEEDBACK_URL_SCHEMES",
    "MIN_TOKEN_LENGTH",
    "PLACEHOLDER",
    "STATE_ENTRIES",
    "Settings",
    "alias_groups",
    "batch_state",
]


class Settings(
    RolloutSettings, MonitoringSettings, BatchSettings, ServingSettings, TrainingSettings, StoreSettings
):
    # allow_inf_nan=False: `nan` slips past every bound (comparisons with it are false), `inf` past open ones.
    # env_ignore_empty: an empty variable is unset (README), alias included: `MLFLOW_TRACKING_URI=` hid
    # FRAUD_MLFLOW_TRACKING_URI (the embedded SQLite registry was used), `AWS_REGION=` was refused.
    model_config = SettingsConfigDict(
        env_prefix="FRAUD_", extra="ignore", frozen=True, allow_inf_nan=False, env_ignore_empty=True
    )

    @property
    def batch_roots(self) -> BatchRoots:
        """Resolved (realpath) input and output roots of batch jobs."""
        home = self.home.resolve()
        inputs = split_roots(self.batch_input_roots or str(home / "batch" / "in"))
        outputs = split_roots(self.batch_output_roots or str(home / "batch" / "out"))
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


def alias_groups() -> dict[str, tuple[str, ...]]:
    """Each variable of a setting read under several names (`AWS_REGION`...) -> all of them, in the order
    pydantic-settings tries them: an error names the first, whichever one was set."""
    groups: dict[str, tuple[str, ...]] = {}
    for field in Settings.model_fields.values():
        if isinstance(field.validation_alias, AliasChoices):
            names = tuple(str(choice) for choice in field.validation_alias.choices)
            groups.update(dict.fromkeys(names, names))
    return groups
