"""Injected values for a flow module, wiring it first when nobody did.

A Prefect worker running a deployment loads the flow from its file path: that module object is not the
`fraud_detection.flows.<name>` that `bootstrap()` wires by package name, so its `Provide` markers are still
unresolved. Such a process builds its container from the environment and wires that very module here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from dependency_injector.wiring import Provide

from fraud_detection.container import bootstrap

T = TypeVar("T")


def injected(getter: Callable[[], T], module: str) -> T:
    """`getter()` (an @inject function with Provide defaults), after wiring `module` if it was not."""
    values = getter()
    if _unwired(values):
        bootstrap(modules=(sys.modules[module],))
        values = getter()
    return values


def _unwired(values: object) -> bool:
    items = values if isinstance(values, tuple) else (values,)
    return any(isinstance(value, Provide) for value in items)  # type: ignore[arg-type]  # loose stubs
