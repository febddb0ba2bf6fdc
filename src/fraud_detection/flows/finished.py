"""A flow's result, kept the moment its body returns, so that a Prefect server failing while the engine
records the run's end (killed, unreachable, hung) does not turn finished work into a failure.

Seen on a real stack: the Prefect server killed during `fraud pipeline run`; every stage ran, the new model
was registered and promoted, then the engine's last `set_state` raised `httpx.ConnectError` and the command
exited 1 with a traceback. A CI job reading that would train and register again. The work is what the user
asked for; Prefect's record of it is bookkeeping, so its loss is a warning.

A server that hangs (accepts connections and never answers) is worse: the engine retried that `set_state`
for 7 minutes (6 tries of 60 s), then the process hung at exit draining its logs to the server. So the
caller may also say how to finish without Prefect (`on_hang`), which a watchdog calls once the body has been
returned for one request timeout of Prefect's client (`finish_grace_seconds`) without the engine letting go.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, ParamSpec, TypeVar

from fraud_detection.domain.errors import ServiceUnavailableError

P = ParamSpec("P")
T = TypeVar("T")


def finish_grace_seconds() -> float:
    """How long a finished run waits for Prefect to let go: one request timeout of its client
    (PREFECT_API_REQUEST_TIMEOUT, 60 s by default). A healthy server records a run's end in milliseconds, a
    busy one in seconds; one that has not answered a request within the client's own limit is not answering
    (its client would go on retrying: 6 tries of that timeout)."""
    from prefect.settings import get_current_settings

    return float(get_current_settings().api.request_timeout)


_kept: dict[str, Any] = {}
_started: set[str] = set()  # bodies that began: a Prefect outage before that ran nothing of the work


@dataclass
class _Watch:
    """Calls `on_hang` `grace` seconds after the body returned, unless the run was let go first."""

    on_hang: Callable[[Any, str], NoReturn]
    grace: float
    ending: threading.Lock = field(default_factory=threading.Lock)  # whoever takes it finishes the run
    timer: threading.Timer | None = None

    def arm(self, result: Any) -> None:
        self.timer = threading.Timer(self.grace, self._fire, args=(result,))
        self.timer.daemon = True
        self.timer.start()

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        # If the watchdog got there first, it is ending the process: wait for it rather than print twice.
        self.ending.acquire(timeout=self.grace)

    def _fire(self, result: Any) -> None:
        if self.ending.acquire(blocking=False):
            self.on_hang(result, f"no answer from it {self.grace:g} s after the run finished")


_watches: dict[str, _Watch] = {}


def keeps_result(body: Callable[P, T]) -> Callable[P, T]:
    """Apply under `@flow`: the body's return value is kept for `run_keeping_result`."""

    @functools.wraps(body)
    def keeping(*args: P.args, **kwargs: P.kwargs) -> T:
        _started.add(body.__name__)
        result = body(*args, **kwargs)
        _kept[body.__name__] = result
        if (watch := _watches.get(body.__name__)) is not None:
            watch.arm(result)
        return result

    return keeping


def run_keeping_result(
    name: str,
    run: Callable[[], T],
    on_hang: Callable[[T, str], NoReturn] | None = None,
    grace: float | None = None,
) -> tuple[T, str | None]:
    """(`run()`'s result, None); or, when it raised after the flow body `name` returned, (that body's
    result, what went wrong in Prefect's bookkeeping). An error before the body returned is raised. With
    `on_hang`, a body that returned `grace` seconds ago (by default `finish_grace_seconds()`) while `run()`
    still has not gets `on_hang(result, reason)` on another thread, which must end the process (the main
    thread is stuck in Prefect's client)."""
    _kept.pop(name, None)
    _started.discard(name)
    if on_hang is not None and grace is None:
        grace = finish_grace_seconds()
    watch = _Watch(on_hang, grace) if on_hang is not None and grace is not None else None
    if watch is not None:
        _watches[name] = watch
    try:
        return run(), None
    except Exception as error:
        if name not in _kept:
            transport = _transport_failure(error) if name not in _started else None
            if transport is not None:  # nothing ran: one line, exit 1 ("try again"), not three tracebacks
                raise ServiceUnavailableError(
                    f"Prefect API unreachable: {_first_line(error)} ({transport})"
                ) from error
            raise  # mid-run: "try again" could train another version
        reason = _first_line(error)
        return _kept.pop(name), f"{type(error).__name__}: {reason}" if reason else type(error).__name__
    finally:
        _kept.pop(name, None)
        _started.discard(name)
        _watches.pop(name, None)
        if watch is not None:
            watch.disarm()


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else ""


def _transport_failure(error: BaseException) -> str | None:
    """The connection failure behind `error` (Prefect's client raises `RuntimeError("Failed to reach API
    ...")` from httpx's), as `Type: message`; None for any other error."""
    import httpx

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, httpx.TransportError):
            return f"{type(seen).__name__}: {_first_line(seen)}"
        seen = seen.__cause__ or seen.__context__
    return None
