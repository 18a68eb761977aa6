"""The scripted model's behaviour profile travels like the other model options: flag, run file, resume, sweep."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sim.llm.options import LLMOptions
from sim.research.sweep import _model_flags
from sim.run.session import merge_options
from tests.conftest import hamlet_process


def recorded(run: Path) -> dict:
    return json.loads(sqlite3.connect(run).execute("SELECT options FROM run").fetchone()[0])


def test_the_profile_is_written_to_the_run_file_neutral_unless_asked(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    plain, eager = tmp_path / "plain.db", tmp_path / "eager.db"
    assert hamlet("run", tiny_world, "--llm", "scripted-inprocess", "--hours", "1", "--out", plain, "--quiet").code == 0
    assert (
        hamlet(
            "run",
            tiny_world,
            "--llm",
            "scripted-inprocess",
            "--llm-profile",
            "eager",
            "--hours",
            "1",
            "--out",
            eager,
            "--quiet",
        ).code
        == 0
    )
    assert recorded(plain)["profile"] == "neutral" and recorded(eager)["profile"] == "eager"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--llm", "scripted", "--llm-profile", "keen"], "invalid choice: 'keen'"),
        (
            ["--llm", "openai", "--base-url", "http://127.0.0.1:9/v1", "--llm-profile", "eager"],
            "only the scripted model has behaviour profiles",
        ),
    ],
)
def test_an_unknown_or_misplaced_profile_is_one_line_and_exit_2(
    tiny_world: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = hamlet_process("run", tiny_world, *args, "--out", tmp_path / "r.db")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and needle in result.err, result.err
    assert not (tmp_path / "r.db").exists()


def test_resume_and_fork_keep_the_recorded_profile_unless_told_otherwise() -> None:
    run = {"llm": "scripted", "profile": "eager", "fault_rate": 0.0}
    assert merge_options(run, LLMOptions()).profile == "eager"
    assert merge_options(run, LLMOptions(profile="neutral")).profile == "neutral"
    # another backend (an interview by a real model, say) does not inherit the scripted model's profile
    assert merge_options(run, LLMOptions(llm="openai")).profile is None


def test_a_sweep_passes_the_profile_to_each_run() -> None:
    flags = _model_flags(LLMOptions(llm="scripted", profile="eager"))
    assert flags[flags.index("--llm-profile") + 1] == "eager"
