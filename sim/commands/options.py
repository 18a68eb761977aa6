"""The option groups several commands share: the model, the bus and the simulated span."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sim.llm.options import BACKENDS, PROFILES, LLMOptions
from sim.worldfile import bounds

if TYPE_CHECKING:
    from sim.bus.link import BusOptions


def model_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose and tune the LLM that answers."""
    group = parser.add_argument_group(
        "model", "which LLM answers (default: the embedded model, or --base-url / OPENAI_BASE_URL when set)"
    )
    group.add_argument(
        "--llm",
        choices=BACKENDS,
        help="backend: openai (any compatible server), local "
        "(embedded llama.cpp), scripted (deterministic, for tests, served over HTTP), "
        "scripted-inprocess (the same model in this process: no server), replay (a recorded run)",
    )
    group.add_argument("--model", help="model name at the server (openai backend)")
    group.add_argument(
        "--model-file",
        metavar="PATH.gguf",
        help="local backend: serve this GGUF model file "
        "instead of the bundled SmolLM2-135M (default: the world's model.file; see docs/scenarios.md)",
    )
    group.add_argument(
        "--base-url", help="OpenAI-compatible server URL, e.g. http://localhost:11434/v1 (default: OPENAI_BASE_URL)"
    )
    group.add_argument(
        "--endpoint",
        action="append",
        metavar="URL[,concurrency=N]",
        help="an OpenAI-compatible server that takes a share of the calls, N at once (default 8); "
        "repeat it for several: each person's calls keep to one server and move to another when "
        "it is unreachable (default: the world's model.endpoints; see docs/scenarios.md)",
    )
    group.add_argument("--api-key", help="API key (default: OPENAI_API_KEY); never written to any file")
    group.add_argument(
        "--concurrency", type=bounds.concurrency, help="LLM calls in flight (default 8; local 1; scripted, replay 64)"
    )
    group.add_argument("--budget-usd", type=bounds.usd, help="stop cleanly once this much has been spent")
    group.add_argument(
        "--json-mode",
        choices=("json_schema", "json_object", "none"),
        help="how to ask for JSON: json_schema (OpenAI, vLLM, Ollama), json_object "
        "(llama.cpp), none (schema in the prompt)",
    )
    group.add_argument("--llm-timeout", type=bounds.seconds, dest="timeout_s", help="seconds to wait for one reply")
    group.add_argument(
        "--llm-latency-ms", type=bounds.milliseconds, default=0.0, help="scripted model: delay per reply"
    )
    group.add_argument(
        "--llm-fault-rate",
        type=bounds.share,
        default=0.0,
        help="scripted model: share of replies that fail (429, 500, timeout, bad JSON, ...)",
    )
    group.add_argument(
        "--llm-profile",
        choices=PROFILES,
        dest="profile",
        help="scripted model: neutral (default; every choice uniform) or eager (always talks, "
        "talks to the turn cap, realistic importance); see docs/agents.md",
    )
    group.add_argument("--replay-from", help="replay backend: the run file whose replies to reuse")


def llm_options(args: argparse.Namespace) -> LLMOptions:
    """The model options ``model_options`` parsed."""
    return LLMOptions(
        llm=args.llm,
        model=args.model,
        base_url=args.base_url,
        api_key=args.api_key,
        concurrency=args.concurrency,
        budget_usd=args.budget_usd,
        latency_ms=args.llm_latency_ms,
        fault_rate=args.llm_fault_rate,
        replay_from=args.replay_from,
        json_mode=args.json_mode,
        timeout_s=args.timeout_s,
        profile=args.profile,
        model_file=args.model_file,
        endpoints=args.endpoint,
    )


def bus_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that publish a run on an MQTT broker, and the certificates of an ``mqtts://`` one."""
    group = parser.add_argument_group(
        "bus", "publish the run on an MQTT broker (default: nothing leaves the process; see docs/scaling.md)"
    )
    group.add_argument(
        "--mqtt",
        metavar="URL",
        help="broker to publish every event on, and take control requests "
        "from: mqtt://[user:pass@]host:port, or mqtts://... for TLS",
    )
    group.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate to check the broker's (implies TLS)")
    group.add_argument("--mqtt-cert", metavar="FILE", help="client certificate, with --mqtt-key (implies TLS)")
    group.add_argument("--mqtt-key", metavar="FILE", help="the client certificate's private key")


def bus_settings(args: argparse.Namespace) -> BusOptions:
    """The bus options ``bus_options`` parsed."""
    from sim.bus.link import BusOptions

    return BusOptions(mqtt=args.mqtt, ca=args.mqtt_ca, cert=args.mqtt_cert, key=args.mqtt_key)


def schedule_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--schedule`` and ``--lookahead``: think wake-ups through ahead (how far), or one tick at a time."""
    parser.add_argument(
        "--schedule",
        choices=("lookahead", "speculate", "barrier"),
        default="lookahead",
        help="lookahead (default): people whose next wake-up nothing can reach before it comes "
        "think it through while others wait for the model; speculate: people go on through their "
        "wake-ups as far as the decisions already made foretell, redone where the world turned out "
        "otherwise (faster; a redo may re-send calls, and the closing lines say how many were sent); "
        "barrier: one tick at a time. All three write the same log (docs/architecture.md)",
    )
    parser.add_argument(
        "--lookahead",
        metavar="SECONDS",
        type=bounds.whole(0, 10**9, unit="simulated seconds"),
        help="think no wake-up through more than SECONDS simulated seconds before the clock gets there "
        "(default: no limit; 0: none, as barrier). Less thinking ahead, fewer requests sent twice; "
        "the log is the same whatever the value",
    )


def span_options(parser: argparse.ArgumentParser, default_note: str) -> None:
    """Add ``--hours`` or ``--until``: how far to run, ``default_note`` saying what happens without either."""
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--hours", type=bounds.hours, help=f"simulated hours to run ({default_note})")
    span.add_argument(
        "--until",
        metavar="TIME",
        help="run until TIME: ISO 8601 (2026-02-13T14:00) or an offset from the run's start (+6h)",
    )
