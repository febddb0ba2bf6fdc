"""Event publishers: in-process (embedded default) and AWS EventBridge.

Names are resolved on first use (PEP 562): the EventBridge publisher imports boto3, which a command that
publishes in-process (a local `fraud drift check`) must not pay for at start-up."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODULES = {"EventBridgePublisher": "eventbridge", "InProcessPublisher": "in_process"}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
