"""The gateway: structured answers, repair, fallback, retries, cache, budget, concurrency, JSON modes.

A scripted model stands in for a model here so each test can script exactly what it replies.
Every test runs twice: over HTTP (the real ``AsyncOpenAI`` client talks to the model's server on
loopback) and in process (``ScriptedTransport`` calls the same model directly).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, StringConstraints

from sim.errors import BudgetExceeded
from sim.llm.client import OpenAITransport
from sim.llm.gateway import CallSite, Endpoint, Gateway, GatewayFatal
from sim.llm.grammar import Words, words_pattern
from sim.llm.inprocess import ScriptedTransport
from sim.llm.scripted import ScriptConfig, ScriptedModel
from sim.llm.transport import Transport


class Plan(BaseModel):
    mood: Literal["calm", "busy"]
    steps: list[str] = Field(min_length=1)


FALLBACK = Plan(mood="calm", steps=["rest"])
GOOD = json.dumps({"mood": "busy", "steps": ["bake", "sell"]})
Reply = tuple[int, Any, dict[str, str]]


class ScriptedReplies(ScriptedModel):
    """Replies from a list, in order; remembers every request body it saw."""

    def __init__(self, replies: list[Reply | str], delay: float = 0.0) -> None:
        super().__init__(ScriptConfig())
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []
        self.delay = delay

    async def _complete(self, body: dict[str, Any]) -> Reply:
        self.bodies.append(body)
        await asyncio.sleep(self.delay)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, tuple):
            return reply
        return (
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
            },
            {},
        )


TRANSPORTS = ("http", "inprocess")


@pytest.fixture(autouse=True, params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Which transport carries this run of the test: every test runs over both."""
    _TRANSPORT[0] = request.param
    return str(request.param)


_TRANSPORT = ["http"]


def with_server(
    replies: list[Reply | str],
    test: Callable[[Gateway, ScriptedReplies, list[dict]], Awaitable[None]],
    *,
    delay: float = 0.0,
    over: str | None = None,
    **gateway_args: Any,
) -> ScriptedReplies:
    model = ScriptedReplies(replies, delay)
    rows: list[dict] = []
    over = over or _TRANSPORT[0]

    async def main() -> None:
        server = await asyncio.start_server(model.handle, "127.0.0.1", 0) if over == "http" else None
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1" if server else None
        mode = gateway_args.pop("json_mode", "json_schema")
        grammar = gateway_args.pop("grammar", False)
        endpoint = Endpoint(url, "sk-test", "m", mode, 2.0, 0.001, 1.0, 2.0, grammar=grammar)
        transport: Transport = OpenAITransport(endpoint) if server else ScriptedTransport(model, endpoint.timeout_s)
        gateway = Gateway(transport, rows.append, endpoint, **gateway_args)
        try:
            await test(gateway, model, rows)
        finally:
            await gateway.aclose()
            if server:
                server.close()

    asyncio.run(main())
    return model


def ask(gateway: Gateway, person: str = "Mara") -> Awaitable[Plan]:
    return gateway.ask(
        Plan, [{"role": "user", "content": "plan the day"}], site=CallSite(person, "plan"), fallback=FALLBACK
    )


def test_a_valid_reply_is_returned_and_logged_with_tokens_and_cost() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert await ask(gateway) == Plan.model_validate_json(GOOD)
        assert [r["status"] for r in rows] == ["ok"]
        assert rows[0]["prompt_tokens"] == 1000 and rows[0]["completion_tokens"] == 500
        assert rows[0]["cost_usd"] == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)

    with_server([GOOD], test)


def test_an_invalid_reply_is_repaired_by_retrying_with_the_validation_error() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert await ask(gateway) == Plan.model_validate_json(GOOD)
        assert [r["status"] for r in rows] == ["invalid", "ok"]
        repair = model.bodies[1]["messages"][-1]["content"]
        assert "not valid" in repair and "mood" in repair

    with_server([json.dumps({"mood": "furious", "steps": ["x"]}), GOOD], test)


def test_after_the_last_repair_the_declared_fallback_is_used_and_logged() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert await ask(gateway) == FALLBACK
        assert [r["status"] for r in rows] == ["invalid", "invalid", "invalid", "fallback"]
        assert rows[-1]["fallback"] and "gave up" in rows[-1]["error"]
        assert json.loads(rows[-1]["response"]) == FALLBACK.model_dump()

    with_server(["not json at all"], test, repairs=2)


def test_rate_limits_and_server_errors_are_retried_with_each_attempt_logged() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert await ask(gateway) == Plan.model_validate_json(GOOD)
        assert [r["status"] for r in rows] == ["error", "error", "ok"]
        assert "429" in rows[0]["error"] and "500" in rows[1]["error"]

    with_server(
        [
            (429, {"error": {"message": "slow down"}}, {"retry-after": "0"}),
            (500, {"error": {"message": "oops"}}, {}),
            GOOD,
        ],
        test,
    )


def test_a_refused_api_key_is_fatal_not_retried() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        with pytest.raises(GatewayFatal, match="API key"):
            await ask(gateway)
        assert len(model.bodies) == 1

    with_server([(401, {"error": {"message": "bad key"}}, {})], test)


