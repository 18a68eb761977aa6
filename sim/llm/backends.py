"""Choosing and starting a model backend: ``openai``, ``local``, ``scripted``, ``scripted-inprocess`` or ``replay``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.llm.client import OpenAITransport
from sim.llm.gateway import Endpoint
from sim.llm.options import BACKENDS, PROFILES, SCRIPTED, LLMOptions, parse_endpoints, redact_url
from sim.llm.replay import ReplayTransport
from sim.llm.route import RoutingTransport
from sim.llm.transport import Transport
from sim.run import progress
from sim.worldfile.spec import ModelSettings

__all__ = ["BACKENDS", "Backend", "LLMOptions", "open_backend", "redact_url"]

SCRIPTED_PRICE = (0.15, 0.60)
"""USD per million prompt / completion tokens charged for scripted calls, like a small hosted
model, so that budgets and cost reports can be exercised without spending anything."""


class Backend:
    """A started backend: the transport and endpoint the gateway talks through, and what to stop at the end."""

    def __init__(
        self,
        kind: str,
        transport: Transport,
        endpoint: Endpoint,
        concurrency: int,
        *,
        offline: bool = False,
        cache: dict[str, str] | None = None,
        stopper: Any = None,
    ) -> None:
        self.kind = kind
        self.transport = transport
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.offline = offline
        self.cache = cache or {}
        self._stopper = stopper
        self.model_file: str | None = None  # the GGUF file a local server was started on, when not the bundled one
        # the servers a preflight checks, each with how an error names it (one: the endpoint's own)
        self.servers: list[tuple[str, Endpoint]] = (
            [] if endpoint.base_url is None else [(f"--base-url {redact_url(endpoint.base_url)}", endpoint)]
        )

    def close(self) -> None:
        """Stop whatever server this backend started."""
        if self._stopper is not None:
            self._stopper.stop()
            self._stopper = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve_kind(opts: LLMOptions, model: ModelSettings | None = None) -> str:
    """The backend to use: ``--llm``, else ``openai`` when a server is configured (by the options, the
    environment or the world's ``model.endpoints``), else ``local``."""
    if opts.llm:
        if opts.llm not in BACKENDS:
            raise UserError(f"--llm {opts.llm!r}: unknown backend; choose one of {', '.join(BACKENDS)}")
        return opts.llm
    served = opts.base_url or opts.endpoints or os.environ.get("OPENAI_BASE_URL") or getattr(model, "endpoints", None)
    return "openai" if served else "local"


def open_backend(opts: LLMOptions, scenario_model: ModelSettings, seed: int) -> Backend:
    """Start the backend ``opts`` asks for; servers it starts are stopped by ``close``."""
    kind = resolve_kind(opts, scenario_model)
    _check(kind, opts, scenario_model)
    prices = (scenario_model.price_in_per_mtok or 0.0, scenario_model.price_out_per_mtok or 0.0)
    return OPENERS[kind](Opening(kind, opts, scenario_model, prices, seed))


@dataclasses.dataclass(frozen=True)
class Opening:
    """What a backend is opened with: its name, the model options, the world's model settings, prices and seed."""

    kind: str
    opts: LLMOptions
    model: ModelSettings
    prices: tuple[float, float]  # USD per million prompt / completion tokens, as the world gives them
    seed: int


def _check(kind: str, opts: LLMOptions, scenario_model: ModelSettings) -> None:
    """Refuse options that make no sense for backend ``kind``, one line each, before anything starts."""
    if opts.endpoints and opts.base_url:
        raise UserError("--endpoint and --base-url: give the servers with --endpoint alone (one or more)")
    if opts.endpoints and kind != "openai":
        raise UserError(
            f"--endpoint: only --llm openai sends calls to servers you name (this run uses {kind}); "
            "leave out --llm, or give --llm openai"
        )
    if opts.fault_rate and kind not in SCRIPTED:
        raise UserError("--llm-fault-rate: only the scripted model can inject faults; add --llm scripted")
    if opts.profile is not None and opts.profile not in PROFILES:
        raise UserError(f"--llm-profile {opts.profile!r}: unknown profile; choose one of {', '.join(PROFILES)}")
    if opts.profile not in (None, "neutral") and kind not in SCRIPTED:
        raise UserError("--llm-profile: only the scripted model has behaviour profiles; add --llm scripted")
    if not 0 <= opts.fault_rate <= 1:
        raise UserError(f"--llm-fault-rate {opts.fault_rate}: must be between 0 and 1")
    if opts.budget_usd is not None and opts.budget_usd < 0:
        raise UserError(f"--budget-usd {opts.budget_usd:g}: must be 0 or more")
    if opts.concurrency is not None and opts.concurrency < 1:
        raise UserError(f"--concurrency {opts.concurrency}: must be at least 1")
    if kind != "local":
        model_file(opts, scenario_model)  # refuses a GGUF file given to a backend that cannot serve it


def _openai(o: Opening) -> Backend:
    """An OpenAI-compatible server (or several, routed): ``--base-url``, ``--endpoint``, the environment, the world."""
    opts = o.opts
    servers = _servers(opts, o.model)
    base_url = (
        (servers[0][1] if servers else None)
        or opts.base_url
        or os.environ.get("OPENAI_BASE_URL")
        or "https://api.openai.com/v1"
    )
    model = opts.model or o.model.model
    if not model:
        raise UserError("--model: no model given; name one with --model or under model: in the world file")
    endpoint = Endpoint(
        base_url,
        opts.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
        model,
        _json_mode(opts, "json_schema"),
        opts.timeout_s or 120.0,
        0.5,
        *o.prices,
    )
    if not servers:
        return Backend(o.kind, OpenAITransport(endpoint), endpoint, opts.concurrency or 8)
    return _routed(endpoint, servers, opts.concurrency)


def _replay(o: Opening) -> Backend:
    """A recorded run's replies as the model (``--replay-from``): no server, nothing sent."""
    source = _replay_source(o.opts)
    progress.phase(f"reading the replies recorded in {source}")
    model, cache = recorded_replies(source)
    endpoint = Endpoint(None, "not-needed", model, "json_schema", 1.0, 0.0, fixed_model=True)
    return Backend(o.kind, ReplayTransport(cache), endpoint, o.opts.concurrency or 64, offline=True, cache=cache)


def _servers(opts: LLMOptions, scenario_model: ModelSettings) -> list[tuple[str, str, int]]:
    """The servers a run's calls are shared among, as (how errors name it, URL, concurrency): ``--endpoint``'s,
    else the world's ``model.endpoints``; none when neither lists any."""
    if opts.endpoints:
        return [(f"--endpoint {redact_url(url)}", url, n) for url, n in parse_endpoints(opts.endpoints)]
    listed = getattr(scenario_model, "endpoints", None) or []
    return [
        (f"model.endpoints[{index}] {server.url}", server.url, server.concurrency)
        for index, server in enumerate(listed)
    ]


def _routed(endpoint: Endpoint, servers: list[tuple[str, str, int]], concurrency: int | None) -> Backend:
    """The backend of a server list: one client per server behind a router (one server: its client alone)."""
    clients = [(label, dataclasses.replace(endpoint, base_url=url), n) for label, url, n in servers]
    total = concurrency or sum(n for _, _, n in servers)  # the gateway's limit: every server's slots
    if len(clients) == 1:
        backend = Backend("openai", OpenAITransport(clients[0][1]), clients[0][1], total)
    else:
        router = RoutingTransport(
            [(redact_url(client.base_url or ""), OpenAITransport(client), n) for _, client, n in clients]
        )
        backend = Backend("openai", router, endpoint, total)
    backend.servers = [(label, client) for label, client, _ in clients]
    return backend


def model_file(opts: LLMOptions, scenario_model: ModelSettings | None = None) -> Path | None:
    """The GGUF file ``--model-file`` names, checked (None: the bundled model); refused for other backends."""
    if not opts.model_file:
        return None
    kind = resolve_kind(opts, scenario_model)
    if kind != "local":
        raise UserError(
            f"--model-file: only --llm local starts a server on a GGUF file (this run uses {kind}); "
            "add --llm local, or serve the file yourself and give --base-url"
        )
    from sim.llm.local import checked_gguf

    return checked_gguf(Path(opts.model_file), f"--model-file {opts.model_file}")


def _local(o: Opening) -> Backend:
    """llama.cpp's server on the bundled SmolLM2-135M, or on the GGUF file ``--model-file`` names."""
    from sim.llm.local import MODEL_ALIAS, LocalServer

    opts, prices = o.opts, o.prices
    file = model_file(opts)
    progress.phase(f"starting the model server (llama.cpp, {file.name if file else MODEL_ALIAS})")
    server = LocalServer(model_file=file)
    mode = _json_mode(opts, "json_object")
    endpoint = Endpoint(
        server.base_url,
        "not-needed",
        server.alias,
        mode,
        opts.timeout_s or 300.0,
        0.5,
        *prices,
        fixed_model=True,
        grammar=mode == "json_object",
    )
    # llama.cpp's server answers one request at a time; more in flight would only queue there.
    backend = Backend("local", OpenAITransport(endpoint), endpoint, opts.concurrency or 1, stopper=server)
    backend.model_file = str(file) if file else None
    return backend


def _scripted(o: Opening) -> Backend:
    """The scripted model: its server in a child process (``scripted``), or in this process (``scripted-inprocess``)."""
    from sim.llm.inprocess import ScriptedTransport
    from sim.llm.scripted import ScriptConfig, ScriptedModel, ScriptedProcess, model_name

    kind, opts, prices, seed = o.kind, o.opts, o.prices, o.seed
    # Only injected timeout faults hang, so only then is a short wait worth it; otherwise a slow
    # reply on a loaded machine must not turn into a retry (the llm_call table would differ).
    timeout = opts.timeout_s or ((2.0 if opts.fault_rate else 30.0) + opts.latency_ms / 1000)
    config = ScriptConfig(seed, opts.latency_ms, opts.fault_rate, hang_s=timeout + 1, profile=opts.profile or "neutral")
    if kind == "scripted":
        progress.phase("starting the scripted model server")
    process = ScriptedProcess(config) if kind == "scripted" else None
    endpoint = Endpoint(
        process.base_url if process else None,
        "not-needed",
        model_name(config.profile),
        _json_mode(opts, "json_schema"),
        timeout,
        0.02,
        *(prices if any(prices) else SCRIPTED_PRICE),
        fixed_model=True,
    )
    transport = OpenAITransport(endpoint) if process else ScriptedTransport(ScriptedModel(config), timeout)
    return Backend(kind, transport, endpoint, opts.concurrency or 64, stopper=process)


OPENERS: dict[str, Callable[[Opening], Backend]] = {
    "openai": _openai,
    "local": _local,
    "scripted": _scripted,
    "scripted-inprocess": _scripted,
    "replay": _replay,
}
"""How each backend of ``--llm`` (``BACKENDS``) is opened: adding a backend is a transport and a line here."""


def _json_mode(opts: LLMOptions, default: str) -> Any:
    mode = opts.json_mode or default
    if mode not in ("json_schema", "json_object", "none"):
        raise UserError(f"--json-mode {mode!r}: choose json_schema, json_object or none")
    return mode


def _replay_source(opts: LLMOptions) -> Path:
    if not opts.replay_from:
        raise UserError("--llm replay: name the recorded run to answer from with --replay-from RUN.db")
    path = Path(opts.replay_from)
    if not path.is_file():
        raise UserError(f"--replay-from {path}: no such file")
    return path


def recorded_replies(path: Path) -> tuple[str, dict[str, str]]:
    """The model a run used and its valid replies by cache key (for replay and resume)."""
    from sim.runfile.reader import RunReader

    with RunReader(path) as reader:
        model = reader.options().get("resolved_model") or "replay"
        return model, reader.replies()


def models_of(scenario_people: list[Any], base: ModelSettings, default: str) -> set[str]:
    """Every model name a run will ask for (for the preflight check): the world's, and any of its people's
    or roles' own (anything with a ``model`` of ``ModelSettings``)."""
    names = {base.model or default}
    for person in scenario_people:
        if person.model is not None and person.model.model:
            names.add(person.model.model)
    return names
