"""Bad input ends in one line and a non-zero exit, with no traceback and no run file written or damaged.

The tables below are the cases of issue #17 and the ones found walking every number Hamlet reads:
world fields, command-line flags of every command and control requests (bounds: sim/worldfile/bounds.py).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import UserError
from tests.conftest import ROOT, TINY_WORLD, assert_one_line_error, record_run

# -- world files -----------------------------------------------------------------------------

TEAMLESS_ADD = """interventions:
  - at: +2h
    kind: add_person
    spec: {name: Cy, home: Park}
"""

BAD_WORLDS = {
    "hours-1e308": (("hours: 12", "hours: 1e308"), ["hours", "87840"]),
    "hours-float-1e308": (("hours: 12", "hours: 1.0e+308"), ["hours", "87840"]),
    "hours-inf": (("hours: 12", "hours: .inf"), ["hours", "finite"]),
    "hours-nan": (("hours: 12", "hours: .nan"), ["hours", "finite"]),
    "hours-zero": (("hours: 12", "hours: 0"), ["hours", "greater than 0"]),
    "hours-past-9999": (("start: 2026-03-02T06:00", "start: 9999-12-31T20:00"), ["hours", "9999"]),
    "seed-1e35": (("seed: 3", "seed: 1e35"), ["seed", "integer", "1e35"]),
    "seed-float-1e35": (("seed: 3", "seed: 1.0e+35"), ["seed", "integer"]),
    "seed-fraction": (("seed: 3", "seed: 3.5"), ["seed", "integer"]),
    "seed-negative": (("seed: 3", "seed: -4"), ["seed", "greater than or equal to 0"]),
    "seed-2**64": (("seed: 3", "seed: 18446744073709551616"), ["seed", "9223372036854775807"]),
    "seed-bool": (("seed: 3", "seed: true"), ["seed", "integer"]),
    "link-1e308": (("minutes: 5", "minutes: 1.0e+308"), ["links[0].minutes", "10080"]),
    "link-inf": (("minutes: 5", "minutes: .inf"), ["links[0].minutes", "finite"]),
    "link-nan": (("minutes: 5", "minutes: .nan"), ["links[0].minutes", "finite"]),
    "self-link": (("between: [Home, Park]", "between: [Park, 'Park:lawn']"), ["links[0].between", "same place"]),
    "inner-minutes-inf": (
        ("  - name: Park\n", "  - name: Park\n    inner_minutes: .inf\n"),
        ["sectors[1].inner_minutes", "finite"],
    ),
    "snapshot-nan": (("seed: 3", "seed: 3\nsnapshot_minutes: .nan"), ["snapshot_minutes", "finite"]),
    "snapshot-huge": (("seed: 3", "seed: 3\nsnapshot_minutes: 1.0e+300"), ["snapshot_minutes"]),
    "snapshot-tiny": (("seed: 3", "seed: 3\nsnapshot_minutes: 1.0e-300"), ["snapshot_minutes", "1"]),
    "hours-tiny": (("hours: 12", "hours: 1.0e-300"), ["hours", "second"]),
    "format-version-negative": (("hamlet: 1", "hamlet: -5"), ["hamlet", "greater than or equal to 1"]),
    "temperature-nan": (("seed: 3", "seed: 3\nmodel: {temperature: .nan}"), ["model.temperature", "finite"]),
    "max-tokens-huge": (("seed: 3", "seed: 3\nmodel: {max_tokens: 99999999999}"), ["model.max_tokens"]),
    "price-inf": (("seed: 3", "seed: 3\nmodel: {price_in_per_mtok: .inf}"), ["model.price_in_per_mtok"]),
    "mind-parameter-inf": (
        ("seed: 3", "seed: 3\nminds:\n  schedule: {jitter_minutes: .inf}"),
        ["minds.schedule.jitter_minutes", "finite"],
    ),
    "mind-parameter-text": (
        ("seed: 3", "seed: 3\nminds:\n  schedule: {jitter_minutes: lots}"),
        ["minds.schedule.jitter_minutes", "'lots'"],
    ),
    "intervention-offset-overflows": (
        ("seed: 3", "seed: 3\ninterventions:\n  - {at: '+99999999999999h', kind: whisper, person: Ann, text: hi}"),
        ["interventions[0].at", "9999"],
    ),
    "fact-end-overflows": (
        ("seed: 3", "seed: 3\nfacts:\n  - {name: f, text: t, place: Home, starts: '+1h', ends: '+99999999999999h'}"),
        ["facts[0].ends", "9999"],
    ),
    "intervention-text-2MB": (
        (
            "seed: 3",
            "seed: 3\ninterventions:\n  - {at: '+1h', kind: whisper, person: Ann, text: " + "x" * 2_000_000 + "}",
        ),
        ["interventions[0].text", "at most 4000 characters"],
    ),
    "added-person-age": (
        ("seed: 3", "seed: 3\n" + TEAMLESS_ADD.replace("home: Park}", "home: Park, age: 1.0e+300}")),
        ["interventions[0].spec.age"],
    ),
}


def world_with(tmp_path: Path, change: tuple[str, str]) -> Path:
    old, new = change
    assert old in TINY_WORLD
    path = tmp_path / "world.yaml"
    path.write_text(TINY_WORLD.replace(old, new, 1))
    return path


@pytest.mark.parametrize("case", sorted(BAD_WORLDS))
def test_a_bad_world_field_is_one_line_at_validate_and_run_writes_nothing(hamlet, tmp_path: Path, case: str) -> None:
    change, needles = BAD_WORLDS[case]
    world = world_with(tmp_path, change)
    assert_one_line_error(hamlet("validate", world), "world.yaml", *needles)
    out = tmp_path / "out"
    assert_one_line_error(hamlet("run", world, "--llm", "scripted-inprocess", "--quiet", "--out", f"{out}/"), *needles)
    assert not out.exists() or not any(out.iterdir()), "no run file, not even a stub"


# -- command-line flags --------------------------------------------------------------------------

BAD_RUN_FLAGS = {
    "hours-inf": (["--hours", "inf"], ["--hours", "87840"]),
    "hours-nan": (["--hours", "nan"], ["--hours"]),
    "hours-1e12": (["--hours", "1e12"], ["--hours", "87840"]),
    "hours-zero": (["--hours", "0"], ["--hours", "more than 0"]),
    "hours-tiny": (["--hours", "1e-300"], ["--hours", "second"]),
    "hours-text": (["--hours", "many"], ["--hours", "not a number"]),
    "until-overflows": (["--until", "+99999999999999h"], ["--until", "9999"]),
    "until-past-ten-years": (["--until", "9999-01-01T00:00"], ["--until", "87840"]),
    "seed-1e23": (["--seed", "1e23"], ["--seed", "whole number"]),
    "seed-2**64": (["--seed", str(2**64)], ["--seed", "9223372036854775807"]),
    "seed-negative": (["--seed=-1"], ["--seed", "at least 0"]),
    "llm-timeout-negative": (["--llm-timeout=-5"], ["--llm-timeout", "more than 0"]),
    "llm-timeout-zero": (["--llm-timeout", "0"], ["--llm-timeout", "more than 0"]),
    "llm-timeout-nan": (["--llm-timeout", "nan"], ["--llm-timeout"]),
    "llm-timeout-inf": (["--llm-timeout", "inf"], ["--llm-timeout"]),
    "concurrency-negative": (["--concurrency=-1"], ["--concurrency", "at least 1"]),
    "concurrency-huge": (["--concurrency", "10000000"], ["--concurrency", "1024"]),
    "concurrency-fraction": (["--concurrency", "2.5"], ["--concurrency", "whole number"]),
    "budget-nan": (["--budget-usd", "nan"], ["--budget-usd"]),
    "budget-negative": (["--budget-usd=-1"], ["--budget-usd", "at least 0"]),
    "latency-negative": (["--llm-latency-ms=-1"], ["--llm-latency-ms"]),
    "latency-inf": (["--llm-latency-ms", "inf"], ["--llm-latency-ms"]),
    "fault-rate-nan": (["--llm-fault-rate", "nan"], ["--llm-fault-rate"]),
    "fixed-step-zero": (["--fixed-step", "0"], ["--fixed-step", "at least 1"]),
    "fixed-step-huge": (["--fixed-step", "99999999999"], ["--fixed-step"]),
    "schedule-unknown": (["--schedule", "optimistic"], ["--schedule", "lookahead", "barrier"]),
    "lookahead-negative": (["--lookahead=-60"], ["--lookahead", "at least 0"]),
    "lookahead-fraction": (["--lookahead", "1.5"], ["--lookahead", "whole number"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RUN_FLAGS))
def test_a_bad_run_flag_is_one_line_and_writes_nothing(hamlet, tiny_world: Path, tmp_path: Path, case: str) -> None:
    args, needles = BAD_RUN_FLAGS[case]
    out = tmp_path / "out"
    result = hamlet("run", tiny_world, "--llm", "scripted-inprocess", "--quiet", "--out", f"{out}/", *args)
    assert_one_line_error(result, *needles)
    assert "cannot reach" not in result.err
    assert not out.exists() or not any(out.iterdir())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-hour run of the tiny world, with a person added at +2h... of a four-hour run."""
    folder = tmp_path_factory.mktemp("recorded")
    world = folder / "tiny.yaml"
    world.write_text(TINY_WORLD + TEAMLESS_ADD)
    run = folder / "r.db"
    record_run(
        world, run, "--hours", "4", "--set", "mind=generative", "--set", "embeddings=hash", llm="scripted-inprocess"
    )
    return run