def test_cached_replies_are_served_without_a_request() -> None:
    cache: dict[str, str] = {}

    async def first(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await ask(gateway)
        cache.update(gateway.cache)

    async def second(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert await ask(gateway) == Plan.model_validate_json(GOOD)
        assert [r["status"] for r in rows] == ["cached"] and rows[0]["cache_hit"]
        await ask(gateway)  # the next call index is not cached
        assert rows[-1]["status"] == "ok"

    with_server([GOOD], first)
    model = with_server([GOOD], second, cache=cache)
    assert len(model.bodies) == 1


def test_budget_stops_further_calls_once_spent() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await ask(gateway)
        with pytest.raises(BudgetExceeded):
            await ask(gateway)
        assert len(model.bodies) == 1

    with_server([GOOD], test, budget_usd=0.001)


def test_concurrency_limit_caps_calls_in_flight() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await asyncio.gather(*(ask(gateway, f"p{i}") for i in range(8)))
        assert model.max_in_flight == 3

    with_server([GOOD], test, delay=0.1, concurrency=3)


def test_json_object_mode_sends_the_schema_the_way_llama_cpp_takes_it() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await ask(gateway)
        body = model.bodies[0]
        assert body["response_format"]["type"] == "json_object"
        assert body["response_format"]["schema"]["properties"]["mood"]["enum"] == ["calm", "busy"]
        assert "JSON Schema" in body["messages"][-1]["content"]

    with_server([GOOD], test, json_mode="json_object")


class Said(BaseModel):
    """One line said."""

    line: Annotated[str, StringConstraints(max_length=240), Words(2, 20)]
    mood: int = Field(ge=1, le=5)


def test_a_grammar_server_gets_no_schema_in_the_prompt_and_sentences_as_word_patterns() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        answer = await gateway.ask(
            Said,
            [{"role": "user", "content": "say hello"}],
            site=CallSite("Mara", "say"),
            fallback=Said(line="hello there", mood=3),
        )
        assert answer.line == "Good morning to you."
        body = model.bodies[0]
        # The small model sees its task only: no schema text, no descriptions to copy into answers.
        assert body["messages"] == [{"role": "user", "content": "say hello"}]
        schema = body["response_format"]["schema"]
        assert body["response_format"]["type"] == "json_object"
        assert schema["properties"]["line"]["pattern"] == words_pattern(2, 20)
        assert schema["properties"]["mood"] == {"enum": [1, 2, 3, 4, 5]}
        assert "One line said." not in json.dumps(body)

    with_server([json.dumps({"line": "Good morning to you.", "mood": 2})], test, json_mode="json_object", grammar=True)


def test_servers_without_grammars_get_the_schema_as_pydantic_writes_it_without_marks() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await gateway.ask(
            Said,
            [{"role": "user", "content": "say hello"}],
            site=CallSite("Mara", "say"),
            fallback=Said(line="hello there", mood=3),
        )
        sent = model.bodies[0]["response_format"]["json_schema"]["schema"]
        assert "x-sentence" not in json.dumps(sent)
        assert sent["properties"]["line"] == {"maxLength": 240, "title": "Line", "type": "string"}
        assert sent["properties"]["mood"]["maximum"] == 5

    with_server([json.dumps({"line": "Good morning to you.", "mood": 2})], test)


def test_json_schema_mode_uses_response_format_json_schema() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await ask(gateway)
        fmt = model.bodies[0]["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Plan"

    with_server([GOOD], test)


def test_markdown_fenced_json_from_small_models_is_accepted() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert await ask(gateway) == Plan.model_validate_json(GOOD)

    with_server([f"```json\n{GOOD}\n```"], test)


def test_the_api_key_never_reaches_a_log_row() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await ask(gateway)
        assert "sk-test" not in json.dumps(rows)

    with_server([GOOD], test)


def test_raw_newlines_inside_strings_are_repaired_locally_and_logged_as_such() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        assert (await ask(gateway)).steps == ["bake\nbread"]
        assert [r["status"] for r in rows] == ["repaired"] and "repaired locally" in rows[0]["error"]

    with_server(['{"mood": "busy", "steps": ["bake\nbread"]} and some chatter'], test)


class Scores(BaseModel):
    scores: list[int] = Field(max_length=3)
    minutes: int = Field(ge=5, le=15)


def test_numbers_out_of_range_and_overlong_lists_are_clamped_locally_and_logged() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        answer = await gateway.ask(
            Scores,
            [{"role": "user", "content": "rate"}],
            site=CallSite("Mara", "importance"),
            fallback=Scores(scores=[1], minutes=5),
        )
        assert answer == Scores(scores=[3, 4, 5], minutes=15)
        assert len(model.bodies) == 1, "clamped at once, not asked again"
        assert [r["status"] for r in rows] == ["repaired"]
        assert "minutes 24 set to 15" in rows[0]["error"] and "scores cut to 3" in rows[0]["error"]

    with_server([json.dumps({"scores": [3, 4, 5, 6], "minutes": 24})], test)


def test_a_wrong_value_of_another_kind_is_still_asked_again() -> None:
    async def test(gateway: Gateway, model: ScriptedReplies, rows: list[dict]) -> None:
        await ask(gateway)
        assert [r["status"] for r in rows] == ["invalid", "ok"]

    with_server([json.dumps({"mood": "busy", "steps": []}), GOOD], test)
