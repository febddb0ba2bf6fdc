"""Batch scoring through lleaves-compiled trees: same scores as LightGBM, cached per model, safe fallbacks."""

import hashlib
import logging
import os
import stat
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightgbm as lgb
import lleaves
import numpy as np
import pandas as pd
import pytest

from fraud_detection.application.train import labelled
from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.features import FEATURE_COLUMNS
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.lightgbm import LightGBMFraudModel, LightGBMTrainer
from fraud_detection.infrastructure.lightgbm import compiled as compiled_module
from fraud_detection.infrastructure.lightgbm.compiled import CompiledFraudModel, CompilingAccelerator
from fraud_detection.infrastructure.lightgbm.compiled_cache import MAGIC, PURPOSE, CompiledObjectCache
from fraud_detection.infrastructure.local.cache_seal import KEY_FILE, CacheSeal
from tests.fakes import FakeModel

pytestmark = pytest.mark.integration

VERSION = ModelVersion("fraud-lgbm", 3, ("champion",), None, "2026-11-26T00:00:00+00:00", None)
LOGGER = "fraud_detection.infrastructure.lightgbm.compiled"


def random_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features in FEATURE_COLUMNS order with a noisy, partly non-linear label, so trees keep splitting."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, len(FEATURE_COLUMNS)))
    signal = 1.5 * features[:, 13] - features[:, 16] + 0.5 * features[:, 2] * features[:, 5]
    return features, (signal + rng.normal(scale=2.0, size=rows) > 2.5).astype(float)


def train(rounds: int, early_stopping: int | None) -> LightGBMFraudModel:
    features, labels = random_rows(20_000, seed=1)
    valid_features, valid_labels = random_rows(5_000, seed=2)
    callbacks = [lgb.early_stopping(early_stopping, verbose=False)] if early_stopping else []
    booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": 15,
            "learning_rate": 0.1,
            "seed": 1,
            "verbose": -1,
            "num_threads": 1,
        },
        lgb.Dataset(features, labels, feature_name=list(FEATURE_COLUMNS)),
        num_boost_round=rounds,
        valid_sets=[lgb.Dataset(valid_features, valid_labels)],
        callbacks=callbacks,
        keep_training_booster=True,  # keeps the trees past the best iteration (predict skips them)
    )
    return LightGBMFraudModel(booster, threads=1)  # OpenMP threads crawl when another process holds a core


@pytest.fixture(scope="module")
def model() -> LightGBMFraudModel:
    return train(rounds=300, early_stopping=30)  # ~100 trees built, the best iteration ~70


@pytest.fixture(scope="module")
def small_model() -> LightGBMFraudModel:
    return train(rounds=8, early_stopping=None)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compiled-models")


@pytest.fixture(scope="module")
def compiled(model: LightGBMFraudModel, cache_dir: Path) -> CompiledFraudModel:
    accelerated = CompilingAccelerator(cache_dir).accelerate(VERSION, model)
    assert isinstance(accelerated, CompiledFraudModel)
    return accelerated


