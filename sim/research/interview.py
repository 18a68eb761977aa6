"""Interviews: ask a person of a recorded (or running) run a question, as they were at a given time."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.core.mind import Interviewee, MindContext, mind_factory
from sim.core.rng import Stream
from sim.core.simtime import RunTime, iso, parse_time
from sim.core.world import World
from sim.errors import UserError
from sim.llm.backends import LLMOptions, open_backend
from sim.llm.gateway import Gateway
from sim.llm.site import moment
from sim.run.build import gateway_for, prepare
from sim.run.control import applied_since
from sim.run.session import merge_options
from sim.runfile import queries as runfile
from sim.runfile.reader import RunReader, writable
from sim.worldfile.names import match_person
from sim.worldfile.scenario import PersonSpec, Scenario, parse_scenario


@dataclass(slots=True)
class Exchange:
    """A question, its answer, and the simulated time the person was asked as of."""

    person: str
    question: str
    answer: str
    time: str


def interview(path_text: str, person: str, question: str, at: str | None, llm: LLMOptions) -> Exchange:
    """Answer ``question`` as ``person`` knew things at ``at`` (default: the run's latest time)."""
    return interview_many(path_text, [(person, question)], at, llm)[0]


def _interviewees(
    scenario: Scenario,
    asked: list[str],
    gateway: Gateway,
    seed: int,
    memories: dict[str, list[dict[str, Any]]],
    snapshot: dict[str, Any] | None,
) -> dict[str, Interviewee]:
    """Each person asked, their mind rebuilt from the snapshot and the memories formed by then."""
    minds: dict[str, Interviewee] = {}
    for person in asked:
        spec = scenario.person(person)
        ctx = MindContext(
            scenario,
            World(scenario),
            gateway,
            Stream(seed, f"interview:{person}"),
            dict(scenario.minds.get(scenario.mind_of(spec), {})),
            recorded=memories[person],
        )
        mind = mind_factory(scenario.mind_of(spec), person)(spec, ctx)
        if not isinstance(mind, Interviewee):
            raise UserError(
                f"PERSON {person!r}: runs the {scenario.mind_of(spec)} mind, which keeps no memories to interview"
            )
        state = (snapshot or {}).get("state", {}).get("minds", {}).get(person)
        if state is not None:
            mind.restore(state)
        minds[person] = mind
    return minds


def interview_many(
    path_text: str, asks: list[tuple[str, str]], at: str | None, llm: LLMOptions, form: type[BaseModel] | None = None
) -> list[Exchange]:
    """Answer each (person, question) as that person knew things at ``at``, with one model backend for all.

    Every exchange is recorded in the ``interview`` table, with its LLM calls; memories are untouched.
    With ``form`` (a probe), each answer is that schema's JSON, or "" if the model gave none.
    """
    path = Path(path_text)
    for _, question in asks:
        if not question.strip():
            raise UserError('QUESTION: empty; ask something, e.g. "What are you doing on Saturday?"')
    asof = _read_as_of(path, asks, at)
    scenario, seed = asof.scenario, asof.run["seed"]
    prepare(scenario, asof.options.get("settings", []))
    merged = merge_options(asof.options, llm)
    when = iso(RunTime(scenario.start).when(asof.second))
    with open_backend(merged, scenario.model, seed) as backend:
        rows: list[dict[str, Any]] = []
        # no budget and no preloaded replies: an interview's questions are new calls, each recorded
        gateway = gateway_for(backend, rows.append, None, preload=False)
        minds = _interviewees(scenario, asof.asked, gateway, int(seed), asof.memories, asof.snapshot)
        answers = asyncio.run(_ask(minds, gateway, asof.asks, asof.second, form))
    exchanges = [
        Exchange(person, question, answer, when) for (person, question), answer in zip(asof.asks, answers, strict=True)
    ]
    _record(path, exchanges, asof.second, backend.endpoint.model, rows)
    return exchanges


@dataclass(slots=True)
class _AsOf:
    """What an interview reads from the run file: the world, who is asked what, and what they knew at ``second``."""

    run: dict[str, Any]
    options: dict[str, Any]  # the run's recorded options
    scenario: Scenario  # the recorded world, with the people added during the run
    asks: list[tuple[str, str]]  # (full name, question)
    asked: list[str]  # each person asked, once, in the order of their first question
    second: int
    snapshot: dict[str, Any] | None
    memories: dict[str, list[dict[str, Any]]]


def _read_as_of(path: Path, asks: list[tuple[str, str]], at: str | None) -> _AsOf:
    """The run at ``at`` (default: its latest time) for the people asked, each of whom must be in the world by then."""
    with RunReader(path) as reader:
        run = reader.run()
        scenario = parse_scenario(run["scenario_yaml"], f"{path} (recorded world)")
        recorded = reader.options()
        added = added_people(scenario, path)
        people = [p.name for p in scenario.people] + [name for name in added if name not in scenario.person_names()]
        try:  # 'sofia' or 'Sofia' asks Sofia Marchetti, as the answer will say
            asks = [(match_person(person, people, among=" in this run"), question) for person, question in asks]
        except ValueError as err:
            raise UserError(f"PERSON: {err}") from None
        instant, second = _interview_time(at, run["sim_now"], scenario.start)
        asked = list(dict.fromkeys(person for person, _ in asks))
        arrived = {e["person"] for e in reader.events(kinds=["spawn"], until=second)}
        for person in asked:
            if person not in scenario.person_names() and person not in arrived:
                raise UserError(
                    f"PERSON {person!r}: not yet in the world at {iso(instant)} (added during the run); "
                    "ask as of a later --at"
                )
        snapshot = reader.latest_snapshot(at_or_before=second)
        memories = {person: reader.memories(person, until=second) for person in asked}
    # People added during the run are interviewed with the spec they were added with.
    scenario = scenario.model_copy(
        update={
            "people": [*scenario.people, *(spec for name, spec in added.items() if name not in scenario.person_names())]
        }
    )
    return _AsOf(run, recorded, scenario, asks, asked, second, snapshot, memories)


def _interview_time(at: str | None, now: str, start: datetime) -> tuple[datetime, int]:
    """The moment asked about (``--at``, or the run's latest time) and its run second; not before the start."""
    try:
        instant = parse_time(at, start) if at else parse_time(now, start)
    except UserError as err:
        raise UserError(f"--at: {err}") from None
    second = RunTime(start).second(instant)  # as of that moment: its fraction of a second dropped
    if second < 0:
        raise UserError(f"--at {at}: {iso(instant)} is before the run's start {iso(start)}")
    return instant, second


def added_people(scenario: Scenario, path: Path) -> dict[str, PersonSpec]:
    """The people a run added (the world's add_person interventions, then live ones), by name."""
    specs = [iv.spec for iv in scenario.interventions if iv.spec is not None]
    specs += [iv.spec for _, iv in applied_since(path, -1) if iv.spec is not None]
    return {spec.name: spec for spec in specs}


async def _ask(
    minds: dict[str, Interviewee],
    gateway: Gateway,
    asks: list[tuple[str, str]],
    second: int,
    form: type[BaseModel] | None = None,
) -> list[str]:
    try:
        # One person's questions in turn (their stream is rebuilt once), different people at once.
        async def person_answers(person: str) -> list[str]:
            return [await minds[person].answer(q, second, form) for p, q in asks if p == person]

        with moment(0, second):  # the interview's calls are stamped with its time
            per_person = await asyncio.gather(*(person_answers(person) for person in minds))
        queues = {person: iter(answers) for person, answers in zip(minds, per_person, strict=True)}
        return [next(queues[person]) for person, _ in asks]
    finally:
        await gateway.aclose()


def _record(path: Path, exchanges: list[Exchange], second: int, model: str, calls: list[dict[str, Any]]) -> None:
    """Add the exchanges and their LLM calls to the run file (alongside a live writer, if any)."""
    if not writable(path):
        logging.getLogger(__name__).warning("%s is read-only: the interview is not recorded in it", path)
        return
    for call in calls:
        call["tick"] = -1  # not part of any tick of the run
    runfile.add_interviews(path, [(e.person, second, e.time, e.question, e.answer, model) for e in exchanges], calls)
