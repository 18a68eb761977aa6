"""Watching a run another process writes: the clock follows it, and the run is the same as one nobody watched."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from sim.tui.app import VIEWER_NICENESS, HamletApp
from sim.tui.clock import ClockBar
from sim.tui.launch import open_source
from tests.conftest import ROOT, events_export, run_command
from tests.sim.tui.conftest import HOURS, SEED, query

pytestmark = pytest.mark.slow


def _events(run: Path) -> int:
    try:
        return int(query(run, "SELECT COUNT(*) FROM event")[0][0])
    except Exception:  # noqa: BLE001  (not created yet)
        return 0


def test_a_watched_live_run_moves_the_clock_pauses_on_space_and_ends_as_an_unwatched_run(
    recorded_run: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live.db"
    writer = subprocess.Popen(
        run_command("worlds/smallville.yaml", live, "--hours", HOURS, "--seed", SEED, latency_ms=100),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        began = time.monotonic()
        while _events(live) == 0:
            assert writer.poll() is None and time.monotonic() - began < 60, "the run did not start"
            time.sleep(0.05)

        async def script(app: HamletApp, pilot: Pilot[None]) -> None:
            seen = [app.t]
            while len(set(seen)) < 3:  # the clock moves on its own, twice
                await pilot.pause(0.3)
                assert writer.poll() is None, "the run ended before the viewer saw it move"
                seen.append(app.t)
            assert seen == sorted(seen) and "● LIVE" in app.screen.query_one(ClockBar).render().plain
            assert app.seq == app.timeline.last_seq  # following the newest event
            await pilot.press("space")  # pause the run
            await app.workers.wait_for_complete()
            await pilot.pause(3.0)  # the tick under way when the request came is committed, then none
            held = app.timeline.last_seq
            await pilot.pause(1.5)
            assert app.timeline.last_seq == held, "a paused run writes nothing"
            assert "run paused" in app.screen.query_one(ClockBar).render().plain
            await pilot.press("space")  # resume it
            await app.workers.wait_for_complete()
            while writer.poll() is None:
                await pilot.pause(0.25)
            await pilot.pause(0.6)
            assert "finished" in app.screen.query_one(ClockBar).render().plain
            assert app.seq == app.timeline.last_seq

        async def main() -> None:
            source = open_source(str(live), live=True)
            try:
                async with HamletApp(source, live=True).run_test(size=(100, 30)) as pilot:
                    await script(pilot.app, pilot)  # type: ignore[arg-type]
            finally:
                source.close()

        asyncio.run(main())
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err
    assert query(live, "SELECT status FROM run") == [("finished",)]
    assert [kind for (kind,) in query(live, "SELECT kind FROM control ORDER BY id")] == ["pause", "resume"]
    assert events_export(live, tmp_path / "watched") == events_export(recorded_run, tmp_path / "unwatched")


def test_the_viewer_of_a_live_run_yields_the_cpu_to_the_run_and_restores_its_priority(recorded_run: Path) -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: list[int] = []

    async def main() -> None:
        source = open_source(str(recorded_run), live=True)
        try:
            async with HamletApp(source, live=True).run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                seen.append(os.getpriority(os.PRIO_PROCESS, 0))
        finally:
            source.close()

    asyncio.run(main())
    assert seen == [min(19, before + VIEWER_NICENESS)], "the viewer runs at a lower priority than the run"
    assert os.getpriority(os.PRIO_PROCESS, 0) == before, "leaving the viewer restores the priority"
