"""The transport seam: the HTTP and in-process transports write the same rows; replays; call sites' moments."""

from __future__ import annotations

import asyncio

import pytest

from sim.llm.gateway import CallSite, Endpoint, Gateway, GatewayFatal
from sim.llm.replay import ReplayTransport
from sim.llm.site import current, moment
from tests.sim.llm.test_gateway import (
    FALLBACK,
    GOOD,
    Plan,
    Reply,
    ScriptedReplies,
    ask,
    with_server,
)

TRANSPORTS = ("http", "inprocess")


def test_both_transports_write_the_same_rows_for_every_kind_of_reply_and_fault() -> None:
    replies: list[Reply | str] = [
        (429, {"error": {"message": "slow down"}}, {"retry-after": "0"}),
        (500, {"error": {"message": "oops"}}, {}),
        "not json",
        GOOD,
        (404, {"error": {"message": "model 'm' not found"}}, {}),
    ]
    seen: dict[str, list[dict]] = {}
    for over in TRANSPORTS:

        async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict], over: str = over) -> None:
            await ask(gateway)
            with pytest.raises(GatewayFatal, match="does not know model"):
                await ask(gateway)
            seen[over] = [{k: v for k, v in r.items() if k not in ("latency_ms", "wall_time")} for r in rows]

        with_server(replies, test, over=over)
    assert seen["http"] == seen["inprocess"]
    assert [r["status"] for r in seen["http"]] == ["error", "error", "invalid", "ok", "error"]
    assert seen["http"][0]["error"].startswith("RateLimitError (HTTP 429)")


@pytest.mark.slow
def test_a_timeout_reads_the_same_over_both_transports() -> None:
    seen: dict[str, str] = {}
    for over in TRANSPORTS:

        async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict], over: str = over) -> None:
            assert await ask(gateway) == FALLBACK
            seen[over] = rows[0]["error"]

        with_server([GOOD], test, delay=2.5, over=over, retries=0)
    assert seen["http"] == seen["inprocess"] == "APITimeoutError: Request timed out."


def test_a_replay_answers_recorded_calls_and_misses_the_others() -> None:
    rows: list[dict] = []

    async def main() -> tuple[Plan, Plan]:
        recorder = Gateway(ReplayTransport({}), rows.append, Endpoint(None, model="m"))
        await ask(recorder)  # only to learn the first call's cache key from its row
        key = rows[0]["cache_key"]
        rows.clear()
        gateway = Gateway(ReplayTransport({key: GOOD}), rows.append, Endpoint(None, model="m"))
        return await ask(gateway), await ask(gateway)

    first, second = asyncio.run(main())
    assert first == Plan.model_validate_json(GOOD) and second == FALLBACK
    assert [(r["status"], r["fallback"]) for r in rows] == [("ok", False), ("replay_miss", True)]
    assert rows[1]["error"] == "no recorded reply for this call" and rows[0]["cost_usd"] == 0


def test_call_sites_carry_the_tick_and_second_of_the_task_that_makes_them() -> None:
    async def main() -> list[tuple[int, int]]:
        async def site() -> tuple[int, int]:
            made = CallSite("Mara", "plan")
            return made.tick, made.t

        outside = await site()
        with moment(3, 120):
            inside = await asyncio.gather(site(), site())
            with moment(4, 180):
                nested = await site()
            assert current() == (3, 120)
        return [outside, *inside, nested, await site()]

    assert asyncio.run(main()) == [(0, 0), (3, 120), (3, 120), (4, 180), (0, 0)]
    assert CallSite("Mara", "plan", tick=7, t=9).tick == 7
