"""A flow's result, kept the moment its body returns, so that a Prefect server failing while the engine
records the run's end (killed, unreachable) does not turn finished work into a failure.

Seen on a real stack: the Prefect server killed during `fraud pipeline run`; every stage ran, the new model
was registered and promoted, then the engine's last `set_state` raised `httpx.ConnectError` and the command
exited 1 with a traceback. A CI job reading that would train and register again. The work is what the user
asked for; Prefect's record of it is bookkeeping, so its loss is a warning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_kept: dict[str, Any] = {}


def keeps_result(body: Callable[P, T]) -> Callable[P, T]:
    """Apply under `@flow`: the body's return value is kept for `run_keeping_result`."""

    @functools.wraps(body)
    def keeping(*args: P.args, **kwargs: P.kwargs) -> T:
        result = body(*args, **kwargs)
        _kept[body.__name__] = result
        return result

    return keeping


def run_keeping_result(name: str, run: Callable[[], T]) -> tuple[T, str | None]:
    """(`run()`'s result, None); or, when it raised after the flow body `name` returned, (that body's
    result, what went wrong in Prefect's bookkeeping). An error before the body returned is raised."""
    _kept.pop(name, None)
    try:
        return run(), None
    except Exception as error:
        if name not in _kept:
            raise
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return _kept.pop(name), f"{type(error).__name__}: {reason}" if reason else type(error).__name__
    finally:
        _kept.pop(name, None)