@pytest.fixture
def compile_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real compilations (IR generation) from here on; loading a cached object generates none."""
    calls = [0]
    original: Callable[..., Any] = lleaves.compiler.compile_to_module

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(lleaves.compiler, "compile_to_module", counting)
    return calls


def forest_files(directory: Path) -> list[Path]:
    """Every file but the generated cache key."""
    return sorted(path for path in directory.iterdir() if path.name != KEY_FILE)


@pytest.mark.slow
def test_compiled_scores_equal_lightgbm_using_only_the_best_iteration(model, compiled):
    assert model.booster.num_trees() > model.best_iteration  # the extra trees must not be compiled in
    rows, _ = random_rows(20_000, seed=7)
    expected = model.predict_matrix(rows)
    assert not compiled.from_cache
    assert np.max(np.abs(compiled.predict_matrix(rows) - expected)) <= 1e-12
    assert np.max(np.abs(compiled.predict_matrix(np.asfortranarray(rows)) - expected)) <= 1e-12
    assert np.max(np.abs(compiled.predict_matrix(rows[:100]) - expected[:100])) <= 1e-12  # one thread
    assert compiled.predict_matrix(rows[:0]).shape == (0,)


@pytest.mark.slow
def test_every_other_method_is_lightgbms(model, compiled):
    rows, _ = random_rows(50, seed=8)
    frame = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))
    assert compiled.feature_names == model.feature_names
    assert compiled.best_iteration == model.best_iteration
    assert compiled.feature_importance() == model.feature_importance()
    assert compiled.predict_row(rows[0]) == model.predict_row(rows[0])
    np.testing.assert_array_equal(compiled.contributions_matrix(rows), model.contributions_matrix(rows))
    np.testing.assert_array_equal(compiled.contributions(frame), model.contributions(frame))
    np.testing.assert_array_equal(compiled.predict_proba(frame), model.predict_proba(frame))
    assert compiled.to_text() == model.to_text()


@pytest.mark.slow
def test_a_matrix_of_the_wrong_width_is_refused(compiled):
    with pytest.raises(IncompatibleModelError, match="expects 29 feature columns"):
        compiled.predict_matrix(np.zeros((3, 5)))


@pytest.mark.slow
def test_a_second_accelerator_loads_the_cached_object_without_compiling(
    model, compiled, cache_dir, compile_count
):
    (entry,) = forest_files(cache_dir)  # one object, no temporary file left behind
    written = entry.stat().st_mtime_ns
    again = CompilingAccelerator(cache_dir, threads=1).accelerate(VERSION, model)
    assert isinstance(again, CompiledFraudModel)
    assert again.from_cache
    assert compile_count[0] == 0
    assert forest_files(cache_dir) == [entry]
    assert entry.stat().st_mtime_ns == written
    rows, _ = random_rows(1_000, seed=9)
    np.testing.assert_array_equal(again.predict_matrix(rows), compiled.predict_matrix(rows))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-100] + bytes(100), id="zeroed-tail"),
        pytest.param(lambda data: b"not an object file", id="garbage"),
        pytest.param(lambda data: MAGIC, id="header-only"),
    ],
)
def test_a_damaged_cache_file_is_compiled_again_and_replaced(
    small_model, tmp_path, compile_count, damage: Callable[[bytes], bytes]
):
    CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    (entry,) = forest_files(tmp_path)
    entry.write_bytes(damage(entry.read_bytes()))

    recompiled = CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    reloaded = CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)

    assert isinstance(recompiled, CompiledFraudModel)
    assert not recompiled.from_cache
    assert compile_count[0] == 2
    assert isinstance(reloaded, CompiledFraudModel)
    assert reloaded.from_cache
    rows, _ = random_rows(2_000, seed=10)
    np.testing.assert_allclose(recompiled.predict_matrix(rows), small_model.predict_matrix(rows), atol=1e-12)


def test_without_lleaves_the_lightgbm_model_is_used(small_model, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "lleaves", None)  # `import lleaves` now raises ImportError
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert CompilingAccelerator(tmp_path).accelerate(VERSION, small_model) is small_model
    (warning,) = caplog.records
    assert "fraud-lgbm v3" in warning.getMessage()
    assert "lleaves/llvmlite cannot be imported" in warning.getMessage()
    assert forest_files(tmp_path) == []


def test_a_model_that_is_not_lightgbm_is_returned_as_it_is(tmp_path, caplog):
    other = FakeModel()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert CompilingAccelerator(tmp_path).accelerate(VERSION, other) is other
    (warning,) = caplog.records
    assert "FakeModel is not a LightGBM model" in warning.getMessage()


def test_a_failed_compilation_falls_back_to_lightgbm(small_model, tmp_path, monkeypatch, caplog):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("LLVM ERROR: out of registers")

    monkeypatch.setattr(lleaves.compiler, "compile_to_module", broken)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert CompilingAccelerator(tmp_path).accelerate(VERSION, small_model) is small_model
    (warning,) = caplog.records
    assert "compilation failed (RuntimeError: LLVM ERROR: out of registers)" in warning.getMessage()


def test_a_forest_that_disagrees_with_lightgbm_is_never_used_nor_cached(
    small_model, tmp_path, monkeypatch, caplog
):
    exact = lleaves.Model.predict

    def slightly_off(self: Any, data: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
        return np.asarray(exact(self, data, n_jobs=n_jobs)) + 1e-8

    monkeypatch.setattr(lleaves.Model, "predict", slightly_off)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert CompilingAccelerator(tmp_path).accelerate(VERSION, small_model) is small_model
    (warning,) = caplog.records
    assert "differ from LightGBM by 1e-08 on 512 probe rows" in warning.getMessage()
    assert forest_files(tmp_path) == []


def test_a_cached_forest_that_disagrees_is_dropped_and_compiled_again(
    small_model, tmp_path, monkeypatch, compile_count
):
    CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    exact, calls = lleaves.Model.predict, [0]

    def first_load_off(self: Any, data: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
        calls[0] += 1
        return np.asarray(exact(self, data, n_jobs=n_jobs)) + (0.5 if calls[0] == 1 else 0.0)

    monkeypatch.setattr(lleaves.Model, "predict", first_load_off)
    again = CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    assert isinstance(again, CompiledFraudModel)
    assert not again.from_cache
    assert compile_count[0] == 2
    assert len(forest_files(tmp_path)) == 1


def test_readers_never_see_a_torn_file_while_workers_rewrite_the_entry(tmp_path):
    cache = CompiledObjectCache(tmp_path)
    payloads = [bytes([value]) * 300_000 for value in range(1, 5)]
    cache.store("key", payloads[0])

    def write(payload: bytes) -> None:
        for _ in range(5):
            cache.store("key", payload)

    with ThreadPoolExecutor(max_workers=6) as pool:
        writers = [pool.submit(write, payload) for payload in payloads]
        seen = [cache.load("key") for _ in range(200)]
        for writer in writers:
            writer.result()
    assert all(payload in payloads for payload in seen)
    assert [path.name for path in forest_files(tmp_path)] == [cache.path("key").name]


@pytest.fixture
def cached_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Object files handed to LLVM to load (rather than written by a fresh compile)."""
    loads: list[Path] = []
    original = compiled_module._compile

    def spying(lleaves_module: Any, model_file: Path, object_file: Path) -> Any:
        if object_file.exists():
            loads.append(object_file)
        return original(lleaves_module, model_file, object_file)

    monkeypatch.setattr(compiled_module, "_compile", spying)
    return loads


