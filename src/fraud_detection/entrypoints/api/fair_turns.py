"""Turns at a bounded number of slots, shared fairly between owners (API client namespaces).

A plain semaphore serves waiters first come, first served: one tenant holding every batch slot with slow
bodies (each held until its 408) and queueing more kept every other tenant's feedback and batches waiting
until their 503. Here a freed slot goes to the waiter whose owner holds the fewest slots, then whose owner
was served least recently (round robin, which a single slot needs), then first come; so another tenant waits
at most for one slot to free. Still work-conserving: a lone tenant may use every slot. Hand-written: asyncio
has no semaphore keyed by owner, and ~50 lines need no dependency."""

from __future__ import annotations

import asyncio
from collections import Counter


class FairTurns:
    """For one event loop (its futures belong to the loop that made them)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: Counter[str] = Counter()
        self._served: dict[str, int] = {}  # owner -> the number of its latest grant
        self._grants = 0
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []

    async def acquire(self, owner: str) -> None:
        """Wait for a slot; cancellable (a timeout around it gives up the place in the queue)."""
        if not self._waiting and self._taken() < self.limit:
            self._take(owner)
            return
        waiter = (owner, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            await waiter[1]
        except BaseException:
            if waiter[1].done() and not waiter[1].cancelled():
                self.release(owner)  # granted as it was cancelled: the slot goes to the next
            elif waiter in self._waiting:  # _grant may have dropped it already (cancelled, not yet resumed)
                self._waiting.remove(waiter)
            raise

    def release(self, owner: str) -> None:
        self._held[owner] -= 1
        if self._held[owner] <= 0:
            del self._held[owner]
        self._grant()

    def held(self) -> dict[str, int]:
        return dict(self._held)

    def _taken(self) -> int:
        return sum(self._held.values())

    def _grant(self) -> None:
        # A timeout cancels a waiter's future at once but the waiter leaves the queue only when its task
        # resumes; a release in between must not grant it (the slot would be counted for good).
        self._waiting = [w for w in self._waiting if not w[1].done()]
        while self._waiting and self._taken() < self.limit:
            waiter = min(self._waiting, key=lambda w: (self._held[w[0]], self._served.get(w[0], -1)))
            self._waiting.remove(waiter)
            self._take(waiter[0])
            waiter[1].set_result(None)

    def _take(self, owner: str) -> None:
        self._held[owner] += 1
        self._grants += 1
        self._served[owner] = self._grants
