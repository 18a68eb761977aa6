"""Thinking ahead: deciding wake-ups before the clock gets there, and dropping those the world changed under.

The engine (``sim.core.engine.Simulation``) takes its ticks in order and commits in order; this
part of it lets people decide early while a tick waits for the model. A wake-up the rule of
``sim.core.lookahead`` lets in is decided with the place as it is (nothing can change it before);
with ``--schedule speculate`` anyone's wake-up may be, with the place as the decisions already
made foretell it (``_foresee``), and a person goes on through the wake-ups their own decisions
name (``_go_on``) as far as those around them have decided (``_foreseeable``). When the clock
gets there, the engine checks the wake-up and what the person perceives; a speculation that
guessed wrong is dropped and the person rebuilt as they were before it (``_redo``), so the log
is the one the tick-by-tick schedule writes. docs/architecture.md ("Thinking ahead") explains it
with a worked example.

``ThinkingAhead`` is a part of ``Simulation`` (a mixin): the state it reads is the simulation's,
declared below for the type checker.
"""

from __future__ import annotations

import asyncio
import json
import math
import pickle
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import networkx as nx

from sim.core.clock import Clock, Entry
from sim.core.conversation import Conversation, hold
from sim.core.events import Event
from sim.core.lookahead import LookaheadBroken, Source, Walks, safe
from sim.core.mind import Decision, Do, Go, Mind, MindContext, Note, Percept, Reflector, Talk, Talker
from sim.core.rng import Stream
from sim.core.simtime import RunTime, iso
from sim.core.world import Sight, World
from sim.llm.gateway import Gateway
from sim.llm.site import Errand, moment

if TYPE_CHECKING:
    from sim.worldfile.scenario import PersonSpec, Scenario

AHEAD_SCAN = 64
"""Wake-ups looked at per lookahead pass, earliest first: enough to fill the gateway, never the whole town."""

AHEAD_DEPTH = 8
"""Wake-ups of one person a speculation may run ahead by, one after another: a person alone goes on
with their day while others wait for the model, as far as the gateway has room."""

HELD = -1
"""The tick stamped on the calls of a conversation thought through early: they are committed with the
conversation's own tick, which comes after the tick of the decision that started it, at the same second."""

CHAINED = -1
"""The clock entry of a speculated wake-up that follows another still uncommitted: it is pushed only
when that one is committed, so it is recognised by its second and its reason."""


@dataclass(slots=True)
class Ahead:
    """A wake-up being thought through before the clock gets there, and the person as they were before it."""

    counter: int  # the clock entry of the wake-up
    t: int
    percept: Percept
    task: asyncio.Future[Decision]
    before: dict[str, Any]  # mind state, stream counter, inbox, calls made: what a snapshot saves meanwhile
    errand: Errand  # dropped on a redo: the old task's late replies then change nothing
    safe: bool = True  # the rule let it in (a redo would be a bug); False: a speculation, checked at its time
    then: Ahead | None = None  # the person's next wake-up, speculated from this decision while it waits
    # a reflection thought through early (its task decides nothing), and the wake-up the decision
    # before it named, when, where and why: what follows it
    reflection: bool = False
    after: tuple[int, str | None, str] | None = None
    # a conversation thought through early: both people have an Ahead with the same task, the last of
    # their chains; dropping either drops the other
    talk: Conversation | None = None
    told: bool = False  # its decision, made, has been held against the others' foresight (``_recheck``)

    def chain(self) -> list[Ahead]:
        """This wake-up and the ones speculated after it, in order."""
        out = [self]
        while out[-1].then is not None:
            out.append(out[-1].then)
        return out