def foreign_object(tmp_path: Path) -> bytes:
    """Genuine machine code of another model: what an attacker would plant (here harmless)."""
    folder = tmp_path / "elsewhere"
    CompilingAccelerator(folder).accelerate(VERSION, train(rounds=3, early_stopping=None))
    (entry,) = forest_files(folder)
    return CompiledObjectCache(folder).load(entry.name.removesuffix(".forest")) or b""


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda key, payload: (
                b"fraud-detection compiled forest v1\n" + hashlib.sha256(payload).digest() + payload
            ),
            id="unkeyed-sha256",
        ),
        pytest.param(
            lambda key, payload: (
                MAGIC + CacheSeal(b"attacker-key-0123456789", PURPOSE).seal(key, payload) + payload
            ),
            id="hmac-with-another-key",
        ),
    ],
)
def test_a_forest_swapped_into_the_cache_is_never_loaded(
    small_model, tmp_path, compile_count, cached_loads, forge: Callable[[str, bytes], bytes]
):
    cache_dir = tmp_path / "cache"
    CompilingAccelerator(cache_dir).accelerate(VERSION, small_model)
    (entry,) = forest_files(cache_dir)
    entry.write_bytes(forge(entry.name.removesuffix(".forest"), foreign_object(tmp_path)))
    compile_count[0] = 0

    again = CompilingAccelerator(cache_dir).accelerate(VERSION, small_model)

    assert cached_loads == []  # the planted object never reached LLVM
    assert isinstance(again, CompiledFraudModel)
    assert not again.from_cache
    assert compile_count[0] == 1
    assert CompilingAccelerator(cache_dir).accelerate(VERSION, small_model).from_cache  # resealed


