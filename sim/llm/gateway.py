"""The LLM gateway: every model call goes through here, and a transport carries it to the model.

Each call declares a pydantic model for its answer. The gateway asks for JSON under that
schema, validates the reply, repairs by retrying with the validation error, and when it gives
up returns the caller's declared fallback. Every attempt (ok, cached, error, invalid, fallback)
becomes a row of the ``llm_call`` table, handed to the gateway's sink; no default is ever silent.
How a request reaches a model is the transport's business (``sim.llm.transport``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from sim.errors import BudgetExceeded
from sim.llm.gate import Gate
from sim.llm.grammar import for_wire
from sim.llm.prefix import Prefixes, schema_tokens
from sim.llm.site import CallSite
from sim.llm.transport import (
    Failover,
    NotRecorded,
    Refused,
    Request,
    Transport,
    Unavailable,
    Unreachable,
)
from sim.runfile.log import dumps, wall_now
from sim.worldfile.spec import ModelSettings

__all__ = ["CallSite", "Endpoint", "Gateway", "GatewayFatal", "JsonMode", "Sink", "Stats"]

T = TypeVar("T", bound=BaseModel)

_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("hamlet_call_depth", default=0)
"""Requests sent so far on the current task's causal chain within its tick."""

JsonMode = Literal["json_schema", "json_object", "none"]
"""How to ask for structured answers: OpenAI/vLLM/Ollama take ``json_schema``; llama.cpp's
server takes ``json_object`` with a ``schema`` (it rejects ``json_schema``); ``none`` puts the
schema in the prompt only."""


class GatewayFatal(Exception):
    """The server refused in a way retrying cannot fix (bad key, unknown model)."""


Sink = Callable[[dict[str, Any]], None]
"""Where the gateway puts each ``llm_call`` row: the engine's tick batch, a list."""


@dataclass(slots=True)
class Endpoint:
    """Where calls go and how: base URL and key (never logged) for HTTP transports; default model,
    JSON mode, timeout, backoff and prices for the gateway."""

    base_url: str | None
    api_key: str = "not-needed"
    model: str = "default"
    json_mode: JsonMode = "json_schema"
    timeout_s: float = 120.0
    backoff_s: float = 0.5
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    fixed_model: bool = False  # local and scripted servers serve one model, whatever the scenario names
    grammar: bool = False
    """The server makes the schema a grammar and holds the model to it (llama.cpp): the prompt then
    leaves the schema out, and free text is held to words (``sim.llm.grammar``)."""


