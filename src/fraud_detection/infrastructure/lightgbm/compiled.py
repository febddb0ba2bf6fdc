"""Batch scoring through the booster's trees compiled to machine code by lleaves, LightGBM as the fallback.

Compiling takes seconds (0.8 s for 100 trees of 15 leaves, ~5 s for 200 of 31 on the 2-core dev machine),
so the object is cached per model text, toolchain and CPU, and later worker processes load it in
milliseconds. A cached object reaches LLVM only after its keyed seal and file ownership check out
(`CompiledObjectCache`), and it is copied into this process's private temporary folder first, so nobody can
swap it between the check and the load. A compiled forest is used only after it matches LightGBM on probe
rows; anything that goes wrong leaves batch scoring on the LightGBM model, with one warning.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from importlib.metadata import version as installed_version
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd

from fraud_detection.domain.errors import IncompatibleModelError, UntrustedModelError
from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.infrastructure.lightgbm.compiled_cache import CompiledObjectCache
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder

logger = logging.getLogger(__name__)

PROBE_ROWS = 512
TOLERANCE = 1e-9  # largest absolute probability difference from LightGBM a compiled forest may show
PARALLEL_MIN_ROWS = 10_000  # below this, starting lleaves' threads costs more than it saves
COMPILE_OPTIONS = "fp64,probabilities,default-flags"  # part of the cache key: change it with the options


class CompiledForest(Protocol):
    """The part of `lleaves.Model` used here."""

    def predict(self, data: np.ndarray, n_jobs: int | None = None) -> np.ndarray: ...


class CompiledFraudModel(FraudModel):
    """`predict_matrix` through the compiled forest; everything else through the LightGBM model it mirrors."""

    def __init__(
        self, model: LightGBMFraudModel, forest: CompiledForest, threads: int, from_cache: bool
    ) -> None:
        self.lightgbm = model
        self.from_cache = from_cache
        self._forest = forest
        self._threads = threads

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.lightgbm.feature_names

    @property
    def best_iteration(self) -> int:
        return self.lightgbm.best_iteration

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.lightgbm.predict_proba(features)

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        return self.lightgbm.contributions(features)

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        width = len(self.feature_names)
        if features.ndim != 2 or features.shape[1] != width:
            raise IncompatibleModelError(
                f"model expects {width} feature columns, got array of shape {features.shape}"
            )
        matrix = np.ascontiguousarray(features, dtype=np.float64)
        threads = self._threads if len(matrix) >= PARALLEL_MIN_ROWS else 1
        return np.asarray(self._forest.predict(matrix, n_jobs=threads), dtype=np.float64)

    def predict_row(self, features: np.ndarray) -> float:
        return self.lightgbm.predict_row(features)

    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        return self.lightgbm.contributions_matrix(features)

    def feature_importance(self) -> dict[str, float]:
        return self.lightgbm.feature_importance()

    def to_text(self) -> str:
        return self.lightgbm.to_text()


class ForestRejectedError(Exception):
    """A compiled forest disagreed with LightGBM on the probe rows."""


class CompilingAccelerator(ModelAccelerator):
    def __init__(self, cache_dir: Path, threads: int = 2, cache_key: str | None = None) -> None:
        """`cache_key`: the deployment's secret sealing cached objects (None: a key file in `cache_dir`)."""
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self._cache = CompiledObjectCache(cache_dir, cache_key)
        self._threads = threads

    def accelerate(self, version: ModelVersion, model: FraudModel) -> FraudModel:
        if not isinstance(model, LightGBMFraudModel):
            return _fallback(version, model, f"{type(model).__name__} is not a LightGBM model")
        try:
            lleaves = importlib.import_module("lleaves")
            llvm = importlib.import_module("llvmlite.binding")
        except ImportError as error:
            return _fallback(version, model, f"lleaves/llvmlite cannot be imported ({error})")
        try:
            return self._compiled(version, model, lleaves, llvm)
        except ForestRejectedError as error:
            return _fallback(version, model, str(error))
        except Exception as error:  # LLVM and lleaves raise many kinds; every one leaves LightGBM in charge
            return _fallback(version, model, f"compilation failed ({type(error).__name__}: {error})")

    def _compiled(
        self, version: ModelVersion, model: LightGBMFraudModel, lleaves: ModuleType, llvm: ModuleType
    ) -> CompiledFraudModel:
        # Exactly the trees LightGBM predicts with: up to the best iteration, not every tree trained.
        text = str(model.booster.model_to_string(num_iteration=model.best_iteration))
        key = f"{hashlib.sha256(text.encode()).hexdigest()}-{toolchain_fingerprint(llvm)}"
        probe = probe_rows(model.booster, model.best_iteration, PROBE_ROWS)
        expected = model.predict_matrix(probe)
        with scratch_folder("lleaves-") as work:
            model_file, object_file = Path(work) / "model.txt", Path(work) / "forest.o"
            model_file.write_text(text)
            forest = self._cached(version, key, lleaves, model_file, object_file, probe, expected)
            if forest is not None:
                return CompiledFraudModel(model, forest, self._threads, from_cache=True)
            started = time.perf_counter()
            forest = _compile(lleaves, model_file, object_file)
            gap = _gap(forest, probe, expected)
            if not gap <= TOLERANCE:
                raise ForestRejectedError(
                    f"compiled predictions differ from LightGBM by {gap:.3g} on {len(probe)} probe rows "
                    f"(tolerance {TOLERANCE:g})"
                )
            logger.info("compiled %s in %.1f s", version.label, time.perf_counter() - started)
            self._keep(key, object_file)
        return CompiledFraudModel(model, forest, self._threads, from_cache=False)

    def _cached(
        self,
        version: ModelVersion,
        key: str,
        lleaves: ModuleType,
        model_file: Path,
        object_file: Path,
        probe: np.ndarray,
        expected: np.ndarray,
    ) -> CompiledForest | None:
        """The cached forest if there is one that passes the cache's checks, loads and agrees with LightGBM;
        a bad one is dropped. The checks run before LLVM sees the bytes."""
        payload = self._cache.load(key)
        if payload is None:
            return None
        started = time.perf_counter()
        try:
            object_file.write_bytes(payload)
            forest: CompiledForest = _compile(lleaves, model_file, object_file)
            problem = None if _gap(forest, probe, expected) <= TOLERANCE else "disagrees with LightGBM"
        except Exception as error:
            problem = f"does not load ({type(error).__name__}: {error})"
        object_file.unlink(missing_ok=True)
        if problem is None:
            logger.info("loaded %s compiled in %.3f s", version.label, time.perf_counter() - started)
            return forest
        logger.warning("cached compiled forest %s %s; recompiling", self._cache.path(key), problem)
        self._cache.discard(key)
        return None

    def _keep(self, key: str, object_file: Path) -> None:
        """Cache the object; a failure costs later processes a compile, never this one its forest."""
        try:
            self._cache.store(key, object_file.read_bytes())
        except (OSError, UntrustedModelError) as error:
            logger.warning("cannot cache the compiled forest under %s: %s", self._cache.path(key), error)


