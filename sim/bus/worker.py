"""A worker: runs the minds of any run that sends it jobs, and answers with decisions and states.

``hamlet workers --mqtt URL -n N`` starts N worker processes (``-n 1`` runs one in the
command's own process). A worker announces itself with a heartbeat every ``beat_s`` on
``hamlet/_workers/<id>`` (listing the jobs it holds), and its will tells the broker to say it is
gone if it vanishes. On a job for a run it does not know it reads the run's retained world
message: the world file as run, the ``--set`` settings, and the model server to call, whose
rows it returns with each answer, so they land in the run file. The API key is never on the
bus: a worker uses its own ``--api-key`` or ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sim.build import prepare
from sim.bus.base import Bus, Outgoing, hand_over
from sim.bus.topics import (
    Rejected,
    done_topic,
    envelope,
    job_topic,
    opened,
    worker_topic,
    world_topic,
)
from sim.bus.wire import decision_data, lines_of, percept_of, turn_data
from sim.errors import UserError
from sim.llm import child
from sim.llm.client import OpenAITransport, preflight
from sim.llm.gateway import Endpoint, Gateway, GatewayFatal
from sim.llm.site import moment
from sim.mind import Mind, MindContext, Talker, mind_factory
from sim.rng import Stream
from sim.scenario import PersonSpec, parse_scenario
from sim.world import World

log = logging.getLogger("sim.bus")
BRIEF_WAIT_S = 10.0  # how long a worker waits for a run's world message before refusing its jobs


@dataclass(slots=True)
class Overrides:
    """What a worker's own command line says about the model server, over what the world announces."""

    base_url: str | None = None
    api_key: str | None = None
    concurrency: int | None = None


@dataclass(slots=True)
class Held:
    """A mind this worker holds, with its context and the version of its state."""

    mind: Mind
    ctx: MindContext
    rev: int


