"""The engine: takes the clock's ticks, lets due minds think concurrently, commits in a fixed order.

Each tick, every due person perceives the world as of the tick's start; all of them decide at
once (their LLM calls overlap under the gateway's limit); then their actions are committed one
person at a time, sorted by name. So the log never depends on which reply came back first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sim import events as ev
from sim.clock import ARRIVE, CONVERSE, INTERVENE, WAKE, Clock, Entry
from sim.control import Desk
from sim.conversation import Conversation, hold
from sim.errors import BudgetExceeded
from sim.events import Event, event_dict
from sim.llm.gateway import Gateway, GatewayFatal
from sim.llm.site import moment
from sim.log import Batch, RunLog
from sim.mind import (
    Chain,
    Decision,
    Do,
    Go,
    Listener,
    Mind,
    MindContext,
    Note,
    Percept,
    Say,
    Step,
    Talk,
    Talker,
    chain_factory,
    mind_factory,
)
from sim.rng import Stream
from sim.scenario import InterventionSpec, PersonSpec, Scenario
from sim.simtime import RunTime, iso, parse_time
from sim.world import World

REFUSED_TALK_RETRY_S = 60
"""Simulated seconds after which someone whose partner could not talk decides again."""

Progress = Callable[["Simulation"], None]

E = TypeVar("E", bound=Event)


class Simulation:
    """One run in memory: world, clock, minds and their random streams, feeding a ``RunLog``.

    ``calls`` is where ``gateway`` puts its ``llm_call`` rows (its sink appends to it): the engine
    commits them with the tick that made them.
    """

    def __init__(self, scenario: Scenario, log: RunLog, gateway: Gateway, calls: list[dict[str, Any]], *,
                 seed: int, fixed_step: int | None = None) -> None:
        self.scenario = scenario
        self.time = RunTime(scenario.start)  # the engine's seconds of a moment are due seconds (rounded up)
        self.log = log
        self.gateway = gateway
        self.seed = seed
        self.world = World(scenario)
        self.clock = Clock(fixed_step)
        self.fixed_step = fixed_step
        self.snapshot_every = int(scenario.snapshot_minutes * 60)
        # state below is saved in every snapshot
        self.tick = 0
        self.seq = 0
        self.next_snapshot = 0
        self._snapshot_at: tuple[int, int] | None = None  # (tick, second) of the newest snapshot
        self.people: dict[str, PersonSpec] = {}
        self.minds: dict[str, Mind] = {}
        self.streams: dict[str, Stream] = {}
        self.inbox: dict[str, list[Event]] = {}
        self.contexts: dict[str, MindContext] = {}
        # person -> simulated second until which they are in a conversation
        self.busy: dict[str, int] = {}
        # what the current tick will commit
        self._talks: list[Conversation] = []
        self._events: list[Event] = []
        self._calls = calls
        self._controls: list[dict[str, Any]] = []  # live requests taken before this tick
        self._artifacts: list[dict[str, Any]] = []
        self._chain_due = False
        # the team's chat chain, when the world has a team; its state is saved with the rest
        self.chain: Chain | None = None
        if scenario.team is not None:
            context = MindContext(scenario, self.world, gateway, Stream(seed, "team"),
                                  dict(scenario.minds.get("role", {})))
            self.chain = chain_factory()(scenario, context)
        # where live requests (pause, stop, interventions) come from; None: a run nobody steers
        self.desk: Desk | None = None

    # -- starting ------------------------------------------------------------------------

    def begin(self) -> None:
        """Start a fresh run: log ``run_start``, place everyone, queue interventions, wake all at 0."""
        self._emit(ev.RunStart.new(0, world=self.scenario.name, seed=self.seed, people=len(self.scenario.people),
                                fixed_step=self.fixed_step))
        for person in self.scenario.people:
            self._add_person(person, 0)
        for index, iv in enumerate(self.scenario.interventions):
            self.clock.push(self.time.due(parse_time(iv.at, self.time.start)), INTERVENE, "intervene", index=index)
        if self.fixed_step:
            self.clock.push(0, WAKE + 1, "step")
        if self.chain is not None:
            self.clock.push(0, CONVERSE, "chain")
        self._commit_batch(0, force_snapshot=True)

    def _add_person(self, spec: PersonSpec, t: int) -> None:
        self._install(spec, counter=0)
        area = self.scenario.resolve_place(spec.start or spec.home)
        self._emit(ev.Spawn.new(t, spec.name, area, home=self.scenario.resolve_place(spec.home)))
        self.clock.wake(spec.name, t, "start")

    def _install(self, spec: PersonSpec, counter: int, recorded: list[dict[str, Any]] | None = None) -> Mind:
        """Give a person their random stream, inbox and mind; facts seeded to them join their memories."""
        known = [fact.text for fact in self.scenario.facts if spec.name in fact.seeded_to]
        if known:
            spec = spec.model_copy(update={"memories": [*spec.memories, *known]})
        self.people[spec.name] = spec
        self.streams[spec.name] = stream = Stream(self.seed, spec.name, counter)
        self.inbox[spec.name] = []
        kind = self.scenario.mind_of(spec)
        factory = mind_factory(kind, spec.name)
        params = dict(self.scenario.minds.get(kind, {}))
        ctx = MindContext(self.scenario, self.world, self.gateway, stream, params, recorded=recorded or [])
        self.contexts[spec.name] = ctx
        mind = factory(spec, ctx)
        self.minds[spec.name] = mind
        return mind

    # -- running -------------------------------------------------------------------------

    async def run(self, end: int, progress: Progress | None = None) -> str:
        """Run ticks until simulated second ``end``; returns the status to record."""
        while True:
            if self.desk is not None and await self._take_requests():
                self._commit_batch(self.clock.now, force_snapshot=True)
                return "interrupted"
            popped = self.clock.pop_tick(end)
            if popped is None:
                break
            t, entries = popped
            self.tick += 1
            due = self._settle(t, entries)
            try:
                await self._think_and_commit(t, due)
            except BudgetExceeded:
                self._commit_calls_only()
                return "budget"
            except (GatewayFatal, asyncio.CancelledError):  # a fatal reply; Ctrl-C (asyncio.run cancels us)
                self._commit_calls_only()
                raise
            self._commit_batch(t)
            if progress:
                progress(self)
        self.clock.now = max(self.clock.now, end)
        self._commit_batch(end, force_snapshot=True)
        return "finished"

    async def _take_requests(self) -> bool:
        """Queue live interventions for the next tick; True if asked to stop."""
        assert self.desk is not None
        requests = await self.desk.take()
        upcoming = self.clock.next_time()
        t = self.clock.now if upcoming is None else upcoming
        for request in requests:
            self._controls.append({"id": request.id, "tick": self.tick + 1, "t": t})
            if request.kind == "stop":
                return True  # what came after the stop stays pending for a resumed run
        for request in requests:
            if request.intervention is not None:
                self.schedule(t, request.intervention)
        return False

    def schedule(self, t: int, intervention: InterventionSpec) -> None:
        """Apply ``intervention`` at simulated second ``t``, as if the scenario had scheduled it."""
        self.scenario.interventions.append(intervention)
        self.clock.push(t, INTERVENE, "intervene", index=len(self.scenario.interventions) - 1)

    def _settle(self, t: int, entries: list[Entry]) -> dict[str, str]:
        """Apply the tick's world happenings; return who is due and why."""
        due: dict[str, str] = {}
        self._talks = []
        self._chain_due = False
        for entry in entries:
            if entry.kind == "arrive" and entry.person in self.minds:
                self._emit(ev.Arrive.new(t, entry.person, self.world.travel[entry.person][0]))
                due[entry.person] = "arrived"
            elif entry.kind == "intervene":
                self._intervene(t, entry.payload["index"], due)
            elif entry.kind == "wake" and entry.person in self.minds:
                due.setdefault(entry.person, entry.payload.get("reason", "due"))
            elif entry.kind == "converse":
                talk = Conversation(**entry.payload)
                if talk.initiator in self.minds and talk.partner in self.minds:
                    self._talks.append(talk)
            elif entry.kind == "chain":
                self._chain_due = self.chain is not None
            elif entry.kind == "step":
                for name in self.minds:
                    due.setdefault(name, "step")
                self.clock.push(t + (self.fixed_step or 0), WAKE + 1, "step")
        for talk in self._talks:
            due.pop(talk.initiator, None)
            due.pop(talk.partner, None)
        return due

    async def _think_and_commit(self, t: int, due: dict[str, str]) -> None:
        people = sorted(due)
        now = self.time.when(t)
        percepts = [self._percept(name, now, due[name]) for name in people]
        talks = sorted(self._talks, key=lambda c: c.initiator)
        steps = [self.chain.step(self.minds, now)] if self.chain is not None and self._chain_due else []
        with moment(self.tick, t):  # every call the tick's tasks make is stamped with this tick and second
            results = await asyncio.gather(
                *(hold(talk, self.minds, now) for talk in talks),
                *steps,
                *(self.minds[name].decide(p) for name, p in zip(people, percepts, strict=True)),
                return_exceptions=True,
            )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        for talk in talks:
            self._commit_talk(t, talk)
        for step in results[len(talks):len(talks) + len(steps)]:
            assert isinstance(step, Step)
            self._commit_step(t, step)
        for name, decision in zip(people, results[len(talks) + len(steps):], strict=True):
            assert isinstance(decision, Decision)
            if name in self.minds:
                self._commit(t, name, decision)

    def _percept(self, name: str, now: datetime, reason: str) -> Percept:
        sight = self.world.sight(name)
        events = tuple(self.inbox[name])
        self.inbox[name].clear()
        return Percept(now, sight.place, sight.people, sight.objects, events, reason)

    def _commit(self, t: int, name: str, decision: Decision) -> None:
        moved = refused = False
        for action in decision.actions:
            place = self.world.position.get(name)
            if isinstance(action, Go):
                target = self.scenario.resolve_place(action.place)
                if place is None or target == place:
                    continue
                route = self.world.route(place, target)
                move = self._emit(ev.Move.new(t, name, place, to=target, route=list(route.places),
                                           minutes=route.minutes, purpose=action.purpose))
                self.clock.forget(name)
                self.clock.push(move.arrival, ARRIVE, "arrive", name)
                moved = True
            elif isinstance(action, Do):
                self._emit(ev.Act.new(t, name, place, activity=action.activity, object=action.object,
                                   until=iso(action.until)))
            elif isinstance(action, Say):
                self._emit(ev.Say.new(t, name, place, text=action.text, to=action.to,
                                   hearers=[p for p in self.world.people_at(place or "") if p != name]))
            elif isinstance(action, Talk):
                started = self._start_talk(t, name, action)
                refused = refused or not started
                moved = started or moved
            elif isinstance(action, Note):
                self._emit(Event(t, action.kind, name, place, action.data))
        if not moved:
            if decision.wake is not None:
                self.clock.wake(name, max(t + 1, self.time.due(decision.wake)))
            elif refused:  # the partner was gone or busy: think again shortly, not never
                self.clock.wake(name, t + REFUSED_TALK_RETRY_S, "talk refused")
            else:
                self.clock.forget(name)

    # -- conversations -------------------------------------------------------------------

    def _start_talk(self, t: int, name: str, talk: Talk) -> bool:
        """Queue a conversation if the partner is here, free and able to talk; True if queued."""
        place = self.world.position.get(name)
        partner = talk.partner
        if (place is None or partner == name or self.world.position.get(partner) != place
                or self.busy.get(name, -1) >= t or self.busy.get(partner, -1) >= t
                or not isinstance(self.minds.get(partner), Talker)):
            return False
        self.busy[name] = self.busy[partner] = t  # claimed: nobody else talks to them this tick
        for person in (name, partner):
            self.clock.forget(person)
        self._emit(ev.Talk.new(t, name, place, with_=partner, topic=talk.topic))
        self.clock.push(t, CONVERSE, "converse", name,
                        **Conversation(name, partner, talk.topic, place, talk.max_turns).state())
        return True

    def _commit_talk(self, t: int, talk: Conversation) -> None:
        for turn, line in enumerate(talk.lines, 1):
            other = talk.partner if line.speaker == talk.initiator else talk.initiator
            self._emit(ev.Say.new(t, line.speaker, talk.place, text=line.text, to=other, turn=turn))
        self._emit(ev.TalkEnd.new(t, talk.initiator, talk.place, with_=talk.partner, turns=len(talk.lines),
                               reason=talk.reason))  # both are now talking with each other
        until = t + talk.seconds
        for person in (talk.initiator, talk.partner):
            self.busy[person] = until
            self.clock.wake(person, until, "talked")

    # -- the team's chain ----------------------------------------------------------------

    def _commit_step(self, t: int, step: Step) -> None:
        """Log a chain step's events (made at second 0: they happen now) and file versions; queue the next step."""
        for event in step.events:
            event.t = t
            self._emit(event)
        for row in step.artifacts:
            self._artifacts.append({**row, "tick": self.tick, "t": t})
        if step.after is not None:
            self.clock.push(t + max(1, step.after), CONVERSE, "chain")

    # -- interventions -------------------------------------------------------------------

    def _intervene(self, t: int, index: int, due: dict[str, str]) -> None:
        iv = self.scenario.interventions[index]
        place = self.scenario.resolve_place(iv.place) if iv.place else None
        if iv.kind == "inject":
            self._emit(ev.Intervene.new(t, None, place, kind_="inject", text=iv.text))
        elif iv.kind == "whisper" and iv.person in self.minds:
            event = self._emit(ev.Intervene.new(t, iv.person, self.world.position.get(iv.person), kind_="whisper",
                                             text=iv.text), perceive=False)
            self.inbox[iv.person].append(event)
            due[iv.person] = "whisper"
        elif iv.kind == "set_object" and place and iv.object:
            self._emit(ev.ObjectState.new(t, None, place, object=iv.object, state=iv.state, by="intervention"))
        elif iv.kind == "add_person" and iv.spec and iv.spec.name not in self.minds:
            self._emit(ev.Intervene.new(t, iv.spec.name, None, kind_="add_person"))
            self._add_person(iv.spec, t)
        elif iv.kind == "remove_person" and iv.person in self.minds:
            self._emit(ev.Leave.new(t, iv.person, self.world.position.get(iv.person), by="intervention"))
            self.clock.forget(iv.person)
            for table in (self.minds, self.people, self.inbox, self.contexts, self.streams):
                table.pop(iv.person, None)
            due.pop(iv.person, None)

    # -- the log -------------------------------------------------------------------------

    def _emit(self, event: E, *, perceive: bool = True) -> E:
        """Log ``event`` with its seq, tick and time, change the world by it, offer it to the others present.

        This is the only way the engine changes its world (``WorldState.apply``), as the viewer's
        timeline changes its copy.
        """
        self.seq += 1
        event.seq, event.tick, event.time = self.seq, self.tick, iso(self.time.when(event.t))
        self._events.append(event)
        self.world.apply(event)
        if perceive and event.place is not None:
            for other in self.world.people_at(event.place):
                mind = self.minds.get(other)
                if other == event.person or mind is None:
                    continue
                if mind.notices(event):
                    self.inbox[other].append(event)
                    self.clock.wake(other, event.t, "noticed")
                elif isinstance(mind, Listener) and mind.hears(event):  # kept for the next wake, not waking
                    self.inbox[other].append(event)
        return event

    def _commit_batch(self, t: int, force_snapshot: bool = False) -> None:
        # Replies of a tick arrive in whatever order the server answers; by person, then by the
        # order in which the person asked (calls they make at once finish in any order), then by
        # attempt, the llm_call table is the same on every run.
        calls = sorted(self._calls, key=_call_order)
        batch = Batch(self._events[:], calls, self._memories(), controls=self._controls[:],
                      artifacts=self._artifacts[:])
        self._events.clear()
        self._artifacts.clear()
        self._calls.clear()
        self._controls.clear()
        # A forced snapshot where the newest one already stands (the end of a run resumed from its
        # end snapshot, or a stop right after one) would repeat it: an uninterrupted run has one.
        if (force_snapshot and (self.tick, t) != self._snapshot_at) or t >= self.next_snapshot:
            while self.next_snapshot <= t:
                self.next_snapshot += self.snapshot_every
            batch.snapshot = {"tick": self.tick, "t": t, "seq": self.seq, "state": self.state()}
            batch.run = {"sim_now": iso(self.time.when(t))}
            self._snapshot_at = (self.tick, t)
        if batch.events or batch.llm_calls or batch.memories or batch.snapshot or batch.controls or batch.artifacts:
            self.log.submit(batch)

    def _memories(self) -> list[dict[str, Any]]:
        """The memory rows minds formed this tick, in name order, stamped with the tick."""
        rows = []
        # Most ticks nobody formed a memory: find who did without sorting everyone, every tick.
        for name in sorted(name for name, ctx in self.contexts.items() if ctx.memories):
            outbox = self.contexts[name].memories
            for row in outbox:
                rows.append({**row, "person": name, "tick": self.tick})
            outbox.clear()
        return rows

    def _commit_calls_only(self) -> None:
        # A tick cut short (budget, fatal error, Ctrl-C) is not committed, but what it paid for is:
        # a resume redoes the tick and takes these rows instead of asking again (Gateway.recorded).
        self._events.clear()
        self._artifacts.clear()
        self._memories()
        if self._calls:
            self.log.submit(Batch(llm_calls=sorted(self._calls, key=_call_order)))
            self._calls.clear()

    # -- snapshots -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the run exactly, as JSON-ready data."""
        original = {s.name for s in self.scenario.people}
        added = [p.model_dump(mode="json") for name, p in self.people.items() if name not in original]
        return {
            "tick": self.tick,
            "seq": self.seq,
            "next_snapshot": self.next_snapshot,
            "people": sorted(self.people),
            "added": added,
            "world": self.world.state(),
            "clock": self.clock.state(),
            "minds": {name: mind.state() for name, mind in sorted(self.minds.items())},
            "streams": {name: stream.counter for name, stream in sorted(self.streams.items())},
            "inbox": {name: [event_dict(e) for e in box] for name, box in sorted(self.inbox.items()) if box},
            "busy": {name: until for name, until in sorted(self.busy.items()) if until >= self.clock.now},
            "gateway": {"counters": dict(sorted(self.gateway.counters.items()))},
            **({"chain": self.chain.state()} if self.chain is not None else {}),
        }

    def restore(self, state: dict[str, Any], memories: list[dict[str, Any]] | None = None) -> None:
        """Continue from a snapshot written by ``state``, with the memory rows formed up to it."""
        self.tick, self.seq, self.next_snapshot = state["tick"], state["seq"], state["next_snapshot"]
        specs = {p.name: p for p in self.scenario.people}
        specs.update({d["name"]: PersonSpec.model_validate(d) for d in state["added"]})
        self.people, self.minds, self.streams, self.inbox, self.contexts = {}, {}, {}, {}, {}
        by_person: dict[str, list[dict[str, Any]]] = {}
        for row in memories or []:
            by_person.setdefault(row["person"], []).append(row)
        for name in state["people"]:
            mind = self._install(specs[name], state["streams"][name], by_person.get(name, []))
            mind.restore(state["minds"][name])
            self.inbox[name] = [Event(**e) for e in state["inbox"].get(name, [])]
        self.busy = dict(state.get("busy", {}))
        self.world.restore(state["world"])
        self.clock.restore(state["clock"])
        self.gateway.counters = dict(state["gateway"]["counters"])
        if self.chain is not None and "chain" in state:
            self.chain.restore(state["chain"])
        self._snapshot_at = (self.tick, self.clock.now)  # the snapshot restored from stands at the clock's time


def _call_order(call: dict[str, Any]) -> tuple[str, int, int]:
    """Where an llm_call row goes in its tick: by person, the person's call number, the attempt."""
    return call["person"] or "", call.get("index", 0), call["attempt"]
