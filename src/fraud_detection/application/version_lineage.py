"""`fraud model show VERSION`: everything recorded about one registered version, in one place.

A model-risk review asks of a served version: trained on which data (still stored, or pruned), with which
configuration and code, by whom, started by what (a retrain's reason and labels), how the gate judged it,
and when it served as champion. That was spread over version tags, the run's tags and params, the dataset
store and the champion's move records; each had to be looked up by hand in MLflow's UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fraud_detection.application.champion import ChampionMove, champion_moves
from fraud_detection.application.serving.compatibility import registration_failure
from fraud_detection.domain.dataset import DatasetId, DatasetRef
from fraud_detection.domain.errors import DatasetNotFoundError, DataSourceError, ServiceUnavailableError
from fraud_detection.domain.model import MODEL_DIGEST_TAG, ModelVersion
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.ports.tracking import ExperimentTracker, RunRecord
from fraud_detection.domain.run_provenance import (
    CODE_VERSION_TAG,
    COMMIT_TAG,
    HOST_TAG,
    RETRAIN_BASE_TAG,
    RETRAIN_REASON_TAG,
    RETRAIN_ROWS_TAG,
    RETRAIN_SINCE_TAG,
    USER_TAG,
)
from fraud_detection.domain.training_config import TRAINING_CONFIG_TAG, decode_config

SETTING_PREFIX = "setting."


@dataclass(frozen=True)
class VersionLineage:
    version: ModelVersion
    run: RunRecord | None
    dataset: DatasetRef | None
    dataset_state: str  # "stored", the prune's note, or why it cannot be found
    moves: tuple[ChampionMove, ...]  # the champion moves onto this version, oldest first
    provenance: dict[str, str] = field(default_factory=dict)  # code, commit, user, host, retrain

    @property
    def training_config(self) -> dict[str, object] | None:
        return decode_config(self.version.tags.get(TRAINING_CONFIG_TAG))

    @property
    def settings(self) -> dict[str, str]:
        """The training settings in effect for the run (its `setting.*` params)."""
        params = self.run.params if self.run else {}
        return {k.removeprefix(SETTING_PREFIX): v for k, v in params.items() if k.startswith(SETTING_PREFIX)}

    @property
    def gate(self) -> tuple[str, str]:
        tags = self.version.tags
        return tags.get("promotion_decision", ""), tags.get("promotion_reason", "")

    @property
    def registration_failed(self) -> str | None:
        return registration_failure(self.version)

    def as_dict(self) -> dict[str, object]:
        version, metadata = self.version, self.version.metadata
        decision, reason = self.gate
        return {
            "name": version.name,
            "version": version.version,
            "aliases": list(version.aliases),
            "created_at": version.created_at,
            "threshold": metadata.threshold if metadata else None,
            "feature_version": metadata.feature_version if metadata else None,
            "out_of_time_metrics": metadata.metrics if metadata else {},
            "model_sha256": version.tags.get(MODEL_DIGEST_TAG),
            "dataset": {
                "id": metadata.dataset_id if metadata else None,
                "state": self.dataset_state,
                **(
                    {"rows": self.dataset.rows, "frauds": self.dataset.frauds, "source": self.dataset.source}
                    if self.dataset
                    else {}
                ),
            },
            "training_config": self.training_config,
            "settings": self.settings,
            "provenance": self.provenance,
            "gate": {"decision": decision, "reason": reason},
            "registration_failed": self.registration_failed,
            "champion_moves": [asdict(move) for move in self.moves],
            "run": None if self.run is None else {
                "id": self.run.run_id,
                "status": self.run.status,
                "started": self.run.started,
                "ended": self.run.ended,
                "location": self.run.location,
            },
        }  # fmt: skip


PROVENANCE = {
    "code_version": CODE_VERSION_TAG,
    "commit": COMMIT_TAG,
    "user": USER_TAG,
    "host": HOST_TAG,
    "retrain_reason": RETRAIN_REASON_TAG,
    "retrain_base_dataset": RETRAIN_BASE_TAG,
    "retrain_labelled_rows": RETRAIN_ROWS_TAG,
    "retrain_lookback_since": RETRAIN_SINCE_TAG,
}


class DescribeVersion:
    def __init__(self, registry: ModelRegistry, tracker: ExperimentTracker, datasets: DatasetStore) -> None:
        self._registry, self._tracker, self._datasets = registry, tracker, datasets

    def __call__(self, number: int) -> VersionLineage:
        """Raises `ModelNotFoundError` for a version the registry does not hold."""
        version = self._registry.get(number)
        run = self._tracker.run_record(version.run_id) if version.run_id else None
        dataset, state = self._dataset(version)
        moves = tuple(champion_moves([version]))
        tags = run.tags if run else {}
        provenance = {name: tags[key] for name, key in PROVENANCE.items() if key in tags}
        return VersionLineage(version, run, dataset, state, moves, provenance)

    def _dataset(self, version: ModelVersion) -> tuple[DatasetRef | None, str]:
        if version.metadata is None:
            return None, "no metadata"
        try:
            return self._datasets.get(DatasetId(version.metadata.dataset_id)), "stored"
        except DatasetNotFoundError as error:
            return None, str(error)
        except (DataSourceError, ServiceUnavailableError) as error:  # the rest of the record still stands
            return None, f"unknown: {error}"
