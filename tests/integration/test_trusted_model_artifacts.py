"""Replays of attacks through model artifacts in a real MLflow registry (SQLite store, file artifacts).

A crafted version whose MLmodel names a scikit-learn class with a cloudpickle payload ran code on load
(`mlflow.lightgbm.load_model` unpickles it); a tampered model file was served as if it were the one trained.
Both are now refused with `UntrustedModelError` before anything is parsed.
"""

from __future__ import annotations

import hashlib
import pickle
import uuid
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import lightgbm as lgb
import mlflow.lightgbm
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from fraud_detection.domain.errors import UntrustedModelError
from fraud_detection.domain.model import MODEL_DIGEST_TAG, ModelMetadata
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.mlflow import MlflowExperimentTracker, MlflowModelRegistry
from fraud_detection.infrastructure.mlflow.connection import InsecureTlsRefusedError
from fraud_detection.infrastructure.mlflow.version_tags import metadata_tags
from tests.fixtures.mlflow_server import MlflowBackend

pytestmark = pytest.mark.integration

METADATA = ModelMetadata("fe-1", 0.5, "ab" * 32, {"auprc": 0.8})


class MarkerPayload:
    """Unpickling this creates `path`: the stand-in for arbitrary code run by `pickle.load`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


class Store:
    def __init__(self, backend: MlflowBackend) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.uri = backend.tracking_uri
        self.tracker = MlflowExperimentTracker(self.uri, f"trusted-{suffix}", backend.artifact_location)
        self.registry = MlflowModelRegistry(self.uri, f"fraud-lgbm-{suffix}")
        self.client = MlflowClient(self.uri, registry_uri=self.uri)

    def register(self, model: LightGBMFraudModel, rows: pd.DataFrame) -> int:
        with self.tracker.start_run("train", {}) as run:
            uri = run.log_model(model, METADATA, rows)
            return self.registry.register(uri, run.run_id, METADATA).version

    def local_folder(self, version: int) -> Path:
        """The version's artifact folder on disk (the SQLite store's artifacts are file:// URIs)."""
        uri = self.client.get_model_version_download_uri(self.registry.model_name, str(version))
        return Path(url2pathname(urlsplit(uri).path))


@pytest.fixture
def store(mlflow_sqlite_store: MlflowBackend) -> Store:
    return Store(mlflow_sqlite_store)


def craft_version(
    store: Store, folder: Path, files: dict[str, bytes], flavor: dict[str, object], digest: str
) -> int:
    """A version made straight in the registry, as someone with write access to it and its artifacts can."""
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    mlmodel = {"flavors": {"lightgbm": flavor}, "mlflow_version": mlflow.__version__}
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    name = store.registry.model_name
    store.client.create_registered_model(name)
    tags = metadata_tags(METADATA) | ({MODEL_DIGEST_TAG: digest} if digest else {})
    return int(store.client.create_model_version(name, source=folder.as_uri(), tags=tags).version)


def craft_pickled_version(store: Store, folder: Path, marker: Path, digest_of_payload: bool) -> int:
    """An MLmodel naming `lightgbm.sklearn.LGBMClassifier` in cloudpickle format, whose data file runs code
    when unpickled; with or without the right digest of that file recorded on the version."""
    payload = pickle.dumps(MarkerPayload(marker))
    flavor = {
        "data": "model.pkl",
        "lgb_version": lgb.__version__,
        "model_class": "lightgbm.sklearn.LGBMClassifier",
        "serialization_format": "cloudpickle",
        "code": None,
    }
    digest = hashlib.sha256(payload).hexdigest() if digest_of_payload else ""
    return craft_version(store, folder, {"model.pkl": payload}, flavor, digest)


def attacker_model(rows: pd.DataFrame) -> str:
    """Another valid LightGBM model over the same features (one that clears every transaction), as text."""
    labels = (rows["V1"] > rows["V1"].quantile(0.9)).astype(int)
    params = {"objective": "binary", "num_leaves": 3, "verbose": -1, "num_threads": 1}
    return str(lgb.train(params, lgb.Dataset(rows, label=labels), num_boost_round=2).model_to_string())


