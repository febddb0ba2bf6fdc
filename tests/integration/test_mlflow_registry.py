"""The MLflow model registry against a SQLite store and a real `mlflow server`."""

from __future__ import annotations

import hashlib
import math
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelMetadata
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.mlflow import (
    MlflowExperimentTracker,
    MlflowModelRegistry,
    TrackingStoreUnavailableError,
)
from tests.fixtures.mlflow_server import MlflowBackend

pytestmark = pytest.mark.integration

METADATA = ModelMetadata(
    feature_version="fe-1",
    threshold=0.123456789012345,
    dataset_id="ab" * 32,
    metrics={"auprc": 0.8125, "roc_auc": 0.975, "precision_at_k": 0.4},
)


class Registrar:
    """Logs the tiny model in a fresh run and registers it, as the training use case does."""

    def __init__(self, backend: MlflowBackend, booster: lgb.Booster, rows: pd.DataFrame) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.tracker = MlflowExperimentTracker(
            backend.tracking_uri, f"registry-{suffix}", backend.artifact_location
        )
        self.registry = MlflowModelRegistry(backend.tracking_uri, f"fraud-lgbm-{suffix}")
        self.model = LightGBMFraudModel(booster)
        self.rows = rows

    def register(self, metadata: ModelMetadata = METADATA) -> tuple[str, int]:
        with self.tracker.start_run("train", {}) as run:
            model_uri = run.log_model(self.model, metadata, self.rows)
            version = self.registry.register(model_uri, run.run_id, metadata)
        return run.run_id, version.version