class ThinkingAhead:
    """The engine's thinking ahead (a part of ``Simulation``, whose state it reads and changes)."""

    scenario: Scenario
    world: World
    clock: Clock
    gateway: Gateway
    time: RunTime
    tick: int
    speculate: bool
    window: int | None  # --lookahead: simulated seconds ahead of the clock a wake-up may be thought (None: no limit)
    minds: dict[str, Mind]
    streams: dict[str, Stream]
    inbox: dict[str, list[Event]]
    contexts: dict[str, MindContext]
    busy: dict[str, int]  # person -> the second until which they are in (or claimed for) a conversation
    thought_ahead: int
    redone: int
    followed: int
    foreseen: int  # speculations dropped early, when a decision made since foretold their place otherwise
    _told: set[str]  # people whose decision in this tick has been held against the others' foresight
    _near: dict[str, set[str]] | None  # ``_near_index`` during a look-ahead pass
    _released: set[str]  # people whose conversation thought through early is this tick's unit
    _ahead: dict[str, Ahead]  # person -> their earliest wake-up being thought through
    _deciding: dict[str, tuple[int, str | None, asyncio.Future[Decision]]]  # this tick's decisions
    _frontier: dict[int, Source]
    _reflecting: list[str]  # people reflecting in the tick under way
    _end: int
    _walks: Walks
    _calls: list[dict[str, Any]]
    _formed: dict[str, list[dict[str, Any]]]
    _specs: dict[str, PersonSpec]

    if TYPE_CHECKING:

        def _install(self, spec: PersonSpec, counter: int, recorded: list[dict[str, Any]] | None = None) -> Mind: ...

    def _start_thinking_ahead(self) -> None:
        """The state of thinking ahead as a run starts: nobody thinking ahead, nothing counted."""
        self._ahead = {}  # person -> their next wake-up, being thought through (the first of a chain)
        self.thought_ahead = 0  # wake-ups thought through before the clock got there
        self.redone = 0  # of those, speculations the world changed under, thought through again
        self.followed = 0  # of those, speculated from a decision not yet committed (one ahead of another)
        self.foreseen = 0  # speculations dropped before their second: a decision made since foretold otherwise
        self._told = set()  # this tick's deciders whose decision was held against the foresight
        self._released = set()  # people whose conversation thought through early is this tick's unit
        self._near = None  # who may be where, during a look-ahead pass

    def _look_ahead(self, t: int) -> None:
        """Start thinking through the earliest wake-ups that nothing still to happen can reach (``sim.core.lookahead``)."""
        self._near = self._near_index() if self.speculate else None
        try:
            self._look_ahead_now(t)
        finally:
            self._near = None

    def _near_index(self) -> dict[str, set[str]]:
        """Place -> who is on the way there, or will be there by a decision made and not committed yet.

        With the place's occupants, everyone ``_whereabouts`` can put there: built once a pass, so
        that foresight asks about the few people near a place, not about everyone thinking ahead.
        (Speculations started during the pass are undecided, and so put nobody anywhere new.)
        """
        near: dict[str, set[str]] = {}
        for name, (to, _) in self.world.travel.items():
            near.setdefault(to, set()).add(name)
        for name in set(self._ahead) | set(self._deciding):
            for _, where, task in self._made(name):
                if not decided(task):
                    break
                for place in self._places(where, task.result()):
                    near.setdefault(place, set()).add(name)
        return near

    def _places(self, where: str | None, decision: Decision) -> list[str]:
        """The places ``decision``, made in ``where``, puts its person in: that one, and where they walk to."""
        places = [where] if where is not None else []
        return places + [self.scenario.resolve_place(a.place) for a in decision.actions if isinstance(a, Go)]

    def _near_to(self, area: str) -> set[str]:
        """Everyone who may be in ``area`` by what is known now (a superset: ``_whereabouts`` says for sure)."""
        near = self._near if self._near is not None else self._near_index()
        return self.world.occupants[area] | near.get(area, set())

    def _look_ahead_now(self, t: int) -> None:
        """``_look_ahead``'s pass."""
        if self.speculate:
            self._recheck()
        room = max(8, 4 * self.gateway.concurrency) - len(self._thinking(all_=True))
        if self.speculate:
            room -= self._go_on(t, room)
        if room <= 0:
            return
        pending = self.clock.pending()
        # A reflection changes nothing anyone perceives (no source); the person waits for it.
        reflecting = {e.person for e in pending if e.kind == "reflect"} | set(self._reflecting)
        sources = sorted(
            [*self._frontier.values(), *(self._source(entry) for entry in pending if entry.kind != "reflect")],
            key=lambda source: source.t,
        )
        deciding = {source.person for source in self._frontier.values()}
        # A wake-up later in this same second is taken in the next tick: it is only worth the wait.
        # An arrival wakes its person too: a speculation may think it through where they are going.
        kinds = ("wake", "arrive") if self.speculate else ("wake",)
        wakes = sorted(
            e
            for e in pending
            if t < e.t < self._end
            and self._within(e.t)
            and e.kind in kinds
            and e.person in self.minds
            and e.person not in self._ahead
            and e.person not in deciding
            and e.person not in reflecting
            and (self.busy.get(e.person, -1) < t or (self.speculate and self._after_talk(e)))
        )  # not about to talk (a conversation comes first)
        for entry in wakes[:AHEAD_SCAN]:
            name = entry.person
            assert name is not None
            if entry.kind == "arrive":  # the rule is not asked: it reasons about people staying put
                travel = self.world.travel.get(name)
                area, sure, reason = (travel[0] if travel else None), False, "arrived"
            else:
                area = self.world.position.get(name)
                reason = entry.payload.get("reason", "due")
                # (the wake-up after a conversation is a speculation: its percept holds the lines said)
                sure = area is not None and reason != "talked" and safe(name, area, entry.t, sources, self._walks)
            if area is None or not (sure or (self.speculate and self._foreseeable(area, name, entry.t))):
                continue
            self._ahead[name] = self._think_ahead(name, entry.t, area, reason, entry.counter, sure)
            room -= 1
            if room == 0:
                return

    def _after_talk(self, entry: Entry) -> bool:
        """Whether ``entry`` is the wake-up that ends a committed conversation: its lines are in the person's inbox,
        and nobody can claim them for another before it."""
        return entry.payload.get("reason") == "talked" and entry.t == self.busy.get(entry.person or "")

    def _within(self, at: int) -> bool:
        """Whether second ``at`` is near enough the clock to be thought through now (``--lookahead``)."""
        return self.window is None or at <= self.clock.now + self.window

    def _thinking(self, *, all_: bool = False) -> list[asyncio.Future[Decision]]:
        """The decisions thought ahead still being made: the last of each person's (``all_``: every one)."""
        if not self.speculate and not all_:
            return []  # nothing follows a safe wake-up ahead: only the tick's own units are waited for
        chains = [ahead.chain() for ahead in self._ahead.values()]
        tasks = [a.task for chain in chains for a in (chain if all_ else chain[-1:])]
        if not all_:  # a decision of this tick may be followed by the person's next one too
            tasks += [task for name, (_, _, task) in self._deciding.items() if name not in self._ahead]
        return [task for task in tasks if not task.done()]

    def _go_on(self, t: int, room: int) -> int:
        """Speculate what follows each finished decision, made ahead or in this tick; how many were started.

        A decision that only does things (or ends with one walk) and names its next wake-up says
        where the person will be and when they wake, so that wake-up can be thought through
        already, with what the foresight says they will see; the check when the clock gets there
        redoes it if the place turned out otherwise. A decision that asks to reflect is followed
        by its reflection first, then by the wake-up it named.
        """
        started = 0
        for name, (at, place, task) in sorted(self._deciding.items()):  # decided this tick, to be committed
            if started >= room or name in self._ahead or name not in self.minds or not decided(task):
                continue
            follower = self._following(name, at, place, task.result(), t)
            if follower is not None:
                self._ahead[name] = follower
                started += 1
        for name, first in sorted(self._ahead.items()):
            if self._ahead.get(name) is not first:
                continue  # dropped meanwhile: a conversation thought through came first
            chain = first.chain()
            last = chain[-1]
            if started >= room or len(chain) >= AHEAD_DEPTH or last.talk is not None or not decided(last.task):
                continue
            if last.reflection:
                follower = self._follower(name, last.t, last.percept.place, None, t, last.after)
            else:
                follower = self._following(name, last.t, last.percept.place, last.task.result(), t)
            if follower is not None:
                last.then = follower
                started += 1
        return started

    def _following(self, name: str, at: int, place: str | None, decision: Decision, t: int) -> Ahead | None:
        """What follows ``decision`` thought through now, if it can be: the wake-up or reflection it names, or the
        conversation it starts (a decision does one or the other)."""
        return self._follower(name, at, place, decision, t) or self._talk_ahead(name, at, place, decision)

    def _recheck(self) -> None:
        """Drop now the speculations that the decisions made since foretell wrong, so that they start again at once.

        A decision of the tick under way (sure to be committed), or the next decision of someone's
        made ahead, may bring its person into a place, or change what they do there, where someone's
        later wake-up is being speculated with the foresight of before: the check at that wake-up's
        second would drop it then, on the critical path; dropped now, it is thought through again
        with what is now known while the clock gets there. Of the decisions made ahead, only each
        person's next one (the first of their chain) does this: the later ones are likelier to be
        dropped themselves, and following every one was measured to drop and redo speculations over
        and over (docs/architecture.md, "Dropped early").
        """
        places: set[str] = set()  # where the decisions made since the last pass change who is there, doing what
        for name, (_, place, task) in self._deciding.items():
            if name not in self._told and decided(task):
                self._told.add(name)
                places.update(self._places(place, task.result()))
        for first in self._ahead.values():
            if not first.told and not first.reflection and first.talk is None and decided(first.task):
                first.told = True
                places.update(self._places(first.percept.place, first.task.result()))
        if not places:
            return
        for name, first in sorted(self._ahead.items()):
            if first.safe or self._ahead.get(name) is not first:  # (or dropped with the other side of a conversation)
                continue  # the rule's wake-ups cannot be wrong; what follows them is checked at its second
            for ahead in first.chain():
                area = ahead.percept.place
                if ahead.reflection or ahead.talk is not None or area not in places:
                    continue
                sight = self._foresee(area, name, ahead.t)
                if (sight.people, sight.objects) != (ahead.percept.people, ahead.percept.objects):
                    self._redo(name, f"a decision at {area} foretells it otherwise now", expected=True)
                    self.foreseen += 1
                    break

    def _talk_ahead(self, name: str, at: int, place: str | None, decision: Decision) -> Ahead | None:
        """The conversation ``decision`` (made at second ``at`` in ``place``) starts, thought through now if it can be.

        Only where what comes before it is known for both: the partner will be in the place,
        neither is claimed, and the partner's decisions until then are made (what they speculated
        from that second on is dropped: the conversation comes first) and none of them walks,
        speaks or reflects. The partner's chain ends with an Ahead holding the same task; the
        check when the clock gets there compares the conversation the commit queued.
        """
        talks = [action for action in decision.actions if isinstance(action, Talk)]
        if (
            place is None
            or decision.reflect
            or len(talks) != 1
            or not all(isinstance(a, (Do, Note, Talk)) for a in decision.actions)
            or at >= self._end
            or not self._within(at)
        ):
            return None
        talk = talks[0]
        partner = talk.partner
        if (
            partner == name
            or not isinstance(self.minds.get(partner), Talker)
            or partner in self._reflecting
            # in a conversation not committed yet (or claimed for one): its mind is talking now
            or max(self.busy.get(partner, -1), self.busy.get(name, -1)) >= self.clock.now
            or any(e.person == partner and e.kind == "reflect" for e in self.clock.pending())
        ):
            return None
        theirs = self._ahead[partner].chain() if partner in self._ahead else []
        keep = next((index for index, a in enumerate(theirs) if a.t > at), len(theirs))
        made = [(a.t, a.percept.place, a.task) for a in theirs[:keep]]
        if partner in self._deciding:  # decided in the tick under way, before the conversation's second
            made.insert(0, self._deciding[partner])
        if not self._settled(partner, made, at) or any(a.reflection or a.talk for a in theirs):
            return None
        if self._whereabouts(partner, at)[0] != place:
            return None
        if keep < len(theirs):  # what they speculated from then on: the conversation comes first
            self._redo(partner, f"{name} will talk with them at {iso(self.time.when(at))}", expected=True, keep=keep)
        conversation = Conversation(name, partner, talk.topic, place, talk.max_turns)
        errand = Errand()
        with moment(HELD, at, errand):  # its calls wait for the conversation's own tick
            task = asyncio.ensure_future(talked(conversation, self.minds, self.time.when(at)))
        self.thought_ahead += 1
        percept = Percept(self.time.when(at), place, (), (), (), "talk")
        heard = Ahead(CHAINED, at, percept, task, self._before(partner), errand, False, talk=conversation)
        if keep:
            theirs[keep - 1].then = heard
        else:
            self._ahead[partner] = heard
        return Ahead(CHAINED, at, percept, task, self._before(name), errand, False, talk=conversation)

    def _settled(self, name: str, made: list[tuple[int, str | None, asyncio.Future[Decision]]], at: int) -> bool:
        """Whether ``name`` decides nothing more until second ``at`` than ``made`` ((second, place, task), in order).

        Each of those decided (one at that very second is taken in its tick, before the conversation's),
        and the last staying put without waking again until after it.
        """
        if not made:
            wake = self.clock.wake_at(name)
            return name not in self.world.travel and (wake is None or wake > at)
        if not all(decided(task) and second <= at for second, _, task in made):
            return False
        second, place, task = made[-1]
        decision = task.result()
        after = self._after(second, place, decision)
        if after is not None:
            return after[0] > at and after[1] == place
        return quiet(decision)

    def _before(self, name: str) -> dict[str, Any]:
        """``name`` as they are now, to rebuild them from should what they think ahead be dropped."""
        return {
            "mind": _copied(self.minds[name].state()),
            "stream": self.streams[name].counter,
            "inbox": list(self.inbox[name]),
            "calls": self.gateway.counters.get(name),
            "prompt": self.gateway.prefixes.last.get(name),  # their last call's, for prefix_tokens
            # memory rows of a decision committed earlier in this tick, still to be written with it
            "formed": len(self.contexts[name].memories),
        }

    def _follower(
        self,
        name: str,
        at: int,
        place: str | None,
        decision: Decision | None,
        t: int,
        after: tuple[int, str | None, str] | None = None,
    ) -> Ahead | None:
        """What comes after ``decision`` at second ``at``, thought through now if it can be: its reflection, or the
        wake-up it names (``after``: the one named by the decision before a reflection), or None."""
        if decision is not None and decision.reflect:  # (a conversation claiming them later redoes it)
            if at + 1 >= self._end or not self._within(at + 1) or any(isinstance(a, Talk) for a in decision.actions):
                return None  # a conversation they start comes first; the reflection follows it
            named = self._after(at, place, decision)
            return self._think_ahead(name, at + 1, place, "reflect", CHAINED, False, named)
        if self.busy.get(name, -1) >= t:
            return None  # claimed for a conversation, or just out of one: it comes first
        if decision is not None:
            after = self._after(at, place, decision)
        if after is None or after[0] >= self._end or not self._within(after[0]):
            return None
        if not self._foreseeable(after[1], name, after[0]):
            return None
        self.followed += 1
        return self._think_ahead(name, *after, CHAINED, False)

    def _after(self, t: int, place: str | None, decision: Decision) -> tuple[int, str | None, str] | None:
        """When, where and why ``decision`` (made ahead) wakes the person next, if only they take part in it.

        Doing things keeps them where they are until the wake-up it names; one walk at the end
        wakes them on arrival. Words, conversations, several walks: None (not speculated on).
        """
        if place is None or not all(isinstance(a, (Do, Note)) for a in decision.actions[:-1]):
            return None
        last = decision.actions[-1] if decision.actions else None
        if isinstance(last, Go):
            target = self.scenario.resolve_place(last.place)
            if target != place:
                walk = self._walk_minutes(place, target)
                if walk is None:
                    return None
                return t + max(1, round(walk * 60)), target, "arrived"  # as ``ev.Move.arrival``
        elif last is not None and not isinstance(last, (Do, Note)):
            return None
        if decision.wake is None:
            return None
        return max(t + 1, self.time.due(decision.wake)), place, "due"

    def _source(self, entry: Entry) -> Source:
        """Where and from when a queued entry can change the world."""
        if entry.kind == "wake":
            return Source(entry.t, self.world.position.get(entry.person or ""), entry.person)
        if entry.kind == "arrive":
            travel = self.world.travel.get(entry.person or "")
            return Source(entry.t, travel[0] if travel else None, entry.person)
        if entry.kind == "converse":
            return Source(entry.t, entry.payload.get("place"), None)
        return Source(entry.t, None, None)  # interventions, team steps, fixed steps: anywhere

    def _think_ahead(
        self,
        name: str,
        t: int,
        area: str | None,
        reason: str,
        counter: int,
        sure: bool,
        named: tuple[int, str | None, str] | None = None,
    ) -> Ahead:
        """Start ``name``'s decision at second ``t`` in ``area`` now, saving the person as they are before it.

        With ``reason`` "reflect", their reflection instead (``named``: the wake-up after it).
        """
        mind = self.minds[name]
        before = self._before(name)
        # The rule's wake-ups see what is there now (nothing can change it); a speculation sees
        # what the decisions already made ahead foretell.
        reflection = reason == "reflect"
        if reflection:  # it perceives nothing: what waits in the inbox is for the next decision
            percept = Percept(self.time.when(t), area, (), (), (), reason)
        else:
            sight = self.world.sight_at(area, name) if sure else self._foresee(area, name, t)
            percept = self._percept(name, self.time.when(t), reason, sight)
        errand = Errand()
        with moment(self.tick, t, errand):  # the tick is stamped when the decision is committed
            if reflection:
                task = asyncio.ensure_future(reflected(cast(Reflector, mind), percept.now))
            else:
                task = asyncio.ensure_future(mind.decide(percept))
        self.thought_ahead += 1
        return Ahead(counter, t, percept, task, before, errand, sure, reflection=reflection, after=named)

    def _walk_minutes(self, source: str, target: str) -> float | None:
        """The route's minutes, or None where no path joins them (the commit says so; a guess need not)."""
        try:
            return self.world.route(source, target).minutes
        except nx.NetworkXNoPath:
            return None

    def _foresee(self, area: str | None, name: str, t: int) -> Sight:
        """What ``name`` will see in ``area`` at second ``t`` if the decisions made ahead of it stand.

        Only a guess: the check when the clock gets there redoes a speculation that guessed wrong.
        """
        if area is None:
            return Sight(None, (), ())
        people = []
        for other in sorted(self._near_to(area)):
            if other != name and other in self.minds:
                place, activity = self._whereabouts(other, t)
                if place == area:
                    people.append((other, activity))
        return Sight(area, tuple(people), tuple(self.world.objects[area].items()))

    def _foreseeable(self, area: str | None, name: str, t: int) -> bool:
        """Whether everyone in ``area`` (or on their way there) has decided what they do there until second ``t``.

        A speculation whose place someone there will change first is surely redone; it waits
        until their decision is made. Who may walk in from elsewhere is still a gamble (waiting
        for everyone nearby to decide too was slower, though it wasted less: docs/architecture.md).
        """
        if area is None:
            return True
        for other in self._near_to(area):
            if other == name or other not in self.minds:
                continue
            horizon = self._horizon(other)
            if horizon < t and self._whereabouts(other, int(horizon))[0] == area:
                return False
        return True

    def _horizon(self, name: str) -> float:
        """The second of ``name``'s next decision not made yet: until then, their whereabouts are known."""
        ahead = self._ahead.get(name)
        talk = ahead.chain()[-1] if ahead is not None else None
        if talk is not None and talk.talk is not None:  # talking from then on, for as long as it takes
            return min(talk.t, self._horizon_decided(name))
        return self._horizon_decided(name)

    def _horizon_decided(self, name: str) -> float:
        """``_horizon`` by the decisions alone."""
        made = self._made(name)
        if not made:  # their next wake-up, arrival or conversation in the clock, if any
            travel = self.world.travel.get(name)
            talk = self.busy.get(name, -1)  # claimed for a conversation at that second, or talking until then
            due = [self.clock.wake_at(name), travel[1] if travel else None, talk if talk >= self.clock.now else None]
            return min((at for at in due if at is not None), default=math.inf)
        for at, _, task in made:
            if not decided(task):
                return at
        at, where, task = made[-1]
        decision = task.result()
        after = self._after(at, where, decision)  # (a reflection before it changes nothing anyone sees)
        if after is not None:
            return after[0]
        return math.inf if quiet(decision) else at  # asleep until something wakes them; or words, a talk: not foreseen

    def _made(self, name: str) -> list[tuple[int, str | None, asyncio.Future[Decision]]]:
        """``name``'s decisions not committed yet, in order: (second, place, task); reflections change nothing seen."""
        made = [self._deciding[name]] if name in self._deciding else []
        if name in self._ahead:
            chain = self._ahead[name].chain()
            made += [(a.t, a.percept.place, a.task) for a in chain if not a.reflection and a.talk is None]
        return made

    def _whereabouts(self, name: str, t: int) -> tuple[str | None, str]:
        """Where ``name`` will be at second ``t``, doing what, by the decisions they made ahead that are done."""
        place = self.world.position.get(name)
        activity = self.world.activity.get(name, "")
        if place is None and name in self.world.travel:
            to, arrival = self.world.travel[name]
            place = to if arrival <= t else None
        for at, where, task in self._made(name):
            if at >= t or not decided(task):  # taken at the same second, a percept does not see it yet
                break
            place = where
            for action in task.result().actions:
                if isinstance(action, Do):
                    activity = action.activity
                elif isinstance(action, Go) and where is not None:
                    target = self.scenario.resolve_place(action.place)
                    walk = self._walk_minutes(where, target)
                    if target != where and walk is not None:
                        arrival = at + max(1, round(walk * 60))
                        place = target if arrival <= t else None
        return place, activity

    def _redo(self, name: str, why: str, *, expected: bool = False, keep: int = 0) -> None:
        """Forget ``name``'s speculation, which the world has changed under: the person as they were before it.

        Their mind is rebuilt from its saved state and memory rows, as a resume rebuilds it; the
        replies the speculation got wait in ``Gateway.recorded``, so a call asked again with the
        same prompt is answered (and logged) as the in-order run would, without being sent.
        ``keep``: the first wake-ups of their chain that stand (decided, all of them).
        """
        whole = self._ahead[name].chain()
        ahead = whole[keep]
        if keep:
            whole[keep - 1].then = None
        else:
            del self._ahead[name]
        if ahead.safe and not expected:
            raise LookaheadBroken(
                f"{name} was thinking ahead about {iso(self.time.when(ahead.t))}, which the rule allowed, but {why}"
            )
        chain = whole[keep:]
        for dropped in chain:  # the wake-ups speculated after it go with it
            dropped.errand.dropped = True  # it thinks on the old mind, which is dropped; it asks and counts no more
            dropped.task.cancel()
            self.redone += 1
        others = []
        for row in self._calls:
            # a conversation's calls are told by their tick: the decision starting it has its second
            if row["person"] == name and (row["tick"] == HELD if ahead.talk else row["t"] >= ahead.t):
                self.gateway.recorded.setdefault(row["cache_key"], []).append(row)
            else:
                others.append(row)
        self._calls[:] = others
        before = ahead.before
        outbox = self.contexts[name].memories[: before["formed"]]  # a decision's rows committed this tick
        formed = [*self._formed.get(name, []), *(recorded_row(row) for row in outbox)]
        arrived = self.inbox[name]
        mind = self._install(self._specs[name], before["stream"], formed)
        mind.restore(_copied(before["mind"]))
        self.contexts[name].memories.extend(outbox)
        # a reflection or a conversation takes nothing from the inbox; a decision's percept took what was there
        self.inbox[name] = arrived if ahead.reflection or ahead.talk else [*before["inbox"], *arrived]
        for table, value in ((self.gateway.counters, before["calls"]), (self.gateway.prefixes.last, before["prompt"])):
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value
        if chain[-1].talk is not None:  # the other person in the conversation is rebuilt too
            talk = chain[-1].talk
            other = talk.partner if name == talk.initiator else talk.initiator
            theirs = self._ahead[other].chain() if other in self._ahead else []
            at = next((index for index, a in enumerate(theirs) if a.task is chain[-1].task), None)
            if at is not None:
                self._redo(
                    other, f"{name}, whom they were to talk with, is thought through again", expected=True, keep=at
                )

    async def _drop_ahead(self) -> None:
        """Stop thinking ahead (the run stops); what was paid for is committed as calls only."""
        tasks = [a.task for ahead in self._ahead.values() for a in ahead.chain()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _percept(self, name: str, now: datetime, reason: str, sight: Sight | None = None) -> Percept:
        """What ``name`` perceives at ``now``: their place as it is (or as foreseen: ``sight``) and their inbox."""
        sight = self.world.sight(name) if sight is None else sight
        events = tuple(self.inbox[name])
        self.inbox[name].clear()
        return Percept(now, sight.place, sight.people, sight.objects, events, reason)


def recorded_row(row: dict[str, Any]) -> dict[str, Any]:
    """A memory row as a mind formed it, as the run file gives it back (its evidence a list, not JSON)."""
    evidence = row.get("evidence")
    return {**row, "evidence": json.loads(evidence) if isinstance(evidence, str) else list(evidence or [])}


def quiet(decision: Decision) -> bool:
    """Whether ``decision`` only does things and names no wake-up: the person stays until something wakes them."""
    return decision.wake is None and all(isinstance(a, (Do, Note)) for a in decision.actions)


def decided(task: asyncio.Future[Decision]) -> bool:
    """Whether ``task`` came to a decision (not cancelled, no error)."""
    return task.done() and not task.cancelled() and task.exception() is None


async def reflected(reflector: Reflector, now: datetime) -> Decision:
    """A reflection thought through early, as a task like a decision's (it decides nothing)."""
    await reflector.reflect(now)
    return Decision()


async def talked(conversation: Conversation, minds: dict[str, Mind], now: datetime) -> Decision:
    """A conversation thought through early, as a task like a decision's (its lines fill ``conversation``)."""
    await hold(conversation, minds, now)
    return Decision()


def _copied(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a mind's JSON-ready state (a pickle round trip: several times faster than ``copy.deepcopy``)."""
    copied: dict[str, Any] = pickle.loads(pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
    return copied
