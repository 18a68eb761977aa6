"""Live control: whispers, pause, stop and resume reach a running simulation through its run file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from sim.run import control
from tests.conftest import assert_one_line_error, count_events, hamlet_process, record_run, run_in_background
from tests.sim.run.test_resume import busy_world, events_export, start_run

WHISPER = "The old mill will be turned into a cinema next spring."


def _query(run: Path, sql: str, *args: object) -> list[tuple]:
    db = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def _wait(condition, what: str, timeout: float = 120) -> None:
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)


def _live(run: Path) -> bool:
    try:
        return count_events(run) > 0 and _query(run, "SELECT status FROM run")[0][0] == "running"
    except (sqlite3.Error, IndexError):
        return False


def _generative_world(folder: Path) -> Path:
    from tests.agents.test_generative import generative_town

    path = generative_town(folder, people=3)
    data = yaml.safe_load(path.read_text())
    data["snapshot_minutes"] = 30 * 24 * 60  # the only snapshot is the first, so a resume redoes the whisper
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.slow
def test_a_whisper_to_a_live_run_becomes_a_memory_and_survives_kill_9_and_resume(tmp_path: Path) -> None:
    world = _generative_world(tmp_path)
    person = yaml.safe_load(world.read_text())["people"][1]["name"]
    run = tmp_path / "live.db"
    proc = run_in_background(world, run, "--hours", "240", llm="scripted-inprocess", latency_ms=40)
    try:  # ten simulated days: still running when the whisper lands, however loaded the machine
        _wait(lambda: _live(run), "the run to start")
        said = hamlet_process("interview", run, person, WHISPER, "--whisper")
        assert said.code == 0, said.err
        assert f"whispered to {person}" in said.out
        _wait(lambda: _query(run, "SELECT status FROM control")[0][0] == "applied", "the whisper to apply")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    ((tick, t),) = _query(run, "SELECT tick, t FROM control")
    assert _query(run, "SELECT MAX(tick) FROM snapshot")[0][0] < tick, "the resume must redo the whisper"
    resumed = hamlet_process("resume", run, "--quiet", "--until", f"+{t // 3600 + 2}h")
    assert resumed.code == 0, resumed.err
    whispers = [
        json.loads(d)
        for (d,) in _query(run, "SELECT data FROM event WHERE kind = 'intervene'")
        if json.loads(d)["kind"] == "whisper" and json.loads(d)["text"] == WHISPER
    ]
    assert len(whispers) == 1, "the whisper happens once, redone by the resume, not twice"
    planted = _query(run, "SELECT person, kind FROM memory WHERE text LIKE ?", f"%{WHISPER}%")
    assert (person, "whisper") in planted


@pytest.mark.slow
def test_pause_holds_the_clock_and_stop_then_resume_gives_the_uninterrupted_log(tmp_path: Path) -> None:
    world = busy_world(tmp_path / "busy.yaml")
    whole = tmp_path / "whole.db"
    assert start_run(world, whole).wait(300) == 0
    expected = events_export(whole, tmp_path / "a")
    run = tmp_path / "stopped.db"
    proc = start_run(world, run)
    try:
        _wait(lambda: count_events(run) > expected.count(b"\n") * 0.2, "a fifth of the events")
        control.send(str(run), "pause")
        time.sleep(0.5)  # the desk looks every 0.1 s and holds the loop from then on
        held = count_events(run)
        time.sleep(1.0)
        assert count_events(run) == held, "a paused run commits nothing"
        control.send(str(run), "resume")
        _wait(lambda: count_events(run) > held, "the run to go on after resume")
        control.send(str(run), "stop")
        assert proc.wait(60) == 3, "a stopped run exits with the code of an unfinished one"
    finally:
        if proc.poll() is None:
            proc.kill()
    status, message = _query(run, "SELECT status, message FROM run")[0]
    assert status == "interrupted" and "hamlet resume" in message
    assert count_events(run) < expected.count(b"\n")
    resumed = hamlet_process("resume", run, "--quiet")
    assert resumed.code == 0, resumed.err
    assert events_export(run, tmp_path / "b") == expected


def test_a_whisper_to_a_finished_run_is_refused_in_one_line(finished: Path) -> None:
    result = hamlet_process("interview", finished, "Ann", "psst", "--whisper")
    assert_one_line_error(result, str(finished), "not a live run", "interventions")
    assert _query(finished, "SELECT COUNT(*) FROM control")[0][0] == 0, "nothing was written"


def test_a_whisper_to_an_unknown_person_names_the_people(finished: Path) -> None:
    result = hamlet_process("interview", finished, "Zed", "psst", "--whisper")
    assert_one_line_error(result, "'Zed'", "Ann", "Bo")


@pytest.mark.slow
def test_every_kind_of_intervention_sent_from_the_command_line_is_an_event_of_the_live_run(tmp_path: Path) -> None:
    world = busy_world(tmp_path / "busy.yaml")
    newcomer = tmp_path / "newcomer.yaml"
    newcomer.write_text(
        "name: Nia Vale\nhome: Square:cafe\nroutine:\n  - {at: '07:00', do: opens the cafe, place: Square:cafe}\n"
    )
    run = tmp_path / "live.db"
    proc = start_run(world, run)
    try:
        _wait(lambda: _live(run), "the run to start")
        control.send(str(run), "pause")  # held while the commands start, each a process of its own
        sent = [
            ("inject", "--place", "Square:market", "--text", "A juggler arrives."),
            ("whisper", "--person", "Person 03", "--text", WHISPER),
            ("set-object", "--place", "House 1:room", "--object", "bed", "--state", "broken"),
            ("add-person", "--spec", str(newcomer)),
            ("remove-person", "--person", "Person 07"),
        ]
        for args in sent:
            result = hamlet_process("intervene", run, *args)
            assert result.code == 0, result.err
            assert f"{args[0]} sent to {run}" in result.out
        control.send(str(run), "resume")
        _wait(lambda: {s for (s,) in _query(run, "SELECT status FROM control")} == {"applied"}, "all to apply")
        control.send(str(run), "stop")
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [
        (kind, person, place, json.loads(data))
        for kind, person, place, data in _query(
            run,
            "SELECT kind, person, place, data FROM event WHERE kind IN "
            "('intervene', 'object', 'leave', 'spawn') AND seq > 30",
        )
    ]
    assert ("intervene", None, "Square:market", {"kind": "inject", "text": "A juggler arrives."}) in events
    assert any(e[:2] == ("intervene", "Person 03") and e[3] == {"kind": "whisper", "text": WHISPER} for e in events)
    assert ("object", None, "House 1:room", {"object": "bed", "state": "broken", "by": "intervention"}) in events
    assert ("intervene", "Nia Vale", None, {"kind": "add_person"}) in events
    assert any(e[:2] == ("spawn", "Nia Vale") for e in events)
    assert any(e[:2] == ("leave", "Person 07") for e in events)
    sources = {s for (s,) in _query(run, "SELECT source FROM control WHERE kind = 'intervene'")}
    assert sources == {"cli"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-hour run of the tiny world (Ann and Bo, a home and a park)."""
    from tests.conftest import TINY_WORLD

    folder = tmp_path_factory.mktemp("finished")
    (folder / "tiny.yaml").write_text(TINY_WORLD)
    return record_run(folder / "tiny.yaml", folder / "done.db", "--hours", "2", llm="scripted-inprocess")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("inject", "--place", "Parc", "--text", "x"), ("place", "unknown place 'Parc'", "did you mean 'Park'")),
        (("inject", "--place", "Park"), ("inject", "needs text")),
        (
            ("set-object", "--place", "Park", "--object", "swing", "--state", "broken"),
            ("object", "'swing'", "Park:lawn"),
        ),
        (("whisper", "--person", "Zed", "--text", "psst"), ("'Zed'", "Ann", "Bo")),
        (("remove-person", "--person", "Zed"), ("'Zed'",)),
        (("add-person", "--spec", "/nonexistent/new.yaml"), ("--spec", "no such file")),
    ],
)
def test_a_bad_live_intervention_is_one_line_and_nothing_is_written(
    hamlet, finished: Path, args: tuple, needles: tuple
) -> None:
    assert_one_line_error(hamlet("intervene", finished, *args), *needles)
    assert _query(finished, "SELECT COUNT(*) FROM control")[0][0] == 0


def test_a_valid_intervention_to_a_finished_run_says_to_fork_it(hamlet, finished: Path) -> None:
    result = hamlet("intervene", finished, "inject", "--place", "Park", "--text", "Rain.")
    assert_one_line_error(result, "not a live run", "hamlet fork")
