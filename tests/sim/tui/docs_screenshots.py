"""Regenerate the screenshots of docs/tui.md with the viewer's own ``save_screenshot`` (SVG).

    hamlet run worlds/smallville.yaml --llm scripted --hours 12 --seed 7 --out /tmp/docs.db --quiet
    python -m tests.sim.tui.docs_screenshots /tmp/docs.db docs/

Interviews write to the run file, so the interview picture is taken on a copy.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

import agents  # noqa: F401  (registers the minds interviews rebuild)
from sim.tui.app import HamletApp
from sim.tui.launch import open_source
from tests.sim.tui.conftest import copy_run

Step = Callable[[HamletApp, Pilot[None]], Awaitable[None]]


async def _keys(pilot: Pilot[None], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()


def shots() -> dict[str, Step]:
    """Picture name → what to do before taking it."""

    async def world(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+186m", "enter")  # some people in places, some walking between them

    async def people(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+5h", "enter", "2")

    async def feed(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+5h", "enter", "3")

    async def calls(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+5h", "enter", "4")

    async def call(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+5h", "enter", "4", "up", "enter")

    async def memories(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+8h", "enter")
        await app.inspect("Sofia Marchetti")
        await _keys(pilot, "m")

    async def recall(app: HamletApp, pilot: Pilot[None]) -> None:
        await memories(app, pilot)
        await _keys(pilot, "r", *"the Valentine's party", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

    async def reflections(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "j", *"+11h", "enter")  # Sofia has reflected by then (at 16:22 in the seed-7 run)
        await app.inspect("Sofia Marchetti")
        await _keys(pilot, "m", "e")

    async def plan(app: HamletApp, pilot: Pilot[None]) -> None:
        await memories(app, pilot)
        await _keys(pilot, "l")

    async def interview(app: HamletApp, pilot: Pilot[None]) -> None:
        await memories(app, pilot)
        await _keys(pilot, "n", *"Who is throwing a party?", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

    async def help_screen(app: HamletApp, pilot: Pilot[None]) -> None:
        await _keys(pilot, "question_mark")

    return {
        "world": world,
        "people": people,
        "feed": feed,
        "calls": calls,
        "call": call,
        "memories": memories,
        "recall": recall,
        "reflections": reflections,
        "plan": plan,
        "interview": interview,
        "help": help_screen,
    }


async def take(run: Path, folder: Path, name: str, step: Step) -> None:
    """Open the viewer on ``run``, do ``step`` and save ``folder/tui-NAME.svg``."""
    source = open_source(str(run), live=False)
    try:
        app = HamletApp(source)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await step(app, pilot)
            await pilot.pause(0.2)
            app.save_screenshot(filename=f"tui-{name}.svg", path=str(folder))
    finally:
        source.close()


def main(run: Path, folder: Path) -> None:
    """Take every picture."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = copy_run(run, Path(scratch) / run.name)
        for name, step in shots().items():
            asyncio.run(take(copy if name == "interview" else run, folder, name, step))
            print(folder / f"tui-{name}.svg")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