@dataclass(slots=True)
class Stats:
    """Running totals over the run, shown by the progress bar and ``hamlet show``."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model_wait_s: float = 0.0
    by_purpose: dict[str, int] = field(default_factory=dict)
    # seconds each recent call spent in the gateway itself: not waiting for the model or a slot
    overheads: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    # tick -> the longest chain of requests that had to wait for one another in it (latency bound)
    chains: dict[int, int] = field(default_factory=dict)


class Gateway:
    """Structured, cached, budgeted, concurrency-limited LLM calls with logged repairs."""

    def __init__(
        self,
        transport: Transport,
        sink: Sink,
        endpoint: Endpoint,
        *,
        concurrency: int = 8,
        budget_usd: float | None = None,
        repairs: int = 2,
        retries: int = 5,
        cache: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.sink = sink
        self.endpoint = endpoint
        self.concurrency = max(1, concurrency)
        # earliest simulated second first when the limit binds (critical path first)
        self._gate = Gate(self.concurrency)
        self.budget_usd = budget_usd
        self.repairs = repairs
        self.retries = retries
        # cache key -> reply text that passed validation; preloaded on resume and for replays
        self.cache: dict[str, str] = cache if cache is not None else {}
        # simulated second before which calls are answered from the cache only, never sent (a fork's
        # recorded prefix); a call the cache cannot answer then is a logged replay_miss, as in a replay
        self.replay_until = 0
        # person (or "" for the world) -> number of calls made so far; part of the cache key
        self.counters: dict[str, int] = {}
        # cache key -> the llm_call rows a call wrote after the snapshot a resume starts from; when
        # the redone run makes that call again, the same rows are committed again (nothing is sent),
        # so a resumed run's llm_call table equals an uninterrupted one's
        self.recorded: dict[str, list[dict[str, Any]]] = {}
        # each person's last prompt, to count how much of the next one a server's prefix cache could reuse
        self.prefixes = Prefixes()
        self.sent = 0  # requests sent to the model by this process (speculation's dropped ones too)
        self.stats = Stats()

    async def aclose(self) -> None:
        """Close the transport's connections."""
        await self.transport.aclose()

    def account(self, row: dict[str, Any]) -> None:
        """Add one ``llm_call`` row to the totals and record it."""
        stats = self.stats
        stats.calls += 1
        stats.prompt_tokens += row["prompt_tokens"]
        stats.completion_tokens += row["completion_tokens"]
        stats.cost_usd += row["cost_usd"]
        stats.by_purpose[row["purpose"]] = stats.by_purpose.get(row["purpose"], 0) + 1
        self.sink(row)

    def _chained(self, tick: int) -> None:
        """Count one more request on the caller's causal chain, for the latency figures."""
        # A task started by asyncio.gather copies its parent's context, so the depth continues
        # along each branch, and requests on parallel branches do not add up.
        depth = _DEPTH.get() + 1
        _DEPTH.set(depth)
        if depth > self.stats.chains.get(tick, 0):
            self.stats.chains[tick] = depth

    # -- the call ------------------------------------------------------------------------

    async def ask(
        self,
        schema: type[T],
        messages: list[dict[str, str]],
        *,
        site: CallSite,
        fallback: T,
        settings: ModelSettings | None = None,
    ) -> T:
        """Ask for an answer of type ``schema``; returns ``fallback`` (logged) if none is valid."""
        if site.dropped():
            raise asyncio.CancelledError  # its person is being thought through again: count nothing
        began = time.perf_counter()
        model, prices, params = self._terms(settings or ModelSettings())
        json_schema = _json_schema(schema)
        who = site.person or ""
        index = self.counters.get(who, 0)
        self.counters[who] = index + 1
        key = _cache_key(model, messages, json_schema, params, who, index)
        request = {"messages": messages, "schema": schema.__name__, "params": params, "index": index}
        row = _Row(
            self,
            site,
            model,
            key,
            request,
            prices,
            self.prefixes.see(who, messages),
            _schema_tokens(schema, self.endpoint.grammar, self.endpoint.json_mode),
        )
        answer = self._unsent(schema, key, row, fallback)
        if answer is not None:
            return answer
        if self.budget_usd is not None and self.stats.cost_usd >= self.budget_usd:
            raise BudgetExceeded(f"spent ${self.stats.cost_usd:.4f} of the ${self.budget_usd:.4f} budget")

        queued = time.perf_counter()
        async with self._gate.slot((site.t, who)):
            row.wait_s += time.perf_counter() - queued
            answer = await self._attempts(schema, messages, json_schema, model, params, fallback, key, row)
        self.stats.overheads.append(max(0.0, time.perf_counter() - began - row.wait_s))
        return answer

    def _terms(self, settings: ModelSettings) -> tuple[str, tuple[float, float], dict[str, Any]]:
        """The model a call goes to, its prices (in and out, per million tokens) and its sampling parameters."""
        endpoint = self.endpoint
        model = endpoint.model if endpoint.fixed_model else (settings.model or endpoint.model)
        prices = (
            settings.price_in_per_mtok if settings.price_in_per_mtok is not None else endpoint.price_in_per_mtok,
            settings.price_out_per_mtok if settings.price_out_per_mtok is not None else endpoint.price_out_per_mtok,
        )
        params = {
            "temperature": settings.temperature if settings.temperature is not None else 0.7,
            "max_tokens": settings.max_tokens or 400,
        }
        return model, prices, params

    def _unsent(self, schema: type[T], key: str, row: _Row, fallback: T) -> T | None:
        """The answer a call gets without being sent, or None: it must be sent.

        In this order: the rows it wrote before a resume (or in a dropped speculation), committed
        again; a cached reply; before a fork's time, a logged miss and the fallback.
        """
        redo = self.recorded.pop(key, None)
        if redo is not None:
            answer = self._redo(schema, redo, fallback, row.site, row.prefix_tokens)
            if answer is not None:
                return answer
        cached = self.cache.get(key)
        if cached is not None:
            answer = _parse(schema, cached)
            if answer is not None:
                row.emit(attempt=1, status="cached", response=cached, cache_hit=True)
                return answer
        if row.site.t < self.replay_until:
            return _missed(row, 1, fallback, "no recorded reply for this call")
        return None

    def _redo(
        self, schema: type[T], rows: list[dict[str, Any]], fallback: T, site: CallSite, prefix_tokens: int
    ) -> T | None:
        """Commit again the rows a call wrote before a crash (or in a dropped speculation), and give their answer.

        None when those rows do not end the call (a tick cut short): the call is then made anew.
        ``prefix_tokens`` is counted against the call before this one now, which may differ.
        """
        last = rows[-1]
        if last["status"] == "fallback":
            answer: T | None = fallback
        elif last["status"] in ("ok", "repaired", "cached"):
            answer = _parse(schema, last["response"])
        else:
            answer = None
        if answer is None:
            return None
        for row in rows:
            self.account(dict(row, tick=site.tick, t=site.t, prefix_tokens=prefix_tokens))
        return answer

    async def _attempts(
        self,
        schema: type[T],
        messages: list[dict[str, str]],
        json_schema: dict[str, Any],
        model: str,
        params: dict[str, Any],
        fallback: T,
        key: str,
        row: _Row,
    ) -> T:
        """Send, retry, repair or fall back until the call ends, writing one row per attempt.

        Long on purpose: the order of attempts, repairs and the rows they write is the call's
        contract with resume (the same rows in the same order), so it stays in one readable loop.
        """
        grammar = self.endpoint.grammar
        conversation = _with_schema_hint(messages, schema, self.endpoint.json_mode, grammar)
        attempt = failures = repairs = 0
        last_error = ""
        response_format = _response_format(schema, _wire_schema(schema, grammar), self.endpoint.json_mode)
        while True:
            attempt += 1
            self._chained(row.site.tick)
            started = time.perf_counter()
            self.sent += 1
            try:
                reply = await self.transport.send(
                    Request(
                        model,
                        conversation,
                        response_format,
                        {**params, "seed": _call_seed(key)},
                        key,
                        row.site.person or "",
                    )
                )
            except Unavailable as err:
                latency = time.perf_counter() - started
                last_error = str(err)
                row.emit(
                    attempt=attempt,
                    status="error",
                    error=last_error,
                    latency_s=latency,
                    endpoint=err.endpoint,
                    failovers=err.failovers,
                )
                failures += 1
                if failures > self.retries:
                    if isinstance(err, Unreachable):  # no server to answer: stop (resumable), not fall back
                        raise GatewayFatal(
                            f"cannot reach the model server ({last_error}); start it, then continue with hamlet resume"
                        ) from None
                    break
                pause = _backoff(self.endpoint.backoff_s, failures, err.retry_after)
                row.wait_s += latency + pause
                await asyncio.sleep(pause)
                continue
            except Refused as err:
                row.emit(
                    attempt=attempt,
                    status="error",
                    error=str(err),
                    latency_s=time.perf_counter() - started,
                    endpoint=err.endpoint,
                    failovers=err.failovers,
                )
                if err.status in (401, 403):
                    raise GatewayFatal(f"the model server refused the API key (HTTP {err.status})") from None
                if err.status == 404:
                    raise GatewayFatal(f"the model server does not know model {model!r} (HTTP 404)") from None
                raise GatewayFatal(f"the model server rejected the request: {err}") from None
            except NotRecorded as err:
                return _missed(row, attempt, fallback, str(err))
            latency = time.perf_counter() - started
            self.stats.model_wait_s += latency
            row.wait_s += latency
            text = reply.text
            prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else _estimate_tokens(conversation)
            completion_tokens = reply.completion_tokens if reply.completion_tokens is not None else len(text) // 4
            answer, problem = _validate(schema, text)
            if answer is None:
                status = "invalid"
            elif problem:
                status = "repaired"  # usable after a local fix, which ``problem`` describes
            else:
                status = "ok"
            row.emit(
                attempt=attempt,
                status=status,
                response=text,
                error=problem,
                latency_s=latency,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                endpoint=reply.endpoint,
                failovers=reply.failovers,
            )
            if answer is not None:
                self.cache[key] = text
                return answer
            last_error = problem
            repairs += 1
            if repairs > self.repairs:
                break
            conversation = [
                *conversation,
                {"role": "assistant", "content": text},
                {
                    "role": "user",
                    "content": f"That reply was not valid: {problem}. "
                    "Answer again with only JSON that matches the schema.",
                },
            ]
        row.emit(
            attempt=attempt + 1,
            status="fallback",
            fallback=True,
            response=fallback.model_dump_json(),
            error=f"gave up after {attempt} attempts: {last_error}",
        )
        return fallback


