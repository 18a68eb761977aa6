"""Metrics of emergent behaviour, read from a run file: diffusion, relationships, coordination, activity.

The measurements of the Smallville paper, computed from any run as of any simulated time:

- information diffusion of a named fact: who knows it and since when, from the first memory
  that carries it by the rule of ``sim.research.knowing`` (whole words, not denied; someone
  else's activity only with a paraphrase), plus whoever it was seeded to;
- relationships: the *knows* graph (A knows B once A talked with B, was told about B, has B as a
  relation, or a probe confirms it; never from seeing B) and the *conversation* graph
  (conversations and remarks addressed to someone), their density over time: directed (edges
  over n(n-1)) and, as the paper, undirected over the pairs who both know each other;
- coordination: who was at a place during a time window (by default the gathering a fact
  announces, such as a party);
- activity: conversations, lines said, places visited, moves, LLM calls, tokens and cost per person.

``RunMetrics`` reads the file once (events of the kinds it needs, memories, LLM call totals)
and answers every question from what it read. Tables are pandas DataFrames, graphs networkx.
Those reads are the metrics' own (each selects what a measurement needs), so their SQL is written
here rather than among the run file's shared queries (``sim.runfile``); the event kinds it names
come from their classes.
"""

from __future__ import annotations

import bisect
import gc
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx

from sim.core.events import Arrive, Leave, Move, Plan, Say, Spawn, Talk
from sim.core.simtime import RunTime, iso, parse_time
from sim.errors import UserError
from sim.research.knowing import memory_carries, plans_for
from sim.runfile.queries import sql_kind, sql_kinds
from sim.runfile.reader import RunReader
from sim.worldfile.names import match_person
from sim.worldfile.scenario import FactSpec, Scenario, parse_scenario

HOUR = 3600
_T = TypeVar("_T")
_WORD = re.compile(r"[^\W\d_][\w\-]*")
# Kinds are named through their classes (``sim.core.events``): a kind renamed there is renamed here.
_EVENT_SQL = (
    "SELECT t, kind, person, place,"
    f" CASE kind WHEN {sql_kind(Talk)} THEN json_extract(data, '$.with')"
    f" WHEN {sql_kind(Say)} THEN json_extract(data, '$.to') END,"
    f" CASE kind WHEN {sql_kind(Say)} THEN json_extract(data, '$.turn') END"
    f" FROM event WHERE kind IN {sql_kinds(Spawn, Move, Arrive, Leave, Talk, Say)} ORDER BY seq"
)
_PLANS_SQL = f"SELECT t, person, data FROM event WHERE kind = {sql_kind(Plan)} AND t <= ? ORDER BY seq"


def pandas() -> Any:
    """The pandas module, or one clear line saying how to install it."""
    try:
        import pandas as pd
    except ImportError:
        raise UserError("metrics need pandas, which comes with Hamlet: pip install 'pandas>=2.1,<4'") from None
    return pd


