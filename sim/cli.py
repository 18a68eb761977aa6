"""The ``hamlet`` command line: the composition root that wires worlds, minds, backends and logs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, NoReturn

from sim import __version__, bounds
from sim.errors import UserError, file_trouble, is_file_error
from sim.llm.options import BACKENDS, PROFILES, LLMOptions


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line with a pointer to ``--help``."""

    def error(self, message: str) -> NoReturn:
        """Print one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model", "which LLM answers (default: the embedded model, "
                                      "or --base-url / OPENAI_BASE_URL when set)")
    group.add_argument("--llm", choices=BACKENDS, help="backend: openai (any compatible server), local "
                       "(embedded llama.cpp), scripted (deterministic, for tests, served over HTTP), "
                       "scripted-inprocess (the same model in this process: no server), replay (a recorded run)")
    group.add_argument("--model", help="model name at the server (openai backend)")
    group.add_argument("--base-url", help="OpenAI-compatible server URL, e.g. http://localhost:11434/v1 "
                       "(default: OPENAI_BASE_URL)")
    group.add_argument("--api-key", help="API key (default: OPENAI_API_KEY); never written to any file")
    group.add_argument("--concurrency", type=bounds.concurrency, help="LLM calls in flight at once (default: 8; "
                       "local: 1)")
    group.add_argument("--budget-usd", type=bounds.usd, help="stop cleanly once this much has been spent")
    group.add_argument("--json-mode", choices=("json_schema", "json_object", "none"),
                       help="how to ask for JSON: json_schema (OpenAI, vLLM, Ollama), json_object "
                       "(llama.cpp), none (schema in the prompt)")
    group.add_argument("--llm-timeout", type=bounds.seconds, dest="timeout_s", help="seconds to wait for one reply")
    group.add_argument("--llm-latency-ms", type=bounds.milliseconds, default=0.0, help="scripted model: delay per reply")
    group.add_argument("--llm-fault-rate", type=bounds.share, default=0.0,
                       help="scripted model: share of replies that fail (429, 500, timeout, bad JSON, ...)")
    group.add_argument("--llm-profile", choices=PROFILES, dest="profile",
                       help="scripted model: neutral (default; every choice uniform) or eager (always talks, "
                       "talks to the turn cap, realistic importance); see docs/agents.md")
    group.add_argument("--replay-from", help="replay backend: the run file whose replies to reuse")


def _bus_options(parser: argparse.ArgumentParser, *, workers: bool) -> None:
    group = parser.add_argument_group("bus", "publish the run on an MQTT broker (default: nothing leaves the "
                                      "process; see docs/distributed.md)")
    group.add_argument("--mqtt", metavar="URL", help="broker to publish every event on, and take control requests "
                       "from: mqtt://[user:pass@]host:port, or mqtts://... for TLS")
    group.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate to check the broker's (implies TLS)")
    group.add_argument("--mqtt-cert", metavar="FILE", help="client certificate, with --mqtt-key (implies TLS)")
    group.add_argument("--mqtt-key", metavar="FILE", help="the client certificate's private key")
    if workers:
        group.add_argument("--workers", choices=("in-process", "external"), default="in-process",
                           help="where minds think: in this process (default), or on workers started with "
                           "hamlet workers --mqtt URL (needs --mqtt)")
        group.add_argument("--worker-timeout", type=bounds.seconds, default=10.0, metavar="SECONDS",
                           help="a worker silent this long is lost; its people go to others (default: 10)")
        group.add_argument("--worker-wait", type=bounds.seconds, default=30.0, metavar="SECONDS",
                           help="how long to wait at the start for a worker to answer (default: 30)")


def _span_options(parser: argparse.ArgumentParser, default_note: str) -> None:
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--hours", type=bounds.hours, help=f"simulated hours to run ({default_note})")
    span.add_argument("--until", metavar="TIME", help="run until TIME: ISO 8601 (2026-02-13T14:00) or an "
                      "offset from the run's start (+6h)")


def build_parser() -> Parser:
    """The parser for every ``hamlet`` command."""
    parser = Parser(prog="hamlet", description="Hamlet: simulate societies of LLM agents, "
                    "record everything to SQLite, replay and study it.")
    parser.add_argument("--version", action="version", version=f"hamlet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = sub.add_parser("run", help="run a world and record it", description="Run a world scenario and "
                         "record every event and LLM call in one SQLite file.")
    run.add_argument("world", help="world file (YAML), e.g. worlds/smallville.yaml")
    _span_options(run, "default: the world's hours, usually 24")
    run.add_argument("--seed", type=bounds.seed, help="run seed (default: the world's seed)")
    run.add_argument("--out", help="run file or folder (default: replays/)")
    run.add_argument("--fixed-step", type=bounds.step_seconds, metavar="SECONDS",
                     help="step every person every SECONDS, Smallville-style, instead of event-driven")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                     help="override a mind parameter, e.g. --set reflection=off or --set generative.top_k=4 "
                     "(repeatable)")
    run.add_argument("--embeddings", metavar="SPEC", help="embeddings for memories: wordllama (default), hash, "
                     "or an OpenAI-compatible endpoint as URL/model, e.g. http://localhost:11434/v1/nomic-embed-text")
    run.add_argument("--task", help="what the world's team is to make, e.g. \"a snake game\" (worlds with a team; "
                     "docs/teams.md)")
    run.add_argument("--tui", action="store_true", help="watch the run in the terminal viewer while it runs "
                     "(quitting the viewer stops the run cleanly; hamlet resume continues it)")
    _model_options(run)
    _bus_options(run, workers=True)

    resume = sub.add_parser("resume", help="continue an interrupted run", description="Continue a run from "
                            "its newest snapshot; the finished log equals that of a run never interrupted.")
    resume.add_argument("run_file", metavar="RUN.db")
    _span_options(resume, "default: up to the run's planned end; given, extends the run")
    resume.add_argument("--quiet", action="store_true", help="no progress bar")
    _model_options(resume)
    _bus_options(resume, workers=False)

    workers = sub.add_parser("workers", help="run minds for runs started with --workers external",
                             description="Start worker processes that run the minds of any run started with "
                             "hamlet run --mqtt URL --workers external, taking jobs through the broker. Each calls "
                             "the model server the run announces (or --base-url) with its own API key "
                             "(--api-key or OPENAI_API_KEY). Stop them with Ctrl-C. See docs/distributed.md.")
    workers.add_argument("--mqtt", metavar="URL", default=os.environ.get("HAMLET_MQTT"),
                         help="the broker: mqtt://[user:pass@]host:port or mqtts://... (default: $HAMLET_MQTT)")
    workers.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate to check the broker's (implies TLS)")
    workers.add_argument("--mqtt-cert", metavar="FILE", help="client certificate, with --mqtt-key (implies TLS)")
    workers.add_argument("--mqtt-key", metavar="FILE", help="the client certificate's private key")
    workers.add_argument("-n", "--processes", type=bounds.concurrency, default=1, metavar="N",
                         help="worker processes to start (default: 1, in this process)")
    workers.add_argument("--base-url", help="model server to call instead of the one each run announces")
    workers.add_argument("--api-key", help="API key for the model server (default: OPENAI_API_KEY); never sent")
    workers.add_argument("--concurrency", type=bounds.concurrency, help="LLM calls in flight per worker (default: the run's)")
    workers.add_argument("--heartbeat", type=bounds.seconds, default=1.0, metavar="SECONDS",
                         help="seconds between heartbeats (default: 1); keep it well under runs' --worker-timeout")

    interview = sub.add_parser("interview", help="ask a person of a run a question",
                               description="Ask a person a question, answered from their memories as they were "
                               "at --at (default: the run's latest time). Nothing is written to their memories; "
                               "the exchange is recorded in the run file's interview table. With --whisper, "
                               "the text is instead planted in a running simulation as the person's memory.")
    interview.add_argument("run_file", metavar="RUN.db")
    interview.add_argument("person", metavar="PERSON")
    interview.add_argument("question", metavar="QUESTION", help="the question (with --whisper: what to plant)")
    interview.add_argument("--at", metavar="TIME", help="ISO 8601 time or offset from the start (+6h)")
    interview.add_argument("--whisper", action="store_true",
                           help="plant QUESTION as a memory of PERSON in the live run (it takes effect at the "
                           "run's next tick and is logged as an intervention event)")
    _model_options(interview)

    validate = sub.add_parser("validate", help="check a world file", description="Check a world file "
                              "and print a one-line summary, or the first problem found.")
    validate.add_argument("world")

    schema = sub.add_parser("schema", help="print the JSON Schema of world files",
                            description="Print the JSON Schema of world files, for editors that validate YAML.")
    schema.add_argument("--out", help="write to this file instead of standard output")

    runs = sub.add_parser("runs", help="list recorded runs", description="List the run files in a folder "
                          "with a summary line each.")
    runs.add_argument("folder", nargs="?", default="replays")

    show = sub.add_parser("show", help="summarise a run", description="Summarise a run: world, people, "
                          "simulated span, events, LLM calls, tokens, cost and status.")
    show.add_argument("run_file", metavar="RUN.db", nargs="?", help="the run (default: the newest in replays/)")
    show.add_argument("--json", action="store_true", help="print machine-readable JSON")

    export = sub.add_parser("export", help="export a run's tables", description="Export tables of a run "
                            "as JSON Lines, CSV or Parquet, one file a table.")
    export.add_argument("run_file", metavar="RUN.db")
    export.add_argument("--format", default="jsonl", choices=("jsonl", "csv", "parquet"))
    export.add_argument("--out", help="folder to write the tables into")
    export.add_argument("--tables", nargs="+", help="tables to export, by name or plural (events, "
                        "llm_calls, ...; default: run event llm_call memory artifact; also snapshot, interview, control, "
                        "rejection)")
    export.add_argument("--artifacts", metavar="DIR", help="write the files a team wrote into DIR, each as its newest "
                        "version, with hamlet-artifacts.json listing every version and the quality metrics")
    export.add_argument("--all-versions", action="store_true",
                        help="with --artifacts: also write every version, as DIR/versions/N/PATH")
    replay = sub.add_parser("replay", help="open a recorded run in the terminal viewer",
                            description="Open a recorded run in the terminal viewer: step through it event by "
                            "event or tick by tick, play it, jump to a time, and inspect what anyone knew then. "
                            "Keys: ? in the viewer; see docs/tui.md.")
    replay.add_argument("run_file", metavar="RUN.db")

    watch = sub.add_parser("watch", help="watch a run in progress in the terminal viewer",
                           description="Attach the terminal viewer to a run another process is writing: it "
                           "reads the file read-only, never slowing the run, and follows it as it goes. "
                           "space pauses and resumes the run. Keys: ? in the viewer; see docs/tui.md.")
    watch.add_argument("run_file", metavar="RUN.db")

    from sim.research import commands as research

    research.add_parsers(sub, _model_options, _span_options)

    importer = sub.add_parser("import", help="turn another project's simulation into a world file",
                              description="Turn another project's simulation files into a Hamlet world file. "
                              "Kinds: chatdev (a ChatDev CompanyConfig folder), smallville (a Smallville base simulation folder).")
    kinds = importer.add_subparsers(dest="kind", metavar="KIND", parser_class=Parser, required=True)
    from sim.importers import chatdev, smallville

    chatdev.add_parser(kinds)
    smallville.add_parser(kinds)
    return parser


def _llm_options(args: argparse.Namespace) -> LLMOptions:
    return LLMOptions(
        llm=args.llm, model=args.model, base_url=args.base_url, api_key=args.api_key,
        concurrency=args.concurrency, budget_usd=args.budget_usd, latency_ms=args.llm_latency_ms,
        fault_rate=args.llm_fault_rate, replay_from=args.replay_from, json_mode=args.json_mode,
        timeout_s=args.timeout_s, profile=args.profile,
    )


def main(argv: list[str] | None = None) -> int:
    """Run one ``hamlet`` command; user errors print one line and return 2."""
    # Some libraries call logging.basicConfig(level=INFO) on import, which would print every
    # HTTP request; configuring first makes theirs a no-op.
    logging.basicConfig(level=logging.WARNING, format="hamlet: %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _dispatch(args)
    except UserError as err:
        print(f"hamlet {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as err:
        if not is_file_error(err):
            raise
        line = file_trouble(err) or f"the run file is damaged or not a Hamlet run ({getattr(err, 'orig', None) or err})"
        print(f"hamlet {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hamlet {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (hamlet metrics RUN.db | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    from sim.research import commands as research

    if args.command in research.COMMANDS and not research.needs_minds(args):
        return research.dispatch(args, _llm_options)  # reading run files: no mind, no model client to load
    from sim.mind import load_minds

    load_minds()

    if args.command in ("replay", "watch"):
        from sim.tui.launch import view

        view(args.run_file, live=args.command == "watch")
        return 0
    if args.command == "run" and args.tui:
        from sim.tui.launch import run_with_viewer

        return run_with_viewer(args, build_parser())
    if args.command in ("run", "resume"):
        from sim.session import RunOptions, resume_run, run_world

        opts = RunOptions(hours=args.hours, until=args.until, quiet=args.quiet, llm=_llm_options(args),
                          bus=_bus(args))
        if args.command == "run":
            opts.seed, opts.out, opts.fixed_step = args.seed, args.out, args.fixed_step
            opts.settings = list(args.settings) + ([f"embeddings={args.embeddings}"] if args.embeddings else [])
            opts.task = args.task
            outcome = run_world(args.world, opts)
        else:
            outcome = resume_run(args.run_file, opts)
        print("\n".join(outcome.lines()))
        print(f"See it with: hamlet show {outcome.path}")
        return 0 if outcome.status == "finished" else 3
    if args.command == "workers":
        return _workers(args)
    if args.command == "interview":
        from sim.interview import interview

        if args.whisper:
            from sim.control import send

            if args.at:
                raise UserError("--at: a whisper reaches a live run at its next tick; to plant one at a chosen "
                                "time, add it to the world's interventions (kind: whisper)")
            if not args.question.strip():
                raise UserError("QUESTION: empty; give the text to whisper")
            request = send(args.run_file, "intervene", {"kind": "whisper", "person": args.person,
                                                        "text": args.question})
            print(f"whispered to {args.person} (request {request}); it becomes a memory at the run's next tick")
            return 0
        exchange = interview(args.run_file, args.person, args.question, args.at, _llm_options(args))
        print(f"[{exchange.time}] {exchange.person}: {exchange.answer}")
        return 0
    if args.command == "validate":
        from sim.mind import check_minds
        from sim.scenario import load_scenario
        from sim.team import PhaseSpec

        scenario = load_scenario(args.world)
        try:
            check_minds(scenario)
        except UserError as err:
            raise UserError(f"{args.world}: {err}") from None
        team = scenario.team
        phases = sum(1 for _, item in team.items() if isinstance(item, PhaseSpec)) if team else 0
        roles = f" · a team of {len(team.roles)} roles, {phases} phases" if team else ""
        print(f"{args.world}: valid · {scenario.name!r} · {len(scenario.people)} people · "
              f"{len(scenario.area_ids())} places in {len(scenario.sectors)} sectors · "
              f"{len(scenario.interventions)} interventions{roles}")
        return 0
    if args.command == "schema":
        from sim.scenario import scenario_json_schema

        text = json.dumps(scenario_json_schema(), indent=2)
        if args.out:
            try:
                Path(args.out).write_text(text + "\n", encoding="utf-8")
            except OSError as err:
                raise UserError(f"--out {args.out}: cannot write ({err.strerror})") from None
        else:
            print(text)
        return 0
    if args.command == "runs":
        return _runs(Path(args.folder))
    if args.command == "show":
        from sim.reader import RunReader

        with RunReader(args.run_file or _newest(Path("replays"))) as reader:
            summary = reader.summary()
        print(json.dumps(summary, indent=2) if args.json else _show_text(summary))
        return 0
    if args.command in research.COMMANDS:
        return research.dispatch(args, _llm_options)
    if args.command == "import":
        return int(args.run_import(args))
    if args.command == "export":
        from sim.export import export_artifacts, export_run

        if args.out is None and args.artifacts is None:
            raise UserError("give --out DIR (the run's tables) or --artifacts DIR (the files its team wrote), or both")
        if args.all_versions and args.artifacts is None:
            raise UserError("--all-versions: goes with --artifacts DIR")
        written = export_run(args.run_file, args.format, args.out, args.tables) if args.out is not None else []
        if args.artifacts is not None:
            written += export_artifacts(args.run_file, args.artifacts, all_versions=args.all_versions)
        for path in written:
            print(path)
        return 0
    raise AssertionError(args.command)


def _bus(args: argparse.Namespace) -> Any:
    from sim.bus.link import BusOptions

    return BusOptions(mqtt=args.mqtt, ca=args.mqtt_ca, cert=args.mqtt_cert, key=args.mqtt_key,
                      workers=getattr(args, "workers", "in-process"),
                      worker_timeout_s=getattr(args, "worker_timeout", 10.0),
                      worker_wait_s=getattr(args, "worker_wait", 30.0))


def _workers(args: argparse.Namespace) -> int:
    from sim.bus.mqtt import MqttBus, client_id, parse_broker
    from sim.bus.worker import Overrides, serve_one, supervise

    if not args.mqtt:
        raise UserError("--mqtt: name the broker, e.g. --mqtt mqtt://localhost:1883 (or set HAMLET_MQTT)")
    broker = parse_broker(args.mqtt, args.mqtt_ca, args.mqtt_cert, args.mqtt_key)
    if args.processes < 1:
        raise UserError(f"-n {args.processes}: start at least 1 worker")
    if args.heartbeat <= 0:
        raise UserError(f"--heartbeat {args.heartbeat:g}: must be more than 0 seconds")
    if args.concurrency is not None and args.concurrency < 1:
        raise UserError(f"--concurrency {args.concurrency}: must be at least 1")
    if args.processes == 1:
        overrides = Overrides(args.base_url, args.api_key, args.concurrency)
        return serve_one(lambda wid, will: MqttBus(broker, f"hamlet-worker-{wid}", will=will),
                         client_id("w").removeprefix("hamlet-w-"), overrides, args.heartbeat)
    probe = MqttBus(broker, client_id("probe"))
    probe.start()  # one clear line now if the broker cannot be reached, not one per process
    probe.close()
    # The children read the URL from the environment: a password in argv would show in ps.
    os.environ["HAMLET_MQTT"] = args.mqtt
    argv = ["workers", "-n", "1", "--heartbeat", str(args.heartbeat)]
    for flag, value in (("--mqtt-ca", args.mqtt_ca), ("--mqtt-cert", args.mqtt_cert), ("--mqtt-key", args.mqtt_key),
                        ("--base-url", args.base_url), ("--concurrency", args.concurrency)):
        if value is not None:
            argv += [flag, str(value)]
    if args.api_key:
        os.environ["OPENAI_API_KEY"] = args.api_key
    return supervise(argv, args.processes, broker.url)


def _newest(folder: Path) -> Path:
    runs = sorted(folder.glob("*.db"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not runs:
        raise UserError(f"{folder}: no runs yet; start one with hamlet run worlds/two_rooms.yaml")
    return runs[-1]


def _runs(folder: Path) -> int:
    from sim.reader import RunReader

    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    files = sorted(folder.glob("*.db"))
    if not files:
        print(f"{folder}: no runs yet; start one with hamlet run worlds/two_rooms.yaml")
        return 0
    for path in files:
        try:
            with RunReader(path) as reader:
                s = reader.summary()
            print(f"{path}  {s['status']:<11} {s['world']} · seed {s['seed']} · {s['sim_start']} → "
                  f"{s['sim_now']} · {s['events']} events · {s['llm_calls']} LLM calls · ${s['cost_usd']:.4f}")
        except (UserError, sqlite3.DatabaseError) as err:
            print(f"{path}  (unreadable: {str(err).split(': ', 1)[-1]})")
    return 0


def _show_text(s: dict[str, Any]) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in s["events_by_kind"].items())
    purposes = ", ".join(f"{k} {v}" for k, v in s["llm_calls_by_purpose"].items()) or "none"
    lines = [
        f"Run        {s['file']}  ({s['status']}{': ' + s['message'] if s['message'] else ''})",
        f"World      {s['world']} ({s['world_file']}), seed {s['seed']}, {len(s['people'])} people, "
        f"{s['places']} places",
        f"Simulated  {s['sim_start']} → {s['sim_now']} (planned end {s['sim_end']})",
        f"Model      {s['options'].get('backend')} · {s['options'].get('resolved_model')}",
        f"Events     {s['events']} ({kinds})",
        f"LLM calls  {s['llm_calls']} ({purposes}) · cache hits {s['cache_hits']} · errors {s['errors']} · "
        f"invalid {s['invalid_replies']} · repaired {s['repaired_replies']} · fallbacks {s['fallbacks']}",
        f"Tokens     {s['prompt_tokens']} prompt + {s['completion_tokens']} completion · cost ${s['cost_usd']:.4f}",
    ]
    c = s.get("control")
    if c and (c["requests"] or c["rejected"] or c["shed"] or c["broker_dropped"]):
        lost = f" · shed {c['shed']}" if c["shed"] else ""
        lost += f" · broker dropped {c['broker_dropped']} (to some subscriber)" if c["broker_dropped"] else ""
        lines.append(f"Controls   {c['requests']} requests ({c['by_status'].get('applied', 0)} applied) · "
                     f"rejected {c['rejected']}{lost}")
    lines.append("People")
    width = max(len(p["name"]) for p in s["people"]) if s["people"] else 4
    for p in s["people"]:
        lines.append(f"  {p['name']:<{width}}  {p['age']:>3}  {p['home']:<28} {p['mind']:<10} {p['occupation']}")
    if "team" in s:
        lines += _team_text(s["team"])
    return "\n".join(lines)


def _team_text(team: dict[str, Any]) -> list[str]:
    # the viewer's words for the same things (sim.tui.view imports no Textual)
    from sim.tui.view import clip, count, run_outcome

    lines = [f"Team       task {team['task']!r} · {team['status']} · {len(team['phases'])} phases ended · "
             f"{len(team['program_runs'])} program runs"]
    if team["phases"]:
        lines.append("Phases")
        width = max(len(p["phase"]) for p in team["phases"])
        for p in team["phases"]:
            cycle = f" #{p['cycle']}" if p["cycle"] else ""
            result = f" → {', '.join(p['files'])}" if p["files"] else (f" → {clip(p['conclusion'], 50)}" if p["conclusion"] else "")
            lines.append(f"  {p['time'][11:16]}  {p['phase'] + cycle:<{width + 3}} {count(p['replies'], 'reply'):>10} · "
                         f"{p['reason']}{result}")
    for loop in team["loops"]:
        lines.append(f"Loop       {loop['loop']}: {count(loop['cycles'], 'cycle')} · {loop['reason']}")
    for run in team["program_runs"]:
        lines.append(f"Sandbox    {run['time'][11:16]}  {run_outcome(run).removeprefix('it ')}")
    if team["artifacts"]:
        lines.append("Artifacts")
        for item in team["artifacts"]:
            newest = item["versions"][-1]
            by = f"{newest['phase']}, {newest['role']}" if newest["phase"] else "given by the world"
            lines.append(f"  {item['path']:<28} v{newest['version']} ({by}) · {newest['bytes']} bytes · "
                         f"{count(len(item['versions']), 'version')}")
    if team["quality"]:
        q = team["quality"]
        lines.append(f"Quality    completeness {q['completeness']:g} · executability {q['executability']:g} · "
                     f"consistency {q['consistency']:.3f} · quality {q['quality']:.3f}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
