"""The story of a run, read from its log: who talked, who changed plans, interventions, facts, gatherings.

What ``hamlet show`` tells after its counts. Every part is read with SQL aggregates and bounded
queries, so a run of a million events tells its story in about the time its counts take:

- conversations: the ``talk`` events, each with its people, place, lines and one line quoted
  (the longest; its lines are the ``say`` events that follow it up to its ``talk_end``);
- reactions: re-plannings (``plan`` events of scope ``replan``) with their reasons;
- interventions: ``intervene`` events, and the objects changed and people removed by one;
- facts: who knew each fact by the end and who made a plan for it, by the rules of
  ``RunMetrics.knowing`` and ``RunMetrics.plans`` (the same answers; only memories and plans
  that may carry the fact are read, narrowed by ``sim.research.knowing.fragments``);
- gatherings: who came to each fact's gathering, as ``RunMetrics.attendance`` counts it (from
  everyone's last move before the window and the moves within it), or that the run ended before it.

``limit`` bounds each list of happenings (conversations, reactions, interventions) read; the
totals are counted in full.

The SQL is the story's own (what it asks is the analysis), so it is written here rather than among
the run file's shared queries (``sim.runfile``); the event kinds it names come from their classes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.core.events import Arrive, Intervene, Leave, Move, ObjectState, Plan, Say, Spawn, Talk, TalkEnd
from sim.research.knowing import FOLDS_TO_PLAIN, fragments, memory_carries
from sim.research.metrics import RunMetrics, Window, first_plans
from sim.runfile.queries import sql_kind, sql_kinds
from sim.worldfile.scenario import FactSpec

CONVERSATION_SCAN = 100_000
"""Events read after a ``talk`` looking for its lines and its end (they follow it in the same tick)."""

# Kinds are named through their classes (``sim.core.events``): a kind renamed there is renamed here.
_REPLAN = f"kind = {sql_kind(Plan)} AND json_extract(data, '$.scope') = 'replan'"
_INTERVENTION = (
    f"(kind = {sql_kind(Intervene)} OR (kind IN {sql_kinds(ObjectState, Leave)}"
    " AND json_extract(data, '$.by') = 'intervention'))"
)
_WHEREABOUTS = sql_kinds(Spawn, Move, Arrive, Leave)
_ENTERS = frozenset({Spawn.KIND, Arrive.KIND})  # the kinds that put someone somewhere


@dataclass(slots=True)
class Happenings:
    """Items of one kind, in time order: those read (at most the limit) and how many there are."""

    total: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Spread:
    """How far one fact went: who knew it by the end, who planned for it, who came to its gathering."""

    fact: str
    text: str
    people: int  # present at the end
    knew: list[dict[str, Any]]  # person, t, time, how (a memory kind, or "seeded")
    planned: list[dict[str, Any]]  # person, t, time, scope, reason
    gathering: dict[str, Any] | None = None  # place, start, end, reached, came: person, arrived, left, minutes


@dataclass(slots=True)
class Story:
    """The story of a run: its conversations, reactions and interventions, and each fact's spread."""

    conversations: Happenings
    reactions: Happenings
    interventions: Happenings
    facts: list[Spread]
    facts_total: int = 0  # facts the world declares (``facts`` may be cut for a terminal)
    reacting_people: int = 0  # people who re-planned at least once
    talking_pairs: int = 0  # pairs of people who had at least one conversation

    def as_json(self) -> dict[str, Any]:
        """The story as JSON-ready data."""
        return asdict(self)


def read_story(metrics: RunMetrics, limit: int | None = None) -> Story:
    """The story of ``metrics``' run, with at most ``limit`` items of each kind of happening (None: all)."""
    db = metrics.reader.db
    replans, reacting, interventions = db.execute(
        f"SELECT COALESCE(SUM({_REPLAN}), 0), COUNT(DISTINCT CASE WHEN {_REPLAN} THEN person END),"
        f" COALESCE(SUM({_INTERVENTION}), 0) FROM event WHERE kind IN {sql_kinds(Plan, Intervene, ObjectState, Leave)}"
    ).fetchone()
    talks, pairs = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT MIN(person, json_extract(data, '$.with')) || char(10)"
        f" || MAX(person, json_extract(data, '$.with'))) FROM event WHERE kind = {sql_kind(Talk)}"
    ).fetchone()
    joined, left = _presence(db)
    return Story(
        conversations=Happenings(talks, list(_conversations(db, limit))),
        reactions=Happenings(
            replans,
            [
                {"t": t, "time": time, "person": person, "reason": json.loads(data).get("reason", "")}
                for t, time, person, data in _first(db, "t, time, person, data", _REPLAN, limit)
            ],
        ),
        interventions=Happenings(
            interventions,
            [
                _intervention(t, time, kind, person, place, json.loads(data))
                for t, time, kind, person, place, data in _first(
                    db, "t, time, kind, person, place, data", _INTERVENTION, limit
                )
            ],
        ),
        facts=[_spread(metrics, fact, joined, left) for fact in metrics.facts()],
        facts_total=len(metrics.facts()),
        reacting_people=reacting,
        talking_pairs=pairs,
    )


