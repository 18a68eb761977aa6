"""The world's side of external workers: stand-in minds, and the pool that sends their work out.

Each person's mind is replaced by a ``RemoteMind`` that the engine calls as usual: ``decide``
(and ``speak`` / ``remember_conversation`` in a conversation) becomes a job for a worker, and
the engine still commits the answers in name order, so the log is the one an in-process run
writes. The world keeps each mind's latest state, returned with every answer with its random
stream and LLM call counters, so a person moves to another worker and continues exactly. A
person stays with one worker while it lives (the worker keeps the mind; jobs then carry only
the percept); a job to a worker that lacks the person's latest state carries it, with the
person's spec and memory rows (read back from the run file).

A worker is lost when the broker says it is gone (its will), when no heartbeat came for
``timeout_s``, or when its heartbeat no longer lists a job it was sent (the job was lost with a
broker restart): its jobs go to another worker, with the state from before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from sim import runfile
from sim.bus.base import Bus, hand_over
from sim.bus.topics import (
    Rejected,
    done_topic,
    envelope,
    job_topic,
    opened,
    worker_topic,
    world_topic,
)
from sim.bus.wire import decision_of, lines_data, percept_data, turn_of
from sim.errors import BudgetExceeded, UserError
from sim.events import Event
from sim.llm.gateway import GatewayFatal
from sim.llm.site import current
from sim.log import RunLog
from sim.mind import Decision, Line, Listener, Mind, MindContext, Percept, Talker, Turn
from sim.scenario import PersonSpec
from sim.world import FixedWorld, World

log = logging.getLogger("sim.bus")
WAIT_NOTE_S = 30.0  # how often a run with no worker says it is waiting
MAX_TRIES = 20  # a job sent again this many times ends the run


class RemoteMind:
    """Stands in for a mind that thinks on a worker; ``notices`` is answered here by the real mind."""

    def __init__(self, pool: Pool, spec: PersonSpec, local: Mind, ctx: MindContext) -> None:
        self.pool, self.spec, self.local, self.ctx = pool, spec, local, ctx
        self.name = spec.name
        self.remote_state: dict[str, Any] | None = None  # the latest state a worker returned; None: never run
        self.rev = 0  # answers taken so far: the version of remote_state
        self.formed = len(ctx.recorded)  # memory rows this person has formed, in the file or this tick

    async def decide(self, percept: Percept) -> Decision:
        """Ask a worker."""
        result = await self.pool.ask(self, "decide", {"percept": percept_data(percept)})
        return decision_of(result["decision"])

    def notices(self, event: Event) -> bool:
        """As the real mind would."""
        return self.local.notices(event)

    def hears(self, event: Event) -> bool:
        """As the real mind would, if it keeps events without waking (``sim.mind.Listener``)."""
        return isinstance(self.local, Listener) and self.local.hears(event)

    def state(self) -> dict[str, Any]:
        """The latest state a worker returned (or the new mind's, before any)."""
        return self.remote_state if self.remote_state is not None else self.local.state()

    def restore(self, state: dict[str, Any]) -> None:
        """Start from ``state``: the next job carries it to whichever worker takes it."""
        self.remote_state = state
        self.rev += 1


class RemoteTalker(RemoteMind):
    """A stand-in for a mind that can hold conversations."""

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        """Ask a worker for the next line."""
        result = await self.pool.ask(self, "speak", {"partner": partner, "topic": topic, "lines": lines_data(lines),
                                                      "now": now.isoformat()})
        return turn_of(result["turn"])

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> None:
        """Ask a worker to remember the conversation."""
        await self.pool.ask(self, "remember", {"partner": partner, "topic": topic, "lines": lines_data(lines),
                                                "now": now.isoformat()})


@dataclass(slots=True)
class Job:
    """One piece of work in flight: for whom, what, and who has it."""

    mind: RemoteMind
    op: str
    args: dict[str, Any]
    future: asyncio.Future[dict[str, Any]]
    tick: int  # the world's tick and simulated second: the worker stamps the job's LLM calls with them
    t: int
    id: int = 0
    worker: str = ""
    sent_at: float = 0.0
    tries: int = 0  # times it was sent again


@dataclass(slots=True)
class Worker:
    """A worker the pool has heard from."""

    id: str
    seen: float  # monotonic time of its latest heartbeat
    beat_s: float = 1.0
    host: str = ""
    pid: int = 0
    objects_version: int = -1  # the version of the world's objects it was last sent
    people: set[str] = field(default_factory=set)


class Pool:
    """Sends each due person's work to a live worker and takes the answers back (a ``MindHost``)."""

    def __init__(self, bus: Bus, run: str, path: Path, brief: dict[str, Any], *,
                 timeout_s: float = 10.0, reject: Callable[[str, bytes, str], None] | None = None) -> None:
        self.bus, self.run, self.path = bus, run, path
        self.runlog: RunLog | None = None  # set once the run file exists: memory rows are read back from it
        self.brief = brief  # what workers need: world file, settings, model server (the retained world message)
        self.timeout_s = timeout_s
        self.reject = reject or (lambda topic, payload, reason: log.warning("rejected %s: %s", topic, reason))
        self.workers: dict[str, Worker] = {}
        self.holder: dict[str, tuple[str, int]] = {}  # person -> (worker, rev) holding their latest mind
        self.pending: dict[int, Job] = {}
        self.parked: list[Job] = []  # jobs waiting for any worker to be alive
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards ``workers`` between the bus thread and the engine
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outgoing: dict[str, list[dict[str, Any]]] = {}
        self._flush_due = False
        self._world: World | None = None
        self._db: sqlite3.Connection | None = None
        self._watcher: asyncio.Task[None] | None = None
        bus.subscribe(worker_topic(), self._on_beat)
        bus.subscribe(done_topic(run), self._on_done)

    # -- setting up ----------------------------------------------------------------------

    def adopt(self, spec: PersonSpec, mind: Mind, ctx: MindContext) -> Mind:
        """The stand-in the engine calls for ``spec``'s mind."""
        world = ctx.world
        self._world = world._world if isinstance(world, FixedWorld) else world  # workers mirror the state itself
        kind = RemoteTalker if isinstance(mind, Talker) else RemoteMind
        return kind(self, spec, mind, ctx)

    def publish_brief(self) -> None:
        """Tell workers how to run this run's minds (a retained message)."""
        self.bus.post(world_topic(self.run), envelope(self.run, **self.brief), retain=True)

    def wait_for_workers(self, timeout_s: float) -> int:
        """Wait until some worker is alive, then a heartbeat longer for the others; how many are alive."""
        deadline = time.monotonic() + timeout_s
        while not self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = self.alive()
        if alive:  # workers beat once a second or so: let those starting together all be counted
            time.sleep(1.5 * max(w.beat_s for w in alive))
        return len(self.alive())

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving from the engine's event loop."""
        self._loop = loop
        self._watcher = loop.create_task(self._watch())

    async def aclose(self) -> None:
        """Stop watching workers and withdraw the retained world message."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        self.bus.post(world_topic(self.run), b"", retain=True)
        if self._db is not None:
            self._db.close()

    def alive(self) -> list[Worker]:
        """The workers heard from within the timeout, by id."""
        now = time.monotonic()
        with self._lock:
            return sorted((w for w in self.workers.values() if now - w.seen <= self.timeout_s), key=lambda w: w.id)

    # -- the engine's side ---------------------------------------------------------------

    async def ask(self, mind: RemoteMind, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Have a worker run ``op`` for ``mind``; the answer, once the world has taken in its state."""
        gateway = mind.ctx.gateway
        if gateway.budget_usd is not None and gateway.stats.cost_usd >= gateway.budget_usd:
            raise BudgetExceeded(f"spent ${gateway.stats.cost_usd:.4f} of the ${gateway.budget_usd:.4f} budget")
        assert self._loop is not None, "Pool.bind was not called"
        tick, t = current()  # the tick whose task asks: a job sent again later keeps it
        job = Job(mind, op, args, self._loop.create_future(), tick, t)
        self._dispatch(job)
        return await job.future

    def _dispatch(self, job: Job) -> None:
        alive = self.alive()
        if not alive:
            self.parked.append(job)
            return
        name = job.mind.name
        held = self.holder.get(name)
        by_id = {w.id: w for w in alive}
        worker = by_id.get(held[0]) if held else None
        least = min(alive, key=lambda w: (len(w.people), w.id))
        if worker is None or len(worker.people) - len(least.people) >= 2:  # new, orphaned, or a worker joined
            if worker is not None:
                worker.people.discard(name)
            worker = least
        worker.people.add(name)
        job.id, job.worker, job.sent_at = next(self._ids), worker.id, time.monotonic()
        self.pending[job.id] = job
        ctx = job.mind.ctx
        item: dict[str, Any] = {"id": job.id, "person": name, "op": job.op, "rev": job.mind.rev,
                                "tick": job.tick, "t": job.t, "args": job.args}
        if held != (worker.id, job.mind.rev):
            item["full"] = {"spec": job.mind.spec.model_dump(mode="json"), "state": job.mind.remote_state,
                            "memories": self._memories(job.mind), "counter": ctx.rng.counter,
                            "calls": ctx.gateway.counters.get(name, 0)}
        self._outgoing.setdefault(worker.id, []).append(item)
        if not self._flush_due:
            self._flush_due = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)  # after every decide of this tick has queued its job

    def _flush(self) -> None:
        self._flush_due = False
        outgoing, self._outgoing = self._outgoing, {}
        world = self._world
        for worker_id, items in outgoing.items():
            extra: dict[str, Any] = {}
            if world is not None:
                extra["objects_version"] = world.objects_version
                worker = self.workers.get(worker_id)
                if worker is not None and worker.objects_version != world.objects_version:
                    extra["objects"] = world.objects
                    worker.objects_version = world.objects_version
            self.bus.post(job_topic(self.run, worker_id), envelope(self.run, worker=worker_id, jobs=items, **extra))

    def _memories(self, mind: RemoteMind) -> list[dict[str, Any]]:
        """The person's memory rows so far: those in the run file, then those formed this tick."""
        if not mind.formed:
            return []
        if self.runlog is not None:
            self.runlog.flush()
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        rows = runfile.memories_of(self._db, mind.name)
        rows += [{**row, "evidence": orjson.loads(row["evidence"])} for row in mind.ctx.memories]
        return rows

    # -- answers -------------------------------------------------------------------------

    def _on_done(self, topic: str, payload: bytes, retained: bool) -> None:
        hand_over(self._loop, self._take, topic, payload)

    def _take(self, topic: str, payload: bytes) -> None:
        try:
            data = opened(payload, self.run)
            results, worker_id = data["results"], str(data["worker"])
            if not isinstance(results, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), int)
                                                        for r in results):
                raise Rejected("results must be a list of objects with an integer id")
        except (Rejected, KeyError, TypeError) as err:
            self.reject(topic, payload, str(err) if isinstance(err, Rejected) else f"not a worker's results ({err!r})")
            return
        for result in results:
            job = self.pending.pop(result["id"], None)
            if job is None:
                log.info("an answer from %s for a job already given to another worker: ignored", worker_id)
                continue
            try:
                self._absorb(job, worker_id, result)
            except (KeyError, TypeError, ValueError) as err:
                self.reject(topic, payload, f"a malformed result for {job.mind.name} ({err!r}); the job is sent again")
                self._resend(job)

    def _absorb(self, job: Job, worker_id: str, result: dict[str, Any]) -> None:
        mind = job.mind
        if not result.get("ok"):
            if result.get("error") == "stale":  # the worker lacks the latest mind or objects: send everything
                self.holder.pop(mind.name, None)
                if worker_id in self.workers:
                    self.workers[worker_id].objects_version = -1
                self._resend(job)
                return
            job.future.set_exception(GatewayFatal(f"worker {worker_id}: {mind.name}: {result.get('error')}"))
            return
        state, rev = result["state"], int(result["rev"])
        memories, calls = list(result["memories"]), list(result["llm"])
        mind.remote_state, mind.rev = state, rev
        mind.ctx.rng.counter = int(result["counter"])
        mind.ctx.gateway.counters[mind.name] = int(result["calls"])
        mind.ctx.memories.extend(memories)
        mind.formed += len(memories)
        for row in calls:
            mind.ctx.gateway.account(row)
        self.holder[mind.name] = (worker_id, rev)
        if not job.future.done():
            job.future.set_result(result)

    def _resend(self, job: Job) -> None:
        self.pending.pop(job.id, None)
        job.tries += 1
        if job.tries > MAX_TRIES:  # never seen; a guard against two sides disagreeing for ever
            job.future.set_exception(GatewayFatal(f"the job for {job.mind.name} was sent {MAX_TRIES} times "
                                                  "without an answer; see the workers' output"))
            return
        with self._lock:
            worker = self.workers.get(job.worker)
            if worker is not None:
                worker.people.discard(job.mind.name)
        if self.holder.get(job.mind.name, ("",))[0] == job.worker:
            self.holder.pop(job.mind.name, None)
        self._dispatch(job)

    # -- workers -------------------------------------------------------------------------

    def _on_beat(self, topic: str, payload: bytes, retained: bool) -> None:
        worker_id = topic.rsplit("/", 1)[-1]
        if not payload:  # the worker's will, or its goodbye
            hand_over(self._loop, self._lost, worker_id, "it left the broker")
            return
        try:
            data = opened(payload, None)
            beat_s = float(data.get("beat_s", 1.0))
            busy = set(data.get("busy", {}).get(self.run, []))
            seen = int(data.get("seen", {}).get(self.run, 0))
        except (Rejected, AttributeError, TypeError, ValueError) as err:
            log.warning("ignored a heartbeat on %s: %s", topic, err)
            return
        with self._lock:
            worker = self.workers.get(worker_id)
            if worker is None:
                worker = self.workers[worker_id] = Worker(worker_id, time.monotonic())
                log.info("worker %s joined", worker_id)
            worker.seen, worker.beat_s = time.monotonic(), beat_s
            worker.host, worker.pid = str(data.get("host", "")), int(data.get("pid", 0) or 0)
        hand_over(self._loop, self._check_leases, worker_id, busy, seen)

    def _check_leases(self, worker_id: str, busy: set[int], seen: int) -> None:
        """Send again the jobs a heartbeat shows lost: received after, or long ago, and not held."""
        worker = self.workers.get(worker_id)
        if worker is None:
            return
        if self.parked:
            parked, self.parked = self.parked, []
            for job in parked:
                self._dispatch(job)
        # Jobs to one worker go out in id order, so one it never got is older than one it got; one
        # sent long ago that it has not got (its batch lost, nothing sent to it since) is lost too.
        lease = max(10 * worker.beat_s, 10.0)
        now = time.monotonic()
        lost = [job for job in self.pending.values() if job.worker == worker_id and job.id not in busy
                and (job.id <= seen or now - job.sent_at > lease)]
        for job in lost:
            log.warning("worker %s no longer has the job for %s (lost with the broker?); sending it again",
                        worker_id, job.mind.name)
            self._resend(job)

    def _lost(self, worker_id: str, why: str) -> None:
        with self._lock:
            worker = self.workers.pop(worker_id, None)
        if worker is None:
            return
        for person in [p for p, (w, _) in self.holder.items() if w == worker_id]:
            del self.holder[person]
        jobs = [job for job in self.pending.values() if job.worker == worker_id]
        if jobs or worker.people:
            log.warning("worker %s (pid %s on %s) lost (%s); %d people go to other workers, %d jobs are sent again",
                        worker_id, worker.pid or "?", worker.host or "?", why, len(worker.people), len(jobs))
        for job in jobs:
            self._resend(job)

    async def _watch(self) -> None:
        waiting_since: float | None = None
        while True:
            await asyncio.sleep(min(1.0, self.timeout_s / 4))
            now = time.monotonic()
            with self._lock:
                stale = [w.id for w in self.workers.values() if now - w.seen > self.timeout_s]
            for worker_id in stale:
                self._lost(worker_id, f"no heartbeat for {self.timeout_s:g} s")
            if self.parked:
                if self.alive():
                    parked, self.parked = self.parked, []
                    for job in parked:
                        self._dispatch(job)
                elif waiting_since is None or now - waiting_since >= WAIT_NOTE_S:
                    waiting_since = now
                    log.warning("no worker is alive; %d jobs wait (start workers with hamlet workers --mqtt ...)",
                                len(self.parked))
            else:
                waiting_since = None


def no_workers(url: str, waited_s: float) -> UserError:
    """The error of a run that found no worker to send minds to."""
    return UserError(f"--workers external: no worker answered on {url} within {waited_s:g} s; "
                     f"start some with hamlet workers --mqtt {url}")
