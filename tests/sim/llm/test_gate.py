"""The gate lets waiting calls in by simulated time, not by arrival, and never loses a slot."""

from __future__ import annotations

import asyncio

from sim.llm.gate import Gate


async def _order(keys: list[tuple[int, str]], slots: int) -> list[tuple[int, str]]:
    gate = Gate(slots)
    began: list[tuple[int, str]] = []
    hold = asyncio.Event()

    async def call(key: tuple[int, str]) -> None:
        async with gate.slot(key):
            began.append(key)
            await hold.wait()

    first = asyncio.create_task(call((99, "first")))  # takes the one slot
    await asyncio.sleep(0)
    tasks = []
    for key in keys:
        tasks.append(asyncio.create_task(call(key)))
        await asyncio.sleep(0)  # they arrive in this order
    hold.set()
    await asyncio.gather(first, *tasks)
    return began[1:]


def test_the_earliest_simulated_second_goes_first_when_the_gate_binds() -> None:
    arrived = [(600, "Ana"), (60, "Bo"), (300, "Cy"), (60, "Al")]
    assert asyncio.run(_order(arrived, 1)) == [(60, "Al"), (60, "Bo"), (300, "Cy"), (600, "Ana")]


def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    async def scenario() -> list[str]:
        gate = Gate(1)
        began: list[str] = []
        release = asyncio.Event()

        async def call(key: int, name: str) -> None:
            async with gate.slot(key):
                began.append(name)
                await release.wait()

        holder = asyncio.create_task(call(0, "holder"))
        await asyncio.sleep(0)
        doomed = asyncio.create_task(call(1, "doomed"))
        later = asyncio.create_task(call(2, "later"))
        await asyncio.sleep(0)
        doomed.cancel()
        release.set()
        await asyncio.gather(holder, later)
        assert doomed.cancelled()
        assert gate.free == 1  # every slot came back
        return began

    assert asyncio.run(scenario()) == ["holder", "later"]