def _missed(row: _Row, attempt: int, fallback: T, error: str) -> T:
    """Log a call no recording answers (a replay, a fork before its time) and give its fallback."""
    row.emit(attempt=attempt, status="replay_miss", fallback=True, response=fallback.model_dump_json(), error=error)
    return fallback


class _Row:
    """Builds ``llm_call`` rows for one call and keeps the gateway's totals."""

    def __init__(
        self,
        gateway: Gateway,
        site: CallSite,
        model: str,
        key: str,
        request: dict[str, Any],
        prices: tuple[float, float],
        prefix_tokens: int,
        schema_tokens: int,
    ) -> None:
        self.gateway, self.site, self.model, self.key, self.prices = gateway, site, model, key, prices
        self.wait_s = 0.0  # time spent waiting for a slot, the model, or a backoff
        self.index = request["index"]
        self.request = dumps(request)
        self.prefix_tokens, self.schema_tokens = prefix_tokens, schema_tokens

    def emit(
        self,
        *,
        attempt: int,
        status: str,
        response: str = "",
        error: str = "",
        latency_s: float = 0.0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cache_hit: bool = False,
        fallback: bool = False,
        endpoint: str = "",
        failovers: tuple[Failover, ...] = (),
    ) -> None:
        if self.site.dropped():  # a reply that came back after its work was called off changes nothing
            raise asyncio.CancelledError
        cost = (prompt_tokens * self.prices[0] + completion_tokens * self.prices[1]) / 1e6
        self.gateway.account(
            {
                "tick": self.site.tick,
                "t": self.site.t,
                "person": self.site.person,
                "purpose": self.site.purpose,
                "model": self.model,
                "attempt": attempt,
                "status": status,
                "cache_key": self.key,
                "cache_hit": cache_hit,
                "fallback": fallback,
                "request": self.request,
                "response": response,
                "error": error,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "cost_usd": cost,
                "latency_ms": round(latency_s * 1000, 3),
                "wall_time": wall_now(),
                "endpoint": endpoint,
                "failovers": dumps([[f.endpoint, f.error] for f in failovers]),
                "prefix_tokens": self.prefix_tokens,
                "schema_tokens": self.schema_tokens,
                "index": self.index,  # not a column: orders a person's calls when a tick commits them
            }
        )


