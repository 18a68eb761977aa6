"""The oracle bound: the critical path of a run's model calls, from hand-built logs with known answers and real runs."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sim.core.events import Event
from sim.llm.scripted import ScriptConfig, ScriptedModel
from sim.research.critical import CallRow, EventRow, critical_path, read_bound, unit_weight, without_scoring
from sim.runfile.log import Batch
from tests.sim.core.test_engine import crowd, simulate
from tests.sim.research.handmade import HandRun

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(end: float) -> str:
    """A wall_time ``end`` seconds after the epoch, as the gateway writes it."""
    return (EPOCH + timedelta(seconds=end)).isoformat(timespec="milliseconds")


def call(tick: int, person: str, latency: float, end: float, status: str = "ok") -> CallRow:
    """One request of ``latency`` seconds that ended ``end`` seconds after the epoch."""
    return CallRow(tick, person, status, latency * 1000, stamp(end))


def spawn(person: str, place: str) -> EventRow:
    return EventRow(0, "spawn", person, place)


def test_two_people_who_never_meet_have_the_longer_persons_chain() -> None:
    events = [
        spawn("Ann", "Home:a"),
        spawn("Bo", "Home:b"),
        EventRow(1, "act", "Ann", "Home:a"),
        EventRow(1, "act", "Bo", "Home:b"),
        EventRow(2, "act", "Ann", "Home:a"),
        EventRow(2, "act", "Bo", "Home:b"),
        EventRow(3, "act", "Ann", "Home:a"),
    ]
    calls = [
        call(1, "Ann", 0.3, 0.3),
        call(1, "Bo", 0.5, 0.5),
        call(2, "Ann", 0.1, 0.6),
        call(2, "Ann", 0.1, 0.7),
        call(2, "Bo", 0.5, 1.0),
        call(3, "Ann", 0.4, 1.4),
    ]
    bound = critical_path(calls, events)
    assert bound.critical_s == pytest.approx(1.0)  # Bo: 0.5 + 0.5; Ann's 0.9 never waits for him
    assert (bound.critical_calls, bound.critical_units) == (2, 2)
    assert bound.chain_calls == 4  # Ann's four calls are the longest chain by count
    assert bound.barrier_s == pytest.approx(0.5 + 0.5 + 0.4)  # tick by tick, each waits for its slowest
    assert (bound.calls, bound.units, bound.overlapping_units) == (6, 5, 0)
    assert bound.wall_s == pytest.approx(1.4) and bound.share == pytest.approx(1.0 / 1.4)


def test_a_conversation_joins_the_two_chains() -> None:
    calls = [
        call(1, "Ann", 1.0, 1.0),
        call(1, "Bo", 0.1, 0.1),
        call(2, "Ann", 1.0, 2.0),
        call(3, "Ann", 0.2, 2.2),
        call(3, "Bo", 0.2, 2.4),
        call(4, "Bo", 0.5, 2.9),
    ]
    apart = critical_path(calls, [spawn("Ann", "Home:a"), spawn("Bo", "Home:a")])
    assert apart.critical_s == pytest.approx(2.2)  # Ann's three decisions; Bo's 0.8 s beside them
    talk = [
        spawn("Ann", "Home:a"),
        spawn("Bo", "Home:a"),
        EventRow(3, "say", "Ann", "Home:a"),
        EventRow(3, "say", "Bo", "Home:a"),
        EventRow(3, "talk_end", "Ann", "Home:a", "Bo"),
    ]
    joined = critical_path(calls, talk)
    assert joined.critical_s == pytest.approx(1.0 + 1.0 + 0.4 + 0.5)  # Ann, Ann, both talking, then Bo
    assert (joined.critical_calls, joined.critical_units, joined.units) == (5, 4, 5)


def test_an_event_at_someones_place_makes_their_next_unit_depend_on_its_author() -> None:
    calls = [call(1, "Ann", 1.0, 1.0), call(2, "Bo", 0.5, 1.5)]

    def bound(bo_at: str, ann_does: str = "act", bo_tick: int = 2) -> float:
        events = [spawn("Ann", "Home:a"), spawn("Bo", bo_at), EventRow(1, ann_does, "Ann", "Home:a")]
        return critical_path([calls[0], calls[1]._replace(tick=bo_tick)], events).critical_s

    assert bound("Home:a") == pytest.approx(1.5)  # Bo perceived what Ann did, then decided
    assert bound("Home:b") == pytest.approx(1.0)  # elsewhere: nothing of Ann's reached him
    assert bound("Home:a", "say") == pytest.approx(1.5)  # a line said in his room reaches him too
    # a tick's commits come after its percepts: Bo deciding in the same tick did not see it
    assert bound("Home:a", bo_tick=1) == pytest.approx(1.0)


def test_who_arrives_somewhere_depends_on_what_stands_there_not_on_what_was_said() -> None:
    def bound(ann_does: str) -> float:
        events = [
            spawn("Ann", "Home:a"),
            spawn("Bo", "Home:b"),
            EventRow(1, ann_does, "Ann", "Home:a"),
            EventRow(1, "move", "Bo", "Home:b"),
            EventRow(2, "arrive", "Bo", "Home:a"),
        ]
        calls = [call(1, "Ann", 1.0, 1.0), call(1, "Bo", 0.1, 0.1), call(2, "Bo", 0.1, 1.1)]
        return critical_path(calls, events).critical_s

    assert bound("act") == pytest.approx(1.1)  # Bo arrives to find Ann doing what she decided
    assert bound("say") == pytest.approx(1.0)  # her words were gone before he came: his 0.2 s beside her 1 s


def test_an_arrival_reaches_those_present_from_the_unit_that_set_off() -> None:
    events = [
        spawn("Ann", "Home:a"),
        spawn("Bo", "Home:b"),
        EventRow(1, "move", "Ann", "Home:a"),
        EventRow(3, "arrive", "Ann", "Home:b"),
    ]
    calls = [call(1, "Ann", 1.0, 1.0), call(2, "Bo", 0.2, 0.2), call(3, "Bo", 0.2, 1.2)]
    assert critical_path(calls, events).critical_s == pytest.approx(1.2)  # Ann's move, then Bo seeing her come


def test_overlapping_attempts_of_one_unit_count_side_by_side_and_others_in_series() -> None:
    # two remembered a conversation at once: [0.0, 0.2], then [0.2, 0.4] and [0.21, 0.41] together
    calls, seconds, path_calls, overlapped = unit_weight([(0.2, 0.2), (0.2, 0.4), (0.2, 0.41)])
    assert (calls, path_calls, overlapped) == (2, 2, True) and seconds == pytest.approx(0.4)
    assert unit_weight([(0.2, 0.2), (0.2, 0.4), (0.2, 0.6)])[:2] == (3, pytest.approx(0.6))
    assert unit_weight([(0.2, None), (0.2, None)]) == (2, pytest.approx(0.4), 2, False)  # no times: a chain
    assert unit_weight([]) == (0, 0.0, 0, False)


def test_cached_replayed_and_copied_calls_weigh_nothing() -> None:
    events = [spawn("Ann", "Home:a")]
    calls = [
        call(1, "Ann", 0.5, 0.5),
        call(2, "Ann", 0.0, 0.5, "cached"),
        call(2, "Ann", 0.0, 0.5, "fallback"),
        call(3, "Ann", 0.0, 0.5, "replay_miss"),
        call(4, "Ann", 0.3, 0.8),
        call(4, "Ann", 0.0, 0.8, "fallback"),
    ]
    bound = critical_path(calls, events)
    assert (bound.calls, bound.critical_calls) == (2, 2) and bound.critical_s == pytest.approx(0.8)
    fork = critical_path(calls, events, since_tick=2)  # a fork's ticks up to 2 are its parent's rows
    assert (fork.calls, fork.critical_s, fork.wall_s) == (1, pytest.approx(0.3), pytest.approx(0.3))


def test_a_team_step_waits_for_the_previous_step_and_everything_before_it() -> None:
    events = [spawn("Ann", "Office:a"), spawn("Ceo", "Office:b"), spawn("Dev", "Office:b")]
    calls = [call(1, "Ann", 1.0, 1.0), call(1, "Ceo", 0.2, 0.2), call(1, "Dev", 0.2, 0.4), call(2, "Ceo", 0.3, 1.3)]
    bound = critical_path(calls, events, team=["Ceo", "Dev"])
    assert bound.critical_s == pytest.approx(1.3) and bound.units == 3  # Ann's decision, then the team's step
    assert critical_path(calls, events).critical_s == pytest.approx(1.0)  # as people, Ceo never waited for Ann


def test_a_real_run_never_beats_its_bound_and_its_partners_remember_side_by_side(tmp_path: Path) -> None:
    # eager talks to whoever is there: a conversation by the profile's rule, not by a lucky draw
    run = simulate(
        tmp_path,
        crowd("generative", 3),
        hours=2,
        model=ScriptedModel(ScriptConfig(seed=1, latency_ms=20, profile="eager")),
    )
    with sqlite3.connect(run) as db:
        bound = read_bound(db)
        rows = db.execute("SELECT person, SUM(latency_ms) / 1000.0, COUNT(*) FROM llm_call GROUP BY person").fetchall()
        talks = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'talk_end'").fetchone()[0]
    assert bound.calls == sum(count for _, _, count in rows)
    assert max(seconds for _, seconds, _ in rows) <= bound.critical_s + 1e-9  # every person's own chain is in it
    assert bound.critical_s <= bound.barrier_s + 1e-9 <= sum(seconds for _, seconds, _ in rows) + 2e-9
    assert bound.wall_s is not None and bound.critical_s <= bound.wall_s  # the run waited for every dependency
    assert bound.critical_calls <= bound.chain_calls <= bound.calls
    assert talks >= 1 and bound.overlapping_units >= 1  # the two remembered their conversation at once


HAND_CALLS = (
    (1, "Ann Reed", 1.0, 1.0, "decide"),
    (2, "Ann Reed", 1.0, 2.0, "decide"),
    (3, "Bo Lane", 0.5, 2.5, "decide"),
    (1, "Cy Moss", 0.25, 0.25, "decide"),
)
"""``hand_run``'s requests: (tick, person, latency, end, purpose)."""


