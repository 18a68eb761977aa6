"""Forks: the branch's past equals the parent's, costs no request, and the change at the fork time shows after it."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.llm.scripted import ScriptConfig, ScriptedProcess
from tests.agents.test_generative import generative_town
from tests.conftest import assert_one_line_error, hamlet_process
from tests.sim.tui.conftest import query as rows

FORK_AT = 5 * 3600  # +5h: 11:00, with people on their way, at work and talking
WHISPER = "The bakery will close for good on Monday."


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedProcess]:
    """One scripted model server for the parent and its branches, so its request count tells who asked."""
    process = ScriptedProcess(ScriptConfig(seed=4))
    yield process
    process.stop()


def served(server: ScriptedProcess) -> int:
    with urllib.request.urlopen(f"{server.base_url}/stats", timeout=10) as reply:
        return int(json.load(reply)["requests"])


def model(server: ScriptedProcess) -> list[str]:
    return ["--llm", "openai", "--base-url", server.base_url, "--model", "scripted"]


@pytest.fixture(scope="module")
def parent(server: ScriptedProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three generative people of the town for eight hours."""
    folder = tmp_path_factory.mktemp("fork")
    run = folder / "parent.db"
    result = hamlet_process(
        "run", generative_town(folder, people=3), "--hours", "8", "--out", run, "--quiet", *model(server)
    )
    assert result.code == 0, result.err
    return run


EVENTS = "SELECT seq, tick, t, time, kind, person, place, data FROM event WHERE t {} ? ORDER BY seq"


@pytest.mark.slow
def test_a_branch_repeats_the_past_without_a_request_and_the_whisper_changes_what_follows(
    server: ScriptedProcess, parent: Path, tmp_path: Path
) -> None:
    branch = tmp_path / "branch.db"
    before = served(server)
    result = hamlet_process(
        "fork",
        parent,
        "--at",
        "+5h",
        "-o",
        branch,
        "--quiet",
        "--intervene",
        "whisper",
        "--person",
        "Hendrik Achterberg",
        "--text",
        WHISPER,
    )
    assert result.code == 0, result.err
    requests = served(server) - before
    assert rows(branch, EVENTS.format("<"), FORK_AT) == rows(parent, EVENTS.format("<"), FORK_AT)
    ((fork_tick,),) = rows(branch, "SELECT json_extract(options, '$.fork.snapshot_tick') FROM run")
    copied = rows(branch, "SELECT COUNT(*) FROM llm_call WHERE tick <= ?", fork_tick)[0][0]
    redone = rows(branch, "SELECT DISTINCT status FROM llm_call WHERE id > ? AND t < ?", copied, FORK_AT)
    assert redone in ([], [("cached",)]), "before the fork time every call is answered from the parent's replies"
    sent = rows(
        branch, "SELECT t FROM llm_call WHERE id > ? AND status IN ('ok', 'repaired', 'invalid', 'error')", copied
    )
    assert requests == len(sent) > 0, "the server saw exactly the branch's own requests"
    assert min(t for (t,) in sent) >= FORK_AT
    assert f"({requests} sent)" in result.out
    changes = [
        (t, p, json.loads(d)) for t, p, d in rows(branch, "SELECT t, person, data FROM event WHERE kind = 'intervene'")
    ]
    assert (FORK_AT, "Hendrik Achterberg", {"kind": "whisper", "text": WHISPER}) in changes
    assert ("Hendrik Achterberg", "whisper") in rows(branch, "SELECT person, kind FROM memory WHERE text = ?", WHISPER)
    assert rows(branch, EVENTS.format(">="), FORK_AT) != rows(parent, EVENTS.format(">="), FORK_AT)
    shown = hamlet_process("compare", parent, branch)
    assert shown.code == 0 and "Δ branch" in shown.out


