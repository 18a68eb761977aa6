"""The engine: takes the clock's ticks, lets due minds think concurrently, commits in a fixed order.

Each tick, every due person perceives the world as of the tick's start; all of them decide at
once (their LLM calls overlap under the gateway's limit); then their actions are committed one
person at a time, sorted by name. So the log never depends on which reply came back first.

While a tick waits for the model, people whose next wake-up nothing can reach before it comes
(``sim.core.lookahead``) think it through already; what they decide is committed when the clock
gets there, in the same order, so the log is the one the tick-by-tick schedule (``barrier``)
writes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sim.core import events as ev
from sim.core.ahead import CHAINED, HELD, ThinkingAhead, recorded_row, reflected
from sim.core.clock import ARRIVE, CONVERSE, INTERVENE, REFLECT, WAKE, Clock, Entry
from sim.core.conversation import Conversation, hold
from sim.core.events import Event, event_dict
from sim.core.lookahead import LookaheadBroken, Source, Walks
from sim.core.mind import (
    Chain,
    Decision,
    Do,
    Go,
    Listener,
    Mind,
    MindContext,
    Note,
    Percept,
    Reflector,
    Say,
    Step,
    Talk,
    Talker,
    chain_factory,
    mind_factory,
)
from sim.core.rng import Stream
from sim.core.simtime import RunTime, iso, parse_time
from sim.core.world import FixedWorld, World
from sim.errors import BudgetExceeded
from sim.llm.gateway import Gateway, GatewayFatal
from sim.llm.site import moment
from sim.run.control import Desk
from sim.runfile.log import Batch, RunLog
from sim.worldfile.scenario import InterventionSpec, PersonSpec, Scenario

REFUSED_TALK_RETRY_S = 60
"""Simulated seconds after which someone whose partner could not talk decides again."""

SCHEDULES = ("lookahead", "speculate", "barrier")
"""How a run takes its ticks: thinking ahead where nothing can interfere (default); thinking every
wake-up ahead and redoing those the world changed under; or one tick at a time."""

Progress = Callable[["Simulation"], None]


E = TypeVar("E", bound=Event)


def _team_chain(scenario: Scenario, world: World, gateway: Gateway, seed: int) -> Chain:
    """The team's chat chain, with the settings of the ``role`` mind and a random stream of its own."""
    context = MindContext(scenario, world, gateway, Stream(seed, "team"), dict(scenario.minds.get("role", {})))
    return chain_factory()(scenario, context)


def _may_think_ahead(schedule: str, fixed_step: int | None, chain: Chain | None, gateway: Gateway) -> bool:
    """Whether a run may think wake-ups through before the clock gets there.

    Thinking ahead needs minds that read only their percept, a clock of separate wake-ups (not
    fixed steps) and no team (its chain reads the whole world); with a budget the run must stop
    where the in-order run stops, so it spends in that order too.
    """
    return (
        schedule in ("lookahead", "speculate") and fixed_step is None and chain is None and gateway.budget_usd is None
    )


