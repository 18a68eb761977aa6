"""Running and resuming: checks every input before anything is written, then drives a Simulation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sim.bus.link import BusOptions, Link
from sim.core.engine import Simulation
from sim.core.simtime import RunTime, iso, parse_time
from sim.errors import Interrupted, UserError
from sim.llm.backends import Backend, LLMOptions, model_file, models_of, open_backend, resolve_kind
from sim.llm.client import preflight
from sim.llm.gateway import GatewayFatal
from sim.llm.local import checked_gguf
from sim.llm.options import SCRIPTED
from sim.paths import writable_folder
from sim.run import progress
from sim.run.build import prepare, run_options, simulation
from sim.run.control import Desk, applied_since
from sim.runfile import queries as runfile
from sim.runfile.log import Batch, LogFailed, RunLog
from sim.runfile.queries import RunRow
from sim.runfile.reader import RunReader, refuse_read_only
from sim.runfile.writer import release, writer_alive
from sim.worldfile.bounds import MAX_HOURS, MAX_SEED
from sim.worldfile.cast import cast
from sim.worldfile.scenario import Scenario, check_span, load_scenario, parse_scenario
from sim.worldfile.spec import ScenarioReferenceError

DEFAULT_DIR = Path("replays")
CTRL_C = "interrupted (Ctrl-C); continue with hamlet resume"
"""The message a run file records when Ctrl-C stopped it."""


@dataclass(slots=True)
class RunOptions:
    """What ``hamlet run`` and ``hamlet resume`` take besides the world."""

    hours: float | None = None
    until: str | None = None
    seed: int | None = None
    out: str | None = None
    fixed_step: int | None = None
    schedule: str = "lookahead"  # --schedule: think ahead where nothing can interfere, or tick by tick (barrier)
    lookahead: int | None = None  # --lookahead: simulated seconds ahead of the clock a wake-up may be thought through
    quiet: bool = False
    settings: list[str] = field(default_factory=list)  # --set KEY=VALUE mind parameter overrides
    task: str | None = None  # --task: what a world's team is to make
    people: str | None = None  # --people: the first N of the world's people, or names (``sim.worldfile.cast``)
    llm: LLMOptions = field(default_factory=LLMOptions)
    bus: BusOptions = field(default_factory=BusOptions)


@dataclass(slots=True)
class Outcome:
    """How a run ended: its file, status and totals for the closing line."""

    path: Path
    status: str
    message: str
    summary: dict[str, Any]
    ahead: str = ""  # what speculation did (wake-ups redone, requests sent), when the run speculated

    def lines(self, note: str = "", calls: str = "") -> list[str]:
        """The closing lines a command prints: where the run stopped, its totals, ``note`` after the time."""
        s = self.summary
        calls = calls or f"{s['fallbacks']} fallbacks"
        head = (
            f"{self.path}: {self.status} at {s['sim_now']}{note} · {s['events']} events · "
            f"{s['llm_calls']} LLM calls ({calls}) · "
            f"{s['prompt_tokens'] + s['completion_tokens']} tokens · ${s['cost_usd']:.4f}"
        )
        return [head] + [line for line in (self.ahead, self.message) if line]


def end_second(scenario: Scenario, start: datetime, opts: RunOptions, default_hours: float) -> int:
    """The simulated second at which the run stops, from ``--hours`` or ``--until``."""
    if opts.hours is not None and opts.until is not None:
        raise UserError("--hours and --until: give one or the other")
    if opts.until is not None:
        try:
            end = parse_time(opts.until, scenario.start)  # an offset counts from the run's start, as everywhere
        except UserError as err:
            raise UserError(f"--until: {err}") from None
        time = RunTime(scenario.start)
        seconds = time.second(end)
        if seconds <= time.second(start):
            raise UserError(f"--until {opts.until}: {iso(end)} is not after {iso(start)}")
        if end - start > timedelta(hours=MAX_HOURS):
            raise UserError(
                f"--until {opts.until}: {iso(end)} is more than {MAX_HOURS} hours (ten years) after "
                f"{iso(start)}; choose an earlier end"
            )
        return seconds
    hours = default_hours if opts.hours is None else opts.hours
    if not 0 < hours <= MAX_HOURS:  # also refuses nan
        raise UserError(f"--hours {hours:g}: must be more than 0 and at most {MAX_HOURS} (ten years)")
    try:
        check_span(start, hours, "--hours")
    except ScenarioReferenceError as err:
        raise UserError(str(err)) from None
    return int((start - scenario.start).total_seconds() + hours * 3600)


def out_path(world: Path, seed: int, out: str | None) -> Path:
    """Where the new run file goes; refuses to overwrite and checks the folder is writable."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{world.stem}-seed{seed}-{stamp}.db"
    if out is None:
        path = DEFAULT_DIR / name
    else:
        given = Path(out)
        path = given / name if (given.is_dir() or out.endswith(("/", os.sep))) else given
    if path.exists():
        raise UserError(f"--out {path}: already exists; choose another name or delete it")
    writable_folder(path.parent, f"--out {out or path}")
    return path


