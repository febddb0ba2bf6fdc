"""The served model's local copy (sealed, verified) and a service start on a registry that fails.

Replays: a corrupt SQLite registry at start (the service stays live and serves the verified local copy),
and local copies that were swapped, re-written without the key, or left writable by others (refused: the
service stays live and not ready rather than serve them).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import lightgbm as lgb
import pandas as pd
import pytest

from fraud_detection.application.serving.model_holder import LOCAL_CACHE
from fraud_detection.composition import Container
from fraud_detection.domain.errors import UntrustedModelError
from fraud_detection.domain.model import CHAMPION, MODEL_DIGEST_TAG, ModelMetadata, ModelVersion
from fraud_detection.infrastructure.lightgbm import model_cache
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.lightgbm.model_cache import FILE_NAME, MAGIC, LightGBMModelCache
from fraud_detection.infrastructure.local.cache_seal import KEY_FILE
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration

CACHE_KEY = "k" * 40


def version_of(model: LightGBMFraudModel, **tags: str) -> ModelVersion:
    digest = hashlib.sha256(model.to_text().encode()).hexdigest()
    return ModelVersion(
        "fraud-lgbm", 4, (CHAMPION,), "run-4", "2026-12-01T00:00:00+00:00",
        ModelMetadata("fe-1", 0.5, "d" * 64), {MODEL_DIGEST_TAG: digest} | tags,
    )  # fmt: skip


@pytest.fixture
def model(tiny_booster: lgb.Booster) -> LightGBMFraudModel:
    return LightGBMFraudModel(tiny_booster)


StartService = Callable[..., Container]


@pytest.fixture
def start_service() -> Iterator[StartService]:
    """Start the service's runtime on a home; stopped at teardown, or its rollout poller would go on reading
    the corrupt registry (and logging to a closed stream) long after the test."""
    started: list[Container] = []

    def start(home: Path, cache_key: str | None = None) -> Container:
        settings = Settings(home=home, model_poll_seconds=0, model_compile=False, cache_key=cache_key)
        container = Container(settings)
        container.serving.runtime().start()
        started.append(container)
        return container

    yield start
    for container in started:
        container.serving.runtime().stop()


def corrupt_registry(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "mlflow.db").write_bytes(os.urandom(8192))  # "file is not a database"


@pytest.mark.parametrize("cache_key", [None, CACHE_KEY], ids=["key-file", "FRAUD_CACHE_KEY"])
def test_a_corrupt_registry_at_start_serves_the_verified_local_copy(
    tmp_path: Path,
    model: LightGBMFraudModel,
    feature_rows: pd.DataFrame,
    cache_key: str | None,
    start_service: StartService,
) -> None:
    home = tmp_path / "home"
    corrupt_registry(home)
    version = version_of(model)
    LightGBMModelCache(Settings(home=home).model_cache_dir, cache_key).save(version, model)

    container = start_service(home, cache_key)

    serving = container.serving.model_holder().require()
    assert (serving.source, serving.version) == (LOCAL_CACHE, version)
    assert (
        serving.model.predict_matrix(feature_rows.to_numpy()).tolist()
        == model.predict_matrix(feature_rows.to_numpy()).tolist()
    )
    assert container.serving.champion_loader().registry_reachable is False


def test_a_corrupt_registry_and_no_copy_is_live_and_not_ready(
    tmp_path: Path, start_service: StartService
) -> None:
    home = tmp_path / "home"
    corrupt_registry(home)

    container = start_service(home)

    assert container.serving.model_holder().current is None


def swap_model(path: Path, other: str) -> None:
    """Keep the sealed header, replace the model text: what an attacker without the key can do."""
    data = path.read_bytes()
    header_size = len(MAGIC) + hashlib.sha256().digest_size
    document = json.loads(data[header_size:])
    document["model"] = other
    path.write_bytes(data[:header_size] + json.dumps(document).encode())


def reseal_without_key(path: Path, other: str) -> None:
    """Write a copy in the old unsealed format, version and digest tag made to match the swapped model."""
    data = path.read_bytes()
    document = json.loads(data[len(MAGIC) + hashlib.sha256().digest_size :])
    document["model"] = other
    document["version"]["tags"][MODEL_DIGEST_TAG] = hashlib.sha256(other.encode()).hexdigest()
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(swap_model, id="model-text-swapped"),
        pytest.param(reseal_without_key, id="unsealed-consistent-copy"),
        pytest.param(lambda path, other: path.chmod(0o666), id="world-writable"),
        pytest.param(lambda path, other: path.chmod(0o660), id="group-writable"),
    ],
)
def test_a_tampered_local_copy_is_refused_and_the_service_is_not_ready(
    tmp_path: Path, model: LightGBMFraudModel, tamper: object, start_service: StartService
) -> None:
    home = tmp_path / "home"
    corrupt_registry(home)
    folder = Settings(home=home).model_cache_dir
    LightGBMModelCache(folder).save(version_of(model), model)
    other = lgb.Booster(model_str=model.to_text())
    other_text = str(other.model_to_string(num_iteration=1))  # a valid, different model
    tamper(folder / FILE_NAME, other_text)  # type: ignore[operator]

    container = start_service(home)

    assert container.serving.model_holder().current is None


def test_the_copy_and_the_key_file_are_private_and_a_foreign_key_reads_nothing(
    tmp_path: Path, model: LightGBMFraudModel
) -> None:
    LightGBMModelCache(tmp_path).save(version_of(model), model)

    for name in (FILE_NAME, KEY_FILE):
        info = (tmp_path / name).stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (os.geteuid(), 0o600)
    assert LightGBMModelCache(tmp_path).load() is not None
    assert LightGBMModelCache(tmp_path, secret=CACHE_KEY).load() is None


def test_a_version_without_a_recorded_digest_is_never_kept(tmp_path: Path, model: LightGBMFraudModel) -> None:
    with pytest.raises(UntrustedModelError, match="not the registry's recorded digest"):
        LightGBMModelCache(tmp_path).save(version_of(model, **{MODEL_DIGEST_TAG: ""}), model)
    assert not (tmp_path / FILE_NAME).exists()


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_save_leaves_no_temp_file_and_keeps_the_previous_copy(
    tmp_path: Path, model: LightGBMFraudModel, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A save failing on a full disk left its multi-MB `.served-*` temp behind, every attempt, never swept."""
    cache = LightGBMModelCache(tmp_path, secret=CACHE_KEY)
    cache.save(version_of(model), model)
    kept = (tmp_path / FILE_NAME).read_bytes()

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_cache.os, failing, full_disk)
    for _ in range(3):
        with pytest.raises(OSError, match="No space left"):
            cache.save(version_of(model, attempt="2"), model)
    assert sorted(path.name for path in tmp_path.iterdir()) == [FILE_NAME]
    assert (tmp_path / FILE_NAME).read_bytes() == kept


def test_the_cache_key_setting_must_be_long_and_empty_means_a_key_file() -> None:
    assert Settings(cache_key="").cache_key is None
    assert Settings(cache_key=CACHE_KEY).cache_key is not None
    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings(cache_key="k" * 31)
