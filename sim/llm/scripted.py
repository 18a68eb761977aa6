"""The scripted model: a deterministic OpenAI-compatible server on loopback, for tests and benchmarks.

It answers any declared JSON Schema with valid, varied, seeded content made of the prompt's own
phrases and the schema's own options, so facts in a prompt can travel into answers; asked for
files of code, it writes a small working program (``sim/llm/program.py``). The answer
depends only on (seed, model, prompt, schema): the order in which requests arrive never matters.
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

from sim.llm import child, program

MODEL = "scripted"
FAULTS = ("429", "500", "timeout", "malformed", "violation", "empty")
REPAIR_PREFIX = "That reply was not valid"


@dataclass(slots=True)
class ScriptConfig:
    """How the scripted model behaves: seed, latency, fault rate, and how long a timeout hangs."""

    seed: int = 0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    hang_s: float = 5.0


# -- answers -----------------------------------------------------------------------------


def answer(body: dict[str, Any], seed: int) -> str:
    """The reply text for a chat completion request body."""
    messages = _original(body.get("messages", []))
    schema = _schema_of(body.get("response_format"))
    key = json.dumps([seed, body.get("model"), messages, schema], sort_keys=True)
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    phrases = _phrases(messages)
    if schema is None:
        return _pick(rng, phrases)
    prompt = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") != "system"
                       or not str(m.get("content", "")).startswith("Reply with one JSON"))
    return json.dumps(_value(schema, schema.get("$defs", {}), rng, phrases, "", prompt), ensure_ascii=False)


def _original(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Repair turns (our bad reply and the gateway's complaint) do not change the answer.
    out = list(messages)
    while len(out) >= 2 and out[-2].get("role") == "assistant" and str(out[-1].get("content", "")).startswith(REPAIR_PREFIX):
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
        texts = [str(m.get("content", "")) for m in messages if not str(m.get("content", "")).startswith("Reply with one JSON")]
    # Split at sentence ends and at colons that do not sit inside a time of day (07:30).
    clauses = [" ".join(c.split()) for c in re.split(r"[.;!?\n]+|:(?!\d)", "\n".join(texts))]
    phrases = [" ".join(c.split()[:24]) for c in clauses if len(c.split()) >= 3]
    # Sentences addressed to the model ("You are talking with ...") frame the task; answers quote
    # what the framing carries (memories, a transcript), so such sentences are the last resort.
    content = [p for p in phrases if not p.startswith("You ")]
    return content or phrases or ["nothing much"]


def _pick(rng: random.Random, phrases: list[str]) -> str:
    """A phrase, favouring facts: names, numbers and dates weigh more than plain words."""
    weights = [1 + sum(1 for word in p.split()[1:] if word[:1].isupper() or word[:1].isdigit()) for p in phrases]
    return rng.choices(phrases, weights)[0]


def _value(schema: dict[str, Any], defs: dict[str, Any], rng: random.Random, phrases: list[str], name: str,
           prompt: str = "") -> Any:
    if "$ref" in schema:
        return _value(_resolved(schema, defs), defs, rng, phrases, name, prompt)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [s for s in schema[union] if s.get("type") != "null"] or schema[union]
            return _value(rng.choice(options), defs, rng, phrases, name, prompt)
    if "allOf" in schema:
        return _value(schema["allOf"][0], defs, rng, phrases, name, prompt)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: _value(sub, defs, rng, phrases, key, prompt) for key, sub in props.items()}
    if kind == "array":
        items = _resolved(schema.get("items", {}), defs)
        if program.is_file_list(items):  # files to write: a working program, or documents
            return program.files(items, prompt, rng, phrases)
        low = schema.get("minItems", 1)
        high = schema.get("maxItems", low + 3)
        count = rng.randint(low, max(low, min(high, low + 3)))
        return [_value(schema.get("items", {"type": "string"}), defs, rng, phrases, name, prompt) for _ in range(count)]
    if kind == "integer":
        low = int(schema["exclusiveMinimum"]) + 1 if "exclusiveMinimum" in schema else int(schema.get("minimum", 1))
        high = int(schema["exclusiveMaximum"]) - 1 if "exclusiveMaximum" in schema else int(schema.get("maximum", low + 9))
        return rng.randint(low, max(low, high))
    if kind == "number":
        low = float(schema.get("minimum", 0.0))
        return round(rng.uniform(low, float(schema.get("maximum", low + 1.0))), 3)
    if kind == "boolean":
        return rng.random() < 0.5
    text = _pick(rng, phrases)
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if high is not None:
        text = text[:high]
    return text.ljust(low, ".")


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
            return 200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "hamlet"}]}, {}
        if method == "GET" and path.endswith("/stats"):
            return 200, {"requests": self.requests, "max_in_flight": self.max_in_flight}, {}
        if method != "POST" or not path.endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {method} {path}"}}, {}
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._complete(json.loads(raw or b"{}"))
        finally:
            self.in_flight -= 1

    async def _complete(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if body.get("model") != MODEL:
            return 404, {"error": {"message": f"model {body.get('model')!r} not found", "code": "model_not_found"}}, {}
        self.requests += 1
        config = self.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        text = answer(body, config.seed)
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
        return 200, {
            "id": f"scripted-{self.requests}",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(text) // 4,
                      "total_tokens": prompt + len(text) // 4},
        }, {}


async def serve(config: ScriptConfig, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start serving; the bound port is ``server.sockets[0].getsockname()[1]``."""
    model = ScriptedModel(config)
    return await asyncio.start_server(model.handle, host, port, backlog=1024)


class ScriptedProcess:
    """The scripted model in a child process (so it never competes with the engine for the GIL)."""

    def __init__(self, config: ScriptConfig) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sim.llm.scripted", "--seed", str(config.seed),
             "--latency-ms", str(config.latency_ms), "--fault-rate", str(config.fault_rate),
             "--hang-s", str(config.hang_s)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, preexec_fn=child.die_with_parent,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
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
    args = parser.parse_args(argv)

    async def run() -> None:
        server = await serve(ScriptConfig(args.seed, args.latency_ms, args.fault_rate, args.hang_s), port=args.port)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