def hand_run(path: Path, calls: tuple[tuple[int, str, float, float, str], ...] = HAND_CALLS) -> Path:
    """A handmade run file: Ann decides twice (1 s each) and acts; Bo, in her room, then decides (0.5 s); Cy beside them.

    ``calls``: other requests instead (the events stay).
    """
    run = HandRun(path)
    happened = [(0, "run_start", None, None, {"world": "Handmade"})]
    happened += [
        (0, "spawn", person, "Home:room", {"home": "Home:room"}) for person in ("Ann Reed", "Bo Lane", "Cy Moss")
    ]
    happened += [(2, "act", "Ann Reed", "Home:room", {"activity": "reads"})]
    run.log.submit(
        Batch(
            events=[
                Event(60 * tick, kind, person, place, data, seq, tick, f"2026-03-02T08:0{tick}:00")
                for seq, (tick, kind, person, place, data) in enumerate(happened, 1)
            ]
        )
    )
    rows: list[dict[str, Any]] = []
    for tick, person, latency, end, purpose in calls:
        rows.append(
            {
                "tick": tick,
                "t": 60 * tick,
                "person": person,
                "purpose": purpose,
                "model": "scripted",
                "attempt": 1,
                "status": "ok",
                "cache_key": f"{tick}{person}{end}",
                "cache_hit": False,
                "fallback": False,
                "request": "{}",
                "response": "{}",
                "error": "",
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "cost_usd": 0.0,
                "latency_ms": latency * 1000,
                "wall_time": stamp(end),
            }
        )
    run.log.submit(Batch(llm_calls=rows))
    return run.close()