@pytest.fixture
def registrar(
    mlflow_backend: MlflowBackend, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> Registrar:
    """On both backends: for what crosses the transport (model files up and down, readiness)."""
    return Registrar(mlflow_backend, tiny_booster, feature_rows)


@pytest.fixture
def metadata_registrar(
    mlflow_sqlite_store: MlflowBackend, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> Registrar:
    """SQLite only: aliases, tags and listings are the same client calls whatever the store, so running them
    against the server as well would only repeat them (the server path is covered by the tests above and by
    the e2e runs on a real server)."""
    return Registrar(mlflow_sqlite_store, tiny_booster, feature_rows)


def test_register_creates_version_one_tagged_with_the_metadata(registrar: Registrar) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)

    run_id, number = registrar.register()

    version = registrar.registry.get(number)
    assert version.version == 1
    assert version.name == registrar.registry.model_name
    assert version.run_id == run_id
    assert version.aliases == ()
    assert version.metadata == METADATA
    assert version.tags == {
        "model_sha256": hashlib.sha256(registrar.model.to_text().encode()).hexdigest(),
        "feature_version": "fe-1",
        "threshold": "0.123456789012345",
        "dataset_id": "ab" * 32,
        "metric.auprc": "0.8125",
        "metric.roc_auc": "0.975",
        "metric.precision_at_k": "0.4",
    }
    created = datetime.fromisoformat(version.created_at)
    assert created.utcoffset() == timedelta(0)
    assert before < created < datetime.now(UTC) + timedelta(minutes=5)


def test_register_waits_until_the_version_is_ready(
    registrar: Registrar, mlflow_backend: MlflowBackend
) -> None:
    _, number = registrar.register()

    client = MlflowClient(mlflow_backend.tracking_uri, registry_uri=mlflow_backend.tracking_uri)
    assert client.get_model_version(registrar.registry.model_name, str(number)).status == "READY"


def test_loaded_model_scores_exactly_like_the_booster_it_was_logged_from(
    registrar: Registrar, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    _, number = registrar.register()

    loaded = registrar.registry.load_model(registrar.registry.get(number))

    assert isinstance(loaded, LightGBMFraudModel)
    assert loaded.feature_names == tuple(feature_rows.columns)
    expected = tiny_booster.predict(feature_rows.to_numpy())
    np.testing.assert_array_equal(loaded.predict_proba(feature_rows), expected)


def test_aliases_move_between_versions(metadata_registrar: Registrar) -> None:
    registry = metadata_registrar.registry
    _, first = metadata_registrar.register()
    _, second = metadata_registrar.register()
    assert registry.get_by_alias(CHAMPION) is None

    registry.set_alias(CHAMPION, first)
    registry.set_alias(CHALLENGER, second)
    champion, challenger = registry.get_by_alias(CHAMPION), registry.get_by_alias(CHALLENGER)
    assert champion is not None
    assert (champion.version, champion.aliases) == (first, (CHAMPION,))
    assert challenger is not None
    assert (challenger.version, challenger.aliases) == (second, (CHALLENGER,))

    registry.set_alias(CHAMPION, second)
    registry.remove_alias(CHALLENGER)
    assert registry.get(first).aliases == ()
    assert registry.get(second).aliases == (CHAMPION,)
    assert registry.get_by_alias(CHALLENGER) is None
    registry.remove_alias(CHALLENGER)  # removing an unset alias is not an error


def test_list_versions_is_newest_first_and_empty_before_any_registration(
    metadata_registrar: Registrar,
) -> None:
    assert metadata_registrar.registry.list_versions() == []
    assert metadata_registrar.registry.get_by_alias(CHAMPION) is None

    metadata_registrar.register()
    metadata_registrar.register(ModelMetadata("fe-1", 0.5, "cd" * 32, {"auprc": 0.9}))
    metadata_registrar.register()

    versions = metadata_registrar.registry.list_versions()
    assert [version.version for version in versions] == [3, 2, 1]
    assert versions[1].metadata == ModelMetadata("fe-1", 0.5, "cd" * 32, {"auprc": 0.9})


def test_list_versions_carries_the_aliases(metadata_registrar: Registrar) -> None:
    for _ in range(3):
        metadata_registrar.register()
    metadata_registrar.registry.set_alias(CHAMPION, 1)
    metadata_registrar.registry.set_alias(CHALLENGER, 3)
    metadata_registrar.registry.set_alias("canary", 3)
    aliases = {v.version: v.aliases for v in metadata_registrar.registry.list_versions()}
    assert aliases == {3: ("canary", CHALLENGER), 2: (), 1: (CHAMPION,)}


def test_nan_metrics_round_trip_through_the_tags(metadata_registrar: Registrar) -> None:
    _, number = metadata_registrar.register(ModelMetadata("fe-1", 0.5, "ef" * 32, {"roc_auc": float("nan")}))

    metadata = metadata_registrar.registry.get(number).metadata
    assert metadata is not None
    assert math.isnan(metadata.metrics["roc_auc"])


def test_set_tag_is_visible_on_the_version(metadata_registrar: Registrar) -> None:
    _, number = metadata_registrar.register()

    metadata_registrar.registry.set_tag(number, "promotion", "kept: auprc 0.81 vs 0.82")

    assert metadata_registrar.registry.get(number).tags["promotion"] == "kept: auprc 0.81 vs 0.82"


def test_model_tags_are_none_before_registration_then_read_back(metadata_registrar: Registrar) -> None:
    registry = metadata_registrar.registry
    assert registry.get_model_tag("champion_history") is None  # no registered model yet

    metadata_registrar.register()
    assert registry.get_model_tag("champion_history") is None
    registry.set_model_tag("champion_history", "1,2,1")
    registry.set_model_tag("champion_history", "1,2")

    assert registry.get_model_tag("champion_history") == "1,2"
    assert registry.get(1).tags.get("champion_history") is None  # the model's tag, not a version's


def test_version_registered_without_our_tags_has_no_metadata(
    registrar: Registrar, mlflow_backend: MlflowBackend
) -> None:
    _, number = registrar.register()
    client = MlflowClient(mlflow_backend.tracking_uri, registry_uri=mlflow_backend.tracking_uri)
    client.delete_model_version_tag(registrar.registry.model_name, str(number), "threshold")

    assert registrar.registry.get(number).metadata is None


def test_missing_versions_raise_model_not_found_naming_model_and_version(
    metadata_registrar: Registrar,
) -> None:
    name = metadata_registrar.registry.model_name
    with pytest.raises(ModelNotFoundError, match=f"'{name}' has no version 1"):
        metadata_registrar.registry.get(1)

    metadata_registrar.register()
    expected = f"'{name}' has no version 7"
    with pytest.raises(ModelNotFoundError, match=expected):
        metadata_registrar.registry.get(7)
    with pytest.raises(ModelNotFoundError, match=expected):
        metadata_registrar.registry.set_alias(CHAMPION, 7)
    with pytest.raises(ModelNotFoundError, match=expected):
        metadata_registrar.registry.set_tag(7, "key", "value")


def test_unreachable_server_raises_a_domain_error_naming_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the retry schedule is measured elsewhere
    registry = MlflowModelRegistry("http://127.0.0.1:9", "fraud-lgbm")

    with pytest.raises(TrackingStoreUnavailableError, match=r"http://127\.0\.0\.1:9 is unavailable"):
        registry.get_by_alias(CHAMPION)
    with pytest.raises(TrackingStoreUnavailableError, match=r"http://127\.0\.0\.1:9 is unavailable"):
        registry.list_versions()


def test_a_stopped_database_store_is_one_line_after_a_few_seconds_of_tries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MLflow tried a database 10 times, waiting 102 s in all, and the error ran over three lines."""
    from mlflow.store.db import utils as database_utils

    waits: list[float] = []
    monkeypatch.setattr(database_utils.time, "sleep", waits.append)
    port = closed_port()
    registry = MlflowModelRegistry(f"postgresql+psycopg2://u:pw@127.0.0.1:{port}/mlflow", "fraud-lgbm")

    with pytest.raises(TrackingStoreUnavailableError) as raised:
        registry.list_versions()
    message = str(raised.value)
    assert message.startswith(f"MLflow tracking store postgresql+psycopg2://u:**@127.0.0.1:{port}/mlflow")
    assert "Connection refused" in message
    assert "\n" not in message
    assert "Background on this error" not in message
    assert 3 <= sum(waits) <= 10  # long enough for a restarting database, not a minute and a half


@pytest.mark.slow  # SQLite waits out its busy timeout on each of MLflow's tries: ~20 s
def test_a_locked_sqlite_store_is_one_line_without_the_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the registry's write lock: the message went on with SQLAlchemy's statement
    (`[SQL: SELECT ...]`) and its link, over three lines, into the CLI's error and the API's 503 body."""
    import sqlite3

    from mlflow.store.db import utils as database_utils

    monkeypatch.setattr(database_utils.time, "sleep", lambda seconds: None)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert MlflowModelRegistry(uri, "fraud-lgbm").list_versions() == []  # the schema is made
    holder = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TrackingStoreUnavailableError) as raised:
            MlflowModelRegistry(uri, "fraud-lgbm").list_versions()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(raised.value)
    assert "database is locked" in message
    assert "\n" not in message
    assert "[SQL:" not in message


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_tracking_file_that_is_not_a_database_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """`sqlite:////etc/passwd` (a typo, a copied text file): SQLAlchemy's DatabaseError was a traceback."""
    text = tmp_path / "notes.db"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n" * 100)

    with pytest.raises(TrackingStoreUnavailableError) as raised:
        MlflowModelRegistry(f"sqlite:///{text}", "fraud-lgbm").list_versions()
    message = str(raised.value)
    assert message.endswith("notes.db: that file is not a SQLite database (check MLFLOW_TRACKING_URI)")
    assert raised.value.advice_included  # the CLI adds no "try again"
    assert text.read_text().startswith("root:x")  # left as it was


def test_unopenable_sqlite_store_raises_a_domain_error_naming_the_uri(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    uri = f"sqlite:///{blocker / 'mlflow.db'}"

    with pytest.raises(TrackingStoreUnavailableError, match="not-a-folder"):
        MlflowModelRegistry(uri, "fraud-lgbm").list_versions()