def digest(run: Path) -> str:
    return hashlib.sha256(run.read_bytes()).hexdigest()


BAD_FLAGS_ON_A_RUN = {
    "resume-hours-inf": (["resume", "RUN", "--hours", "inf", "--llm", "scripted-inprocess"], ["--hours"]),
    "resume-hours-nan": (["resume", "RUN", "--hours", "nan", "--llm", "scripted-inprocess"], ["--hours"]),
    "resume-llm-timeout": (["resume", "RUN", "--hours", "1", "--llm-timeout=-5"], ["--llm-timeout"]),
    "resume-lookahead-negative": (["resume", "RUN", "--hours", "1", "--lookahead=-1"], ["--lookahead"]),
    "resume-until-overflows": (
        ["resume", "RUN", "--until", "+99999999999999h", "--llm", "scripted-inprocess"],
        ["--until"],
    ),
    "fork-hours-1e12": (["fork", "RUN", "--at", "+1h", "--hours", "1e12", "-o", "OUT"], ["--hours"]),
    "fork-until-overflows": (
        ["fork", "RUN", "--at", "+1h", "--until", "+99999999999999h", "-o", "OUT", "--llm", "scripted-inprocess"],
        ["--until"],
    ),
    "fork-at-overflows": (
        ["fork", "RUN", "--at", "+99999999999999h", "-o", "OUT", "--llm", "scripted-inprocess"],
        ["--at"],
    ),
    "metrics-every-zero": (["metrics", "RUN", "--every", "0"], ["--every"]),
    "metrics-every-nan": (["metrics", "RUN", "--every", "nan"], ["--every"]),
    "metrics-at-overflows": (["metrics", "RUN", "--at", "+99999999999999h"], ["--at"]),
    "plot-every-inf": (["plot", "RUN", "cost", "-o", "OUT.png", "--every", "inf"], ["--every"]),
    "interview-at-overflows": (
        ["interview", "RUN", "Ann", "Hi?", "--at", "+99999999999999h", "--llm", "scripted-inprocess"],
        ["--at"],
    ),
    "intervene-not-live": (["intervene", "RUN", "whisper", "--person", "Ann", "--text", "hi"], ["not a live run"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FLAGS_ON_A_RUN))
def test_a_bad_flag_on_a_recorded_run_is_one_line_and_leaves_it_unchanged(
    hamlet, recorded: Path, tmp_path: Path, case: str
) -> None:
    args, needles = BAD_FLAGS_ON_A_RUN[case]
    before = digest(recorded)
    out = tmp_path / "branch"
    argv = [
        str(recorded) if a == "RUN" else str(out) if a == "OUT" else str(tmp_path / a) if a == "OUT.png" else a
        for a in args
    ]
    assert_one_line_error(hamlet(*argv), *needles)
    assert digest(recorded) == before
    assert json.loads(hamlet("show", recorded, "--json").out)["status"] == "finished"
    assert not out.exists() and not (tmp_path / "OUT.png").exists()


BAD_OTHER_FLAGS = {
    "sweep-seeds-huge": (
        ["sweep", "WORLD", "--seeds", f"0-{2**64}", "--out", "OUT"],
        ["--seeds", "9223372036854775807"],
    ),
    "sweep-seeds-many": (["sweep", "WORLD", "--seeds", "0-99999999", "--out", "OUT"], ["--seeds", "10000"]),
    "sweep-seeds-float": (["sweep", "WORLD", "--seeds", "1e23", "--out", "OUT"], ["--seeds"]),
    "sweep-parallel-zero": (["sweep", "WORLD", "--seeds", "1", "--parallel", "0", "--out", "OUT"], ["--parallel"]),
    "sweep-hours-inf": (["sweep", "WORLD", "--seeds", "1", "--hours", "inf", "--out", "OUT"], ["--hours"]),
}


@pytest.mark.parametrize("case", sorted(BAD_OTHER_FLAGS))
def test_a_bad_sweep_flag_is_one_line(hamlet, tiny_world: Path, tmp_path: Path, case: str) -> None:
    args, needles = BAD_OTHER_FLAGS[case]
    out = tmp_path / "sweep"
    argv = [str(tiny_world) if a == "WORLD" else str(out) if a == "OUT" else a for a in args]
    assert_one_line_error(hamlet(*argv), *needles)
    assert not out.exists() or not list(out.rglob("*.db"))


def test_a_live_intervention_may_not_choose_its_own_time() -> None:
    from sim.run.control import checked_intervention
    from sim.worldfile.scenario import parse_scenario

    scenario = parse_scenario(TINY_WORLD)
    with pytest.raises(UserError, match="give no time"):
        checked_intervention(
            scenario,
            {"kind": "whisper", "person": "Ann", "text": "hi", "at": "+1e9h"},
            "2026-03-02T07:00:00",
            ["Ann", "Bo"],
        )


# -- secrets in the base URL -----------------------------------------------------------------------


def test_a_key_in_the_base_urls_query_is_sent_but_never_written(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    from sim.llm.options import redact_url
    from sim.llm.scripted import ScriptConfig, ScriptedProcess

    url = "http://user:pw-SECRET1@host:8/v1?api-key=SECRET2&api-version=2024-02&token=SECRET3&key=SECRET4"
    assert redact_url(url) == "http://host:8/v1?api-version=2024-02"
    server = ScriptedProcess(ScriptConfig(seed=1))
    try:
        run = tmp_path / "r.db"
        result = hamlet(
            "run",
            tiny_world,
            "--llm",
            "openai",
            "--model",
            "scripted",
            "--base-url",
            f"{server.base_url}?api-key=SECRET-Q&api-version=1",
            "--out",
            run,
            "--quiet",
            "--hours",
            "2",
        )
        assert result.code == 0, result.err
    finally:
        server.stop()
    options = json.loads(hamlet("show", run, "--json").out)["options"]
    assert options["base_url"] == f"{server.base_url}?api-version=1"
    for blob in [run.read_bytes(), *(p.read_bytes() for p in tmp_path.glob("r.db-*"))]:
        assert b"SECRET" not in blob


def test_a_key_in_an_unreachable_base_url_is_not_in_the_error(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    from sim.llm.local import free_port

    url = f"http://127.0.0.1:{free_port()}/v1?api-key=SECRET-Q"
    result = hamlet("run", tiny_world, "--base-url", url, "--model", "m", "--out", tmp_path / "r.db")
    assert_one_line_error(result, "--base-url", "cannot reach")
    assert "SECRET" not in result.err and not (tmp_path / "r.db").exists()


# -- people added during a run ----------------------------------------------------------------------


def assert_interviewed_only_once_arrived(hamlet, run: Path, person: str, before: str) -> None:
    """``person`` answers an interview at the run's end, and at ``before`` is not yet in the world, in one line."""
    result = hamlet("interview", run, person, "Who are you?", "--llm", "scripted-inprocess")
    assert result.code == 0, result.err
    assert f"{person}:" in result.out
    assert_one_line_error(
        hamlet("interview", run, person, "Who are you?", "--at", before, "--llm", "scripted-inprocess"),
        f"'{person}'",
        "not yet in the world",
    )


def test_a_person_added_during_the_run_can_be_interviewed_after_they_arrive(hamlet, recorded: Path) -> None:
    assert_interviewed_only_once_arrived(hamlet, recorded, "Cy", before="+1h")
    assert_one_line_error(
        hamlet("interview", recorded, "Dee", "Who are you?", "--llm", "scripted-inprocess"),
        "unknown person 'Dee' in this run",
        "Cy",
    )


def test_probes_ask_people_added_during_the_run(hamlet, recorded: Path) -> None:
    result = hamlet("metrics", recorded, "--probe", "--llm", "scripted-inprocess", "--json")
    assert result.code == 0, result.err
    answers = json.loads(result.out)["acquaintance_probe"]["answers"]
    assert "Cy" in {a["person"] for a in answers} and "Cy" in {a["other"] for a in answers}


# -- a run file on a read-only mount ----------------------------------------------------------------


@pytest.mark.slow
def test_a_run_on_a_read_only_mount_is_read_and_refused_for_writing(recorded: Path, tmp_path: Path) -> None:
    source, mount = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    mount.mkdir()
    (source / "r.db").write_bytes(recorded.read_bytes())
    run, py = mount / "r.db", sys.executable
    steps = [
        f"mount --bind {source} {mount}",
        f"mount -o remount,ro,bind {mount}",
        *(
            f'{py} -m sim {args}; echo "rc=$?"'
            for args in (
                f"show {run}",
                f"runs {mount}",
                f"metrics {run}",
                f"export {run} --tables run --out {tmp_path / 'x'}",
                f"interview {run} Ann 'Hi?' --llm scripted",
                f"resume {run} --hours 1 --llm scripted --quiet",
                f"fork {recorded} --at +1h -o {mount / 'branch.db'} --llm scripted --quiet",
            )
        ),
    ]
    try:
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", " && ".join(steps[:2]) + " && " + " ; ".join(steps[2:])],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if "rc=" not in proc.stdout:
        pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()[:200]}")
    codes = [line for line in proc.stdout.splitlines() if line.startswith("rc=")]
    assert codes == ["rc=0"] * 5 + ["rc=2"] * 2, proc.stdout + proc.stderr
    assert "damaged" not in proc.stderr and "Traceback" not in proc.stderr
    assert "finished" in proc.stdout and (tmp_path / "x" / "run.jsonl").exists()
    resume, fork = proc.stderr.splitlines()[-2:]
    assert "read-only" in resume and "hamlet resume" in resume
    assert "read-only" in fork and "--out" in fork and not (source / "branch.db").exists()
    assert sqlite3.connect(source / "r.db").execute("SELECT status FROM run").fetchone()[0] == "finished"


def test_a_person_added_live_can_be_interviewed(hamlet, recorded: Path, tmp_path: Path) -> None:
    run = tmp_path / "live.db"
    run.write_bytes(recorded.read_bytes())
    db = sqlite3.connect(run)
    with db:  # what the engine writes when it applies a live add_person (hamlet intervene) at +3h
        db.execute(
            "INSERT INTO control (issued_at, source, kind, payload, status, tick, t) VALUES (?,?,?,?,?,?,?)",
            (
                "2026-01-01T00:00:00",
                "cli",
                "intervene",
                json.dumps(
                    {"at": "2026-03-02T09:00:00", "kind": "add_person", "spec": {"name": "Dee", "home": "Home"}}
                ),
                "applied",
                5,
                3 * 3600,
            ),
        )
        seq = db.execute("SELECT MAX(seq) FROM event").fetchone()[0] + 1
        db.execute(
            "INSERT INTO event (seq, tick, t, time, kind, person, place, data) VALUES (?,?,?,?,?,?,?,?)",
            (seq, 5, 3 * 3600, "2026-03-02T09:00:00", "spawn", "Dee", "Home:room", "{}"),
        )
    db.close()
    assert_interviewed_only_once_arrived(hamlet, run, "Dee", before="+2h")


def test_a_stub_left_by_a_dead_process_is_named_as_such(hamlet, tmp_path: Path) -> None:
    from sim.runfile.log import create_run_file
    from sim.runfile.writer import claim

    stub = tmp_path / "stub.db"
    engine = create_run_file(stub)
    claim(engine)
    with engine.begin() as conn:  # as if written by a process that has gone
        conn.exec_driver_sql(
            "UPDATE meta SET value = '999999999' || substr(value, instr(value, '@')) WHERE key = 'writer'"
        )
    engine.dispose()
    assert_one_line_error(hamlet("show", stub), "holds no run", "delete the file")


@pytest.mark.parametrize(
    "old,new,needles",
    [
        (
            "sandbox: {wall_seconds: 5, cpu_seconds: 5}",
            "sandbox: {wall_seconds: .inf, cpu_seconds: 5}",
            ["team.sandbox", "wall_seconds"],
        ),
        (
            "sandbox: {wall_seconds: 5, cpu_seconds: 5}",
            "sandbox: {wall_seconds: 5, memory_bytes: 1.0e+300}",
            ["team.sandbox.memory_bytes"],
        ),
        ("minutes_per_turn: 4", "minutes_per_turn: .nan", ["team.minutes_per_turn", "finite"]),
        ("turns: 6", "turns: 1.0e+35", ["turns"]),
    ],
)
def test_a_bad_team_number_is_one_line(hamlet, tmp_path: Path, old: str, new: str, needles: list[str]) -> None:
    text = (ROOT / "worlds" / "software_company.yaml").read_text()
    assert old in text
    world = tmp_path / "team.yaml"
    world.write_text(text.replace(old, new, 1))
    assert_one_line_error(hamlet("validate", world), "team.yaml", *needles)
