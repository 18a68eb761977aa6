"""Forks: branch a recorded run at a time, with a change, at no LLM cost before that time.

The branch's file starts as a copy of the parent's prefix up to the newest snapshot before
TIME (events, memories, LLM calls, snapshots, applied live interventions). The engine restores
that snapshot and redoes the stretch from it to TIME with a gateway that answers only from the
parent's recorded replies and sends nothing (``Gateway.replay_until``), so the branch's events
before TIME equal the parent's. At TIME the fork's intervention takes effect (it is added to the
branch's world, so ``hamlet resume`` of a branch redoes it), and the run continues live with
the parent's model options; calls identical to the parent's are still answered from its replies.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from sim.core.clock import INTERVENE
from sim.core.engine import Simulation
from sim.core.simtime import RunTime, iso, parse_time
from sim.errors import UserError
from sim.llm.backends import LLMOptions, open_backend
from sim.paths import writable_folder
from sim.run import progress
from sim.run.build import prepare, run_options, simulation
from sim.run.control import applied_since, checked_intervention, people_at
from sim.run.session import (
    DEFAULT_DIR,
    Outcome,
    drive,
    merge_options,
    preflight_run,
)
from sim.runfile import queries as runfile
from sim.runfile.log import Batch, RunLog
from sim.runfile.queries import RunRow
from sim.runfile.reader import RunReader
from sim.worldfile.bounds import MAX_HOURS
from sim.worldfile.scenario import InterventionSpec, Scenario, check_span, parse_scenario
from sim.worldfile.spec import ScenarioReferenceError

SENT = ("ok", "repaired", "invalid", "error")
"""``llm_call`` statuses of attempts that reached the model server."""


@dataclass(slots=True)
class ForkOptions:
    """What ``hamlet fork`` takes: where to branch, the change there, how far to run, the model."""

    at: str
    out: str | None = None
    hours: float | None = None
    until: str | None = None
    intervention: dict[str, Any] | None = None  # as a world file writes one, without ``at``
    quiet: bool = False
    llm: LLMOptions = field(default_factory=LLMOptions)


@dataclass(slots=True)
class ForkOutcome(Outcome):
    """How the branch ended, and how many LLM requests it sent (none before the fork time)."""

    sent: int = 0


@dataclass(slots=True)
class _Prefix:
    """What the branch takes from its parent."""

    run: dict[str, Any]
    options: dict[str, Any]
    scenario: Scenario
    t: int  # the fork time, in run seconds
    snapshot: dict[str, Any]
    present: list[str]
    replies: dict[str, str]
    spent: float
    redo: list[tuple[int, Any]]  # live interventions applied between the snapshot and the fork time

    @property
    def time(self) -> RunTime:
        """The parent's simulated time (the branch's too)."""
        return RunTime(self.scenario.start)


def fork_run(parent_text: str, opts: ForkOptions) -> ForkOutcome:
    """``hamlet fork``: check everything, copy the parent's prefix, redo it to the fork time, go on live."""
    with progress.Display(quiet=opts.quiet):
        progress.phase("reading the parent run")
        return _fork(Path(parent_text), opts)


def _fork(parent: Path, opts: ForkOptions) -> ForkOutcome:
    """Check everything, make the branch's world and its state at the fork time, then record and run it."""
    prefix = _read_prefix(parent, opts.at)
    end = _end(prefix, opts)
    moment = iso(prefix.time.when(prefix.t))
    spec = (
        checked_intervention(prefix.scenario, opts.intervention, moment, prefix.present) if opts.intervention else None
    )
    world = _branch_world(prefix.run["scenario_yaml"], spec)
    path = _branch_path(parent, opts.out)
    scenario = parse_scenario(world, f"{path} (branch world)")
    llm = merge_options(prefix.options, opts.llm)
    prepare(scenario, prefix.options.get("settings", []), model=llm.model)
    state = copy.deepcopy(prefix.snapshot["state"])
    if spec is not None:
        _queue_change(state, prefix.t, prefix.options.get("fixed_step"), len(scenario.interventions) - 1)
    with open_backend(llm, scenario.model, prefix.run["seed"]) as backend:
        asyncio.run(preflight_run(backend, scenario))
        options = {
            **run_options(llm, backend, prefix.options.get("fixed_step"), prefix.options.get("settings", [])),
            "fork": {
                "parent": str(parent.resolve()),
                "at": moment,
                "snapshot_tick": prefix.snapshot["tick"],
                "intervention": spec.model_dump(mode="json", exclude_none=True) if spec else None,
            },
        }
        engine = runfile.create(path, _branch_row(prefix, world, options, end))
        progress.phase("copying the parent's prefix")
        copied = runfile.copy_prefix(parent, path, prefix.snapshot, prefix.t)
        sim = simulation(
            scenario,
            RunLog(engine),
            backend,
            seed=prefix.run["seed"],
            budget_usd=llm.budget_usd,
            fixed_step=prefix.options.get("fixed_step"),
        )
        _restore(sim, parent, prefix, state)
        outcome = drive(sim, end, path)
    with RunReader(path) as reader:
        sent = runfile.count_calls(reader.db, after_id=copied, statuses=SENT)
    return ForkOutcome(outcome.path, outcome.status, outcome.message, outcome.summary, outcome.ahead, int(sent))