def test_the_what_if_without_scoring_takes_off_the_scores_that_end_a_unit_then_every_score(tmp_path: Path) -> None:
    # Ann scores, reacts, scores again at tick 1, then decides at 2 and acts; Bo, in her room, decides at 3
    run = hand_run(
        tmp_path / "scores.db",
        (
            (1, "Ann Reed", 0.5, 0.5, "importance"),
            (1, "Ann Reed", 1.0, 1.5, "reaction"),
            (1, "Ann Reed", 0.5, 2.0, "importance"),
            (2, "Ann Reed", 1.0, 3.0, "decompose"),
            (3, "Bo Lane", 0.5, 3.5, "reaction"),
        ),
    )
    with sqlite3.connect(run) as db:
        bounds = without_scoring(db)
        assert bounds["as run"].critical_s == pytest.approx(read_bound(db).critical_s) == pytest.approx(3.5)
    assert bounds["trailing"].critical_s == pytest.approx(3.0)  # the score Ann's reaction waited for stays
    assert bounds["none"].critical_s == pytest.approx(2.5)
    assert (bounds["as run"].calls, bounds["trailing"].calls, bounds["none"].calls) == (5, 4, 3)


def test_show_reports_the_bound_next_to_the_wall_time(hamlet, tmp_path: Path) -> None:
    run = hand_run(tmp_path / "hand.db")
    shown = json.loads(hamlet("show", run, "--json").out)["critical_path"]
    assert shown["calls"] == 4 and shown["critical_calls"] == 3 and shown["critical_s"] == 2.5
    assert shown["wall_s"] == 2.5 and shown["share"] == 1.0 and shown["wall_source"] == "llm_call"
    assert shown["run_s"] is not None and shown["barrier_s"] == 2.5 and shown["chain_calls"] == 3
    assert set(shown) == {
        "calls",
        "units",
        "overlapping_units",
        "chain_calls",
        "critical_s",
        "critical_calls",
        "critical_units",
        "barrier_s",
        "wall_s",
        "run_s",
        "wall_source",
        "share",
    }
    text = hamlet("show", run).out
    assert "Critical   path 2.5 s (3 of 4 requests) · requests spanned 2.5 s · 100% of the limit" in text.splitlines()


def test_a_forks_copied_prefix_is_left_out_of_its_bound(hamlet, tmp_path: Path) -> None:
    run = hand_run(tmp_path / "fork.db")
    with sqlite3.connect(run) as db:  # as hamlet fork records a branch made from the snapshot of tick 1
        db.execute(
            "UPDATE run SET options = ?",
            (json.dumps({"llm": "scripted", "settings": [], "fork": {"parent": "p.db", "snapshot_tick": 1}}),),
        )
    shown = json.loads(hamlet("show", run, "--json").out)["critical_path"]
    assert (shown["calls"], shown["critical_calls"], shown["critical_s"], shown["wall_s"]) == (2, 2, 1.5, 1.5)