@functools.lru_cache(maxsize=1024)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of an answer model, made once per model (pydantic makes it anew on every call);
    shared, so never to be changed by its users."""
    return schema.model_json_schema()


@functools.lru_cache(maxsize=2048)
def _wire_schema(schema: type[BaseModel], grammar: bool) -> dict[str, Any]:
    """The schema as sent (``sim.llm.grammar.for_wire``), made once per answer model and kind of server."""
    return for_wire(_json_schema(schema), grammar)


def _call_seed(key: str) -> int:
    """The sampling seed sent with a call: from its cache key, so a server that samples with it
    (llama.cpp, vLLM) answers the same call the same way whatever order calls reach it in."""
    return int(key[:8], 16) & 0x7FFFFFFF


@functools.lru_cache(maxsize=2048)
def _schema_tokens(schema: type[BaseModel], grammar: bool, mode: JsonMode) -> int:
    """The tokens of the schema a request carries (``sim.llm.prefix``), in its response format or its prompt."""
    if grammar and mode == "none":
        return 0  # the grammar holds the form and the prompt leaves the schema out: nothing carries it
    return schema_tokens(_wire_schema(schema, grammar))


def _cache_key(
    model: str, messages: list[dict[str, str]], schema: dict[str, Any], params: dict[str, Any], person: str, index: int
) -> str:
    payload = dumps([model, messages, schema, params, person, index])
    return hashlib.sha256(payload.encode()).hexdigest()


def _response_format(schema: type[BaseModel], json_schema: dict[str, Any], mode: JsonMode) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": json_schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": json_schema}
    return None


def _with_schema_hint(
    messages: list[dict[str, str]], schema: type[BaseModel], mode: JsonMode, grammar: bool
) -> list[dict[str, str]]:
    # A grammar holds the form, and a small model copies whatever text about the answer it is shown
    # (the schema's descriptions, an example answer) into its answers, so it sees none.
    if grammar or mode == "json_schema":
        return list(messages)
    # Servers without schema support (and small models) need the schema in the prompt itself.
    hint = "Reply with one JSON object that matches this JSON Schema:\n" + json.dumps(_wire_schema(schema, False))
    return [*messages, {"role": "system", "content": hint}]


def _validate(schema: type[T], text: str) -> tuple[T | None, str]:
    """The answer in ``text`` (or None) and what was wrong with it, or how it was repaired."""
    if not text.strip():
        return None, "the reply was empty"
    body = _strip_fences(text)
    repairs: list[str] = []
    try:
        data = json.loads(body)
    except ValueError as err:
        # Small models put raw newlines inside strings or trail text after the object; both are
        # fixed here rather than by asking again, and the row says so.
        try:
            data, end = json.JSONDecoder(strict=False).raw_decode(body.lstrip())
        except ValueError:
            return None, f"the reply is not valid JSON ({err})"
        trailing = " and text after the JSON dropped" if body.lstrip()[end:].strip() else ""
        repairs.append(f"control characters in strings accepted{trailing}")
    for _ in range(4):
        try:
            answer = schema.model_validate(data)
        except ValidationError as err:
            problems = err.errors()
            fixed = _clamp(data, problems)
            if fixed is None:
                where = ".".join(str(p) for p in problems[0]["loc"]) or "reply"
                return None, f"{where}: {problems[0]['msg']}"
            repairs.extend(fixed)
            continue
        return answer, ("repaired locally: " + "; ".join(repairs)) if repairs else ""
    return None, "the reply breaks the schema in too many places"


_BOUNDS = {
    "less_than_equal": "le",
    "greater_than_equal": "ge",
    "too_long": "max_length",
    "string_too_long": "max_length",
}


def _clamp(data: Any, problems: list[Any]) -> list[str] | None:
    """Bring numbers out of range to the nearest bound and cut lists or strings that run long.

    Grammar-constrained servers (llama.cpp) keep a reply's shape and allowed values but not its
    numeric ranges or lengths; asking again returns the same reply, so such replies are fixed
    here and the fix is logged. Returns what was changed, or None if a problem is of another kind.
    """
    changes = []
    for problem in problems:
        bound = _BOUNDS.get(problem["type"])
        loc = problem["loc"]
        if bound is None or not loc:
            return None
        parent = data
        try:
            for key in loc[:-1]:
                parent = parent[key]
            value = parent[loc[-1]]
        except (KeyError, IndexError, TypeError):
            return None
        limit = problem["ctx"][bound]
        fixed = value[:limit] if bound == "max_length" else limit
        parent[loc[-1]] = fixed
        where = ".".join(str(p) for p in loc)
        changes.append(f"{where} cut to {limit}" if bound == "max_length" else f"{where} {value!r} set to {limit}")
    return changes


def _parse(schema: type[T], text: str) -> T | None:
    return _validate(schema, text)[0]


def _strip_fences(text: str) -> str:
    # Small models like to wrap JSON in markdown fences even when told not to.
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else text[3:]
        text = text.rsplit("```", 1)[0]
    return text


def _backoff(base: float, failures: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, 30.0)
    return min(base * 2.0 ** (failures - 1), 20.0) * (0.5 + random.random())


def _estimate_tokens(messages: list[dict[str, str]]) -> int:
    return sum(len(m.get("content", "")) for m in messages) // 4