def _first(db: sqlite3.Connection, columns: str, where: str, limit: int | None) -> list[tuple[Any, ...]]:
    """The first ``limit`` events (all if None) matching ``where``, in commit order."""
    return db.execute(
        f"SELECT {columns} FROM event WHERE {where} ORDER BY seq LIMIT ?", (-1 if limit is None else limit,)
    ).fetchall()


def _presence(db: sqlite3.Connection) -> tuple[dict[str, int], set[str]]:
    """Everyone who appeared (the second they first did, in order of appearance) and who was removed for good."""
    rows = db.execute(
        f"SELECT person, MIN(CASE kind WHEN {sql_kind(Spawn)} THEN t END),"
        f" MIN(CASE kind WHEN {sql_kind(Spawn)} THEN seq END), MAX(CASE kind WHEN {sql_kind(Spawn)} THEN seq END),"
        f" MAX(CASE kind WHEN {sql_kind(Leave)} THEN seq END)"
        f" FROM event WHERE kind IN {sql_kinds(Spawn, Leave)} GROUP BY person"
    ).fetchall()
    appeared = sorted((first_seq, person, t) for person, t, first_seq, _, _ in rows if t is not None)
    gone = {person for person, _, _, spawned, removed in rows if removed is not None and (spawned or 0) < removed}
    return {person: t for _, person, t in appeared}, gone


# -- conversations ---------------------------------------------------------------------------


def _conversations(db: sqlite3.Connection, limit: int | None) -> Iterator[dict[str, Any]]:
    talks = _first(db, "seq, t, time, person, place, data", f"kind = {sql_kind(Talk)}", limit)
    for seq, t, time, person, place, data in talks:
        talk = json.loads(data)
        partner = talk.get("with")
        lines, ended = _lines(db, seq, person, partner)
        quote = max(lines, key=lambda line: len(line[1].split()), default=None)  # the first of the longest
        yield {
            "t": t,
            "time": time,
            "people": [person, partner],
            "place": place,
            "topic": talk.get("topic", ""),
            "lines": len(lines),
            "ended": ended,
            "quote": {"person": quote[0], "text": quote[1]} if quote else None,
        }


def _lines(
    db: sqlite3.Connection, seq: int, person: str, partner: str | None
) -> tuple[list[tuple[str, str]], str | None]:
    """The lines of the conversation ``person`` began with ``partner`` at event ``seq``, and why it ended (None: not yet)."""
    pair = {person, partner}
    lines: list[tuple[str, str]] = []
    rows = db.execute(
        f"SELECT kind, person, data FROM event WHERE seq > ? AND seq <= ? AND kind IN {sql_kinds(Say, TalkEnd)}"
        " ORDER BY seq",
        (seq, seq + CONVERSATION_SCAN),
    )
    for kind, speaker, data in rows:
        said = json.loads(data)
        if kind == TalkEnd.KIND and speaker == person and said.get("with") == partner:
            return lines, str(said.get("reason", ""))
        if kind == Say.KIND and said.get("turn") is not None and {speaker, said.get("to")} == pair:
            lines.append((speaker, str(said.get("text", ""))))
    return lines, None


def _intervention(
    t: int, time: str, kind: str, person: str | None, place: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    """An intervention's event as what was done: inject, whisper, set_object, add_person or remove_person."""
    what = {ObjectState.KIND: "set_object", Leave.KIND: "remove_person"}.get(kind, data.get("kind"))
    text = data.get("text") or (f"the {data.get('object')} now {data.get('state')}" if kind == ObjectState.KIND else "")
    return {"t": t, "time": time, "kind": what, "person": person, "place": place, "text": text}


# -- facts -------------------------------------------------------------------------------------


def _spread(metrics: RunMetrics, fact: FactSpec, joined: dict[str, int], left: set[str]) -> Spread:
    present = [p for p in joined if p not in left]
    known = _knowing(metrics.reader.db, fact, joined)
    knew: list[dict[str, Any]] = [
        {"person": p, "t": known[p][0], "time": metrics.when(known[p][0]), "how": known[p][1]}
        for p in sorted((p for p in present if p in known), key=lambda p: known[p][0])
    ]
    spread = Spread(fact.name, fact.text, len(present), knew, _planned(metrics, fact))
    window = metrics.gathering(fact)
    if window is not None:
        spread.gathering = _gathering(metrics, window)
    return spread


def _candidates(db: sqlite3.Connection, column: str, fact: FactSpec) -> tuple[str, list[str]]:
    """An SQL condition on ``column`` true of every text that may carry ``fact``, and its arguments."""
    pieces = fragments(fact)
    if pieces is None:
        return "1", []
    db.create_function("may_fold", 1, _may_fold, deterministic=True)
    return "(" + " OR ".join([f"{column} LIKE ?"] * len(pieces) + [f"may_fold({column})"]) + ")", [
        f"%{p}%" for p in pieces
    ]


_FOLDS = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in FOLDS_TO_PLAIN) + "]")