@pytest.mark.parametrize(
    "loosen",
    [
        pytest.param(lambda path: path.chmod(0o666), id="world-writable"),
        pytest.param(lambda path: path.chmod(0o620), id="group-writable"),
        pytest.param(
            lambda path: (
                os.chown(path, 54321, -1) if os.geteuid() == 0 else pytest.skip("needs root to chown")
            ),
            id="owned-by-another-user",
        ),
    ],
)
def test_a_genuine_forest_others_could_have_written_is_refused(
    small_model, tmp_path, compile_count, cached_loads, loosen: Callable[[Path], None]
):
    CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    (entry,) = forest_files(tmp_path)
    loosen(entry)

    again = CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)

    assert cached_loads == []
    assert isinstance(again, CompiledFraudModel)
    assert not again.from_cache
    (rewritten,) = forest_files(tmp_path)
    info = rewritten.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (os.geteuid(), 0o600)


def test_a_symbolic_link_in_the_cache_is_refused(small_model, tmp_path, cached_loads):
    CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    (entry,) = forest_files(tmp_path)
    target = tmp_path.parent / f"{tmp_path.name}-target.forest"
    entry.rename(target)
    entry.symlink_to(target)

    again = CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)

    assert cached_loads == []
    assert isinstance(again, CompiledFraudModel)
    assert not again.from_cache


def test_the_generated_key_is_private_and_a_shared_key_writes_none(small_model, tmp_path):
    CompilingAccelerator(tmp_path / "own").accelerate(VERSION, small_model)
    key = (tmp_path / "own" / KEY_FILE).stat()
    assert (key.st_uid, stat.S_IMODE(key.st_mode)) == (os.geteuid(), 0o600)

    shared = tmp_path / "shared"
    CompilingAccelerator(shared, cache_key="k" * 32).accelerate(VERSION, small_model)
    reloaded = CompilingAccelerator(shared, cache_key="k" * 32).accelerate(VERSION, small_model)
    assert isinstance(reloaded, CompiledFraudModel)
    assert reloaded.from_cache
    assert not (shared / KEY_FILE).exists()
    other_key = CompilingAccelerator(shared, cache_key="x" * 32).accelerate(VERSION, small_model)
    assert isinstance(other_key, CompiledFraudModel)
    assert not other_key.from_cache


def test_a_key_file_others_can_read_is_refused_and_lightgbm_scores(small_model, tmp_path, caplog):
    CompilingAccelerator(tmp_path).accelerate(VERSION, small_model)
    (tmp_path / KEY_FILE).chmod(0o644)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert CompilingAccelerator(tmp_path).accelerate(VERSION, small_model) is small_model
    assert "readable by group or others" in caplog.text


def test_workers_racing_to_create_the_key_all_use_one_key(tmp_path):
    def seal(_: int) -> bytes:
        return CacheSeal.for_folder(tmp_path, PURPOSE).seal("entry", b"payload")

    with ThreadPoolExecutor(max_workers=8) as pool:
        seals = set(pool.map(seal, range(32)))
    assert len(seals) == 1
    assert [path.name for path in tmp_path.iterdir()] == [KEY_FILE]  # no temporary key left behind


@pytest.mark.slow
def test_a_model_of_the_earliest_real_rows_is_compiled_and_scores_later_rows_as_lightgbm(
    real_sample_path, tmp_path, caplog
):
    """A probe: this model was refused (6e-4 apart on 3 of 512 probe rows, cells at LightGBM's zero band,
    -1e-35, which no input reaches) and its batches scored at about half the compiled speed."""
    frame = pd.read_csv(real_sample_path).sort_values("Time", kind="stable")
    cut = int(len(frame) * 0.6)
    model = LightGBMTrainer().fit(labelled(frame.iloc[:cut]), TrainingParams(), rounds=150)
    assert isinstance(model, LightGBMFraudModel)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        accelerated = CompilingAccelerator(tmp_path).accelerate(VERSION, model)
    assert isinstance(accelerated, CompiledFraudModel), [r.getMessage() for r in caplog.records]
    later = labelled(frame.iloc[cut:]).features
    np.testing.assert_allclose(
        accelerated.predict_proba(later), model.predict_proba(later), rtol=0, atol=1e-12
    )
