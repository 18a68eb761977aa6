"""The viewer's research screens: metrics as of the viewed time (replay and live), and interventions on a live run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton

from sim.research.knowing import memory_carries
from sim.research.metrics import RunMetrics
from sim.tui.app import HamletApp
from sim.tui.intervene import InterveneScreen
from sim.tui.metrics import MetricsScreen, sparkline
from tests.conftest import run_in_background
from tests.sim.tui.conftest import SEED, query
from tests.sim.tui.test_app import drive, jump


def knowing(run: Path, t: int) -> int:
    """People who knew of the party by second ``t``: a memory the knowing rule (tested on its own labelled set)
    says carries it, or seeded (Sofia). The viewer is under test here, not the rule."""
    fact = RunMetrics(run)
    try:
        party, people = fact.fact("valentines_party"), list(fact.people())
    finally:
        fact.close()
    rows = query(run, "SELECT person, kind, text FROM memory WHERE t <= ?", t)
    return len({p for p, kind, text in rows if memory_carries(party, kind, text, people, p)} | {"Sofia Marchetti"})


def conversations(run: Path, person: str, t: int) -> int:
    return int(
        query(
            run,
            "SELECT COUNT(*) FROM event WHERE kind = 'talk' AND t <= ? AND (person = ? OR "
            "json_extract(data, '$.with') = ?)",
            t,
            person,
            person,
        )[0][0]
    )


@pytest.mark.slow
def test_m_shows_the_metrics_as_of_the_viewed_time_and_they_follow_the_clock(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+2h")
        await pilot.press("m")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        text = screen.charts().plain
        assert "valentines_party" in text and f"{knowing(recorded_run, 7200)} of 9" in text
        sofia = next(line for line in text.splitlines() if line.strip().startswith("Sofia Marchetti"))
        assert sofia.rstrip().endswith(f" {conversations(recorded_run, 'Sofia Marchetti', 7200)}")
        assert "LLM cost by purpose" in text and "decompose" in text
        await jump(pilot, "+4h")  # the jump dialog over the metrics; the charts move with the clock
        text = screen.charts().plain
        assert f"{knowing(recorded_run, 4 * 3600)} of 9" in text
        curve = next(line for line in text.splitlines() if "valentines_party" in line)
        assert len(curve.split()[1]) == 5, "one mark an hour from the start to +4h"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MetricsScreen)

    drive(recorded_run, script)


def test_x_on_a_recorded_run_says_to_fork_it(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(app.screen, InterveneScreen)
        assert any("hamlet fork" in n.message for n in app._notifications)

    drive(recorded_run, script)


def test_sparklines_scale_to_the_top_given() -> None:
    assert sparkline([0, 1, 2, 4], 4) == "▁▃▅█"
    assert sparkline([0.5, 0.5], 1.0) == "▅▅"
    assert sparkline([3, 3], 0) == "▁▁"


@pytest.mark.slow
def test_an_intervention_typed_in_the_viewer_reaches_the_live_run_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    writer = run_in_background("worlds/smallville.yaml", live, "--hours", 6, "--seed", SEED, latency_ms=150)
    try:
        began = time.monotonic()
        while (
            not live.exists()
            or not query(live, "SELECT COUNT(*) FROM sqlite_master WHERE name='event'")[0][0]
            or not query(live, "SELECT COUNT(*) FROM event")[0][0]
        ):
            assert writer.poll() is None and time.monotonic() - began < 60, "the run did not start"
            time.sleep(0.05)

        async def fill(pilot: Pilot[None], screen: InterveneScreen, kind: str, **fields: str) -> None:
            screen.query_one(f"#iv-kind-{kind}", RadioButton).value = True
            await pilot.pause()
            for name, value in fields.items():
                screen.query_one(f"#iv-{name}", Input).value = value
            screen.query_one(f"#iv-{next(iter(fields))}", Input).focus()
            await pilot.press("enter")
            await screen.workers.wait_for_complete()
            await pilot.pause()

        async def script(app: HamletApp, pilot: Pilot[None]) -> None:
            await pilot.press("x")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, InterveneScreen)
            await fill(pilot, screen, "inject", place="Wrenfield Libary", text="The lights go out.")
            assert app.screen is screen, "a bad place keeps the dialog open"
            assert "unknown place 'Wrenfield Libary'" in str(screen.query_one("#iv-error").render())
            await fill(pilot, screen, "inject", place="Wrenfield Library", text="The lights go out.")
            assert app.screen is not screen
            assert any("intervention sent" in n.message for n in app._notifications)

        drive(live, script, live=True)
        began = time.monotonic()
        while query(live, "SELECT status FROM control")[0][0] != "applied":
            assert time.monotonic() - began < 60, "the intervention was not applied"
            time.sleep(0.05)
    finally:
        writer.kill()
        writer.wait()
    assert query(live, "SELECT source, kind FROM control") == [("tui", "intervene")]
    injected = [
        (place, json.loads(data))
        for place, data in query(live, "SELECT place, data FROM event WHERE kind = 'intervene'")
    ]
    assert ("Wrenfield Library:reading room", {"kind": "inject", "text": "The lights go out."}) in injected