def run_world(world: str, opts: RunOptions) -> Outcome:
    """``hamlet run``: validate, start the model backend, create the run file, run to the end."""
    with progress.Display(quiet=opts.quiet):
        progress.phase("checking the world")
        return _run_world(Path(world), opts)


def _run_world(world_path: Path, opts: RunOptions) -> Outcome:
    scenario = load_scenario(world_path)
    world_text = world_path.read_text(encoding="utf-8")
    if opts.people is not None:  # the cut world is the run's world from here on, as its file records it
        world_text = cast(world_text, opts.people, str(world_path))
        scenario = parse_scenario(world_text, f"{world_path} (--people {opts.people})")
    if opts.fixed_step is not None and opts.fixed_step <= 0:
        raise UserError(f"--fixed-step {opts.fixed_step}: must be a positive number of seconds")
    seed = scenario.seed if opts.seed is None else opts.seed
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed {seed}: must be a whole number from 0 to {MAX_SEED}")
    end = end_second(scenario, scenario.start, opts, scenario.hours)
    path = out_path(world_path, seed, opts.out)
    prepare(scenario, opts.settings, task_source=str(world_path), task=opts.task, model=opts.llm.model)
    if scenario.model.file and not opts.llm.model_file and resolve_kind(opts.llm, scenario.model) == "local":
        # the world's GGUF file, relative to the world file; given on the command line, --model-file wins
        opts.llm.model_file = str(
            checked_gguf(
                world_path.parent / Path(scenario.model.file).expanduser(),
                f"{world_path}: model.file {scenario.model.file}",
            )
        )
    model_file(opts.llm, scenario.model)  # a bad --model-file is refused with the world, before anything starts
    link = Link.open(opts.bus, path)
    try:
        return _run_new(world_path, world_text, scenario, seed, end, path, opts, link)
    finally:
        if link is not None:
            link.close()


def _run_new(
    world_path: Path,
    world_text: str,
    scenario: Scenario,
    seed: int,
    end: int,
    path: Path,
    opts: RunOptions,
    link: Link | None,
) -> Outcome:
    with open_backend(opts.llm, scenario.model, seed) as backend:
        asyncio.run(preflight_run(backend, scenario))
        if link is not None:
            progress.phase("connecting to the MQTT broker")
            link.ready()
        options = {
            **run_options(opts.llm, backend, opts.fixed_step, opts.settings),
            "schedule": opts.schedule,
            **({"lookahead": opts.lookahead} if opts.lookahead is not None else {}),
            **({"task": scenario.team.task} if scenario.team is not None else {}),
        }
        if link is not None:
            options.update(mqtt=link.url)
        progress.phase("setting up the people")
        engine = runfile.create(
            path,
            RunRow(
                scenario.name,
                str(world_path),
                world_text,
                seed,
                options,
                iso(scenario.start),
                iso(RunTime(scenario.start).when(end)),
                iso(scenario.start),
            ),
        )
        log = RunLog(engine)
        try:
            sim = simulation(
                scenario,
                log,
                backend,
                seed=seed,
                budget_usd=opts.llm.budget_usd,
                fixed_step=opts.fixed_step,
                schedule=opts.schedule,
                lookahead=opts.lookahead,
            )
            if link is not None:
                link.attach(log)
            sim.begin()
        except BaseException as err:  # never left "running" by a start that failed
            _close_log(log, path, *_cut_short(err, "failed to start"))
            raise
        return _drive(sim, end, path, link)


def resume_run(path_text: str, opts: RunOptions) -> Outcome:
    """``hamlet resume``: continue a run from its newest snapshot; the finished log equals an uninterrupted one."""
    with progress.Display(quiet=opts.quiet):
        progress.phase("reading the run file")
        return _resume_run(Path(path_text), opts)


