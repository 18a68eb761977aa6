"""Teams in worlds: the schema refuses bad chains in one line, and worlds/software_company.yaml runs
on the scripted model through every phase to a program that runs, the same way every time."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
import yaml

from sim.teams import program, sandbox
from sim.teams.sandbox import run_program
from tests.conftest import WORLDS, assert_one_line_error
from tests.sim.teams.test_sandbox import FORK_BOMB, needs_namespaces, needs_process_limit

COMPANY = WORLDS / "software_company.yaml"
EVERY_PHASE_SEED = 3
"""A seed whose run needs a cycle of every loop (its draft has a placeholder and a bug); found by trying
seeds, and to be found again if the world's prompts or the scripted model's draws change."""


def company(tmp_path: Path, edit: tuple[str, str] | None = None) -> Path:
    """The software company world, perhaps with one piece of text replaced."""
    text = COMPANY.read_text()
    if edit is not None:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    path = tmp_path / "company.yaml"
    path.write_text(text)
    return path


def run_company(hamlet, tmp_path: Path, name: str, *extra: str, seed: int = EVERY_PHASE_SEED) -> Path:
    out = tmp_path / name
    result = hamlet(
        "run",
        COMPANY,
        "--llm",
        "scripted-inprocess",
        "--task",
        "a snake game",
        "--seed",
        seed,
        "--out",
        out,
        "--quiet",
        *extra,
    )
    assert result.code == 0, result.err
    return out


def events(path: Path, kind: str) -> list[dict]:
    db = sqlite3.connect(path)
    rows = [json.loads(data) for (data,) in db.execute("SELECT data FROM event WHERE kind = ? ORDER BY seq", (kind,))]
    db.close()
    return rows


def phase_names(chain: list) -> list[str]:
    names = []
    for item in chain:
        names += phase_names(item["chain"]) if "loop" in item else [item["phase"]]
    return names


# -- bad input ------------------------------------------------------------------------------


def test_a_phase_naming_an_unknown_role_is_one_line_naming_the_field(hamlet, tmp_path: Path) -> None:
    world = company(
        tmp_path,
        (
            "- phase: Coding\n      instructor: Chief Technology Officer\n      assistant: Programmer\n",
            "- phase: Coding\n      instructor: Chief Technology Officer\n      assistant: Progammer\n",
        ),
    )
    for result in (
        hamlet("validate", world),
        hamlet("run", world, "--llm", "scripted-inprocess", "--task", "x", "--out", tmp_path / "r.db"),
    ):
        assert_one_line_error(
            result, "team.chain[2].assistant", "unknown role 'Progammer'", "did you mean 'Programmer'"
        )
    assert not (tmp_path / "r.db").exists()


def test_a_loop_with_no_cycle_cap_is_one_line(hamlet, tmp_path: Path) -> None:
    world = company(tmp_path, ("    - loop: Code review\n      cycles: 3\n", "    - loop: Code review\n"))
    assert_one_line_error(
        hamlet("validate", world), "team.chain[4]", "loop 'Code review' has no cycle cap", "cycles: N"
    )


def test_an_empty_task_is_one_line_and_writes_nothing(hamlet, tmp_path: Path) -> None:
    out = tmp_path / "r.db"
    assert_one_line_error(
        hamlet("run", COMPANY, "--llm", "scripted-inprocess", "--task", "  ", "--out", out),
        "--task: empty",
        "a snake game",
    )
    assert_one_line_error(
        hamlet("run", COMPANY, "--llm", "scripted-inprocess", "--out", out), "team.task is empty", "--task"
    )
    assert not out.exists()


def test_a_task_for_a_world_without_a_team_is_refused(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    assert_one_line_error(
        hamlet("run", tiny_world, "--llm", "scripted-inprocess", "--task", "a game", "--out", tmp_path / "r.db"),
        "--task",
        "has no team",
    )


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (
            ("{unimplemented_file} still", "{unimplemented} still"),
            ("team.chain[3].chain[0].prompt", "{unimplemented}", "did you mean 'unimplemented_file'"),
        ),
        (
            ("      person: Kenji Sato\n", "      person: Kenji Satoh\n"),
            ("team.roles[3].person", "unknown person 'Kenji Satoh'", "did you mean 'Kenji Sato'"),
        ),
        (("mind: role\n", "mind: schedule\n"), ("team.roles[0]", "runs the schedule mind", "mind: role")),
        (("- phase: Manual", "- phase: Coding"), ("team.chain[7]", "duplicate phase or loop name 'Coding'")),
        (("      conclusion: language\n", "      conclusion: codes\n"), ("conclusion", "'codes' is a built-in")),
        (
            (
                "      extract: agreed\n      conclusion: modality\n",
                "      extract: reply\n      conclusion: modality\n",
            ),
            ("options apply to extract: agreed only",),
        ),
        (("      until: approved\n", "      until: finished\n"), ("team.chain[4].until",)),
    ],
)
def test_other_mistakes_in_a_team_are_one_line_each(
    hamlet, tmp_path: Path, edit: tuple[str, str], needles: tuple[str, ...]
) -> None:
    assert_one_line_error(hamlet("validate", company(tmp_path, edit)), *needles)


def test_the_software_company_validates_and_the_json_schema_describes_teams(hamlet) -> None:
    result = hamlet("validate", COMPANY)
    assert result.code == 0 and "6 people" in result.out
    schema = json.loads(hamlet("schema").out)
    assert {"roles", "chain", "task", "sandbox"} <= set(schema["$defs"]["TeamSpec"]["properties"])
    assert "cycles" in schema["$defs"]["LoopSpec"]["properties"]


# -- a whole run ----------------------------------------------------------------------------


def test_a_scripted_software_company_goes_through_every_phase_to_a_program_that_runs(hamlet, tmp_path: Path) -> None:
    run = run_company(hamlet, tmp_path, "run.db")
    ran = [e["phase"] for e in events(run, "phase_end")]
    world = yaml.safe_load(COMPANY.read_text())
    assert set(ran) == set(phase_names(world["team"]["chain"]))
    reasons = {e["loop"]: (e["cycles"], e["reason"]) for e in events(run, "loop_end")}
    assert reasons["Code completion"] == (1, "complete: no program file holds a placeholder")
    assert reasons["Code review"][1].startswith("approved: the Code Reviewer found nothing to change in cycle")
    assert ran.count("Review comments") == reasons["Code review"][0] == ran.count("Review changes") + 1
    assert reasons["Testing"] == (1, "runs: the program ran without error")
    assert [e["ok"] for e in events(run, "sandbox")] == [False, True]  # the draft's bug, found and fixed
    # fixed because the feedback named it: the Fixing prompt (its opening line, after the system prompt;
    # a dehallucination exchange may follow it) carried the traceback of the failing assertion
    fixing = json.loads(
        sqlite3.connect(run).execute("SELECT request FROM llm_call WHERE purpose = 'Fixing'").fetchone()[0]
    )["messages"][1]["content"]
    assert "AssertionError" in fixing and program.CAUGHT in fixing
    end = events(run, "chain_end")[0]
    assert (end["completeness"], end["executability"]) == (1.0, 1.0) and 0.2 < end["consistency"] < 1

    db = sqlite3.connect(run)
    versions = db.execute("SELECT path, version, phase, role FROM artifact ORDER BY id").fetchall()
    memories = dict(db.execute("SELECT person, COUNT(*) FROM memory GROUP BY person").fetchall())
    db.close()
    assert ("snake_game.py", 1, "Coding", "Programmer") in versions
    assert max(v for p, v, _, _ in versions if p == "snake_game.py") >= 3  # completed, then fixed
    assert {p for p, *_ in versions} == {"main.py", "snake_game.py", "requirements.txt", "manual.md"}
    programmer = [e for e in events(run, "phase") if "Programmer" in (e["instructor"], e["assistant"])]
    assert memories["Kenji Sato"] == len(programmer)  # a memory of each phase the programmer took part in

    out = tmp_path / "program"
    export = hamlet("export", run, "--artifacts", out)
    assert export.code == 0, export.err
    files = {p.name: p.read_text() for p in out.iterdir() if p.is_file() and p.suffix != ".json"}
    outcome = run_program(files)
    assert outcome.ok and outcome.stdout.endswith("self-test passed\n"), outcome
    manifest = json.loads((out / "hamlet-artifacts.json").read_text())
    assert manifest["quality"]["executability"] == 1.0
    assert [v["phase"] for f in manifest["files"] if f["path"] == "snake_game.py" for v in f["versions"]][0] == "Coding"


def test_the_companys_code_phases_ask_for_missing_details_through_the_model_and_log_the_exchange(
    hamlet, tmp_path: Path
) -> None:
    run = run_company(hamlet, tmp_path, "run.db")
    db = sqlite3.connect(run)
    # rows of one tick are not in the order the calls were made: compared per tick, not by id
    calls = db.execute("SELECT tick, purpose, person, request FROM llm_call ORDER BY tick, purpose").fetchall()
    db.close()
    on = {"Coding", "Completing code", "Review changes", "Fixing"}  # the phases the world turns it on in
    asks = [(t, p.removesuffix(" dehallucinate_ask")) for t, p, _, _ in calls if p.endswith(" dehallucinate_ask")]
    assert asks == [(t, p) for t, p, _, _ in calls if p in on]  # one ask in the tick of each such reply, no other
    assert all(person == "Kenji Sato" for _, p, person, _ in calls if p.endswith("dehallucinate_ask"))
    says = [e for e in events(run, "say") if "dehallucination" in e]
    answers = [e for e in says if e["dehallucination"] == "answer"]
    assert answers and [e["dehallucination"] for e in says] == ["ask", "answer"] * len(answers)
    assert {e["phase"] for e in says} <= on
    answered = [t for t, p, _, _ in calls if p.endswith(" dehallucinate_answer")]
    assert len(answers) == len(answered)
    for tick, answer in zip(answered, answers, strict=True):  # the answer is in the programmer's reply's prompt
        reply = next(json.loads(r) for t, p, _, r in calls if t == tick and p == answer["phase"])
        assert answer["text"] in [m["content"] for m in reply["messages"]]


def test_hamlet_show_lists_the_phases_loops_artifacts_and_quality(hamlet, tmp_path: Path) -> None:
    run = run_company(hamlet, tmp_path, "run.db", seed=1)  # a run whose show fits 40 lines (found by trying seeds)
    text = hamlet("show", run).out
    assert len(text.splitlines()) <= 40, text
    assert "Team       task 'a snake game' · finished" in text
    assert "Loop       Testing:" in text and "Quality    completeness 1 · executability 1" in text
    assert "  manual.md" in text and "(Manual, Chief Product Officer)" in text
    summary = json.loads(hamlet("show", run, "--json").out)
    team = summary["team"]
    assert team["quality"]["executability"] == 1.0
    assert {a["path"] for a in team["artifacts"]} == {"main.py", "snake_game.py", "requirements.txt", "manual.md"}
    assert team["phases"][0]["phase"] == "Demand analysis" and team["phases"][0]["conclusion_name"] == "modality"
    assert summary["llm_calls_by_purpose"]["Coding"] == 1


def test_the_same_seed_gives_byte_identical_events_and_artifacts(hamlet, tmp_path: Path) -> None:
    exports = []
    for name in ("a.db", "b.db"):
        run = run_company(hamlet, tmp_path, name)
        assert hamlet("export", run, "--tables", "event", "artifact", "--out", tmp_path / name[0]).code == 0
        exports.append([(tmp_path / name[0] / f"{t}.jsonl").read_bytes() for t in ("event", "artifact")])
    assert exports[0] == exports[1]
    assert b'"kind": "sandbox"' in exports[0][0]


def test_a_team_run_stopped_in_mid_chain_and_resumed_writes_what_an_unstopped_run_writes(
    hamlet, tmp_path: Path
) -> None:
    whole = run_company(hamlet, tmp_path, "whole.db")
    cut = run_company(hamlet, tmp_path, "cut.db", "--until", "+23m")
    assert events(cut, "chain_end") == []
    result = hamlet("resume", cut, "--until", "2026-05-04T17:00", "--quiet")
    assert result.code == 0, result.err
    tables = []
    for run in (whole, cut):
        folder = tmp_path / run.stem
        assert hamlet("export", run, "--tables", "event", "artifact", "memory", "--out", folder).code == 0
        tables.append([(folder / f"{t}.jsonl").read_bytes() for t in ("event", "artifact", "memory")])
    assert tables[0] == tables[1]


# -- hostile programs ------------------------------------------------------------------------

HOSTILE_WORLD = """\
hamlet: 1
name: Hostile
start: 2026-05-04T09:00
mind: role
minds: {{role: {{embeddings: hash}}}}
sectors:
  - name: Office
    areas: [{{name: room}}]
