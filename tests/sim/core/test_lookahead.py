"""Thinking ahead: the rule's arithmetic, and a log identical to the tick-by-tick schedule's in every table."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import agents  # noqa: F401  (registers the minds)
from benchmarks import crash
from benchmarks.towns import town
from sim.core import ahead as ahead_module
from sim.core import conversation as conversation_module
from sim.core import engine as engine_module
from sim.core import lookahead
from sim.core.ahead import CHAINED, ThinkingAhead, decided
from sim.core.conversation import Conversation
from sim.core.engine import Simulation
from sim.core.lookahead import LookaheadBroken, Source, Walks, safe
from sim.core.mind import Decision, Talk
from sim.core.world import World
from sim.llm.gateway import Endpoint, Gateway
from sim.llm.inprocess import ScriptedTransport
from sim.llm.scripted import ScriptConfig, ScriptedModel, model_name
from sim.runfile.log import RunLog, create_run_file
from sim.worldfile.cast import cast
from sim.worldfile.scenario import parse_scenario
from tests.conftest import ROOT
from tests.sim.in_process import run_in_process

SMALLVILLE = (ROOT / "worlds" / "smallville.yaml").read_text(encoding="utf-8")


def run(
    tmp_path: Path,
    text: str,
    schedule: str,
    *,
    hours: float,
    seed: int,
    latency_ms: float = 20,
    name: str = "",
    concurrency: int = 8,
    window: int | None = None,
) -> tuple[Path, Simulation]:
    """Run ``text`` in this process on the scripted model answering after ``latency_ms``."""
    path = tmp_path / f"{name or schedule}.db"
    sim = run_in_process(
        path,
        text,
        hours,
        seed=seed,
        model=ScriptedModel(ScriptConfig(seed=seed, latency_ms=latency_ms)),
        concurrency=concurrency,
        schedule=schedule,
        lookahead=window,
        timeout_s=30.0,
    )
    return path, sim


# -- the rule ----------------------------------------------------------------------------


def test_a_source_blocks_a_wake_up_it_can_walk_to_in_time_and_not_one_it_cannot() -> None:
    world = World(parse_scenario(SMALLVILLE))
    walk = Walks(world)
    home, cafe = "Achterberg House:kitchen", "Kettle & Crumb:counter"
    minutes = world.route(home, cafe).minutes
    seconds = walk(home, cafe)
    assert 0 < seconds <= minutes * 60, "a lower bound on the real walk"
    near = [Source(0, home, "Anna")]
    assert not safe("Bo", cafe, seconds, near, walk), "Anna could be there by then"
    assert safe("Bo", cafe, seconds - 1, near, walk), "Anna cannot be there yet"
    assert not safe("Bo", home, 0, near, walk), "the same area at the same second: Anna's tick may come first"
    assert safe("Anna", home, 600, near, walk), "a person's own wake-up is no source for them"
    assert not safe("Bo", cafe, 600, [Source(5, None, None)], walk), "an intervention reaches every place"


def test_walks_never_exceed_what_moves_of_rounded_seconds_can_take() -> None:
    world = World(parse_scenario(SMALLVILLE))
    walk = Walks(world)
    areas = sorted(world.graph.nodes)
    for source in areas[::5]:
        for target in areas[::7]:
            if source != target:
                assert walk(source, target) <= max(1, round(world.route(source, target).minutes * 60))


def test_walking_times_of_zero_leave_one_second_between_areas() -> None:
    data = yaml.safe_load(SMALLVILLE)
    for sector in data["sectors"]:
        sector["inner_minutes"] = 0
    for link in data["links"]:
        link["minutes"] = 0.001  # links must take some time; areas of a sector may take none
    world = World(parse_scenario(yaml.safe_dump(data)))
    walk = Walks(world)
    assert walk("Achterberg House:kitchen", "Kettle & Crumb:counter") == 1


@pytest.mark.slow
def test_a_world_of_walks_that_take_no_time_runs_as_barrier_runs_it(tmp_path: Path) -> None:
    """No lookahead to speak of (everyone is a second away): still the tick-by-tick log, every way."""
    data = yaml.safe_load(SMALLVILLE)
    for sector in data["sectors"]:
        sector["inner_minutes"] = 0
    for link in data["links"]:
        link["minutes"] = 0.001
    text = yaml.safe_dump(data)
    barrier, _ = run(tmp_path, text, "barrier", hours=2, seed=4)
    expected = crash.dump(barrier)
    for schedule in ("lookahead", "speculate"):
        ahead, sim = run(tmp_path, text, schedule, hours=2, seed=4)
        assert crash.differences(expected, crash.dump(ahead)) == [], schedule
        if schedule == "speculate":
            assert sim.thought_ahead > 0, "speculation still thinks ahead where the rule cannot"


@pytest.mark.slow
def test_a_lookahead_window_thinks_nothing_further_ahead_and_changes_no_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--lookahead 600``: no wake-up, reflection or conversation is started more than 600 simulated seconds before
    the clock gets there (without the window some are), the log stays barrier's; ``--lookahead 0`` thinks nothing
    ahead."""
    reach: list[int] = []  # how far ahead of the clock each piece of thinking ahead started
    think_ahead, talk_ahead = ThinkingAhead._think_ahead, ThinkingAhead._talk_ahead

    def thought(self: ThinkingAhead, name: str, t: int, *rest: Any) -> Any:
        reach.append(t - self.clock.now)
        return think_ahead(self, name, t, *rest)

    def talked(self: ThinkingAhead, name: str, at: int, *rest: Any) -> Any:
        started = talk_ahead(self, name, at, *rest)
        if started is not None:
            reach.append(at - self.clock.now)
        return started

    monkeypatch.setattr(ThinkingAhead, "_think_ahead", thought)
    monkeypatch.setattr(ThinkingAhead, "_talk_ahead", talked)
    barrier, _ = run(tmp_path, SMALLVILLE, "barrier", hours=3, seed=2)
    expected = crash.dump(barrier)
    assert reach == []
    run(tmp_path, SMALLVILLE, "speculate", hours=3, seed=2, name="unlimited")
    assert max(reach) > 600, "without a window, some wake-up is thought through further ahead"
    reach.clear()
    windowed, sim = run(tmp_path, SMALLVILLE, "speculate", hours=3, seed=2, name="window", window=600)
    assert crash.differences(expected, crash.dump(windowed)) == []
    assert reach and max(reach) <= 600 and sim.thought_ahead == len(reach)
    reach.clear()
    none, sim = run(tmp_path, SMALLVILLE, "speculate", hours=3, seed=2, name="none", window=0)
    assert crash.differences(expected, crash.dump(none)) == []
    assert reach == [] and sim.thought_ahead == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_reflections_thought_through_early_write_the_log_barrier_writes(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reflection is a unit of its own a second after the decision that asked for it; speculation starts it early."""
    early: list[str] = []
    think_ahead = ThinkingAhead._think_ahead

    def spied(self: ThinkingAhead, name: str, t: int, area: str | None, reason: str, *rest: Any) -> Any:
        if reason == "reflect":
            early.append(name)
        return think_ahead(self, name, t, area, reason, *rest)

    monkeypatch.setattr(ThinkingAhead, "_think_ahead", spied)
    text = SMALLVILLE.replace("reflection_threshold: 150", "reflection_threshold: 20")
    barrier, _ = run(tmp_path, text, "barrier", hours=3, seed=seed)
    expected = crash.dump(barrier)
    with sqlite3.connect(barrier) as db:
        reflected = db.execute("SELECT COUNT(*) FROM llm_call WHERE purpose = 'reflection_questions'").fetchone()[0]
        mixed = db.execute(
            "SELECT COUNT(*) FROM (SELECT tick, person FROM llm_call GROUP BY tick, person"
            " HAVING SUM(purpose = 'reflection_questions') > 0 AND SUM(purpose = 'decompose') > 0)"
        ).fetchone()[0]
    assert reflected >= 3, "people reflected"
    assert mixed == 0, "a reflection is never in the unit of the decision that asked for it"
    for schedule in ("lookahead", "speculate"):
        ahead, _ = run(tmp_path, text, schedule, hours=3, seed=seed)
        assert crash.differences(expected, crash.dump(ahead)) == [], schedule
        if schedule == "lookahead":
            assert early == [], "the rule never starts a reflection early"
    assert early, "speculation started some reflection before its second"


@pytest.mark.slow
def test_speculation_thinks_arrivals_through_and_drops_at_once_what_the_tick_foretells_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An arrival waiting in the clock is thought through where the walk ends (not only one its own decision named);
    a decision of the tick under way, or someone's next decision made ahead, that changes a speculated place drops
    that speculation before its second."""
    arrivals: list[str] = []
    by_ahead: list[int] = []  # speculations dropped early when only decisions made ahead were new to the check
    think_ahead, recheck = ThinkingAhead._think_ahead, ThinkingAhead._recheck

    def rechecked(self: ThinkingAhead) -> None:
        tick_new = any(name not in self._told and decided(task) for name, (_, _, task) in self._deciding.items())
        before = self.foreseen
        recheck(self)
        if not tick_new and self.foreseen > before:
            by_ahead.append(self.foreseen - before)

    def spied(self: ThinkingAhead, name: str, t: int, area: str | None, reason: str, counter: int, *rest: Any) -> Any:
        if reason == "arrived" and counter != CHAINED:
            arrivals.append(name)
        return think_ahead(self, name, t, area, reason, counter, *rest)

    monkeypatch.setattr(ThinkingAhead, "_think_ahead", spied)
    monkeypatch.setattr(ThinkingAhead, "_recheck", rechecked)
    text = worlds()["town25"]
    barrier, _ = run(tmp_path, text, "barrier", hours=2, seed=1)
    expected = crash.dump(barrier)
    ahead, sim = run(tmp_path, text, "lookahead", hours=2, seed=1)
    assert crash.differences(expected, crash.dump(ahead)) == []
    assert arrivals == [] and sim.foreseen == 0, "the rule thinks through wake-ups of people staying put, only"
    ahead, sim = run(tmp_path, text, "speculate", hours=2, seed=1)
    assert crash.differences(expected, crash.dump(ahead)) == []
    assert arrivals, "some arrival was thought through from the clock's entry"
    assert sim.foreseen > 0, "some speculation was dropped when a decision of the tick foretold its place otherwise"
    assert by_ahead, "some was dropped when someone's next decision, made ahead, foretold its place otherwise"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_a_conversation_thought_through_early_is_the_one_the_clock_gets_to(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversation started by a decision made ahead runs before its tick; when the clock gets there and the commit
    queued the same one, its lines are taken as they are (nothing is asked again), and the log is barrier's. The
    wake-up ending a committed conversation is thought through before its second too, its lines in the percept."""
    early: list[bool] = []
    after_talk: list[bool] = []  # per wake-up ending a conversation: whether the one thought through early was kept
    conversation, decision = Simulation._conversation, Simulation._decision

    def spied(self: Simulation, talk: Conversation, t: int, now: datetime) -> Any:
        unit, task = conversation(self, talk, t, now)
        early.append(unit is not talk)  # the one thought through early, not the clock's entry
        return unit, task

    def decided(self: Simulation, name: str, t: int, now: datetime, reason: str) -> Any:
        ahead = self._ahead.get(name)
        task = decision(self, name, t, now, reason)
        if reason == "talked":
            after_talk.append(ahead is not None and task is ahead.task)
        return task

    monkeypatch.setattr(Simulation, "_conversation", spied)
    monkeypatch.setattr(Simulation, "_decision", decided)
    text = worlds()["town25"]
    barrier, _ = run(tmp_path, text, "barrier", hours=3, seed=seed)
    assert early and not any(early), "the tick-by-tick schedule holds every conversation at its tick"
    assert after_talk and not any(after_talk)
    expected = crash.dump(barrier)
    early.clear()
    after_talk.clear()
    ahead, sim = run(tmp_path, text, "speculate", hours=3, seed=seed)
    assert crash.differences(expected, crash.dump(ahead)) == []
    assert any(early), "some conversation was thought through before its tick and kept"
    # (in seed 1's first hours, whenever a conversation ends, someone else in the house has not yet decided what
    # they will be doing when it does: nothing to foresee, so nothing thought through early)
    assert seed == 1 or any(after_talk), "some wake-up after a conversation was thought through early and kept"


@pytest.mark.slow
def test_a_hundred_people_speculating_hold_one_conversation_each_at_a_time_and_write_barriers_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Houses of ten, a hundred people: conversations thought through early among many others under way.

    Nobody is ever in two conversations being held at once (the unit test below pins the rule that
    keeps it so; here it runs at scale), and every table is the tick-by-tick schedule's.
    """
    talking: dict[str, asyncio.Task[Any]] = {}  # person -> the task holding their conversation
    overlaps: list[tuple[str, ...]] = []
    held = conversation_module.hold

    async def spied(talk: Conversation, minds: dict[str, Any], now: datetime, *rest: Any) -> Conversation:
        pair = (talk.initiator, talk.partner)
        # A dropped conversation's task is cancelled at once but unwinds a step later (its calls are cancelled
        # first): it asks nothing more, so only a conversation still going counts as held.
        if any(p in talking and not talking[p].cancelling() for p in pair):
            overlaps.append(pair)
        mine = asyncio.current_task()
        assert mine is not None
        talking.update(dict.fromkeys(pair, mine))
        try:
            return await held(talk, minds, now, *rest)
        finally:
            for p in pair:
                if talking.get(p) is mine:
                    del talking[p]

    monkeypatch.setattr(engine_module, "hold", spied)
    monkeypatch.setattr(ahead_module, "hold", spied)
    text = yaml.safe_dump(town(100, seed=3, mind="generative"), allow_unicode=True)
    barrier, _ = run(tmp_path, text, "barrier", hours=4, seed=5)
    ahead, sim = run(tmp_path, text, "speculate", hours=4, seed=5)
    assert overlaps == []
    assert crash.differences(crash.dump(barrier), crash.dump(ahead)) == []
    assert sim.thought_ahead > sim.redone > 0


# -- the log -----------------------------------------------------------------------------


def worlds() -> dict[str, str]:
    generated = town(25, seed=3, hours=3, mind="generative")
    # whispers, an injected text, an object set, a person added and one removed, at fixed times
    interventions = (ROOT / "tests" / "sim" / "fixtures" / "events" / "interventions.yaml").read_text(encoding="utf-8")
    return {
        "smallville": SMALLVILLE,
        "town25": yaml.safe_dump(generated, allow_unicode=True),
        "interventions": interventions,
    }


HOURS = {"smallville": 4, "town25": 2, "interventions": 8}  # the town's first hours are mostly asleep


@pytest.mark.slow
@pytest.mark.parametrize("world", list(HOURS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thinking_ahead_writes_the_log_the_tick_by_tick_schedule_writes(world: str, seed: int, tmp_path: Path) -> None:
    """Every table, snapshots included (which save those thinking ahead as they were before)."""
    text = worlds()[world]
    hours = HOURS[world]
    barrier, _ = run(tmp_path, text, "barrier", hours=hours, seed=seed)
    expected = crash.dump(barrier)
    for schedule in ("lookahead", "speculate"):
        ahead, sim = run(tmp_path, text, schedule, hours=hours, seed=seed)
        # the rule seldom lets anyone in where interventions land anywhere at fixed times; speculation always tries
        if schedule == "speculate" or world != "interventions":
            assert sim.thought_ahead > 0, f"{schedule}: some wake-ups were thought through ahead"
        assert crash.differences(expected, crash.dump(ahead)) == [], schedule
        if schedule == "lookahead":
            assert sim.redone == 0, "what the rule lets in is never redone"
        elif world in ("town25", "interventions"):
            assert sim.redone > 0, "speculations the world changed under were redone (and the log still matches)"
        if schedule == "speculate":
            assert sim.followed > 0, "some wake-ups were speculated from a decision not yet committed"
        else:
            assert sim.followed == 0, "the rule thinks only wake-ups in the clock ahead"


@pytest.mark.slow
def test_a_rule_that_lets_in_what_it_should_not_stops_the_run_instead_of_logging_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sim.core.ahead.safe", lambda *args: True)  # everyone may think ahead, always
    with pytest.raises(LookaheadBroken):
        run(tmp_path, SMALLVILLE, "lookahead", hours=4, seed=1)


def test_the_module_says_what_a_mind_reads() -> None:
    assert "percept" in (lookahead.__doc__ or "")


# -- the first tick ----------------------------------------------------------------------


def test_the_first_persons_morning_is_written_before_the_others_are_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one call at a time, the earliest moment's first person is asked first and shows first."""
    written: list[tuple[int, set[str]]] = []  # (calls answered so far, people who acted) per batch written
    submit = RunLog.submit
    sims: list[Simulation] = []

    def spy(self: RunLog, batch: Any) -> None:
        acted = {e.person for e in batch.events if e.kind in ("act", "move")}
        if acted and sims:
            written.append((sims[0].gateway.stats.calls, acted))
        submit(self, batch)

    monkeypatch.setattr(RunLog, "submit", spy)
    original = Simulation.begin

    def begin(self: Simulation) -> None:
        sims.append(self)
        original(self)

    monkeypatch.setattr(Simulation, "begin", begin)
    text = cast(SMALLVILLE, "3", "smallville")
    path, sim = run(tmp_path, text, "lookahead", hours=0.05, seed=1, latency_ms=5, concurrency=1)
    first = sorted(p["name"] for p in yaml.safe_load(text)["people"])[0]
    calls, acted = written[0]
    assert acted == {first}, "the first batch with a deed is the first person's alone"
    db = sqlite3.connect(path)
    mine = db.execute("SELECT COUNT(*) FROM llm_call WHERE tick = 1 AND person = ?", (first,)).fetchone()[0]
    everyone = db.execute("SELECT COUNT(*) FROM llm_call WHERE tick = 1").fetchone()[0]
    db.close()
    assert calls == mine < everyone, "written once their calls were answered, before anyone else's"


@pytest.mark.slow
def test_kill_9_while_speculating_then_resume_gives_the_uninterrupted_log(tmp_path: Path) -> None:
    """The crash harness's trial on a run that speculates: snapshots hold people as they were before."""
    world, extra = crash.WORLDS["town"](tmp_path)

    def command(path: Path) -> list[str]:
        return crash.run_args(world, [*extra, "--schedule", "speculate"], 50, path)

    out = tmp_path / "reference.db"
    subprocess.run(command(out), cwd=ROOT, check=True, capture_output=True, timeout=600)
    log = crash.dump(out)
    reference = crash.Reference("town", 50, out, command, log, len(log["event"]), 0.0)
    for index in range(3):
        result = crash.trial(reference, random.Random(index), tmp_path, index, upto=0.8)
        assert result.resume_code == 0, result.resume_err
        assert result.diffs == [], f"killed at {result.killed_at} events"


def test_a_conversation_is_not_thought_through_with_someone_whose_conversation_is_still_held(tmp_path: Path) -> None:
    """The partner (or the one starting it) claimed for, or in, a conversation not committed yet is never claimed
    again by one thought through early: their mind is talking, and both would ask the model at once."""
    log = RunLog(create_run_file(tmp_path / "run.db"))
    model = ScriptedModel(ScriptConfig(seed=1))
    endpoint = Endpoint(None, "x", model_name(model.config.profile), "json_schema", 5.0, 0.01)
    calls: list[dict[str, Any]] = []
    gateway = Gateway(ScriptedTransport(model, 5.0), calls.append, endpoint, concurrency=8)
    sim = Simulation(parse_scenario(SMALLVILLE), log, gateway, calls, seed=1, schedule="speculate")
    sim.begin()
    sim._end = 3600
    hendrik, lotte = "Hendrik Achterberg", "Lotte Achterberg"
    place = sim.world.position[hendrik]
    assert sim.world.position[lotte] == place
    sim.clock.forget(lotte)  # she decides nothing before the conversation's second
    decision = Decision([Talk(lotte, "breakfast")])

    async def attempts() -> tuple[bool, bool, bool]:
        sim.busy[lotte] = sim.clock.now  # claimed for a conversation being held now
        claimed = sim._talk_ahead(hendrik, 60, place, decision) is None
        sim.busy[lotte] = -1
        sim.busy[hendrik] = sim.clock.now
        starting = sim._talk_ahead(hendrik, 60, place, decision) is None
        sim.busy[hendrik] = -1
        free = sim._talk_ahead(hendrik, 60, place, decision)
        if free is not None:
            assert sim._ahead[lotte].task is free.task, "both people's chains end with the same conversation"
            sim._redo(lotte, "the test is over", expected=True)
            await asyncio.gather(free.task, return_exceptions=True)
        return claimed, starting, free is not None

    claimed, starting, free = asyncio.run(attempts())
    log.close()
    assert claimed and starting, "nobody in a conversation under way is claimed by one thought through early"
    assert free, "with both free and nothing to decide first, the conversation is thought through early"
