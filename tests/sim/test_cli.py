"""The command line end to end: runs, determinism, summaries, exports, and bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sim.llm.local import free_port
from sim.llm.scripted import ScriptConfig, ScriptedProcess
from tests.conftest import WORLDS, assert_one_line_error, read_terminal


@pytest.fixture(scope="module")
def scripted_server():
    server = ScriptedProcess(ScriptConfig(seed=1))
    yield server
    server.stop()


def run_scripted(hamlet, world: Path, out: Path, *extra: str):
    result = hamlet("run", world, "--llm", "scripted-inprocess", "--out", out, "--quiet", *extra)
    assert result.code == 0, result.err
    return result


def export_events(hamlet, run: Path, out: Path) -> bytes:
    result = hamlet("export", run, "--format", "jsonl", "--tables", "events", "--out", out)  # a plural names its table
    assert result.code == 0, result.err
    return (out / "event.jsonl").read_bytes()


def test_run_records_a_hamlet_file_that_show_summarises(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    run = tmp_path / "r.db"
    result = run_scripted(hamlet, tiny_world, run)
    assert "finished" in result.out and str(run) in result.out
    summary = json.loads(hamlet("show", run, "--json").out)
    for key in (
        "people",
        "sim_start",
        "sim_end",
        "events",
        "llm_calls",
        "llm_calls_by_purpose",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "status",
    ):
        assert key in summary
    assert [p["name"] for p in summary["people"]] == ["Ann", "Bo"]
    assert summary["status"] == "finished"
    assert summary["sim_start"] == "2026-03-02T06:00:00" and summary["sim_end"] == "2026-03-02T18:00:00"
    assert summary["llm_calls_by_purpose"] == {"day_plan": 2}
    assert summary["events"] > 10 and summary["prompt_tokens"] > 0 and summary["cost_usd"] > 0
    text = hamlet("show", run).out
    assert "Ann" in text and "finished" in text


@pytest.mark.slow
def test_same_seed_gives_byte_identical_events_and_another_seed_differs(hamlet, tmp_path: Path) -> None:
    world = WORLDS / "smallville.yaml"  # as it ships: nine generative people
    exports, calls = [], []
    for index, seed in enumerate(("7", "7", "8")):
        run = tmp_path / f"run{index}.db"
        run_scripted(hamlet, world, run, "--hours", "24", "--seed", seed)
        exports.append(export_events(hamlet, run, tmp_path / f"x{index}"))
        db = sqlite3.connect(run)
        calls.append(
            db.execute(
                "SELECT id, tick, person, purpose, status, request, response FROM llm_call ORDER BY id"
            ).fetchall()
        )
        db.close()
    assert exports[0] == exports[1]
    assert exports[0] != exports[2]
    assert calls[0] == calls[1], "the LLM calls table is the same too, apart from wall-clock columns"
    first = [json.loads(line) for line in exports[0].splitlines()]
    assert "latency_ms" not in first[0] and "wall_time" not in first[0]


def test_hours_and_until_set_the_simulated_span(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    run_scripted(hamlet, tiny_world, tmp_path / "a.db", "--hours", "2")
    run_scripted(hamlet, tiny_world, tmp_path / "b.db", "--until", "2026-03-02T09:30")
    run_scripted(hamlet, tiny_world, tmp_path / "c.db", "--until", "+90m")
    ends = [json.loads(hamlet("show", tmp_path / f"{n}.db", "--json").out)["sim_end"] for n in "abc"]
    assert ends == ["2026-03-02T08:00:00", "2026-03-02T09:30:00", "2026-03-02T07:30:00"]


def test_resume_until_an_offset_counts_from_the_runs_start(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    run = tmp_path / "r.db"
    run_scripted(hamlet, tiny_world, run, "--hours", "2")
    resumed = hamlet("resume", run, "--until", "+5h", "--quiet")
    assert resumed.code == 0, resumed.err
    assert json.loads(hamlet("show", run, "--json").out)["sim_now"] == "2026-03-02T11:00:00"


def test_runs_lists_each_run_with_a_summary_line(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    run_scripted(hamlet, tiny_world, tmp_path / "one.db", "--hours", "1")
    (tmp_path / "junk.db").write_text("not a database")
    listing = hamlet("runs", tmp_path).out.splitlines()
    assert len(listing) == 2
    assert "one.db" in listing[1] and "finished" in listing[1] and "Tiny" in listing[1]
    assert "junk.db" in listing[0] and "unreadable" in listing[0]


def test_export_writes_csv_and_parquet_that_pandas_loads(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    import pandas as pd

    run = tmp_path / "r.db"
    run_scripted(hamlet, tiny_world, run)
    assert hamlet("export", run, "--format", "csv", "--out", tmp_path / "csv").code == 0
    assert hamlet("export", run, "--format", "parquet", "--out", tmp_path / "pq").code == 0
    events_csv = pd.read_csv(tmp_path / "csv" / "event.csv")
    events_pq = pd.read_parquet(tmp_path / "pq" / "event.parquet")
    summary = json.loads(hamlet("show", run, "--json").out)
    assert len(events_csv) == len(events_pq) == summary["events"]
    assert set(events_csv["kind"]) >= {"spawn", "move", "arrive", "act", "plan"}
    calls = pd.read_csv(tmp_path / "csv" / "llm_call.csv")
    assert len(calls) == summary["llm_calls"]


def test_fault_rate_run_completes_and_logs_every_fault_retry_and_fallback(hamlet, tmp_path: Path) -> None:
    run = tmp_path / "faulty.db"
    result = run_scripted(
        hamlet, WORLDS / "two_rooms.yaml", run, "--hours", "72", "--llm-fault-rate", "0.3", "--seed", "11"
    )
    assert "finished" in result.out
    db = sqlite3.connect(run)
    statuses = dict(db.execute("SELECT status, COUNT(*) FROM llm_call GROUP BY status").fetchall())
    plans = db.execute("SELECT COUNT(*) FROM event WHERE kind='plan'").fetchone()[0]
    # each plan ends in exactly one ok or fallback row; every failed attempt before it has its own row
    answered = statuses.get("ok", 0) + statuses.get("repaired", 0) + statuses.get("fallback", 0)
    assert answered == plans == 6
    assert statuses.get("error", 0) + statuses.get("invalid", 0) > 0
    errors = [e for (e,) in db.execute("SELECT error FROM llm_call WHERE status IN ('error','invalid')")]
    assert all(errors)
    fallbacks = db.execute("SELECT COUNT(*) FROM llm_call WHERE fallback = 1 AND status = 'fallback'").fetchone()[0]
    assert fallbacks == statuses.get("fallback", 0)


def test_no_api_key_or_auth_header_is_written_anywhere(
    hamlet, scripted_server, tiny_world: Path, tmp_path: Path
) -> None:
    secret = "sk-hamlet-test-SECRET-4242"
    run = tmp_path / "r.db"
    result = hamlet(
        "run",
        tiny_world,
        "--llm",
        "openai",
        "--base-url",
        scripted_server.base_url.replace("http://", "http://user:pw-SECRET@"),
        "--model",
        "scripted",
        "--api-key",
        secret,
        "--out",
        run,
        "--quiet",
    )
    assert result.code == 0, result.err
    assert (
        hamlet(
            "export",
            run,
            "--format",
            "jsonl",
            "--out",
            tmp_path / "x",
            "--tables",
            "run",
            "event",
            "llm_call",
            "snapshot",
        ).code
        == 0
    )
    blobs = [run.read_bytes()] + [p.read_bytes() for p in (tmp_path / "x").iterdir()]
    for wal in tmp_path.glob("r.db-*"):
        blobs.append(wal.read_bytes())
    for blob in blobs:
        assert b"SECRET" not in blob
        assert b"Bearer" not in blob and b"Authorization" not in blob.replace(b"authorization", b"")


def test_budget_stops_the_run_cleanly_and_resume_continues(hamlet, tmp_path: Path) -> None:
    run = tmp_path / "b.db"
    result = hamlet(
        "run",
        WORLDS / "two_rooms.yaml",
        "--llm",
        "scripted-inprocess",
        "--hours",
        "72",
        "--budget-usd",
        "0.00005",
        "--out",
        run,
        "--quiet",
    )
    assert result.code == 3 and "budget" in result.out
    summary = json.loads(hamlet("show", run, "--json").out)
    assert summary["status"] == "budget" and summary["sim_now"] < "2026-03-05T06:00:00"
    resumed = hamlet("resume", run, "--quiet", "--budget-usd", "1")
    assert resumed.code == 0, resumed.err
    assert json.loads(hamlet("show", run, "--json").out)["status"] == "finished"


# -- bad input on the run path ----------------------------------------------------------


def test_unreachable_base_url_fails_before_writing_anything(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = hamlet("run", tiny_world, "--base-url", url, "--model", "m", "--out", out)
    assert_one_line_error(result, "--base-url", url, "cannot reach")
    assert not out.exists() or not any(out.iterdir())


def test_unknown_model_lists_what_the_server_serves(hamlet, scripted_server, tiny_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = hamlet("run", tiny_world, "--base-url", scripted_server.base_url, "--model", "gpt-nonesuch", "--out", out)
    assert_one_line_error(result, "gpt-nonesuch", "unknown", "scripted")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("out", ["/proc/hamlet-cannot/run.db", "FILE/run.db"])
def test_unwritable_out_is_refused(hamlet, tiny_world: Path, tmp_path: Path, out: str) -> None:
    blocker = tmp_path / "FILE"
    blocker.write_text("a file, not a folder")
    out = out.replace("FILE", str(blocker))
    assert_one_line_error(
        hamlet("run", tiny_world, "--llm", "scripted-inprocess", "--out", out), "--out", "cannot create"
    )


def test_existing_out_file_is_never_overwritten(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "keep.db"
    out.write_text("precious")
    assert_one_line_error(hamlet("run", tiny_world, "--llm", "scripted-inprocess", "--out", out), "already exists")
    assert out.read_text() == "precious"


@pytest.mark.parametrize(
    "args,needles",
    [
        (["--hours", "-3"], ["--hours", "more than 0"]),
        (["--until", "someday"], ["someday", "ISO 8601"]),
        (["--until", "2020-01-01T00:00"], ["--until", "not after"]),
        (["--fixed-step", "-10"], ["--fixed-step", "at least 1"]),
        (["--concurrency", "0"], ["--concurrency", "at least 1"]),
        (["--llm-fault-rate", "2"], ["--llm-fault-rate", "at least 0 and at most 1"]),
    ],
)
def test_bad_run_options_are_one_line_each(hamlet, tiny_world: Path, tmp_path: Path, args, needles) -> None:
    out = tmp_path / "out"
    assert_one_line_error(hamlet("run", tiny_world, "--llm", "scripted-inprocess", "--out", out, *args), *needles)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("command", ["show", "export", "resume"])
def test_a_file_that_is_not_a_hamlet_run_is_refused(hamlet, tmp_path: Path, command: str) -> None:
    text_file = tmp_path / "notes.db"
    text_file.write_text("hello")
    other_sqlite = tmp_path / "other.db"
    sqlite3.connect(other_sqlite).execute("CREATE TABLE t (x)").connection.commit()
    extra = ["--out", str(tmp_path / "x")] if command == "export" else []
    for path in (text_file, other_sqlite):
        before = path.read_bytes()
        assert_one_line_error(hamlet(command, path, *extra), str(path), "not a Hamlet run")
        assert path.read_bytes() == before


def test_an_unknown_table_to_export_is_named_with_the_tables_there_are(
    hamlet, tiny_world: Path, tmp_path: Path
) -> None:
    run = tmp_path / "r.db"
    run_scripted(hamlet, tiny_world, run, "--hours", "1")
    out = tmp_path / "x"
    assert_one_line_error(hamlet("export", run, "--tables", "eventz", "--out", out), "--tables 'eventz'", "llm_call")
    assert not out.exists(), "nothing is written when a table name is wrong"


def test_missing_run_file_is_named(hamlet, tmp_path: Path) -> None:
    assert_one_line_error(hamlet("show", tmp_path / "gone.db"), "gone.db", "no such file")


def test_every_command_has_help(hamlet) -> None:
    for command in ("run", "resume", "interview", "validate", "schema", "runs", "show", "export"):
        with pytest.raises(SystemExit) as exit_info:
            hamlet(command, "--help")
        assert exit_info.value.code == 0


def test_replay_backend_reproduces_a_run_from_its_recorded_replies(hamlet, tmp_path: Path) -> None:
    world = WORLDS / "two_rooms.yaml"
    original, replayed = tmp_path / "a.db", tmp_path / "b.db"
    run_scripted(hamlet, world, original, "--hours", "30")
    result = hamlet(
        "run", world, "--llm", "replay", "--replay-from", original, "--hours", "30", "--out", replayed, "--quiet"
    )
    assert result.code == 0, result.err
    assert export_events(hamlet, original, tmp_path / "x") == export_events(hamlet, replayed, tmp_path / "y")
    statuses = {row[0] for row in sqlite3.connect(replayed).execute("SELECT status FROM llm_call")}
    assert statuses == {"cached"}
    assert json.loads(hamlet("show", replayed, "--json").out)["cost_usd"] == 0


def test_replay_without_a_source_run_says_what_to_give(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    assert_one_line_error(hamlet("run", tiny_world, "--llm", "replay", "--out", tmp_path / "r.db"), "--replay-from")


@pytest.mark.slow
def test_a_terminal_shows_a_progress_bar_with_time_events_calls_and_cost(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import ROOT

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(WORLDS / "two_rooms.yaml"),
            "--llm",
            "scripted",
            "--hours",
            "48",
            "--out",
            str(tmp_path / "r.db"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "160"},
    )
    os.close(follower)
    screen = read_terminal(leader)
    proc.wait(120)
    assert proc.returncode == 0
    assert "2026-03-04T06:00:00" in screen and "100%" in screen
    assert "events" in screen and "LLM calls" in screen and "tokens" in screen and "$" in screen
