"""The scripted model: a deterministic OpenAI-compatible server on loopback, for tests and benchmarks.

The same model answers in process, with no server, through ``sim.llm.inprocess``.

It answers any declared JSON Schema with valid, varied, seeded content made of the prompt's own
phrases and the schema's own options, so facts in a prompt can travel into answers; asked for
files of code, it writes a small working program (``sim/teams/program.py``). The answer
depends only on (seed, profile, model, prompt, schema): the order in which requests arrive never matters.

It picks without preference: a test or a benchmark must not pass because of what it favours.
Two behaviour profiles (``PROFILES``):

- ``neutral`` (default): every choice is uniform over what the schema allows. A text is one of
  the prompt's phrases, each as likely as any other (no weight for capitals, numbers or length);
  an enum value is uniform over the enum (so "nobody" is one option among the people offered);
  a boolean is a fair coin (a conversation's ``end`` is true with probability 1/2 a line); an
  integer is uniform over its bounds (importance 1-10: mean 5.5); a list has between its minimum
  and its minimum + 3 items (at most its maximum), uniformly.
- ``eager``: as neutral, except where a field decides whether to engage. Rules keyed on field
  names, so they apply to any schema that uses such names: an enum field whose name has
  one of ``ENGAGE_WORDS`` as a word (``talk_to``, ``reaction``) never takes a refusal value
  (``REFUSALS``: "nobody", "none", "no", ...) when another value is offered; a boolean named
  so (``react``, ``should_respond``) is true; a boolean named as an ending (``ENDING_WORDS``:
  ``end``, ``stop``, ``done``, ``finished``, ``leave``) is false, so conversations and phases
  run to their turn cap; an integer field or list of integers named for importance
  (``IMPORTANCE_WORDS``: ``importance``, ``scores``, ``poignancy``, ``rating``) is drawn from
  ``IMPORTANCE_WEIGHTS`` (1-10: most 2-4, few 8-10, mean 3.9), stretched onto other bounds.
  Eager bounds the cost of the cognitive loop from above: no coin flip ends a conversation
  early or lets a person stay silent.

With ``latency_ms`` it is slow; with ``fault_rate`` it misbehaves (429, 500, timeouts, malformed
JSON, schema violations, empty replies). Run it alone with ``python -m sim.llm.scripted``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from sim.llm import child
from sim.teams import program

MODEL = "scripted"


def model_name(profile: str) -> str:
    """The name the scripted model serves under with ``profile``: replies cached under one profile
    never answer a call made under another (a fork with another profile asks anew)."""
    return MODEL if profile == "neutral" else f"{MODEL}-{profile}"


FAULTS = ("429", "500", "timeout", "malformed", "violation", "empty")
REPAIR_PREFIX = "That reply was not valid"
PROFILES = ("neutral", "eager")
"""The scripted model's behaviour profiles (see the module's docstring)."""
ENGAGE_WORDS = ("talk", "react", "reaction", "respond", "reply", "engage", "join", "approach", "greet", "interrupt")
"""Eager: a field whose name has one of these words (``talk_to``, ``react``) decides whether to engage."""
REFUSALS = frozenset(
    {
        "nobody",
        "no one",
        "noone",
        "none",
        "no",
        "nothing",
        "ignore",
        "continue",
        "carry on",
        "false",
        "skip",
        "pass",
        "wait",
    }
)
"""Eager: enum values (any case) that decline to engage."""
ENDING_WORDS = ("end", "ends", "stop", "done", "finish", "finished", "leave", "quit")
"""Eager: a boolean whose name has one of these words ends something, and stays false."""
IMPORTANCE_WORDS = ("importance", "score", "scores", "poignancy", "rating")
"""Eager: integers under these names are importance, drawn from ``IMPORTANCE_WEIGHTS``."""
IMPORTANCE_WEIGHTS = (8, 20, 24, 18, 10, 7, 5, 4, 2, 2)
"""Eager: percent of memories scored 1, 2, ..., 10: most mundane (62 % at 2-4, 8 % at 8-10, mean 3.89),
as a day of brushing teeth, working and chatting is, with the odd piece of big news."""


@dataclass(slots=True)
class ScriptConfig:
    """How the scripted model behaves: seed, latency, fault rate, how long a timeout hangs, and its profile."""

    seed: int = 0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    hang_s: float = 5.0
    profile: str = "neutral"


# -- answers -----------------------------------------------------------------------------


def answer(body: dict[str, Any], seed: int, profile: str = "neutral") -> str:
    """The reply text for a chat completion request body, under behaviour ``profile`` (one of ``PROFILES``)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    messages = _original(body.get("messages", []))
    schema = _schema_of(body.get("response_format"))
    key = json.dumps([seed, body.get("model"), messages, schema], sort_keys=True)
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    phrases = _phrases(messages)
    if schema is None:
        return _pick(rng, phrases)
    prompt = "\n".join(
        str(m.get("content", ""))
        for m in messages
        if m.get("role") != "system" or not str(m.get("content", "")).startswith("Reply with one JSON")
    )
    chooser = Chooser(rng, phrases, prompt, profile == "eager")
    return json.dumps(chooser.value(schema, schema.get("$defs", {}), ""), ensure_ascii=False)


