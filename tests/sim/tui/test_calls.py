"""The LLM call dialog's header: what a reader learns of one call at a glance."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sim.runfile.positions import call
from sim.tui.calls import call_head
from tests.sim.tui.conftest import query


def test_the_header_names_the_server_that_answered_and_those_left_only_when_a_run_has_several(
    recorded_run: Path,
) -> None:
    (call_id,) = query(recorded_run, "SELECT MIN(id) FROM llm_call")[0]
    with sqlite3.connect(recorded_run) as db:
        row = call(db, call_id)
    assert row is not None
    alone = call_head(row)
    assert row["purpose"] in alone and f"#{call_id}" in alone
    assert "server" not in alone and "failed over" not in alone, "one server: nothing to tell apart"
    several = {
        **row,
        "endpoint": "http://127.0.0.1:8002/v1",
        "failovers": json.dumps([["http://127.0.0.1:8001/v1", "connection refused"]]),
    }
    head = call_head(several)
    assert "server http://127.0.0.1:8002/v1" in head
    assert "failed over from http://127.0.0.1:8001/v1 (connection refused)" in head
    assert head.endswith("(esc closes)")