def _may_fold(text: str | None) -> bool:
    """Whether ``text`` has a character the rule reads as a plain letter or digit (or a JSON escape, which may be one)."""
    return text is not None and (_FOLDS.search(text) is not None or "\\u" in text)


def _knowing(db: sqlite3.Connection, fact: FactSpec, joined: dict[str, int]) -> dict[str, tuple[int, str]]:
    """Person -> (second they first knew ``fact``, how): ``RunMetrics.knowing``'s answer, reading only the
    memories that may carry it, and of each person only up to the first that does."""
    where, args = _candidates(db, "text", fact)
    everyone = list(joined)
    first: dict[str, tuple[int, str]] = {}
    for person, since in joined.items():
        seeded = person in fact.seeded_to
        # A seeded person knows from their arrival, unless a memory of theirs carried it before.
        rows = db.execute(
            f"SELECT t, kind, text FROM memory WHERE person = ? AND {where}"
            f"{' AND t < ?' if seeded else ''} ORDER BY id",
            [person, *args, *([since] if seeded else [])],
        )
        for t, kind, text in rows:
            if memory_carries(fact, kind, text, everyone, person):
                first[person] = (t, kind)
                break
        else:
            if seeded:
                first[person] = (since, "seeded")
    return first


def _planned(metrics: RunMetrics, fact: FactSpec) -> list[dict[str, Any]]:
    """``RunMetrics.plans``' rows (each person's first plan for ``fact``), read from the plans that may carry it."""
    where, args = _candidates(metrics.reader.db, "data", fact)
    rows = metrics.reader.db.execute(
        f"SELECT t, person, data FROM event WHERE kind = {sql_kind(Plan)} AND {where} ORDER BY seq", args
    )
    # the story names who and why, not the items (those are the metrics' table)
    return [{k: v for k, v in row.items() if k != "items"} for row in first_plans(fact, rows, metrics.when).values()]


# -- gatherings --------------------------------------------------------------------------------


def reach(window: Window, end: int) -> str:
    """How far a run that ends at second ``end`` reached into ``window``: ``ahead`` (it ended before the window
    began: nobody could have come), ``during`` (it ended in the window) or ``past``."""
    return "ahead" if window.start >= end else "during" if window.end > end else "past"


def _gathering(metrics: RunMetrics, window: Window) -> dict[str, Any]:
    """Who came to the window's place during it, as ``RunMetrics.attendance`` counts them, and whether the run reached it."""
    reached = reach(window, metrics.end)
    came = [] if reached == "ahead" else _attendance(metrics, window)
    return {
        "place": window.place,
        "start": metrics.when(window.start),
        "end": metrics.when(window.end),
        "run_end": metrics.when(metrics.end),
        "reached": reached,
        "came": came,
    }


def _attendance(metrics: RunMetrics, window: Window) -> list[dict[str, Any]]:
    """Each stay at the place that overlaps the window: everyone's whereabouts just before it, then its moves."""
    areas = metrics.areas_of(window.place)
    db = metrics.reader.db
    # SQLite takes the other columns of an aggregate query's row from the row holding the MAX.
    before = db.execute(
        f"SELECT person, kind, place, MAX(seq) FROM event WHERE kind IN {_WHEREABOUTS} AND t < ? GROUP BY person",
        (window.start,),
    ).fetchall()
    here = {person: window.start for person, kind, place, _ in before if kind in _ENTERS and place in areas}
    stays: dict[str, list[int]] = {}  # person -> [arrived, left, seconds]

    def close(person: str, t: int) -> None:
        begin = here.pop(person, None)
        if begin is not None and t > begin:
            stay = stays.setdefault(person, [begin, t, 0])
            stay[0], stay[1], stay[2] = min(stay[0], begin), max(stay[1], t), stay[2] + t - begin

    finish = min(window.end, metrics.end)
    for t, kind, person, place in db.execute(
        f"SELECT t, kind, person, place FROM event WHERE kind IN {_WHEREABOUTS} AND t >= ? AND t < ? ORDER BY seq",
        (window.start, finish),
    ):
        close(person, t)
        if kind in _ENTERS and place in areas:
            here[person] = t
    for person in list(here):
        close(person, finish)
    return [
        {"person": p, "arrived": metrics.when(a), "left": metrics.when(b), "minutes": round(s / 60, 1)}
        for p, (a, b, s) in sorted(stays.items(), key=lambda item: item[1][0])
    ]