def _original(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Repair turns (our bad reply and the gateway's complaint) do not change the answer.
    out = list(messages)
    while (
        len(out) >= 2
        and out[-2].get("role") == "assistant"
        and str(out[-1].get("content", "")).startswith(REPAIR_PREFIX)
    ):
        out = out[:-2]
    return out


def _schema_of(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        return dict(response_format.get("json_schema", {}).get("schema") or {"type": "object"})
    if response_format.get("type") == "json_object":
        return dict(response_format.get("schema") or {"type": "object"})
    return None


def _phrases(messages: list[dict[str, Any]]) -> list[str]:
    # The last line of the last user message is the instruction: answers quote the content above it.
    # The persona (system message) is who speaks, not what is said; it is used only if nothing else is there.
    texts = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    if texts and "\n" in texts[-1].strip():
        texts[-1] = texts[-1].strip().rsplit("\n", 1)[0]
    if not texts:
        texts = [
            str(m.get("content", ""))
            for m in messages
            if not str(m.get("content", "")).startswith("Reply with one JSON")
        ]
    # Split at sentence ends and at colons that do not sit inside a time of day (07:30).
    clauses = [" ".join(c.split()) for c in re.split(r"[.;!?\n]+|:(?!\d)", "\n".join(texts))]
    phrases = [" ".join(c.split()[:24]) for c in clauses if len(c.split()) >= 3]
    # Sentences addressed to the model ("You are talking with ...") frame the task; answers quote
    # what the framing carries (memories, a transcript), so such sentences are the last resort.
    content = [p for p in phrases if not p.startswith("You ")]
    return content or phrases or ["nothing much"]


def _pick(rng: random.Random, phrases: list[str]) -> str:
    """One of ``phrases``, each as likely as any other."""
    return rng.choice(phrases)


def _named(name: str, words: tuple[str, ...]) -> bool:
    # Whole words of the field name (talk_to, should_end), so "weekend" or "friend" never read as "end".
    return not set(re.split(r"[^a-z0-9]+", name.lower())).isdisjoint(words)


@dataclass(slots=True)
class Chooser:
    """Fills a JSON Schema with seeded choices: uniform everywhere, or eager where a field decides to engage."""

    rng: random.Random
    phrases: list[str]
    prompt: str
    eager: bool

    def value(self, schema: dict[str, Any], defs: dict[str, Any], name: str) -> Any:
        """A value valid under ``schema`` for the field called ``name`` (list items keep their list's name)."""
        rng = self.rng
        if "$ref" in schema:
            return self.value(_resolved(schema, defs), defs, name)
        for union in ("anyOf", "oneOf"):
            if union in schema:
                options = [s for s in schema[union] if s.get("type") != "null"] or schema[union]
                return self.value(rng.choice(options), defs, name)
        if "allOf" in schema:
            return self.value(schema["allOf"][0], defs, name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if self.eager and _named(name, ENGAGE_WORDS):
                options = [o for o in options if str(o).strip().lower() not in REFUSALS] or options
            return rng.choice(options)
        kind = schema.get("type", "object")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        if kind == "object":
            return {key: self.value(sub, defs, key) for key, sub in schema.get("properties", {}).items()}
        if kind == "array":
            return self._array(schema, defs, name)
        if kind == "integer":
            return self._integer(schema, name)
        if kind == "number":
            low = float(schema.get("minimum", 0.0))
            return round(rng.uniform(low, float(schema.get("maximum", low + 1.0))), 3)
        if kind == "boolean":
            return self._boolean(name)
        text = _pick(rng, self.phrases)
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is not None:
            text = text[:high]
        return text.ljust(low, ".")

    def _array(self, schema: dict[str, Any], defs: dict[str, Any], name: str) -> Any:
        """Files to write (a working program, or documents), or between min and min + 3 items."""
        items = _resolved(schema.get("items", {}), defs)
        if program.is_file_list(items):
            return program.files(items, self.prompt, self.rng, self.phrases)
        low = schema.get("minItems", 1)
        high = schema.get("maxItems", low + 3)
        count = self.rng.randint(low, max(low, min(high, low + 3)))
        return [self.value(schema.get("items", {"type": "string"}), defs, name) for _ in range(count)]

    def _integer(self, schema: dict[str, Any], name: str) -> int:
        """Uniform over the bounds; importance under eager from ``IMPORTANCE_WEIGHTS``."""
        rng = self.rng
        low = int(schema["exclusiveMinimum"]) + 1 if "exclusiveMinimum" in schema else int(schema.get("minimum", 1))
        high = (
            int(schema["exclusiveMaximum"]) - 1 if "exclusiveMaximum" in schema else int(schema.get("maximum", low + 9))
        )
        if self.eager and _named(name, IMPORTANCE_WORDS) and high > low:
            step = rng.choices(range(len(IMPORTANCE_WEIGHTS)), IMPORTANCE_WEIGHTS)[0]
            return low + round(step * (high - low) / (len(IMPORTANCE_WEIGHTS) - 1))
        return rng.randint(low, max(low, high))

    def _boolean(self, name: str) -> bool:
        """A fair coin; under eager, an ending stays false and an engagement true."""
        if self.eager and _named(name, ENDING_WORDS):
            return False
        if self.eager and _named(name, ENGAGE_WORDS):
            return True
        return self.rng.random() < 0.5


def _resolved(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _violate(reply: str, rng: random.Random) -> str:
    data = json.loads(reply)
    if isinstance(data, dict) and data:
        data.pop(rng.choice(sorted(data)))
        return json.dumps(data)
    return json.dumps({"unexpected": True})


# -- the HTTP server ---------------------------------------------------------------------


class ScriptedModel:
    """Serves the OpenAI chat completions and model list endpoints over HTTP/1.1 keep-alive."""

    def __init__(self, config: ScriptConfig) -> None:
        self.config = config
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most chat completions ever served at once

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until the client closes it."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload, extra = await self.respond(method, path, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                head_out = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                head_out += "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
                writer.write(head_out.encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def respond(self, method: str, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON payload and extra headers for one request."""
        path = path.split("?", 1)[0].rstrip("/")
        if method == "GET" and path.endswith("/models"):
            return (
                200,
                {
                    "object": "list",
                    "data": [{"id": model_name(self.config.profile), "object": "model", "owned_by": "hamlet"}],
                },
                {},
            )
        if method == "GET" and path.endswith("/stats"):
            return 200, {"requests": self.requests, "max_in_flight": self.max_in_flight}, {}
        if method != "POST" or not path.endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {method} {path}"}}, {}
        return await self.complete(json.loads(raw or b"{}"))

    async def complete(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON payload and extra headers for one chat completion request body (HTTP or in process)."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._complete(body)
        finally:
            self.in_flight -= 1

    async def _complete(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if body.get("model") != model_name(self.config.profile):
            return 404, {"error": {"message": f"model {body.get('model')!r} not found", "code": "model_not_found"}}, {}
        self.requests += 1
        config = self.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        text = answer(body, config.seed, config.profile)
        fault_rng = random.Random(f"{config.seed}:{self.requests}")
        if config.fault_rate and fault_rng.random() < config.fault_rate:
            fault = fault_rng.choice(FAULTS)
            if fault == "429":
                return 429, {"error": {"message": "scripted rate limit"}}, {"retry-after": "0"}
            if fault == "500":
                return 500, {"error": {"message": "scripted server error"}}, {}
            if fault == "timeout":
                await asyncio.sleep(config.hang_s)
            elif fault == "malformed":
                text = text[: max(1, len(text) // 2)]
            elif fault == "violation":
                text = _violate(text, fault_rng) if text.startswith("{") else ""
            else:
                text = ""
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        return (
            200,
            {
                "id": f"scripted-{self.requests}",
                "object": "chat.completion",
                "created": 0,
                "model": model_name(self.config.profile),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(text) // 4,
                    "total_tokens": prompt + len(text) // 4,
                },
            },
            {},
        )


async def serve(config: ScriptConfig, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start serving; the bound port is ``server.sockets[0].getsockname()[1]``."""
    model = ScriptedModel(config)
    return await asyncio.start_server(model.handle, host, port, backlog=1024)


class ScriptedProcess:
    """The scripted model in a child process (so it never competes with the engine for the GIL)."""

    def __init__(self, config: ScriptConfig) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim.llm.scripted",
                "--seed",
                str(config.seed),
                "--latency-ms",
                str(config.latency_ms),
                "--fault-rate",
                str(config.fault_rate),
                "--hang-s",
                str(config.hang_s),
                "--profile",
                config.profile,
            ],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            **child.server_options(),
        )
        assert self.process.stdout is not None
        try:
            line = self.process.stdout.readline().strip()
        except BaseException:  # Ctrl-C while it starts: nobody else would stop it
            self.stop()
            raise
        if not line.isdigit():
            self.stop()
            raise RuntimeError("the scripted model server did not start")
        self.port = int(line)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        """Stop the child process."""
        child.stop(self.process)


def main(argv: list[str] | None = None) -> None:
    """Serve the scripted model on loopback and print the port on the first line."""
    parser = argparse.ArgumentParser(prog="python -m sim.llm.scripted", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--hang-s", type=float, default=5.0, help="how long a timeout fault hangs")
    parser.add_argument("--profile", choices=PROFILES, default="neutral", help="behaviour profile (default: neutral)")
    args = parser.parse_args(argv)

    async def run() -> None:
        server = await serve(
            ScriptConfig(args.seed, args.latency_ms, args.fault_rate, args.hang_s, args.profile), port=args.port
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