def toolchain_fingerprint(llvm: ModuleType) -> str:
    """What besides the model text decides the object code: tool versions, target CPU, compile options."""
    try:
        features = str(llvm.get_host_cpu_features().flatten())
    except RuntimeError:  # LLVM cannot detect features on some hosts; lleaves then compiles without them
        features = ""
    parts = (
        f"lleaves={installed_version('lleaves')}",
        f"llvmlite={installed_version('llvmlite')}",
        f"cpu={llvm.get_host_cpu_name()}",
        f"features={features}",
        f"options={COMPILE_OPTIONS}",
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# Twice LightGBM's kZeroThreshold (1e-35), so its float32 form (1.00000002e-35) and neighbours fall in.
ZERO_BAND = 2e-35


def probe_rows(booster: lgb.Booster, iterations: int, rows: int, seed: int = 0) -> np.ndarray:
    """Random rows whose cells sit mostly on, just below or just above the forest's split thresholds, where
    a compiler's comparisons would go wrong first; some cells are normal noise and a few missing.

    A split at zero is stored with the threshold -1e-35 (LightGBM's zero band, as a float32): LightGBM reads
    any value within the band as zero, lleaves compares it as it is. Probing the band's edges refused a
    model trained on the earliest 60% of the real rows (a gap of 6e-4 on 3 rows of 512, 3e-16 on every
    real row), which then scored batches at about half the compiled speed: no input reaches the band (a V
    value of 1e-35, or log1p of an Amount that small), so such a threshold is probed at exactly zero, which
    inputs do reach (an Amount of 0), and where both agree."""
    width = booster.num_feature()
    thresholds: list[list[float]] = [[] for _ in range(width)]
    nodes = [tree["tree_structure"] for tree in booster.dump_model(num_iteration=iterations)["tree_info"]]
    while nodes:
        node = nodes.pop()
        if "split_feature" in node:
            if isinstance(node["threshold"], int | float):  # categorical splits hold "1||3" strings
                thresholds[node["split_feature"]].append(float(node["threshold"]))
            nodes += [node["left_child"], node["right_child"]]
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, width))
    for column, values in enumerate(thresholds):
        if values:
            at = np.asarray(values)
            candidates = np.concatenate([at, np.nextafter(at, -np.inf), np.nextafter(at, np.inf)])
            candidates[np.abs(candidates) <= ZERO_BAND] = 0.0
            chosen = rng.random(rows) < 0.75
            matrix[chosen, column] = rng.choice(candidates, size=int(chosen.sum()))
    matrix[rng.random(matrix.shape) < 0.02] = np.nan
    return matrix


def _compile(lleaves: ModuleType, model_file: Path, object_file: Path) -> Any:
    """lleaves compiles `model_file` and writes the object to `object_file`, or loads it when it exists."""
    forest = lleaves.Model(model_file=str(model_file))
    forest.compile(cache=str(object_file))
    return forest


def _gap(forest: CompiledForest, probe: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(forest.predict(probe, n_jobs=1) - expected)))


def _fallback(version: ModelVersion, model: FraudModel, reason: str) -> FraudModel:
    logger.warning("batch scoring of %s stays on LightGBM: %s", version.label, reason)
    return model