def _resume_run(path: Path, opts: RunOptions) -> Outcome:
    with RunReader(path) as reader:
        run = reader.run()
        recorded = reader.options()
        snapshot = reader.latest_snapshot()
        past = _Past(
            run,
            snapshot,
            reader.replies(),
            reader.summary()["cost_usd"],
            reader.memories(until_tick=snapshot["tick"]) if snapshot else [],
            recorded.get("fixed_step"),
            recorded.get("fork"),
            reader.calls_after(snapshot["tick"] if snapshot else -1),
            reader.last_prompts(snapshot["tick"]) if snapshot else {},
        )
        writer = reader.meta.get("writer", "")
    refuse_read_only(path, "hamlet resume")
    if run["status"] == "running" and writer_alive(writer):
        raise UserError(f"{path}: still being written by process {writer.split('@')[0]}; stop it before resuming")
    scenario = parse_scenario(run["scenario_yaml"], f"{path} (recorded world)")
    start = datetime.fromisoformat(run["sim_now"])
    planned = RunTime(scenario.start).second(datetime.fromisoformat(run["sim_end"]))
    extend = opts.hours is not None or opts.until is not None
    end = end_second(scenario, start, opts, 0) if extend else planned
    if run["status"] == "finished" and not extend:
        raise UserError(f"{path}: this run already finished at {run['sim_end']}; extend it with --hours H")
    llm = merge_options(recorded, opts.llm)
    prepare(scenario, recorded.get("settings", []), task_source=str(path), task=recorded.get("task"), model=llm.model)
    link = Link.open(opts.bus, path, after_seq=snapshot["seq"] if snapshot else 0)
    try:
        return _resume(path, scenario, past, end, llm, opts, link)
    finally:
        if link is not None:
            link.close()


@dataclass(slots=True)
class _Past:
    """What a resumed run takes from its file: the run row, newest snapshot, replies, spending, memories."""

    run: dict[str, Any]
    snapshot: dict[str, Any] | None
    replies: dict[str, str]
    spent: float
    memories: list[dict[str, Any]]
    fixed_step: int | None
    fork: dict[str, Any] | None = None  # a branch's parent and fork time (hamlet fork)
    redo: list[dict[str, Any]] = field(default_factory=list)  # llm_call rows after the snapshot, redone
    prompts: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # each person's last call by the snapshot


def _resume(
    path: Path, scenario: Scenario, past: _Past, end: int, llm: LLMOptions, opts: RunOptions, link: Link | None
) -> Outcome:
    snapshot, seed = past.snapshot, past.run["seed"]
    with open_backend(llm, scenario.model, seed) as backend:
        if backend.kind != "replay":
            asyncio.run(preflight_run(backend, scenario))
        if link is not None:
            progress.phase("connecting to the MQTT broker")
            link.ready()
        progress.phase("restoring the newest snapshot")
        engine = runfile.reopen(
            path,
            snapshot["seq"] if snapshot else 0,
            snapshot["tick"] if snapshot else -1,
            iso(RunTime(scenario.start).when(end)),
        )
        log = RunLog(engine)
        try:
            sim = simulation(
                scenario,
                log,
                backend,
                seed=seed,
                budget_usd=llm.budget_usd,
                fixed_step=past.fixed_step,
                schedule=opts.schedule,
                lookahead=opts.lookahead,
            )
            gateway = sim.gateway
            gateway.cache.update(past.replies)
            for row in past.redo:
                gateway.recorded.setdefault(row["cache_key"], []).append(row)
            gateway.prefixes.seed(past.prompts)  # so the next calls count their shared prefixes as before the stop
            gateway.stats.cost_usd = past.spent - sum(row["cost_usd"] for row in past.redo)  # counted again when redone
            if past.fork:  # a branch: before its fork time nothing is ever sent, and its parent's replies still count
                gateway.replay_until = RunTime(scenario.start).second(parse_time(past.fork["at"], scenario.start))
                if Path(past.fork["parent"]).is_file():
                    with RunReader(past.fork["parent"]) as parent:
                        gateway.cache.update({**parent.replies(), **past.replies})
            if link is not None:
                link.attach(log)
            if snapshot is None:
                sim.begin()
            else:
                sim.restore(snapshot["state"], past.memories)
            for t, intervention in applied_since(path, snapshot["tick"] if snapshot else 0):
                sim.schedule(t, intervention)  # live interventions whose effects are redone
        except BaseException as err:  # never left "running" by a resume that failed to start
            _close_log(log, path, *_cut_short(err, "failed to resume"))
            raise
        return _drive(sim, end, path, link)


def drive(sim: Simulation, end: int, path: Path) -> Outcome:
    """Run ``sim`` to second ``end`` with live control (and the open display's bar), then record how it ended."""
    return _drive(sim, end, path, None)