@pytest.mark.parametrize(
    ("digest_of_payload", "refusal"),
    [
        (True, r"model_class 'lightgbm\.sklearn\.LGBMClassifier' is refused"),
        (False, r"no valid 'model_sha256' digest"),
    ],
    ids=["with-digest", "without-digest"],
)
def test_a_pickled_sklearn_model_version_is_refused_and_never_unpickled(
    store: Store, tmp_path: Path, digest_of_payload: bool, refusal: str
) -> None:
    marker = tmp_path / "pwned"
    version = craft_pickled_version(store, tmp_path / "crafted", marker, digest_of_payload)

    with pytest.raises(UntrustedModelError, match=refusal):
        store.registry.load_model(version)

    assert not marker.exists()
    # The replay is a real attack: MLflow's own loader runs the payload from the same artifact.
    mlflow.lightgbm.load_model(str(tmp_path / "crafted"))
    assert marker.exists()


def test_a_model_file_changed_after_registration_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    model_file = store.local_folder(version) / "model.lgb"
    model_file.write_text(attacker_model(feature_rows))

    with pytest.raises(UntrustedModelError, match="differs from the digest recorded at registration"):
        store.registry.load_model(version)


def test_a_version_without_the_digest_tag_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    store.client.delete_model_version_tag(store.registry.model_name, str(version), MODEL_DIGEST_TAG)

    with pytest.raises(UntrustedModelError, match="no valid 'model_sha256' digest"):
        store.registry.load_model(version)


def test_registration_records_the_digest_of_the_trained_model_file(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    model = LightGBMFraudModel(tiny_booster)
    version = store.register(model, feature_rows)

    recorded = store.registry.get(version).tags[MODEL_DIGEST_TAG]
    file_bytes = (store.local_folder(version) / "model.lgb").read_bytes()
    assert recorded == hashlib.sha256(model.to_text().encode()).hexdigest()
    assert recorded == hashlib.sha256(file_bytes).hexdigest()
    assert store.registry.load_model(version).to_text() == model.to_text()


def test_a_model_file_changed_between_logging_and_registration_is_not_registered(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    with store.tracker.start_run("train", {}) as run:
        uri = run.log_model(LightGBMFraudModel(tiny_booster), METADATA, feature_rows)
        logged = store.client.get_logged_model(uri.removeprefix("models:/"))
        folder = Path(url2pathname(urlsplit(str(logged.artifact_location)).path))
        (folder / "model.lgb").write_text((folder / "model.lgb").read_text() + "\n")

        with pytest.raises(UntrustedModelError, match="differs from the digest"):
            store.registry.register(uri, run.run_id, METADATA)

    assert store.registry.list_versions() == []


def test_only_logged_models_can_be_registered(store: Store) -> None:
    with pytest.raises(UntrustedModelError, match=r"models:/m-<id>"):
        store.registry.register("runs:/abc/model", "abc", METADATA)


@pytest.mark.parametrize("value", ["true", "True", "1"])
def test_switching_off_tls_verification_towards_mlflow_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", value)
    registry = MlflowModelRegistry("https://mlflow.example.internal", "fraud-lgbm")

    with pytest.raises(InsecureTlsRefusedError, match="MLFLOW_TRACKING_INSECURE_TLS"):
        registry.get_by_alias("champion")


def mangled(model_text: str) -> str:
    """Leaf values longer than the header's tree sizes allow: LightGBM's parser kills the process on it."""
    lines = model_text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("leaf_value="):
            lines[i] = "leaf_value=" + " ".join(["10"] * len(line.split())) + "\n"
    return "".join(lines)


def test_a_booster_file_that_would_crash_the_parser_is_refused_and_the_process_lives(
    store: Store, tmp_path: Path, tiny_booster: lgb.Booster
) -> None:
    text = mangled(str(tiny_booster.model_to_string())).encode()
    flavor = {"data": "model.lgb", "model_class": "lightgbm.basic.Booster", "lgb_version": lgb.__version__}
    version = craft_version(
        store, tmp_path / "crafted", {"model.lgb": text}, flavor, hashlib.sha256(text).hexdigest()
    )

    with pytest.raises(UntrustedModelError, match="LightGBM cannot parse the model file"):
        store.registry.load_model(version)


@pytest.mark.parametrize("data", ["../../outside.lgb", "/etc/passwd", "sub/model.lgb", ".."])
def test_a_data_file_outside_the_model_folder_is_refused(store: Store, tmp_path: Path, data: str) -> None:
    flavor = {"data": data, "model_class": "lightgbm.basic.Booster"}
    version = craft_version(store, tmp_path / "crafted", {}, flavor, "0" * 64)

    with pytest.raises(UntrustedModelError, match="is not a file in the model folder"):
        store.registry.load_model(version)
