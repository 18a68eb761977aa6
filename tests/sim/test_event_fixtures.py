"""The bundled worlds' event logs are byte for byte the ones recorded in tests/sim/fixtures/events/.

A change that is meant to alter a log re-records them (``python -m tests.sim.event_fixtures``) and
says why in its commit; any other difference is a regression.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.sim.event_fixtures import RUNS, event_lines, fixture, run_world


@pytest.mark.parametrize("name", sorted(RUNS))
def test_event_log_is_byte_identical_to_its_fixture(name: str, tmp_path: Path) -> None:
    """Running the world again writes exactly the recorded event rows."""
    recorded = fixture(name).read_text(encoding="utf-8")
    now = event_lines(run_world(name, tmp_path))
    if now != recorded:
        diff = difflib.unified_diff(recorded.splitlines(), now.splitlines(), "recorded", "now", lineterm="", n=0)
        pytest.fail(f"{name}: the event log changed (re-record only if meant):\n" + "\n".join(list(diff)[:20]))


def test_fixtures_are_all_recorded() -> None:
    """Every run has its file and every file its run, so a fixture is never silently skipped."""
    files = {path.stem for path in fixture("x").parent.glob("*.jsonl")}
    assert files == set(RUNS)
