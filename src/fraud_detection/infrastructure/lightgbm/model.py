"""A fitted LightGBM booster behind the `FraudModel` port."""

from __future__ import annotations

import ctypes
import threading
import weakref

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm.basic import _LIB, _c_str, _safe_call  # type: ignore[attr-defined]

from fraud_detection.domain.errors import IncompatibleModelError
from fraud_detection.domain.ports.modelling import FraudModel

C_API_PREDICT_NORMAL = 0  # LightGBM's c_api.h constants
C_API_DTYPE_FLOAT64 = 1
# Below this many rows the serving calls (`predict_matrix`, `contributions_matrix`) use one thread: starting
# OpenMP's threads costs more than they save, and far more when the cores are busy (a 2-core machine under
# API load: 32 rows took 2.8 ms on 2 threads against 0.5 ms on 1, one row's contributions 4.7 ms against
# 0.4 ms; benchmarks/serve.py --rollout lost a sixth of its throughput to the shadow's batched scoring).
PARALLEL_MIN_ROWS = 1_000
# The single-row call through a handle that keeps the GIL (ctypes.PyDLL): the C call takes ~5 us, and a
# CDLL call gives the GIL away for it. With other threads waiting to run Python (the capture writers, the
# shadow scorer) the request thread then waited to get it back: the call took ~25 us, not ~5, and the
# rollout's scoring use case 57 us against 31 per call, in process over 60,000 calls once its threads were
# busy.
_SINGLE_ROW_FAST = ctypes.PyDLL(_LIB._name).LGBM_BoosterPredictForMatSingleRowFast


class LightGBMFraudModel(FraudModel):
    def __init__(self, booster: lgb.Booster, threads: int = 2) -> None:
        self.booster = booster
        self._features = tuple(booster.feature_name())
        self._threads = threads
        self._single_row = SingleRowPredictor(booster, len(self._features))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._features

    @property
    def best_iteration(self) -> int:
        best = self.booster.best_iteration
        return int(best) if best and best > 0 else int(self.booster.current_iteration())

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self._matrix(features), num_threads=self._threads))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        matrix = self._matrix(features)
        return np.asarray(self.booster.predict(matrix, pred_contrib=True, num_threads=self._threads))

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        checked = self._checked(features)
        return np.asarray(self.booster.predict(checked, num_threads=self._threads_for(checked)))

    def predict_row(self, features: np.ndarray) -> float:
        return self._single_row(features)

    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        checked = self._checked(features)
        threads = self._threads_for(checked)
        return np.asarray(self.booster.predict(checked, pred_contrib=True, num_threads=threads))

    def to_text(self) -> str:
        """The booster as LightGBM's text model (what the local cache stores)."""
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str, threads: int = 2) -> LightGBMFraudModel:
        return cls(lgb.Booster(model_str=text), threads=threads)

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        return {name: float(gain) for name, gain in zip(self._features, gains, strict=True)}

    def _checked(self, features: np.ndarray) -> np.ndarray:
        if features.ndim != 2 or features.shape[1] != len(self._features):
            raise IncompatibleModelError(
                f"model expects {len(self._features)} feature columns, got array of shape {features.shape}"
            )
        return features

    def _threads_for(self, features: np.ndarray) -> int:
        return self._threads if len(features) >= PARALLEL_MIN_ROWS else 1

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        if tuple(features.columns) != self._features:
            raise IncompatibleModelError(
                f"model expects features {list(self._features)}, got {list(features.columns)}"
            )
        return features.to_numpy(dtype=np.float64)


class SingleRowPredictor:
    """One row through LightGBM's C API single-row fast path (LGBM_BoosterPredictForMatSingleRowFast).

    Hand-written on purpose: lightgbm's Python `predict` re-validates its input and allocates on every call,
    ~21 us for one row of a 100-tree model here, against ~4.4 us through this documented C entry point
    (identical results, checked in the tests). The prepared configuration is not thread-safe, so calls hold
    a lock; it is freed with the predictor.
    """

    def __init__(self, booster: lgb.Booster, width: int) -> None:
        self._width = width
        self._lock = threading.Lock()
        self._out = np.zeros(1, dtype=np.float64)
        self._out_len = ctypes.c_int64()
        self._config = ctypes.c_void_p()
        best = booster.best_iteration if booster.best_iteration and booster.best_iteration > 0 else -1
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(C_API_PREDICT_NORMAL),
                ctypes.c_int(0),
                ctypes.c_int(best),
                ctypes.c_int(C_API_DTYPE_FLOAT64),
                ctypes.c_int32(width),
                _c_str("num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        weakref.finalize(self, _LIB.LGBM_FastConfigFree, self._config)
        self._booster = booster  # the configuration points into the booster: keep it alive as long

    def __call__(self, features: np.ndarray) -> float:
        row = np.ascontiguousarray(features, dtype=np.float64)
        if row.shape != (self._width,):
            raise IncompatibleModelError(f"model expects one row of {self._width} features, got {row.shape}")
        out = self._out
        with self._lock:
            _safe_call(
                _SINGLE_ROW_FAST(
                    self._config,
                    row.ctypes.data_as(ctypes.c_void_p),
                    ctypes.byref(self._out_len),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                )
            )
            return float(out[0])