class Simulation(ThinkingAhead):
    """One run in memory: world, clock, minds and their random streams, feeding a ``RunLog``.

    ``calls`` is where ``gateway`` puts its ``llm_call`` rows (its sink appends to it): the engine
    commits them with the tick that made them.
    """

    def __init__(
        self,
        scenario: Scenario,
        log: RunLog,
        gateway: Gateway,
        calls: list[dict[str, Any]],
        *,
        seed: int,
        fixed_step: int | None = None,
        schedule: str = "lookahead",
        lookahead: int | None = None,
    ) -> None:
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
        self.chain = _team_chain(scenario, self.world, gateway, seed) if scenario.team is not None else None
        # where live requests (pause, stop, interventions) come from; None: a run nobody steers
        self.desk: Desk | None = None
        # --lookahead: how many simulated seconds ahead of the clock a wake-up may be thought through
        self.window = lookahead
        self.lookahead = _may_think_ahead(schedule, fixed_step, self.chain, gateway) and lookahead != 0
        self.speculate = self.lookahead and schedule == "speculate"
        # the tick's uncommitted units (by place in order) -> where, when they act
        self._frontier: dict[int, Source] = {}
        self._woken: dict[str, int] = {}  # person -> the clock entry that woke them this tick
        self._reflecting: list[str] = []  # people reflecting in this tick, as their last decision asked
        # person -> (second, place, task) of their decision in the tick under way
        self._deciding: dict[str, tuple[int, str | None, asyncio.Future[Decision]]] = {}
        self._walks = Walks(self.world)
        self._end = 0
        self._start_thinking_ahead()
        # person -> every memory row they formed so far, to rebuild their mind for a redo
        self._formed: dict[str, list[dict[str, Any]]] = {}
        self._specs: dict[str, PersonSpec] = {}  # person -> as the world (or an intervention) gave them

    # -- starting ------------------------------------------------------------------------

    def begin(self) -> None:
        """Start a fresh run: log ``run_start``, place everyone, queue interventions, wake all at 0."""
        self._emit(
            ev.RunStart.new(
                0,
                world=self.scenario.name,
                seed=self.seed,
                people=len(self.scenario.people),
                fixed_step=self.fixed_step,
            )
        )
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
        self._specs[spec.name] = spec
        known = [fact.text for fact in self.scenario.facts if spec.name in fact.seeded_to]
        if known:
            spec = spec.model_copy(update={"memories": [*spec.memories, *known]})
        self.people[spec.name] = spec
        self.streams[spec.name] = stream = Stream(self.seed, spec.name, counter)
        self.inbox[spec.name] = []
        kind = self.scenario.mind_of(spec)
        factory = mind_factory(kind, spec.name)
        params = dict(self.scenario.minds.get(kind, {}))
        ctx = MindContext(self.scenario, FixedWorld(self.world), self.gateway, stream, params, recorded=recorded or [])
        self.contexts[spec.name] = ctx
        mind = factory(spec, ctx)
        self.minds[spec.name] = mind
        return mind

    # -- running -------------------------------------------------------------------------

    async def run(self, end: int, progress: Progress | None = None) -> str:
        """Run ticks until simulated second ``end``; returns the status to record."""
        self._end = end
        while True:
            if self.desk is not None and await self._take_requests():  # it dropped what was thought ahead
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
                await self._drop_ahead()
                self._commit_calls_only()
                return "budget"
            # a fatal reply; Ctrl-C (asyncio.run cancels us); a broken lookahead rule (a bug)
            except (GatewayFatal, LookaheadBroken, asyncio.CancelledError):
                await self._drop_ahead()
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
        if requests:
            # A request lands at the next tick, as in the in-order run: whatever was thought
            # ahead was thought without it, so it is dropped and thought again.
            for name in list(self._ahead):
                if name in self._ahead:  # (dropping one side of a conversation drops the other)
                    self._redo(name, "a live request came in", expected=True)
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
        self._woken = {}
        self._reflecting = []
        for entry in entries:
            if entry.kind == "arrive" and entry.person in self.minds:
                self._emit(ev.Arrive.new(t, entry.person, self.world.travel[entry.person][0]))
                due[entry.person] = "arrived"
                self._woken[entry.person] = entry.counter  # a speculation may have thought this arrival through
            elif entry.kind == "intervene":
                self._intervene(t, entry.payload["index"], due)
            elif entry.kind == "wake" and entry.person in self.minds:
                due.setdefault(entry.person, entry.payload.get("reason", "due"))
                self._woken[entry.person] = entry.counter
            elif entry.kind == "converse":
                talk = Conversation(**entry.payload)
                if talk.initiator in self.minds and talk.partner in self.minds:
                    self._talks.append(talk)
            elif entry.kind == "reflect" and entry.person in self.minds:
                self._reflecting.append(entry.person)
            elif entry.kind == "chain":
                self._chain_due = self.chain is not None
            elif entry.kind == "step":
                for name in self.minds:
                    due.setdefault(name, "step")
                self.clock.push(t + (self.fixed_step or 0), WAKE + 1, "step")
        for talk in self._talks:
            for person in (talk.initiator, talk.partner):
                due.pop(person, None)
                if person in self._reflecting:  # a conversation first; the reflection in the next tick
                    self._reflecting.remove(person)
                    self.clock.push(t, REFLECT, "reflect", person)
        return due

    async def _think_and_commit(self, t: int, due: dict[str, str]) -> None:
        """Think the tick's conversations, team step and decisions at once; commit each, in order, when it is done."""
        now = self.time.when(t)
        units: list[tuple[object, asyncio.Future[Any]]] = []
        with moment(self.tick, t):  # every call the tick's tasks make is stamped with this tick and second
            for talk in sorted(self._talks, key=lambda c: c.initiator):
                self._frontier[len(units)] = Source(t, talk.place, None)
                units.append(self._conversation(talk, t, now))
            if self.chain is not None and self._chain_due:
                self._frontier[len(units)] = Source(t, None, None)
                units.append((self.chain, asyncio.ensure_future(self.chain.step(self.minds, now))))
            for name in sorted(due):
                self._frontier[len(units)] = Source(t, self.world.position.get(name), name)
                units.append((name, self._decision(name, t, now, due[name])))
                self._deciding[name] = (t, self.world.position.get(name), units[-1][1])
            # A reflection changes nothing anyone perceives: it is no source for the rule, only the
            # person's own next unit waits for it (a decision due now, after it in the same unit).
            for name in sorted(set(self._reflecting) - set(due)):
                units.append((_Reflecting(name), self._reflection(name, t, now)))
        try:
            if self.lookahead and units:  # a tick that waits for the model is worth thinking ahead in
                await asyncio.wait([task for _, task in units], timeout=0.002)
            for index, (unit, task) in enumerate(units):
                if not task.done():
                    self._flush_events()  # what is committed shows now, not when the whole tick is
                while not task.done():
                    if self.lookahead:
                        self._look_ahead(t)
                    # a speculation that finishes meanwhile may be followed by the person's next one
                    await asyncio.wait([task, *self._thinking()], return_when=asyncio.FIRST_COMPLETED)
                self._commit_unit(t, unit, task.result())
                self._frontier.pop(index, None)
        except BaseException:
            for _, task in units:
                task.cancel()
            await asyncio.gather(*(task for _, task in units), return_exceptions=True)
            self._frontier.clear()
            raise
        finally:
            self._deciding.clear()
            self._told.clear()

    def _commit_unit(self, t: int, unit: object, result: Any) -> None:
        if isinstance(unit, Conversation):
            self._commit_talk(t, unit)
        elif isinstance(unit, str):
            if unit in self.minds:
                self._commit(t, unit, result)
        elif not isinstance(unit, _Reflecting):  # a reflection's memories are committed with the tick's
            self._commit_step(t, result)

    def _conversation(self, talk: Conversation, t: int, now: datetime) -> tuple[Conversation, asyncio.Future[Any]]:
        """The unit of conversation ``talk`` now: the one thought through early, checked, or a new one."""
        first, second = self._ahead.get(talk.initiator), self._ahead.get(talk.partner)
        if (
            first is not None
            and second is not None
            and first.talk is not None
            and first.task is second.task
            and first.t == t
            and first.talk.state() == talk.state()
        ):
            del self._ahead[talk.initiator], self._ahead[talk.partner]  # nothing follows a conversation ahead
            self._released.update((talk.initiator, talk.partner))  # its calls, made or to come, are this tick's
            return first.talk, first.task
        for person in (talk.initiator, talk.partner):
            if person in self._ahead:  # a conversation speaks with the mind as it is now
                self._redo(person, "a conversation with them begins first")
        return talk, asyncio.ensure_future(hold(talk, self.minds, now))

    def _reflection(self, name: str, t: int, now: datetime) -> asyncio.Future[Decision]:
        """The task of ``name``'s reflection now: the one thought through early, or a new one."""
        ahead = self._ahead.get(name)
        if ahead is not None:
            if ahead.reflection and ahead.t == t:
                if ahead.then is None:
                    del self._ahead[name]
                else:
                    self._ahead[name] = ahead.then
                return ahead.task
            self._redo(name, f"their reflection at {iso(now)} comes first")
        return asyncio.ensure_future(reflected(cast(Reflector, self.minds[name]), now))

    def _decision(self, name: str, t: int, now: datetime, reason: str) -> asyncio.Future[Decision]:
        """The task deciding ``name``'s wake-up now: the one thought ahead, checked, or a new one."""
        ahead = self._ahead.get(name)
        if ahead is not None:
            sight = self.world.sight(name)
            seen = ahead.percept
            if (
                ahead.counter in (self._woken.get(name), CHAINED)  # the wake-up it was, or one its own chain named
                and ahead.t == t
                and reason == seen.reason
                and not self.inbox[name]
                and (sight.place, sight.people, sight.objects) == (seen.place, seen.people, seen.objects)
            ):
                if ahead.then is None:
                    del self._ahead[name]
                else:  # the next one speculated after it now waits for its own second
                    self._ahead[name] = ahead.then
                return ahead.task
            self._redo(name, f"what they perceive at {iso(now)} differs")
        mind, percept = self.minds[name], self._percept(name, now, reason)
        if name in self._reflecting:  # their reflection first, then the decision, in one unit
            return asyncio.ensure_future(_reflect_then_decide(mind, percept))
        return asyncio.ensure_future(mind.decide(percept))

    def _commit(self, t: int, name: str, decision: Decision) -> None:
        moved = refused = False
        where = self.world.position.get(name)  # where they decided
        for action in decision.actions:
            place = self.world.position.get(name)
            if isinstance(action, Go):
                target = self.scenario.resolve_place(action.place)
                if place is None or target == place:
                    continue
                route = self.world.route(place, target)
                move = self._emit(
                    ev.Move.new(
                        t,
                        name,
                        place,
                        to=target,
                        route=list(route.places),
                        minutes=route.minutes,
                        purpose=action.purpose,
                    )
                )
                self.clock.forget(name)
                self.clock.push(move.arrival, ARRIVE, "arrive", name)
                moved = True
            elif isinstance(action, Do):
                self._emit(
                    ev.Act.new(t, name, place, activity=action.activity, object=action.object, until=iso(action.until))
                )
            elif isinstance(action, Say):
                self._emit(
                    ev.Say.new(
                        t,
                        name,
                        place,
                        text=action.text,
                        to=action.to,
                        hearers=[p for p in self.world.people_at(place or "") if p != name],
                    )
                )
            elif isinstance(action, Talk):
                started = self._start_talk(t, name, action)
                refused = refused or not started
                moved = started or moved
            elif isinstance(action, Note):
                self._emit(Event(t, action.kind, name, place, action.data))
        self._next(t, name, decision, where, moved=moved, refused=refused)

    def _next(self, t: int, name: str, decision: Decision, where: str | None, *, moved: bool, refused: bool) -> None:
        """After a committed decision (made ``where``): when the person wakes next, and their reflection if asked."""
        ahead = self._ahead.get(name)
        if refused and ahead is not None and ahead.talk is not None:  # thought through early, but it did not begin
            self._redo(name, "the conversation they started did not begin", expected=True)
        if not moved:
            if decision.wake is not None:
                self.clock.wake(name, max(t + 1, self.time.due(decision.wake)))
            elif refused:  # the partner was gone or busy: think again shortly, not never
                self.clock.wake(name, t + REFUSED_TALK_RETRY_S, "talk refused")
            else:
                self.clock.forget(name)
        if decision.reflect and isinstance(self.minds[name], Reflector):
            self.clock.push(t + 1, REFLECT, "reflect", name)  # a second later, a unit of its own
            if self.speculate and name not in self._ahead:  # it may start now: nothing it reads changes first
                follower = self._follower(name, t, where, decision, t)
                if follower is not None:
                    self._ahead[name] = follower

    # -- conversations -------------------------------------------------------------------

    def _start_talk(self, t: int, name: str, talk: Talk) -> bool:
        """Queue a conversation if the partner is here, free and able to talk; True if queued."""
        place = self.world.position.get(name)
        partner = talk.partner
        if (
            place is None
            or partner == name
            or self.world.position.get(partner) != place
            or self.busy.get(name, -1) >= t
            or self.busy.get(partner, -1) >= t
            or not isinstance(self.minds.get(partner), Talker)
        ):
            return False
        ahead = self._ahead.get(partner)
        if ahead is not None and not (ahead.talk is not None and ahead.talk.initiator == name and ahead.t == t):
            self._redo(partner, f"{name} starts a conversation with them")  # (not the one thought through early)
        self.busy[name] = self.busy[partner] = t  # claimed: nobody else talks to them this tick
        for person in (name, partner):
            self.clock.forget(person)
        self._emit(ev.Talk.new(t, name, place, with_=partner, topic=talk.topic))
        self.clock.push(
            t, CONVERSE, "converse", name, **Conversation(name, partner, talk.topic, place, talk.max_turns).state()
        )
        return True

    def _commit_talk(self, t: int, talk: Conversation) -> None:
        for turn, line in enumerate(talk.lines, 1):
            other = talk.partner if line.speaker == talk.initiator else talk.initiator
            self._emit(ev.Say.new(t, line.speaker, talk.place, text=line.text, to=other, turn=turn))
        self._emit(
            ev.TalkEnd.new(t, talk.initiator, talk.place, with_=talk.partner, turns=len(talk.lines), reason=talk.reason)
        )  # both are now talking with each other
        until = t + talk.seconds
        for person in (talk.initiator, talk.partner):
            self.busy[person] = until
            self.clock.wake(person, until, "talked")
        if self.speculate:  # a reflection the decision before asked for may start now, the conversation done
            due = {e.person: e.t for e in self.clock.pending() if e.kind == "reflect"}
            for person in (talk.initiator, talk.partner):
                if person in due and person not in self._ahead and due[person] < self._end:
                    after = (until, talk.place, "talked") if until < self._end else None
                    self._ahead[person] = self._think_ahead(
                        person, due[person], talk.place, "reflect", CHAINED, False, after
                    )

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
            event = self._emit(
                ev.Intervene.new(t, iv.person, self.world.position.get(iv.person), kind_="whisper", text=iv.text),
                perceive=False,
            )
            self.inbox[iv.person].append(event)
            due[iv.person] = "whisper"
        elif iv.kind == "set_object" and place and iv.object:
            self._emit(ev.ObjectState.new(t, None, place, object=iv.object, state=iv.state, by="intervention"))
        elif iv.kind == "add_person" and iv.spec and iv.spec.name not in self.minds:
            self._emit(ev.Intervene.new(t, iv.spec.name, None, kind_="add_person"))
            self._add_person(iv.spec, t)
        elif iv.kind == "remove_person" and iv.person in self.minds:
            if iv.person in self._ahead:
                self._redo(iv.person, "they leave the world")
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
                noticed = mind.notices(event)
                kept = not noticed and _listens(type(mind)) and cast(Listener, mind).hears(event)
                # A speculation goes on past what it neither notices nor keeps: what it sees is
                # checked when the clock gets there. The rule's wake-ups see nothing meanwhile.
                ahead = self._ahead.get(other)
                if ahead is not None and (ahead.safe or noticed or kept):
                    self._redo(other, f"a {event.kind} at {iso(self.time.when(event.t))} reached them first")
                if noticed:
                    self.inbox[other].append(event)
                    self.clock.wake(other, event.t, "noticed")
                elif kept:  # kept for the next wake, not waking
                    self.inbox[other].append(event)
        return event

    def _flush_events(self) -> None:
        """Write the events committed so far in this tick (its calls and memories follow with the rest)."""
        if self._events:
            self.log.submit(Batch(self._events[:]))
            self._events.clear()

    def _tick_calls(self, t: int) -> list[dict[str, Any]]:
        """Take the llm_call rows of this tick (second ``t`` or before), stamped with it; leave those thought ahead."""
        # Replies of a tick arrive in whatever order the server answers; by person, then by the
        # order in which the person asked (calls they make at once finish in any order), then by
        # attempt, the llm_call table is the same on every run.
        released, self._released = self._released, set()
        mine = [row for row in self._calls if row["t"] <= t and (row["tick"] != HELD or row["person"] in released)]
        if len(mine) < len(self._calls):
            taken = {id(row) for row in mine}
            self._calls[:] = [row for row in self._calls if id(row) not in taken]
        else:
            self._calls.clear()
        for row in mine:
            row["tick"] = self.tick  # rows of a decision made ahead carry the tick it is committed in
        return sorted(mine, key=_call_order)

    def _commit_batch(self, t: int, force_snapshot: bool = False) -> None:
        batch = Batch(
            self._events[:],
            self._tick_calls(t),
            self._memories(),
            controls=self._controls[:],
            artifacts=self._artifacts[:],
        )
        self._events.clear()
        self._artifacts.clear()
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
        # Most ticks nobody formed a memory: find who did without sorting everyone, every tick. Those
        # thinking ahead keep the rows of that decision until it is committed.
        for name in sorted(name for name, ctx in self.contexts.items() if ctx.memories):
            outbox = self.contexts[name].memories
            ahead = self._ahead.get(name)
            done = ahead.before["formed"] if ahead is not None else len(outbox)
            for row in outbox[:done]:
                rows.append({**row, "person": name, "tick": self.tick})
                if self.lookahead:  # to rebuild a person whose thinking ahead is dropped
                    self._formed.setdefault(name, []).append(recorded_row(row))
            del outbox[:done]
            if ahead is not None:
                for later in ahead.chain():  # those speculated after it counted the rows just taken
                    later.before["formed"] -= done
        return rows

    def _commit_calls_only(self) -> None:
        # A tick cut short (budget, fatal error, Ctrl-C) is not committed, but what it paid for is:
        # a resume redoes the tick and takes these rows instead of asking again (Gateway.recorded).
        self._events.clear()
        self._artifacts.clear()
        self._memories()
        if self._calls:
            for row in self._calls:  # after the newest snapshot's tick, so that a resume takes them
                row["tick"] = max(row["tick"], self.tick + (row["t"] > self.clock.now))
            self.log.submit(Batch(llm_calls=sorted(self._calls, key=_call_order)))
            self._calls.clear()

    # -- snapshots -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the run exactly, as JSON-ready data."""
        original = {s.name for s in self.scenario.people}
        added = [p.model_dump(mode="json") for name, p in self.people.items() if name not in original]
        # Those thinking ahead are saved as they were before: their wake-up is still to come.
        minds = {name: mind.state() for name, mind in sorted(self.minds.items())}
        streams = {name: stream.counter for name, stream in sorted(self.streams.items())}
        inbox = dict(self.inbox)
        counters = dict(self.gateway.counters)
        for name, ahead in self._ahead.items():
            minds[name], streams[name], inbox[name] = (
                ahead.before["mind"],
                ahead.before["stream"],
                ahead.before["inbox"],
            )
            if ahead.before["calls"] is None:
                counters.pop(name, None)
            else:
                counters[name] = ahead.before["calls"]
        return {
            "tick": self.tick,
            "seq": self.seq,
            "next_snapshot": self.next_snapshot,
            "people": sorted(self.people),
            "added": added,
            "world": self.world.state(),
            "clock": self.clock.state(),
            "minds": minds,
            "streams": streams,
            "inbox": {name: [event_dict(e) for e in box] for name, box in sorted(inbox.items()) if box},
            "busy": {name: until for name, until in sorted(self.busy.items()) if until >= self.clock.now},
            "gateway": {"counters": dict(sorted(counters.items()))},
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
        if self.lookahead:
            self._formed = {name: list(rows) for name, rows in by_person.items()}
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


@functools.cache
def _listens(kind: type) -> bool:
    """Whether minds of class ``kind`` are ``Listener``s: a protocol check costs microseconds, and every event asks."""
    return issubclass(kind, Listener)


@dataclass(frozen=True, slots=True)
class _Reflecting:
    """A unit of a tick: ``person`` reflecting, as their last decision asked (``Decision.reflect``)."""

    person: str


async def _reflect_then_decide(mind: Mind, percept: Percept) -> Decision:
    """A person due in the tick of their reflection: the reflection first, then the decision, as one unit."""
    await cast(Reflector, mind).reflect(percept.now)
    return await mind.decide(percept)


def _call_order(call: dict[str, Any]) -> tuple[str, int, int]:
    """Where an llm_call row goes in its tick: by person, the person's call number, the attempt."""
    return call["person"] or "", call.get("index", 0), call["attempt"]
