"""Drift adapters: captured rows from the prediction log (captured.py), reference profiles in the object
store (documents.py), p-values (scipy_tests.py), the matplotlib chart (chart.py).

Names are resolved on first use (PEP 562), so importing one adapter does not load the others' libraries: a
drift check must start fast (see entrypoints/cli/drift.py)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODULES = {
    "MatplotlibDriftChart": "chart",
    "ObjectStoreReferenceProfiles": "documents",
    "PredictionLogWindow": "captured",
    "ScipyDistributionTests": "scipy_tests",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