class RunHost:
    """One run's minds on this worker: its world, its LLM gateway, the people it holds."""

    def __init__(self, run: str, brief: dict[str, Any], overrides: Overrides) -> None:
        self.run = run
        scenario = parse_scenario(brief["scenario_yaml"], f"run {run} (world message)")
        # a team's --task and the --model, as the world has them
        prepare(scenario, list(brief.get("settings", [])), task_source=f"run {run} (world message)",
                task=brief.get("task"), model=brief.get("model"))
        self.scenario = scenario
        self.seed = int(brief["seed"])
        self.world = World(scenario)
        self.objects_version = -1
        given = dict(brief["endpoint"])
        if overrides.base_url:
            given["base_url"] = overrides.base_url
        given["api_key"] = overrides.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self.endpoint = Endpoint(**given)
        self.gateway = Gateway(OpenAITransport(self.endpoint), self._record, self.endpoint,
                               concurrency=overrides.concurrency or int(brief["concurrency"]))
        self.held: dict[str, Held] = {}
        self._sinks: dict[str, list[dict[str, Any]]] = {}  # person -> the LLM call rows of their job in progress

    def _record(self, row: dict[str, Any]) -> None:
        sink = self._sinks.get(row["person"] or "")
        if sink is not None:
            sink.append(row)

    async def check(self) -> None:
        """Check the model server answers this worker (raises ``UserError``)."""
        if self.endpoint.base_url is not None:
            await preflight(self.endpoint, f"worker of run {self.run}", {self.endpoint.model})

    def take(self, data: dict[str, Any]) -> bool:
        """Bring the world's objects up to the batch's version; False if this worker cannot."""
        if "objects" in data:
            self.world.objects = {area: dict(objs) for area, objs in data["objects"].items()}
            self.objects_version = int(data["objects_version"])
        return self.objects_version == data.get("objects_version", self.objects_version)

    async def execute(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job: the answer, the new state, counters, memory rows and LLM call rows."""
        name = str(job["person"])
        full = job.get("full")
        if full is not None:
            held = self._install(name, full, int(job["rev"]))
        else:
            found = self.held.get(name)
            if found is None or found.rev != job["rev"]:
                return {"id": job["id"], "person": name, "ok": False, "error": "stale"}
            held = found
        gateway = self.gateway
        rows: list[dict[str, Any]] = []
        self._sinks[name] = rows
        try:
            with moment(int(job["tick"]), int(job["t"])):  # the job's calls are stamped with the world's tick
                answer = await self._run(held.mind, str(job["op"]), job["args"])
        except GatewayFatal as err:
            return {"id": job["id"], "person": name, "ok": False, "error": str(err)}
        except Exception as err:  # a mind's failure ends the run, as it would in-process, with its reason
            log.exception("the job for %s failed", name)
            return {"id": job["id"], "person": name, "ok": False, "error": f"{type(err).__name__}: {err}"}
        finally:
            self._sinks.pop(name, None)
        memories = list(held.ctx.memories)
        held.ctx.memories.clear()
        held.rev = int(job["rev"]) + 1
        return {"id": job["id"], "person": name, "ok": True, "rev": held.rev, "state": held.mind.state(),
                "counter": held.ctx.rng.counter, "calls": gateway.counters.get(name, 0),
                "memories": memories, "llm": rows, **answer}

    def _install(self, name: str, full: dict[str, Any], rev: int) -> Held:
        spec = PersonSpec.model_validate(full["spec"])
        kind = self.scenario.mind_of(spec)
        ctx = MindContext(self.scenario, self.world, self.gateway, Stream(self.seed, name, int(full["counter"])),
                          dict(self.scenario.minds.get(kind, {})), recorded=list(full["memories"]))
        mind = mind_factory(kind, name)(spec, ctx)
        if full["state"] is not None:
            mind.restore(full["state"])
        self.gateway.counters[name] = int(full["calls"])
        held = self.held[name] = Held(mind, ctx, rev)
        return held

    @staticmethod
    async def _run(mind: Mind, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op == "decide":
            return {"decision": decision_data(await mind.decide(percept_of(args["percept"])))}
        if op not in ("speak", "remember") or not isinstance(mind, Talker):
            raise ValueError(f"this mind cannot {op}")
        lines, now = lines_of(args["lines"]), datetime.fromisoformat(args["now"])
        if op == "speak":
            return {"turn": turn_data(await mind.speak(args["partner"], args["topic"], lines, now))}
        await mind.remember_conversation(args["partner"], args["topic"], lines, now)
        return {}


@dataclass(slots=True)
class _Run:
    """What the node knows of one run: its world message, and its host once made."""

    brief: bytes | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    host: RunHost | None = None
    failure: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


class WorkerNode:
    """One worker process: takes job batches from the bus, runs them concurrently, answers in batches.

    Jobs are counted as held from the moment the bus thread receives them until their answers are
    handed to the bus, and heartbeats are sent by a thread of their own: a busy event loop (a mind
    thinking hard, a big first batch) never makes the worker look dead or its jobs look lost.
    """

    def __init__(self, bus: Bus, worker_id: str, overrides: Overrides | None = None, beat_s: float = 1.0) -> None:
        self.bus, self.id = bus, worker_id
        self.overrides = overrides or Overrides()
        self.beat_s = beat_s
        self.runs: dict[str, _Run] = {}
        self.served = 0
        self._lock = threading.Lock()  # guards the two below between the bus, heartbeat and loop threads
        self._busy: dict[str, set[int]] = {}  # run -> ids of the jobs held (received, not yet answered)
        self._seen: dict[str, int] = {}  # run -> the highest job id received
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_due = False
        self._tasks: set[asyncio.Task[None]] = set()
        bus.subscribe(job_topic("+", worker_id), self._on_jobs)

    @staticmethod
    def will(worker_id: str) -> Outgoing:
        """What the broker says for a worker that vanished: an empty heartbeat."""
        return Outgoing(worker_topic(worker_id), b"")

    async def serve(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, beating all the while; then say goodbye."""
        self._loop = asyncio.get_running_loop()
        quiet = threading.Event()
        beats = threading.Thread(target=self._beats, args=(quiet,), name="hamlet-heartbeat", daemon=True)
        beats.start()
        await stop.wait()
        quiet.set()
        beats.join()
        self.bus.post(worker_topic(self.id), b"")
        for state in self.runs.values():
            if state.host is not None:
                await state.host.gateway.aclose()

    def _beats(self, quiet: threading.Event) -> None:
        while not quiet.is_set():
            with self._lock:
                busy = {run: sorted(ids) for run, ids in self._busy.items() if ids}
                seen = dict(self._seen)
            # Volatile: a heartbeat that cannot go now is worthless later.
            self.bus.send(Outgoing(worker_topic(self.id), envelope(
                None, worker=self.id, host=socket.gethostname(), pid=os.getpid(), beat_s=self.beat_s, busy=busy,
                seen=seen), qos=0, volatile=True))
            quiet.wait(self.beat_s)

    # -- jobs ----------------------------------------------------------------------------

    def _on_jobs(self, topic: str, payload: bytes, retained: bool) -> None:
        run = topic.split("/")[1]
        try:
            data = opened(payload, run)
            jobs = data["jobs"]
            if not isinstance(jobs, list) or not all(isinstance(j, dict) and isinstance(j.get("id"), int) for j in jobs):
                raise Rejected("jobs must be a list of objects with an integer id")
        except (Rejected, KeyError, TypeError) as err:
            log.warning("rejected a message on %s: %s", topic, err)
            return
        with self._lock:
            self._busy.setdefault(run, set()).update(job["id"] for job in jobs)
            self._seen[run] = max([self._seen.get(run, 0), *(job["id"] for job in jobs)])
        hand_over(self._loop, self._start, run, data, jobs)

    def _start(self, run: str, data: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        task = asyncio.ensure_future(self._work(run, data, jobs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, run: str, data: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        state = await self._run_state(run)
        host = state.host
        if host is None or not host.take(data):
            error = state.failure or "stale"
            for job in jobs:
                self._answer(run, {"id": job["id"], "person": job.get("person"), "ok": False, "error": error})
            return
        await asyncio.gather(*(self._one(run, host, job) for job in jobs))

    async def _one(self, run: str, host: RunHost, job: dict[str, Any]) -> None:
        try:
            result = await host.execute(job)
        except (KeyError, TypeError, ValueError) as err:
            log.warning("rejected a job of run %s: %r", run, err)
            result = {"id": job.get("id"), "person": job.get("person"), "ok": False, "error": f"malformed job ({err!r})"}
        self.served += 1
        self._answer(run, result)

    def _answer(self, run: str, result: dict[str, Any]) -> None:
        self.runs[run].results.append(result)
        if not self._flush_due:
            self._flush_due = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        for run, state in self.runs.items():
            if state.results:
                results, state.results = state.results, []
                self.bus.post(done_topic(run, self.id), envelope(run, worker=self.id, results=results))
                with self._lock:  # after the post: a heartbeat never goes out between a job and its answer
                    self._busy.get(run, set()).difference_update(r.get("id") for r in results)

    async def _run_state(self, run: str) -> _Run:
        """What this worker knows of ``run``, reading its world message and checking its model server first."""
        state = self.runs.get(run)
        if state is not None:
            await state.arrived.wait()
            return state
        state = self.runs[run] = _Run()
        waiting = self.bus.subscribe(world_topic(run), self._on_brief)
        try:
            if waiting is not None:
                await asyncio.wait_for(asyncio.wrap_future(waiting), BRIEF_WAIT_S)
            await asyncio.wait_for(self._brief_of(state), BRIEF_WAIT_S)
            assert state.brief is not None
            state.host = RunHost(run, opened(state.brief, run), self.overrides)
            await state.host.check()
            log.info("serving run %s", run)
        except TimeoutError:
            state.failure = f"unknown run {run!r}: no world message on {world_topic(run)}"
            log.warning("rejected the jobs of run %s: %s", run, state.failure)
        except (Rejected, UserError, KeyError, TypeError, ValueError) as err:
            state.failure, state.host = f"worker {self.id} cannot run {run}: {err}", None
            log.warning("%s", state.failure)
        finally:
            state.arrived.set()
        return state

    async def _brief_of(self, state: _Run) -> None:
        while state.brief is None:
            await asyncio.sleep(0.01)

    def _on_brief(self, topic: str, payload: bytes, retained: bool) -> None:
        hand_over(self._loop, self._brief, topic.split("/")[1], payload)

    def _brief(self, run: str, payload: bytes) -> None:
        state = self.runs.get(run)
        if not payload:  # the run is over: forget it
            if state is not None and state.host is not None:
                self.runs.pop(run, None)
                with self._lock:
                    self._busy.pop(run, None)
                    self._seen.pop(run, None)
                task = asyncio.ensure_future(state.host.gateway.aclose())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return
        if state is not None:
            state.brief = payload


# -- the command -------------------------------------------------------------------------


def serve_one(bus_factory: Any, worker_id: str, overrides: Overrides, beat_s: float) -> int:
    """Run one worker in this process until SIGINT or SIGTERM."""
    bus: Bus = bus_factory(worker_id, WorkerNode.will(worker_id))
    node = WorkerNode(bus, worker_id, overrides, beat_s)
    bus.start()
    print(f"worker {worker_id} ready (pid {os.getpid()})", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await node.serve(stop)

    try:
        asyncio.run(main())
    finally:
        bus.close(5.0)
    print(f"worker {worker_id} stopped after {node.served} jobs", flush=True)
    return 0


def supervise(argv: list[str], count: int, url: str) -> int:
    """Start ``count`` worker processes running ``argv`` (``-n 1``), until SIGINT/SIGTERM or all exit."""
    children = [subprocess.Popen([sys.executable, "-m", "sim", *argv], stdin=subprocess.DEVNULL,
                                 preexec_fn=child.die_with_parent) for _ in range(count)]
    print(f"hamlet workers: {count} worker processes on {url} ({', '.join(str(c.pid) for c in children)}); "
          "stop them with Ctrl-C", flush=True)
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in children:
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    running = set(range(count))
    while running:
        for index in sorted(running):
            code = children[index].poll()
            if code is not None:
                running.discard(index)
                if not stopping:
                    print(f"hamlet workers: worker process {children[index].pid} exited ({code}); "
                          f"{len(running)} left", file=sys.stderr, flush=True)
        time.sleep(0.1)
    return 0 if stopping else 1