def _branch_world(world: str, spec: InterventionSpec | None) -> str:
    """The parent's world file with the fork's change as its last intervention, so a resume of the branch redoes it."""
    if spec is None:
        return world
    data = yaml.safe_load(world)
    data["interventions"] = [*(data.get("interventions") or []), spec.model_dump(mode="json", exclude_none=True)]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _queue_change(state: dict[str, Any], t: int, step: int | None, index: int) -> None:
    """Queue the change at second ``t`` in the snapshot's clock, as the world file's intervention ``index``."""
    clock = state["clock"]
    clock["counter"] += 1
    when = -(-t // step) * step if step else t  # on the grid, as Clock.push puts it
    clock["queue"].append([when, INTERVENE, clock["counter"], "intervene", None, {"index": index}])


def _branch_row(prefix: _Prefix, world: str, options: dict[str, Any], end: int) -> RunRow:
    """The branch's ``run`` row: its own world, options and end, the rest the parent's; it stands at the snapshot."""
    run = prefix.run
    return RunRow(
        run["world"],
        run["world_file"],
        world,
        run["seed"],
        options,
        run["sim_start"],
        iso(prefix.time.when(end)),
        iso(prefix.time.when(prefix.snapshot["t"])),
    )


def _restore(sim: Simulation, parent: Path, prefix: _Prefix, state: dict[str, Any]) -> None:
    """Put the branch's engine at the parent's snapshot, to redo the stretch to the fork time from recorded replies.

    Until the fork time its gateway answers only from the parent's replies, having spent what the
    parent had; the snapshot is written again as the branch's own; live interventions applied in
    the stretch are scheduled again.
    """
    sim.gateway.cache.update(prefix.replies)
    sim.gateway.stats.cost_usd = prefix.spent
    sim.gateway.replay_until = prefix.t
    progress.phase("restoring its snapshot")
    with RunReader(parent) as reader:
        sim.restore(state, reader.memories(until_tick=prefix.snapshot["tick"]))
        sim.gateway.prefixes.seed(reader.last_prompts(prefix.snapshot["tick"]))
    # The branch's own snapshot of the fork point: what a resume of the branch starts from.
    sim.log.submit(
        Batch(
            snapshot={
                "tick": prefix.snapshot["tick"],
                "t": prefix.snapshot["t"],
                "seq": prefix.snapshot["seq"],
                "state": state,
            }
        )
    )
    for t, intervention in prefix.redo:
        sim.schedule(t, intervention)


def _read_prefix(parent: Path, at: str) -> _Prefix:
    with RunReader(parent) as reader:
        run = reader.run()
        scenario = parse_scenario(run["scenario_yaml"], f"{parent} (recorded world)")
        start = scenario.start
        try:
            moment = parse_time(at, start)
        except UserError as err:
            raise UserError(f"--at: {err}") from None
        time = RunTime(start)
        t = time.due(moment)  # the first second of the fork time: nothing of it is copied
        now = time.second(datetime.fromisoformat(run["sim_now"]))
        if not 0 <= t <= now:
            raise UserError(
                f"--at {at}: {iso(moment)} is outside the run, which spans {iso(start)} to "
                f"{run['sim_now']}; fork at a time within it"
            )
        # The newest state before anything of the fork time happened: a snapshot of an earlier
        # second, or the one written before the first tick (tick 0).
        snapshot = runfile.snapshot_before(reader.db, t)
        if snapshot is None:
            raise UserError(f"{parent}: has no snapshot to branch from")
        spent = runfile.cost_until(reader.db, snapshot["tick"])
        prefix = _Prefix(
            run, reader.options(), scenario, t, snapshot, people_at(reader, max(t - 1, 0)), reader.replies(), spent, []
        )
    prefix.redo = [(when, iv) for when, iv in applied_since(parent, snapshot["tick"]) if when < t]
    return prefix


def _end(prefix: _Prefix, opts: ForkOptions) -> int:
    """The branch's last second: the parent's planned end, or ``--hours`` after the fork time, or ``--until``."""
    start = prefix.scenario.start
    if opts.hours is not None and opts.until is not None:
        raise UserError("--hours and --until: give one or the other")
    if opts.until is not None:
        try:
            end = prefix.time.second(parse_time(opts.until, start))
        except UserError as err:
            raise UserError(f"--until: {err}") from None
        if end <= prefix.t:
            raise UserError(f"--until {opts.until}: not after the fork time {iso(prefix.time.when(prefix.t))}")
        if end - prefix.t > MAX_HOURS * 3600:
            raise UserError(f"--until {opts.until}: more than {MAX_HOURS} hours (ten years) after the fork time")
        return end
    if opts.hours is not None:
        if not 0 < opts.hours <= MAX_HOURS:  # also refuses nan
            raise UserError(f"--hours {opts.hours:g}: must be more than 0 and at most {MAX_HOURS} (ten years)")
        try:
            check_span(prefix.time.when(prefix.t), opts.hours, "--hours")
        except ScenarioReferenceError as err:
            raise UserError(str(err)) from None
        return prefix.t + round(opts.hours * 3600)
    end = prefix.time.second(datetime.fromisoformat(prefix.run["sim_end"]))
    if end <= prefix.t:
        raise UserError(
            f"--at {opts.at}: the parent ends there ({prefix.run['sim_end']}); give --hours H to run the branch on"
        )
    return end


def _branch_path(parent: Path, out: str | None) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = DEFAULT_DIR / f"{parent.stem}-fork-{stamp}.db" if out is None else Path(out)
    if out is not None and path.is_dir():
        path = path / f"{parent.stem}-fork-{stamp}.db"
    if path.exists():
        raise UserError(f"--out {path}: already exists; choose another name or delete it")
    writable_folder(path.parent, f"--out {out or path}")
    return path
