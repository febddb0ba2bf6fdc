"""FairTurns: a freed slot goes to the waiter whose namespace holds the fewest slots, then to the one served
least recently."""

import asyncio

import pytest

from fraud_detection.entrypoints.api.fair_turns import FairTurns


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 5))


def test_a_freed_slot_goes_to_the_least_served_namespace_not_the_first_waiter():
    async def scenario() -> list[str]:
        turns, order = FairTurns(2), []

        async def take(owner: str) -> None:
            await turns.acquire(owner)
            order.append(owner)

        await take("evil")
        await take("evil")  # every slot held by one tenant
        waiting = [asyncio.create_task(take(owner)) for owner in ("evil", "evil", "acme")]
        await asyncio.sleep(0)
        assert order == ["evil", "evil"]
        turns.release("evil")
        await asyncio.sleep(0)
        assert order[-1] == "acme"  # before evil's two earlier waiters (first come would be evil)
        turns.release("evil")
        turns.release("acme")
        await asyncio.gather(*waiting)
        return order

    assert run(scenario()) == ["evil", "evil", "acme", "evil", "evil"]


def test_among_equals_first_come_first_served_and_a_lone_tenant_uses_every_slot():
    async def scenario() -> list[str]:
        turns, order = FairTurns(3), []
        for _ in range(3):
            await turns.acquire("acme")  # work-conserving: nobody else wants a slot
        assert turns.held() == {"acme": 3}

        async def take(owner: str) -> None:
            await turns.acquire(owner)
            order.append(owner)

        waiting = [asyncio.create_task(take(owner)) for owner in ("b", "c")]
        await asyncio.sleep(0)
        turns.release("acme")
        await asyncio.sleep(0)
        turns.release("acme")
        await asyncio.gather(*waiting)
        return order

    assert run(scenario()) == ["b", "c"]


def test_a_waiter_that_gives_up_leaves_the_queue_and_a_granted_one_its_slot():
    async def scenario() -> dict[str, int]:
        turns = FairTurns(1)
        await turns.acquire("a")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await turns.acquire("b")
        late = asyncio.create_task(turns.acquire("c"))
        await asyncio.sleep(0)
        turns.release("a")  # granted to c ...
        late.cancel()  # ... which is cancelled before it resumes: the slot is freed again
        with pytest.raises(asyncio.CancelledError):
            await late
        await turns.acquire("d")  # would wait for ever if b's or c's place were kept
        return turns.held()

    assert run(scenario()) == {"d": 1}


def test_with_one_slot_namespaces_take_turns():
    async def scenario() -> list[str]:
        turns, order = FairTurns(1), []
        await turns.acquire("evil")

        async def take(owner: str) -> None:
            await turns.acquire(owner)
            order.append(owner)
            await asyncio.sleep(0)
            turns.release(owner)

        waiting = [asyncio.create_task(take(owner)) for owner in ("evil", "evil", "acme", "beta")]
        await asyncio.sleep(0)
        turns.release("evil")
        await asyncio.gather(*waiting)
        return order

    # first come would be evil, evil, acme, beta; those never served come first, then evil again
    assert run(scenario()) == ["acme", "beta", "evil", "evil"]


def test_a_waiter_cancelled_but_not_yet_resumed_is_not_granted_the_freed_slot():
    """A timeout cancels the waiter's future at once; the holder releasing before the waiter's task resumes
    granted it anyway: set_result raised in the holder, the waiter's cleanup raised ValueError (a 500) and the
    slot stayed counted for good."""

    async def scenario() -> dict[str, int]:
        turns = FairTurns(1)
        await turns.acquire("a")
        late = asyncio.create_task(turns.acquire("b"))
        await asyncio.sleep(0)  # b is queued
        late.cancel()  # its future is cancelled now; its task resumes on the next turn of the loop
        turns.release("a")  # must skip b
        with pytest.raises(asyncio.CancelledError):
            await late
        await turns.acquire("c")  # would wait for ever if b's slot were counted
        return turns.held()

    assert run(scenario()) == {"c": 1}
