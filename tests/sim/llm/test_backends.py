"""Backends: every ``--llm`` name has an opener, and a new backend is a transport and one entry (the docs' recipe)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sim.llm import backends
from sim.llm.backends import OPENERS, Backend, Opening
from sim.llm.gateway import Endpoint
from sim.llm.inprocess import ScriptedTransport
from sim.llm.options import BACKENDS, LLMOptions
from sim.llm.scripted import ScriptConfig, ScriptedModel, model_name
from sim.llm.transport import Reply, Request
from sim.run.session import RunOptions, run_world

ROOT = Path(__file__).resolve().parents[3]


def test_every_backend_name_has_an_opener_and_every_opener_a_name() -> None:
    assert set(OPENERS) == set(BACKENDS)


class Counting:
    """A transport as docs/architecture.md's recipe writes one: here it asks the scripted model and counts."""

    def __init__(self) -> None:
        self.inner = ScriptedTransport(ScriptedModel(ScriptConfig(seed=1)), timeout_s=30.0)
        self.asked: list[str] = []

    async def send(self, request: Request) -> Reply:
        self.asked.append(request.affinity)
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_backend_added_by_the_recipe_serves_a_whole_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = Counting()

    def counting(o: Opening) -> Backend:
        endpoint = Endpoint(
            None, "not-needed", model_name("neutral"), "json_schema", 30.0, 0.0, *o.prices, fixed_model=True
        )
        return Backend(o.kind, transport, endpoint, o.opts.concurrency or 4)

    monkeypatch.setitem(OPENERS, "counting", counting)
    monkeypatch.setattr(backends, "BACKENDS", (*BACKENDS, "counting"))
    out = tmp_path / "run.db"
    outcome = run_world(
        str(ROOT / "worlds" / "two_rooms.yaml"),
        RunOptions(hours=2, seed=3, out=str(out), quiet=True, llm=LLMOptions(llm="counting")),
    )
    assert outcome.status == "finished"
    with sqlite3.connect(out) as db:
        sent = db.execute("SELECT COUNT(*) FROM llm_call WHERE status = 'ok' AND cache_hit = 0").fetchone()[0]
        people = {row[0] for row in db.execute("SELECT DISTINCT person FROM llm_call")}
    assert sent == len(transport.asked) > 0  # every call the run logged went through the new transport
    assert set(transport.asked) == people  # and carried who asked
