"""Replays of attacks through model artifacts in a real MLflow registry (SQLite store, file artifacts).

A crafted version whose MLmodel names a scikit-learn class with a cloudpickle payload ran code on load
(`mlflow.lightgbm.load_model` unpickles it); a tampered model file was served as if it were the one trained.
Both are now refused with `UntrustedModelError` before anything is parsed.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import uuid
from dataclasses import asdict, replace
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

    def load(self, version: int) -> LightGBMFraudModel:
        """The version as a caller loads it: read from the registry, then loaded as read."""
        return self.registry.load_model(self.registry.get(version))

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
    mlmodel = {
        "flavors": {"lightgbm": flavor},
        "mlflow_version": mlflow.__version__,
        "metadata": asdict(METADATA),
    }
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
        store.load(version)

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
        store.load(version)


def test_a_version_without_the_digest_tag_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    store.client.delete_model_version_tag(store.registry.model_name, str(version), MODEL_DIGEST_TAG)

    with pytest.raises(UntrustedModelError, match="no valid 'model_sha256' digest"):
        store.load(version)


def test_registration_records_the_digest_of_the_trained_model_file(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    model = LightGBMFraudModel(tiny_booster)
    version = store.register(model, feature_rows)

    recorded = store.registry.get(version).tags[MODEL_DIGEST_TAG]
    file_bytes = (store.local_folder(version) / "model.lgb").read_bytes()
    assert recorded == hashlib.sha256(model.to_text().encode()).hexdigest()
    assert recorded == hashlib.sha256(file_bytes).hexdigest()
    assert store.load(version).to_text() == model.to_text()


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


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("threshold", "1.0", "threshold is '1.0' in the registry, '0.5' in the artifact"),
        ("threshold", "0.5 ", "threshold is '0.5 ' in the registry"),
        ("threshold", "high", "threshold is 'high' in the registry"),
        ("feature_version", "fe-0", "feature_version is 'fe-0' in the registry, 'fe-1' in the artifact"),
        ("dataset_id", "cd" * 32, "dataset_id is"),
        ("metric.auprc", "0.99", "metric.auprc is '0.99' in the registry, '0.8' in the artifact"),
        ("metric.recall", "1.0", "metric.recall is in the registry only"),
    ],
)
def test_a_version_whose_metadata_tag_was_edited_after_registration_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame, key: str, value: str, named: str
) -> None:
    """Anyone who can write to MLflow can edit a tag in its UI: a threshold of 1.0 would clear every
    transaction. The tags must agree with the metadata the training process wrote into the artifact."""
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    store.client.set_model_version_tag(store.registry.model_name, str(version), key, value)

    with pytest.raises(UntrustedModelError, match=re.escape(named)):
        store.load(version)


def test_the_threshold_checked_is_the_one_the_caller_read_even_if_the_tag_was_set_back(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    """A tag set to 1.0 around the champion lookup and back before the load: the load re-read the tags, found
    them right, and the API served the threshold of its lookup, 1.0."""
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    name = store.registry.model_name
    store.client.set_model_version_tag(name, str(version), "threshold", "1.0")
    read = store.registry.get(version)
    store.client.set_model_version_tag(name, str(version), "threshold", "0.5")

    with pytest.raises(UntrustedModelError, match=re.escape("threshold is '1.0' in the registry, '0.5'")):
        store.registry.load_model(read)


def test_a_version_whose_artifact_is_missing_is_refused_naming_the_artifact_not_the_version(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    """It said "has no version N" of a version that exists."""
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    (store.local_folder(version) / "model.lgb").unlink()

    with pytest.raises(UntrustedModelError, match=r"v\d+: its artifact .*model\.lgb is missing"):
        store.load(version)


def test_a_version_whose_threshold_tag_was_deleted_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    store.client.delete_model_version_tag(store.registry.model_name, str(version), "threshold")

    with pytest.raises(UntrustedModelError, match=re.escape("threshold is '(missing)' in the registry")):
        store.load(version)


def test_an_unparsable_threshold_tag_leaves_the_version_listed_without_metadata(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    """One bad tag used to raise ValueError from every read of the registry (listing, the champion's
    lookup), so the API fell back to its local copy as if the registry were down."""
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    store.client.set_model_version_tag(store.registry.model_name, str(version), "threshold", "high")

    assert store.registry.get(version).metadata is None
    assert [found.version for found in store.registry.list_versions()] == [version]


def test_an_edited_threshold_in_the_artifact_alone_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    mlmodel = store.local_folder(version) / "MLmodel"
    document = yaml.safe_load(mlmodel.read_text())
    document["metadata"]["threshold"] = 0.99
    mlmodel.write_text(yaml.safe_dump(document))

    with pytest.raises(UntrustedModelError, match=re.escape("threshold is '0.5' in the registry, '0.99'")):
        store.load(version)


@pytest.mark.parametrize(
    "metadata",
    [None, {"threshold": 0.5}, {**asdict(METADATA), "threshold": True}, {**asdict(METADATA), "metrics": [1]}],
    ids=["none", "partial", "bool-threshold", "metrics-not-a-mapping"],
)
def test_an_artifact_without_valid_training_metadata_is_refused(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame, metadata: object
) -> None:
    version = store.register(LightGBMFraudModel(tiny_booster), feature_rows)
    mlmodel = store.local_folder(version) / "MLmodel"
    document = yaml.safe_load(mlmodel.read_text())
    document["metadata"] = metadata
    mlmodel.write_text(yaml.safe_dump(document))

    with pytest.raises(UntrustedModelError, match="carries no valid training metadata"):
        store.load(version)


def test_registration_refuses_metadata_other_than_the_logged_models(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    with store.tracker.start_run("train", {}) as run:
        uri = run.log_model(LightGBMFraudModel(tiny_booster), METADATA, feature_rows)

        with pytest.raises(UntrustedModelError, match=re.escape("threshold is '0.9' in the registry")):
            store.registry.register(uri, run.run_id, replace(METADATA, threshold=0.9))

    assert store.registry.list_versions() == []


def test_metrics_that_are_not_numbers_in_text_still_round_trip(
    store: Store, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    """NaN (a metric of a holdout without frauds) and integers written by YAML agree with their tags."""
    metadata = replace(METADATA, threshold=1, metrics={"auprc": float("nan"), "rows": 3})
    with store.tracker.start_run("train", {}) as run:
        uri = run.log_model(LightGBMFraudModel(tiny_booster), metadata, feature_rows)
        version = store.registry.register(uri, run.run_id, metadata).version

    assert store.load(version).to_text() == LightGBMFraudModel(tiny_booster).to_text()


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
        store.load(version)


@pytest.mark.parametrize("data", ["../../outside.lgb", "/etc/passwd", "sub/model.lgb", ".."])
def test_a_data_file_outside_the_model_folder_is_refused(store: Store, tmp_path: Path, data: str) -> None:
    flavor = {"data": data, "model_class": "lightgbm.basic.Booster"}
    version = craft_version(store, tmp_path / "crafted", {}, flavor, "0" * 64)

    with pytest.raises(UntrustedModelError, match="is not a file in the model folder"):
        store.load(version)