@pytest.mark.slow
def test_a_branch_without_a_change_is_the_parent_again_and_asks_nothing(
    server: ScriptedProcess, parent: Path, tmp_path: Path
) -> None:
    branch = tmp_path / "same.db"
    before = served(server)
    result = hamlet_process("fork", parent, "--at", "+3h", "-o", branch, "--quiet")
    assert result.code == 0, result.err
    assert served(server) == before
    everything = "SELECT seq, tick, t, time, kind, person, place, data FROM event ORDER BY seq"
    assert rows(branch, everything) == rows(parent, everything)
    assert rows(branch, "SELECT person, id, t, kind, text FROM memory ORDER BY person, id") == rows(
        parent, "SELECT person, id, t, kind, text FROM memory ORDER BY person, id"
    )


@pytest.mark.slow
def test_a_fork_time_outside_the_run_is_one_line(parent: Path, tmp_path: Path) -> None:
    result = hamlet_process("fork", parent, "--at", "+9h", "-o", tmp_path / "late.db")
    assert_one_line_error(result, "--at +9h", "outside the run", "2026-02-13T06:00:00")
    result = hamlet_process("fork", parent, "--at", "2026-02-12T12:00", "-o", tmp_path / "early.db")
    assert_one_line_error(result, "outside the run")
    assert not (tmp_path / "late.db").exists() and not (tmp_path / "early.db").exists()


@pytest.mark.parametrize(
    ("intervention", "needles"),
    [
        pytest.param(
            ("inject", "--place", "Kettle and Crumb", "--text", "A fire alarm rings."),
            ["place", "'Kettle and Crumb'", "did you mean"],
            id="a place not in the world",
        ),
        pytest.param(
            ("whisper", "--person", "Sofia Marchetti", "--text", "psst"),
            ["'Sofia Marchetti'", "Hendrik Achterberg"],
            id="a person not in the run",
        ),
        pytest.param(("inject",), ["inject", "needs place, text"], id="fields missing"),
    ],
)
@pytest.mark.slow
def test_a_fork_intervention_is_checked_against_the_world_at_that_time(
    parent: Path, tmp_path: Path, intervention: tuple[str, ...], needles: list[str]
) -> None:
    result = hamlet_process("fork", parent, "--at", "+2h", "-o", tmp_path / "b.db", "--intervene", *intervention)
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "b.db").exists()


@pytest.mark.slow
def test_a_branch_cut_short_at_its_fork_point_resumes_to_the_same_log(
    server: ScriptedProcess, parent: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole.db"
    args = ("--at", "+5h", "--quiet", "--intervene", "whisper", "--person", "Hendrik Achterberg", "--text", WHISPER)
    assert hamlet_process("fork", parent, "-o", whole, *args).code == 0
    cut = tmp_path / "cut.db"
    with sqlite3.connect(whole) as src, sqlite3.connect(cut) as dst:
        src.backup(dst)
    # What a kill -9 leaves just after the branch's own snapshot of the fork point: nothing redone yet.
    with sqlite3.connect(cut) as db:
        ((tick,),) = db.execute("SELECT json_extract(options, '$.fork.snapshot_tick') FROM run")
        copied = db.execute("SELECT COUNT(*) FROM llm_call WHERE tick <= ?", (tick,)).fetchone()[0]
        snap_id, seq, t = db.execute(
            "SELECT id, seq, t FROM snapshot WHERE tick = ? ORDER BY id DESC LIMIT 1", (tick,)
        ).fetchone()
        db.execute("DELETE FROM snapshot WHERE id > ?", (snap_id,))
        db.execute("DELETE FROM llm_call WHERE id > ?", (copied,))
        db.execute("DELETE FROM event WHERE seq > ?", (seq,))
        db.execute("DELETE FROM memory WHERE tick > ?", (tick,))
        db.execute(
            "UPDATE run SET status = 'interrupted', sim_now = datetime('2026-02-13T06:00:00', ? || ' seconds')",
            (str(t),),
        )
    before = served(server)
    resumed = hamlet_process("resume", cut, "--quiet")
    assert resumed.code == 0, resumed.err
    everything = "SELECT seq, tick, t, time, kind, person, place, data FROM event ORDER BY seq"
    assert rows(cut, everything) == rows(whole, everything)
    sent = rows(cut, "SELECT t FROM llm_call WHERE id > ? AND status IN ('ok', 'repaired', 'invalid', 'error')", copied)
    assert served(server) - before == len(sent) and min(t for (t,) in sent) >= FORK_AT
