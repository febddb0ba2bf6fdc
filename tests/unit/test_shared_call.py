"""SharedCall: callers that arrive while a call runs share it; the next caller after it starts afresh."""

from __future__ import annotations

import asyncio

import pytest

from fraud_detection.entrypoints.api.shared_call import SharedCall


class Work:
    """A call that runs until released, counting how often it was started."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self) -> str:
        self.started += 1
        number = self.started
        await self.release.wait()
        if self.fail:
            raise RuntimeError(f"call {number} failed")
        return f"answer {number}"


async def settle() -> None:
    for _ in range(5):  # let every waiting task reach its await
        await asyncio.sleep(0)


def test_callers_that_arrive_while_a_call_runs_share_it_and_a_later_caller_starts_anew() -> None:
    async def scenario() -> None:
        shared, work = SharedCall[str](), Work()
        callers = [asyncio.create_task(shared(work)) for _ in range(3)]
        await settle()
        assert work.started == 1
        work.release.set()
        assert await asyncio.gather(*callers) == ["answer 1"] * 3
        assert await shared(work) == "answer 2"  # nothing is cached once the call ended

    asyncio.run(scenario())


def test_a_failure_reaches_every_caller_of_that_call_only() -> None:
    async def scenario() -> None:
        shared, work = SharedCall[str](), Work()
        work.fail = True
        callers = [asyncio.create_task(shared(work)) for _ in range(2)]
        await settle()
        work.release.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        assert [str(outcome) for outcome in outcomes] == ["call 1 failed"] * 2
        work.fail = False
        assert await shared(work) == "answer 2"

    asyncio.run(scenario())


def test_a_caller_that_leaves_does_not_cancel_the_call_for_the_others() -> None:
    async def scenario() -> None:
        shared, work = SharedCall[str](), Work()
        leaving, staying = asyncio.create_task(shared(work)), asyncio.create_task(shared(work))
        await settle()
        leaving.cancel()
        await settle()
        work.release.set()
        assert await staying == "answer 1"
        with pytest.raises(asyncio.CancelledError):
            await leaving

    asyncio.run(scenario())
