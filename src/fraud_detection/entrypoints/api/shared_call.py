"""One call at a time, shared by everyone who asks while it runs (single flight)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SharedCall(Generic[T]):
    """Callers that arrive while a call runs await that call instead of starting their own.

    Why: `GET /admin/rollout` gathers a rollout's evidence in the API's own process, next to the traffic it
    serves (benchmarks/captured_reads.py: ~1 GiB for 3M shadowed transactions); a dashboard and an operator
    polling at once must not hold it twice. A caller that arrives mid-call gets that call's answer, started
    at most one gathering earlier. The next caller after it ends starts a new one: nothing is cached.
    Hand-written: a dozen lines on asyncio; no dependency of this project offers it for coroutines.
    """

    def __init__(self) -> None:
        self._running: asyncio.Future[T] | None = None

    async def __call__(self, work: Callable[[], Awaitable[T]]) -> T:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(work())
            self._running.add_done_callback(_retrieve)
        # Shielded: a caller that goes away (a closed connection) does not cancel the others' answer.
        return await asyncio.shield(self._running)


def _retrieve(done: asyncio.Future[Any]) -> None:
    """Mark a failure as seen, so a call whose every caller left is not logged as a lost exception."""
    if not done.cancelled():
        done.exception()