@dataclass(slots=True)
class Stay:
    """A person in one area from ``start`` until ``end`` (None: still there when the log ends)."""

    person: str
    place: str
    start: int
    end: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A span of simulated seconds ``[start, end)`` at a place (a sector, or one area)."""

    place: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class CacheUse:
    """The people's calls answered from the reply cache, and what their replies took when the model first gave them.

    ``tokens`` and ``cost_usd`` are None when a reply's first call is in no file at hand (the parent moved).
    """

    calls: int
    tokens: int | None
    cost_usd: float | None


FORK_DEPTH = 16
"""How many forks back ``cache_use`` follows a branch's parents to find a cached reply's first call."""


class RunMetrics:
    """The metrics of one run file; use as a context manager, or ``close()`` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.reader = RunReader(self.path)
        try:
            run = self.reader.run()
            self.scenario: Scenario = parse_scenario(run["scenario_yaml"], f"{self.path} (recorded world)")
        except BaseException:
            self.reader.close()
            raise
        self.time = RunTime(self.scenario.start)  # metrics drop a moment's fraction of a second
        self.end = self.second(datetime.fromisoformat(run["sim_now"]))
        self._memo: dict[Hashable, Any] = {}  # what ``once`` computed: several metrics read the same table

    def close(self) -> None:
        """Close the run file."""
        self.reader.close()

    def __enter__(self) -> RunMetrics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time ----------------------------------------------------------------------------

    def second(self, moment: datetime) -> int:
        """The run second of a simulated datetime."""
        return self.time.second(moment)

    def when(self, t: float) -> str:
        """The ISO time of run second ``t``."""
        return iso(self.time.when(int(t)))

    def time_option(self, text: str, flag: str) -> int:
        """The run second a TIME option names (ISO or +offset); one clear line if it is not one."""
        try:
            return self.second(parse_time(text, self.time.start))
        except UserError as err:
            raise UserError(f"{flag}: {err}") from None

    def _upto(self, at: int | None) -> int:
        return self.end if at is None else at

    def once(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """What ``compute`` returns, computed the first time ``key`` is asked for and remembered after."""
        if key not in self._memo:
            if len(self._memo) >= 512:  # the viewer asks about a new time at every step: forget, do not grow
                self._memo.clear()
            self._memo[key] = compute()
        value: _T = self._memo[key]
        return value

    # -- what was read -------------------------------------------------------------------

    @cached_property
    def _log(self) -> _Log:
        return _Log.read(self.reader)

    @cached_property
    def _memories(self) -> list[tuple[str, int, str, int, str]]:
        """(person, t, kind, id, text) of every memory, in stream order."""
        rows = self.reader.db.execute("SELECT person, t, kind, id, text FROM memory ORDER BY person, id")
        return [tuple(row) for row in rows]

    def people(self, at: int | None = None) -> list[str]:
        """Everyone who had appeared by second ``at`` and not left, in order of appearance."""
        t = self._upto(at)
        log = self._log
        arrived = log.order[: bisect.bisect_right(log.joins, t)]
        return [p for p in arrived if log.left.get(p, math.inf) > t] if log.left else arrived

    def headcount(self, t: int) -> int:
        """How many people were present at second ``t``."""
        return len(self.people(t)) if self._log.left else self._count(self._log.joins, t)

    def _count(self, times: list[int], t: int) -> int:
        """How many of the people whose (sorted) ``times`` are given had theirs by ``t``, if nobody left."""
        return bisect.bisect_right(times, t)

    def everyone(self) -> list[str]:
        """Everyone who appeared in the run at any time, in order of appearance."""
        return list(self._log.joined)

    def person(self, name: str) -> str:
        """The person of the run ``name`` means (in any case, or a unique first name), else one line with a suggestion."""
        try:
            return match_person(name, self._log.joined, among=" in this run")
        except ValueError as err:
            raise UserError(f"--person: {err}") from None

    def facts(self) -> list[FactSpec]:
        """The facts the world declares."""
        return list(self.scenario.facts)

    def fact(self, name: str) -> FactSpec:
        """The fact called ``name``, else one clear line naming the facts there are."""
        for fact in self.scenario.facts:
            if fact.name == name:
                return fact
        known = ", ".join(f.name for f in self.scenario.facts) or "none (add facts: to the world file)"
        raise UserError(f"--fact {name!r}: not a fact of this world; facts: {known}")

    # -- information diffusion -----------------------------------------------------------

    def knowing(self, fact: FactSpec) -> dict[str, tuple[int, str, int | None, str]]:
        """Person -> (second they first knew ``fact``, how, memory id, memory text)."""
        return dict(self.once(("knowing", fact.name), lambda: self._knowing(fact)))

    def _knowing(self, fact: FactSpec) -> dict[str, tuple[int, str, int | None, str]]:
        first: dict[str, tuple[int, str, int | None, str]] = {}
        for person in fact.seeded_to:
            if person in self._log.joined:
                first[person] = (self._log.joined[person], "seeded", None, fact.text)
        everyone = list(self._log.joined)
        for person, t, kind, memory_id, text in self._memories:
            if person in first and first[person][0] <= t:
                continue
            if memory_carries(fact, kind, text, everyone, person):
                first[person] = (t, kind, memory_id, text)
        return first

    def diffusion(self, fact: FactSpec, at: int | None = None) -> Any:
        """One row per person present at ``at``: whether they knew ``fact`` by then, since when, and how."""
        upto = self._upto(at)
        known = self.knowing(fact)
        rows = []
        for person in self.people(upto):
            hit = known.get(person)
            knew = hit is not None and hit[0] <= upto
            rows.append(
                {
                    "person": person,
                    "knows": knew,
                    "t": hit[0] if knew and hit else None,
                    "time": self.when(hit[0]) if knew and hit else None,
                    "how": hit[1] if knew and hit else None,
                    "memory": hit[3] if knew and hit else None,
                }
            )
        frame = pandas().DataFrame(rows, columns=["person", "knows", "t", "time", "how", "memory"])
        return frame.astype({"t": "Int64"})

    def plans(self, fact: FactSpec, at: int | None = None) -> Any:
        """Who made a plan for ``fact`` by ``at``: their first ``plan`` event carrying it, its scope and reason.

        A plan is for the fact when one of its items, or the reason of a re-planning, involves it
        (``sim.research.knowing.plans_for``: carries it, neither negated nor declined): the paper's
        coordination is people who heard of the party and planned to go.
        """
        upto = self._upto(at)
        return self.once(("plans", fact.name, upto), lambda: self._plans(fact, upto)).copy()

    def _plans(self, fact: FactSpec, upto: int) -> Any:
        first = first_plans(
            fact,
            self.reader.db.execute(_PLANS_SQL, (upto,)),
            self.when,
        )
        rows = [first[p] for p in self._log.joined if p in first]
        frame = pandas().DataFrame(rows, columns=["person", "t", "time", "scope", "reason", "items"])
        return frame.astype({"t": "Int64"})

    def diffusion_curve(self, fact: FactSpec, every: int = HOUR, times: list[int] | None = None) -> Any:
        """How many of the people present knew ``fact``, every ``every`` seconds to the end (or at ``times``)."""
        points = tuple(self.grid(every) if times is None else times)
        return self.once(("diffusion_curve", fact.name, points), lambda: self._diffusion_curve(fact, points)).copy()

    def _diffusion_curve(self, fact: FactSpec, times: tuple[int, ...]) -> Any:
        known = self.knowing(fact)
        since = sorted(t for t, *_ in known.values())
        rows = []
        for t in times:
            if self._log.left:  # people removed: count among those present then
                present = self.people(t)
                n, count = len(present), sum(1 for p in present if p in known and known[p][0] <= t)
            else:  # nobody left: everyone who had arrived, and everyone who knew by then
                n, count = self._count(self._log.joins, t), self._count(since, t)
            rows.append({"t": t, "time": self.when(t), "people": n, "knowing": count, "share": count / n if n else 0.0})
        return pandas().DataFrame(rows, columns=["t", "time", "people", "knowing", "share"])

    def grid(self, every: int = HOUR) -> list[int]:
        """Seconds from 0 to the end of the run every ``every`` seconds, the end included."""
        if every <= 0:
            raise UserError(f"--every {every}: must be a positive number of seconds")
        points = list(range(0, self.end, every))
        return [*points, self.end]

    # -- relationships -------------------------------------------------------------------

    @cached_property
    def _knows(self) -> dict[tuple[str, str], tuple[int, str]]:
        """(a, b) -> (the second a first knew b, how): relation, talked, told or probe; never sight."""
        log = self._log
        names = list(log.joined)
        keys = name_keys(names)
        longest = max((len(k.split()) for k in keys), default=1)
        since: dict[tuple[str, str], tuple[int, str]] = {}

        def learn(a: str, b: str, t: int, how: str) -> None:
            if a != b and a in log.joined and b in log.joined and since.get((a, b), (math.inf, ""))[0] > t:
                since[(a, b)] = (t, how)

        specs = {p.name: p for p in self.scenario.people}
        specs.update({iv.spec.name: iv.spec for iv in self.scenario.interventions if iv.spec is not None})
        for name in names:
            spec = specs.get(name)
            for rel in spec.relationships if spec else []:
                learn(name, rel.name, log.joined[name], "relation")
        for t, a, b, _kind in log.contacts:  # a conversation or a remark: both know the other
            learn(a, b, t, "talked")
            learn(b, a, t, "talked")
        for person, t, kind, _id, text in self._memories:
            told = _told(kind, text)
            if told is not None:
                for other in mentioned(told, keys, longest):
                    learn(person, other, t, "told")
        for person, other, t in self._probed_acquaintances:
            learn(person, other, t, "probe")
        # nobody knows someone in the world before both of them are in it
        return {(a, b): (max(t, log.joined[a], log.joined[b]), how) for (a, b), (t, how) in since.items()}

    @cached_property
    def _probed_acquaintances(self) -> list[tuple[str, str, int]]:
        """(person, other, second) of every probe in which the person said they know the other."""
        if not self.reader.has("probe"):
            return []
        rows = self.reader.db.execute("SELECT person, subject, t FROM probe WHERE kind = 'person' AND heard = 1")
        return [(a, b, t) for a, b, t in rows]

    def probes(self) -> Any:
        """Every probe recorded in the file: the person's own answer, the rule's check, and whether they agree."""
        columns = ["person", "t", "time", "kind", "subject", "question", "heard", "what", "keyword", "agree"]
        rows = []
        if self.reader.has("probe"):
            for row in self.reader.db.execute(
                "SELECT person, t, time, kind, subject, question, heard, what, keyword FROM probe ORDER BY id"
            ):
                heard = None if row[6] is None else bool(row[6])
                rows.append([*row[:6], heard, row[7], bool(row[8]), heard is not None and heard == bool(row[8])])
        return pandas().DataFrame(rows, columns=columns)

    def knows_graph(self, at: int | None = None) -> nx.DiGraph:
        """Who knew whom by ``at``: an edge a -> b with ``since`` (second) once a knew b."""
        upto = self._upto(at)
        graph = nx.DiGraph()
        present = self.people(upto)
        graph.add_nodes_from(present)
        alive = set(present)
        for (a, b), (t, how) in sorted(self._knows.items()):
            if t <= upto and a in alive and b in alive:
                graph.add_edge(a, b, since=t, how=how)
        return graph

    def conversation_graph(self, at: int | None = None) -> nx.Graph:
        """Who talked with whom by ``at``: edges with ``conversations``, ``remarks`` and ``since``."""
        upto = self._upto(at)
        graph = nx.Graph()
        present = self.people(upto)
        graph.add_nodes_from(present)
        alive = set(present)
        for t, a, b, kind in self._log.contacts:
            if t > upto:
                break
            if a not in alive or b not in alive or a == b:
                continue
            if not graph.has_edge(a, b):
                graph.add_edge(a, b, conversations=0, remarks=0, since=t)
            graph[a][b][kind] += 1
        return graph

    def density(self, every: int = HOUR, times: list[int] | None = None) -> Any:
        """The density of the knows and conversation graphs every ``every`` seconds (or at ``times``).

        Knows twice: directed (edges a -> b over n(n-1)) and as the paper counted it (pairs who both
        know each other over n(n-1)/2, its 0.167 -> 0.74).
        """
        points = tuple(self.grid(every) if times is None else times)
        return self.once(("density", points), lambda: self._density(points)).copy()

    def _density(self, times: tuple[int, ...]) -> Any:
        knows = sorted((t, a, b) for (a, b), (t, _) in self._knows.items())
        mutual = sorted(
            (max(t, self._knows[(b, a)][0]), a, b)
            for (a, b), (t, _) in self._knows.items()
            if a < b and (b, a) in self._knows
        )
        contacts: dict[tuple[str, str], int] = {}
        for t, a, b, _kind in self._log.contacts:
            if a != b:
                contacts.setdefault((min(a, b), max(a, b)), t)
        talks = sorted((t, a, b) for (a, b), t in contacts.items())
        rows = []
        for t in times:
            n = self.headcount(t)
            k = _count_edges(knows, t, self._log)
            both = _count_edges(mutual, t, self._log)
            c = _count_edges(talks, t, self._log)
            rows.append(
                {
                    "t": t,
                    "time": self.when(t),
                    "people": n,
                    "knows_edges": k,
                    "knows_density": k / (n * (n - 1)) if n > 1 else 0.0,
                    "knows_mutual_pairs": both,
                    "knows_density_mutual": 2 * both / (n * (n - 1)) if n > 1 else 0.0,
                    "conversation_edges": c,
                    "conversation_density": 2 * c / (n * (n - 1)) if n > 1 else 0.0,
                }
            )
        return pandas().DataFrame(
            rows,
            columns=[
                "t",
                "time",
                "people",
                "knows_edges",
                "knows_density",
                "knows_mutual_pairs",
                "knows_density_mutual",
                "conversation_edges",
                "conversation_density",
            ],
        )

    # -- coordination --------------------------------------------------------------------

    def gathering(self, fact: FactSpec) -> Window | None:
        """The place and time window of the gathering ``fact`` announces, if it names one."""
        if fact.place is None or fact.starts is None or fact.ends is None:
            return None
        return Window(
            fact.place,
            self.time_option(fact.starts, f"facts {fact.name}.starts"),
            self.time_option(fact.ends, f"facts {fact.name}.ends"),
        )

    def window(self, place: str, start: int, end: int) -> Window:
        """A checked window: a place of this world and ``start < end``."""
        self.areas_of(place)
        if end <= start:
            raise UserError(f"--window: {self.when(end)} is not after {self.when(start)}")
        return Window(place, start, end)

    def areas_of(self, place: str) -> set[str]:
        """The areas ``place`` names: every area of a sector, or the one area; one clear line if there is none."""
        sectors = {s.name: [f"{s.name}:{a.name}" for a in s.areas] for s in self.scenario.sectors}
        if place in sectors:
            return set(sectors[place])
        try:
            return {self.scenario.resolve_place(place)}
        except ValueError as err:
            raise UserError(f"--place: {err}") from None

    def attendance(self, window: Window) -> Any:
        """Who was at the window's place during it: first arrival, last departure, minutes present."""
        areas = self.areas_of(window.place)
        found: dict[str, dict[str, Any]] = {}
        for stay in self._log.stays:
            if stay.place not in areas:
                continue
            begin = max(stay.start, window.start)
            finish = min(self.end if stay.end is None else stay.end, window.end)
            if finish <= begin:
                continue
            row = found.setdefault(stay.person, {"person": stay.person, "arrived": begin, "left": finish, "seconds": 0})
            row["arrived"], row["left"] = min(row["arrived"], begin), max(row["left"], finish)
            row["seconds"] += max(0, finish - begin)
        order = {p: i for i, p in enumerate(self._log.joined)}
        rows = [
            {
                "person": r["person"],
                "arrived": self.when(r["arrived"]),
                "left": self.when(r["left"]),
                "minutes": round(r["seconds"] / 60, 1),
            }
            for r in sorted(found.values(), key=lambda r: order[r["person"]])
        ]
        return pandas().DataFrame(rows, columns=["person", "arrived", "left", "minutes"])

    # -- activity ------------------------------------------------------------------------

    def activity(self, at: int | None = None) -> Any:
        """Per person by ``at``: conversations, lines said, places visited, moves, LLM calls, tokens, cost."""
        upto = self._upto(at)
        return self.once(("activity", upto), lambda: self._activity_at(upto)).copy()

    def _activity_at(self, upto: int) -> Any:
        log = self._log
        rows: dict[str, dict[str, Any]] = {
            p: {"person": p, "conversations": 0, "lines": 0, "places": set(), "moves": 0} for p in log.joined
        }
        for t, a, b, kind in log.contacts:
            if t <= upto and kind == "conversations":
                rows[a]["conversations"] += 1
                if b in rows and b != a:
                    rows[b]["conversations"] += 1
        everything = upto >= self.end  # the common case: no time test per row
        for name, events in (("lines", log.lines), ("moves", log.moves)):
            counted = Counter(p for t, p in events if everything or t <= upto)
            for person, count in counted.items():
                if person in rows:
                    rows[person][name] = count
        for stay in log.stays:
            if everything or stay.start <= upto:
                rows[stay.person]["places"].add(stay.place)
        calls = self.reader.db.execute(
            "SELECT person, COUNT(*), COALESCE(SUM(prompt_tokens + completion_tokens), 0), COALESCE(SUM(cost_usd), 0)"
            " FROM llm_call WHERE tick >= 0 AND t <= ? AND person IS NOT NULL GROUP BY person",
            (upto,),
        ).fetchall()
        spent = {person: (n, tokens, cost) for person, n, tokens, cost in calls}
        table = []
        for person, row in rows.items():
            n, tokens, cost = spent.get(person, (0, 0, 0.0))
            table.append(
                {**row, "places": len(row["places"]), "llm_calls": n, "tokens": tokens, "cost_usd": round(cost, 6)}
            )
        columns = ["person", "conversations", "lines", "places", "moves", "llm_calls", "tokens", "cost_usd"]
        return pandas().DataFrame(table, columns=columns)

    def cache_use(self) -> CacheUse:
        """The people's calls answered from the reply cache (nothing sent, nothing paid) and what they first took."""
        return self.once("cache_use", self._cache_use)

    def _cache_use(self) -> CacheUse:
        rows = self.reader.db.execute(
            "SELECT person, cache_key FROM llm_call WHERE tick >= 0 AND person IS NOT NULL AND cache_hit = 1"
        ).fetchall()
        keys = [key for _, key in rows]
        if not keys:
            return CacheUse(0, 0, 0.0)
        # A fork answers from its parent's replies (and that parent perhaps from its own): the first call of
        # each is in this file or one of its parents. This file is read first, then each parent in turn.
        first = _first_calls(self.reader.db, set(keys))
        parent = (self.reader.options().get("fork") or {}).get("parent")
        seen = {self.path.resolve()}
        for _ in range(FORK_DEPTH):
            if len(first) == len(set(keys)) or not parent or Path(parent).resolve() in seen:
                break
            seen.add(Path(parent).resolve())
            try:
                with RunReader(Path(parent)) as reader:
                    first |= _first_calls(reader.db, set(keys) - set(first))
                    parent = (reader.options().get("fork") or {}).get("parent")
            except UserError:  # moved or unreadable: what it held stays unknown
                break
        if any(key not in first for key in keys):
            return CacheUse(len(keys), None, None)
        cost: dict[str, float] = {}
        for person, key in rows:
            cost[person] = cost.get(person, 0.0) + first[key][1]
        # Rounded per person, then summed, as the activity table's cost is: the two figures compare exactly.
        return CacheUse(len(keys), sum(first[k][0] for k in keys), round(sum(round(c, 6) for c in cost.values()), 6))

    def cost_by_purpose(self, at: int | None = None) -> Any:
        """LLM calls, requests answered from the cache, tokens and cost per purpose, by ``at`` (interviews included)."""
        rows = self.reader.db.execute(
            "SELECT purpose, COUNT(*), COALESCE(SUM(cache_hit), 0), COALESCE(SUM(prompt_tokens + completion_tokens), 0),"
            " COALESCE(SUM(cost_usd), 0) FROM llm_call WHERE t <= ? GROUP BY purpose ORDER BY purpose",
            (self._upto(at),),
        ).fetchall()
        return pandas().DataFrame(
            [
                {"purpose": p, "llm_calls": n, "cached": c, "tokens": k, "cost_usd": round(s, 6)}
                for p, n, c, k, s in rows
            ],
            columns=["purpose", "llm_calls", "cached", "tokens", "cost_usd"],
        )

    # -- one line of numbers per run -----------------------------------------------------

    def summary(self) -> dict[str, float]:
        """The run's headline figures at its end, one number per name (for ``compare`` and sweeps).

        They are the run metrics of ``sim.research.registry``, where each is declared.
        """
        from sim.research import registry  # it imports this module

        return registry.summary(self)


def _first_calls(db: Any, keys: set[str]) -> dict[str, tuple[int, float]]:
    """Cache key -> the tokens and cost of the call the model answered under it in ``db`` (all its attempts)."""
    found: dict[str, tuple[int, float]] = {}
    wanted = sorted(keys)
    for i in range(0, len(wanted), 500):  # SQLite takes a bounded number of parameters
        chunk = wanted[i : i + 500]
        rows = db.execute(
            f"SELECT cache_key, SUM(prompt_tokens + completion_tokens), SUM(cost_usd) FROM llm_call "
            f"WHERE cache_hit = 0 AND cache_key IN ({','.join('?' * len(chunk))}) GROUP BY cache_key",
            chunk,
        )
        found.update((key, (int(tokens), float(cost))) for key, tokens, cost in rows)
    return found


def first_plans(fact: FactSpec, rows: Iterable[tuple[int, str, str]], when: Any) -> dict[str, dict[str, Any]]:
    """Person -> their first plan for ``fact`` among ``plan`` event rows (t, person, data) in log order.

    A plan is for the fact when an item, or a re-planning's reason, involves it (``plans_for``);
    ``when`` turns a run second into its time.
    """
    first: dict[str, dict[str, Any]] = {}
    for t, person, data in rows:
        if person in first:
            continue
        plan = json.loads(data)
        said = [
            f"{i.get('start')} {i.get('activity')}"
            for i in plan.get("items", [])
            if plans_for(fact, str(i.get("activity", "")))
        ]
        reason = str(plan.get("reason", ""))
        if said or (reason and plans_for(fact, reason)):
            first[person] = {
                "person": person,
                "t": t,
                "time": when(t),
                "scope": plan.get("scope", "day"),
                "reason": reason or None,
                "items": "; ".join(said) or None,
            }
    return first


class _Log:
    """What the metrics need from the event log, read in one pass."""

    def __init__(self) -> None:
        self.joined: dict[str, int] = {}  # person -> second they appeared
        self.order: list[str] = []  # people in order of appearance
        self.joins: list[int] = []  # the seconds they appeared, in that order (sorted)
        self.left: dict[str, int] = {}  # person -> second they were removed
        self.stays: list[Stay] = []
        self.moves: list[tuple[int, str]] = []
        self.lines: list[tuple[int, str]] = []
        # (t, a, b, "conversations" | "remarks"): a talk a started with b, or a line a said to b outside one
        self.contacts: list[tuple[int, str, str, str]] = []

    @classmethod
    def read(cls, reader: RunReader) -> _Log:
        """Read the events of the kinds the metrics use."""
        with _collector_paused():
            return cls._read(reader)

    @classmethod
    def _read(cls, reader: RunReader) -> _Log:
        log = cls()
        here: dict[str, Stay] = {}
        # Bound once: this loop sees every move and arrival of the run (half a million rows in a big one).
        stays, moves, pop = log.stays, log.moves, here.pop
        move, arrive, spawn, leave, talk = Move.KIND, Arrive.KIND, Spawn.KIND, Leave.KIND, Talk.KIND
        for t, kind, person, place, other, turn in reader.db.execute(_EVENT_SQL):
            if kind == move:
                stay = pop(person, None)
                if stay is not None:
                    stay.end = t
                moves.append((t, person))
            elif kind == arrive:
                stay = pop(person, None)
                if stay is not None:
                    stay.end = t
                stay = here[person] = Stay(person, place, t)
                stays.append(stay)
            elif kind == spawn:
                log.joined.setdefault(person, t)
                log.left.pop(person, None)
                stay = here[person] = Stay(person, place, t)
                stays.append(stay)
            elif kind == leave:
                stay = pop(person, None)
                if stay is not None:
                    stay.end = t
                log.left[person] = t
            elif kind == talk:
                log.contacts.append((t, person, other, "conversations"))
            else:  # say
                log.lines.append((t, person))
                if other and turn is None:
                    log.contacts.append((t, person, other, "remarks"))
        log.order = list(log.joined)
        log.joins = list(log.joined.values())
        return log


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: reading a big log makes a million small objects, none in a
    cycle, and the collector's passes over them took 40 % of the time (benchmarks/bench_research.py)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def name_keys(names: Iterable[str]) -> dict[str, str]:
    """The word sequences that name a person: their full name, and their first name when nobody shares it."""
    names = list(names)
    keys = {" ".join(_WORD.findall(name)): name for name in names}
    firsts: dict[str, list[str]] = {}
    for name in names:
        words = _WORD.findall(name)
        if len(words) > 1 and len(words[0]) >= 3:
            firsts.setdefault(words[0], []).append(name)
    for first, owners in firsts.items():
        if len(owners) == 1 and first not in keys:
            keys[first] = owners[0]
    return keys


def mentioned(text: str, keys: dict[str, str], longest: int) -> set[str]:
    """The people ``text`` names (longest match first, names starting with a capital)."""
    words = _WORD.findall(text)
    found: set[str] = set()
    i = 0
    while i < len(words):
        if words[i][:1].isupper():
            for size in range(min(longest, len(words) - i), 0, -1):
                name = keys.get(" ".join(words[i : i + size]))
                if name is not None:
                    found.add(name)
                    i += size - 1
                    break
        i += 1
    return found


_SAID_TO_ME = re.compile(r"^.{1,80}? said to me: ", re.DOTALL)


def _told(kind: str, text: str) -> str | None:
    """What a memory says the person was told (whose names count as being told about someone), or None.

    Dialogue, whispers and the seeded background are what the person was told; an observation
    counts only for what someone said to them, never for whom they saw; reflections and plans may
    rest on sight alone, so they do not count.
    """
    if kind in ("dialogue", "whisper", "seed"):
        return text
    if kind == "observation":
        said = _SAID_TO_ME.match(text)
        return text[said.end() :] if said else None
    return None


def _count_edges(edges: list[tuple[int, str, str]], t: int, log: _Log) -> int:
    """Edges (sorted by the second they formed) formed by ``t`` whose two ends are still present then."""
    count = bisect.bisect_right(edges, (t, "\U0010ffff", "\U0010ffff"))
    if not log.left:
        return count
    gone = {p for p, left in log.left.items() if left <= t}
    return count - sum(1 for _, a, b in edges[:count] if a in gone or b in gone)


def parse_window(text: str, metrics: RunMetrics) -> tuple[int, int]:
    """``T1..T2`` (each ISO 8601 or +offset) as two run seconds."""
    first, sep, second = text.partition("..")
    if not sep or not first.strip() or not second.strip():
        raise UserError(f"--window {text!r}: write it as T1..T2, e.g. 2026-02-14T17:00..2026-02-14T19:00 or +35h..+37h")
    return metrics.time_option(first.strip(), "--window"), metrics.time_option(second.strip(), "--window")