def _drive(sim: Simulation, end: int, path: Path, link: Link | None) -> Outcome:
    status, message = "failed", ""
    sim.desk = Desk(path)
    try:
        progress.running(sim, end)
        status = asyncio.run(_run_async(sim, end))
        if status == "budget":
            message = (
                f"stopped: the ${sim.gateway.budget_usd:g} budget is spent; continue with hamlet resume --budget-usd"
            )
        elif status == "interrupted":
            message = "stopped on request; continue with hamlet resume"
    except (GatewayFatal, LogFailed) as err:
        status, message = "failed", str(err)
    except KeyboardInterrupt:
        status, message = "interrupted", CTRL_C
    finally:
        with _deaf_to_ctrl_c():  # a second Ctrl-C must not cut the closing short
            sim.desk.close()
            _close_log(sim.log, path, status, message)
            if link is not None:
                link.finish(status)
    if status == "failed":
        raise UserError(f"{path}: {message}")
    with RunReader(path) as reader:
        summary = reader.summary()
    if message == CTRL_C:
        raise Interrupted(
            f"{path}: interrupted with {summary['events']} events and {summary['llm_calls']} LLM calls "
            f"recorded; hamlet resume {path} continues it from {summary['sim_now']}"
        )
    return Outcome(path, status, message, summary, _thinking_ahead(sim))


def _thinking_ahead(sim: Simulation) -> str:
    """What speculation did in this process (wake-ups thought through early, redone, requests sent); else ""."""
    if not sim.speculate:  # the rule's wake-ups are never redone: nothing is sent twice
        return ""
    return (
        f"speculation: {sim.thought_ahead} wake-ups thought ahead, {sim.redone} of them dropped and redone; "
        f"{sim.gateway.sent} requests sent by this process"
    )


def _cut_short(err: BaseException, what: str) -> tuple[str, str]:
    """The status and message of a run file whose start ``err`` cut short: Ctrl-C, or a failure."""
    if isinstance(err, KeyboardInterrupt):
        return "interrupted", CTRL_C
    return "failed", f"{what}: {err}"


@contextlib.contextmanager
def _deaf_to_ctrl_c() -> Iterator[None]:
    """Ignore SIGINT inside the block (on the main thread, the only one that may change signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _close_log(log: RunLog, path: Path, status: str, message: str) -> None:
    """Write how the run ended and let go of the file.

    When the log can no longer write (a full disk, a lock held elsewhere), the status is tried
    once more on a connection of its own; if that fails too, the file keeps ``running`` under a
    dead writer, which readers report as ``lost`` (resumable), never as a live run.
    """
    try:
        log.submit(Batch(run={"status": status, "message": message}))
        log.close()
    except LogFailed:
        with contextlib.suppress(LogFailed):
            log.close()
        with contextlib.suppress(Exception):
            runfile.set_status(path, status, message)
    release(path)


async def _run_async(sim: Simulation, end: int) -> str:
    try:
        return await sim.run(end, progress.ticked)
    finally:
        await sim.gateway.aclose()


async def preflight_run(backend: Backend, scenario: Scenario) -> None:
    """Check the backend's server answers and serves every model the world names (no server: nothing to check)."""
    if not backend.servers:
        return
    progress.phase("checking the model server" + ("s" if len(backend.servers) > 1 else ""))
    used = (
        {backend.endpoint.model}
        if backend.endpoint.fixed_model
        else models_of(
            [*scenario.people, *(scenario.team.roles if scenario.team else [])], scenario.model, backend.endpoint.model
        )
    )
    # every server of a list must answer at the start: an unreachable one is more likely a typo than an outage
    for label, endpoint in backend.servers:  # in order, so the first one wrong is the one named
        await preflight(endpoint, f"--llm {backend.kind}", used, label)


def merge_options(recorded: dict[str, Any], given: LLMOptions) -> LLMOptions:
    """Recorded model options, overridden by any given on the command line."""
    fields = LLMOptions.__dataclass_fields__
    merged = {k: v for k, v in recorded.items() if k in fields}
    merged.update({k: v for k, v in vars_of(given).items() if v not in (None, 0.0)})
    if given.base_url:  # a server given now replaces the recorded ones, however they were given
        merged.pop("endpoints", None)
    if given.endpoints:
        merged.pop("base_url", None)
    if given.profile is None and merged.get("llm") not in SCRIPTED:
        merged.pop("profile", None)  # a recorded profile is the scripted model's; another backend has none
    options = LLMOptions(**merged)
    if given.model_file is None and resolve_kind(options) != "local":
        options.model_file = None  # a recorded GGUF file is the local server's; another backend has none
    return options


def vars_of(opts: LLMOptions) -> dict[str, Any]:
    """The fields of ``opts`` as a dict."""
    return {name: getattr(opts, name) for name in LLMOptions.__dataclass_fields__}