people:
  - {{name: Ana, home: Office}}
  - {{name: Ben, home: Office}}
team:
  task: a program that misbehaves
  roles:
    - {{name: Tester, person: Ana}}
    - {{name: Programmer, person: Ben}}
  sandbox: {{processes: 8, wall_seconds: 2, cpu_seconds: 1, memory_bytes: 268435456}}
  files:
    main.py: {program}
  chain:
    - loop: Testing
      cycles: 1
      until: runs
      chain:
        - {{phase: Error summary, instructor: Tester, assistant: Programmer, prompt: "{{test_reports}}", turns: 1,
            extract: reply}}
"""


def run_hostile(hamlet, tmp_path: Path, program: str) -> tuple[dict, Path]:
    """Run a team whose program is ``program``; the sandbox event its test loop recorded, and the run file."""
    world = tmp_path / "hostile.yaml"
    world.write_text(HOSTILE_WORLD.format(program=json.dumps(textwrap.dedent(program))))
    out = tmp_path / "hostile.db"
    result = hamlet("run", world, "--llm", "scripted-inprocess", "--out", out, "--quiet")
    assert result.code == 0, result.err
    runs = events(out, "sandbox")
    assert len(runs) == 1  # the check before the test loop's cycle; the final check reuses it
    return runs[0], out


@needs_process_limit
@pytest.mark.slow
def test_a_teams_fork_bomb_is_killed_and_recorded(hamlet, tmp_path: Path) -> None:
    run, _ = run_hostile(hamlet, tmp_path, FORK_BOMB)
    assert not run["ok"] and run["signal"] == "SIGKILL" and "time" in run["limits_hit"]


@pytest.mark.parametrize(
    ("program", "limit"),
    [
        ("while True:\n    pass\n", "cpu"),
        ("hoard = []\nwhile True:\n    hoard.append(bytearray(8 << 20))\n", "memory"),
    ],
)
def test_a_teams_program_stopped_at_a_limit_is_recorded_with_the_limit(
    hamlet, tmp_path: Path, program: str, limit: str
) -> None:
    run, out = run_hostile(hamlet, tmp_path, program)
    assert not run["ok"] and run["limit_hit"] == limit
    assert events(out, "loop_end")[0]["reason"] == "cycle cap: 1 cycle"
    assert events(out, "chain_end")[0]["executability"] == 0.0


@needs_namespaces
def test_a_teams_program_neither_writes_nor_deletes_outside_its_folder(hamlet, tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("alive")
    escaped = tmp_path / "escaped.txt"
    run, _ = run_hostile(
        hamlet,
        tmp_path,
        f"""
        import os
        for act in (lambda: open({str(escaped)!r}, "w").write("x"), lambda: os.remove({str(canary)!r})):
            try:
                act()
                print("done")
            except OSError as exc:
                print("refused", type(exc).__name__)
    """,
    )
    assert canary.read_text() == "alive" and not escaped.exists()
    assert "done" not in run["stdout"].split()


def test_a_teams_program_never_sees_the_environments_secrets(
    hamlet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-team-secret")
    run, out = run_hostile(
        hamlet,
        tmp_path,
        """
        import os
        print(sorted(os.environ))
        print(os.environ.get("OPENAI_API_KEY", "unreadable"))
        raise SystemExit(3)
    """,
    )
    assert run["exit_code"] == 3 and run["stdout"].splitlines()[-1] == "unreadable"
    assert b"sk-team-secret" not in out.read_bytes()


def test_a_teams_network_client_fails_by_itself_and_no_limit_is_claimed(hamlet, tmp_path: Path) -> None:
    run, _ = run_hostile(hamlet, tmp_path, "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)\n")
    assert not run["ok"] and run["exit_code"] == 1 and run["limit_hit"] == "none"
    assert "ConnectionRefusedError" in run["stderr"] or "network access is disabled" in run["stderr"]


def test_a_sandbox_that_refuses_to_run_is_recorded_with_its_reason_not_a_crash(
    hamlet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "_root", lambda: False)  # as a user who cannot give the program a user of its own
    run, out = run_hostile(hamlet, tmp_path, "print('must not run')\n")
    assert run["ok"] is False and run["refused"] is True and run["error"].startswith("refused")
    assert events(out, "chain_end")[0]["executability"] == 0.0


def test_export_artifacts_skips_and_lists_names_it_cannot_write(hamlet, tmp_path: Path) -> None:
    _, out = run_hostile(hamlet, tmp_path, "print('hi')\n")
    db = sqlite3.connect(out)  # rows as a run file from before names were checked may hold them
    for path in ("util", "util/helpers.py", "../escape.py"):
        db.execute(
            "INSERT INTO artifact (tick, t, path, version, phase, role, person, content) "
            "VALUES (1, 1, ?, 1, 'Coding', 'Programmer', 'Ben', 'x = 1')",
            (path,),
        )
    db.commit()
    db.close()
    folder = tmp_path / "exported"
    result = hamlet("export", out, "--artifacts", folder, "--all-versions")
    assert result.code == 0, result.err
    manifest = json.loads((folder / "hamlet-artifacts.json").read_text())
    skipped = {entry["path"] for entry in manifest["not_written"]}
    assert {"util/helpers.py", "../escape.py"} <= skipped and "util" not in skipped
    assert (folder / "util").read_text() == "x = 1" and not (tmp_path / "escape.py").exists()
    assert "not written" in result.err


def test_a_team_member_can_be_interviewed_about_the_phases_they_remember(hamlet, tmp_path: Path) -> None:
    run = run_company(hamlet, tmp_path, "run.db", seed=11)
    result = hamlet("interview", run, "Kenji Sato", "Which files did you write?", "--llm", "scripted-inprocess")
    assert result.code == 0, result.err
    db = sqlite3.connect(run)
    (answer,) = db.execute("SELECT answer FROM interview WHERE person = 'Kenji Sato'").fetchone()
    (request,) = db.execute("SELECT request FROM llm_call WHERE purpose = 'interview'").fetchone()
    db.close()
    assert answer in result.out
    asked = json.loads(request)["messages"][1]["content"]
    # the question, then the memories of phases retrieved for it
    assert (
        asked.startswith("Question: Which files did you write?\nYou remember:\n- ") and ": wrote snake_game.py" in asked
    )


def test_a_roles_own_model_is_checked_at_the_server_before_the_run(hamlet, tmp_path: Path) -> None:
    from sim.llm.scripted import ScriptConfig, ScriptedProcess

    world = company(
        tmp_path, ("      person: Kenji Sato\n", "      person: Kenji Sato\n      model: {model: coder-9000}\n")
    )
    server = ScriptedProcess(ScriptConfig())
    try:
        result = hamlet(
            "run",
            world,
            "--llm",
            "openai",
            "--base-url",
            server.base_url,
            "--model",
            "scripted",
            "--task",
            "a snake game",
            "--out",
            tmp_path / "r.db",
        )
    finally:
        server.stop()
    assert_one_line_error(result, "'coder-9000': unknown at", "it serves: scripted")
    assert not (tmp_path / "r.db").exists()
