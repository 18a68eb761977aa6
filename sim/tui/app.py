"""The viewer app: one Textual app for a recorded run, a run in another process, and a run it started.

The viewed point is an event ``seq`` and a simulated second ``t``. Every key that moves the
clock calls ``goto``; ``redraw`` rebuilds the world there with the ``Timeline`` and draws the
visible tab (the others are drawn when shown). A live run is polled every ``poll_s`` seconds
(``POLL_S``) for new rows, read-only; while following, the view moves with the newest event.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import subprocess
from datetime import datetime
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane

from sim.errors import UserError
from sim.tui.calls import CallsPane
from sim.tui.clock import SPEEDS, ClockBar, ClockInfo
from sim.tui.commands import HamletCommands
from sim.tui.feed import FeedPane
from sim.tui.inspector import InspectorScreen
from sim.tui.intervene import InterveneScreen
from sim.tui.metrics import MetricsScreen
from sim.tui.panes import Inspect, PeoplePane, WorldPane
from sim.tui.screens import HelpScreen, JumpScreen
from sim.tui.source import RunSource
from sim.tui.timeline import Timeline
from sim.tui.view import View

TABS = ("world", "people", "feed", "calls")
POLL_S = 0.05
"""How often a live run's file is read for new rows: twenty times a second. A read that finds
nothing new costs about a millisecond; one that does rebuilds the world and redraws what is on
screen (``benchmarks/bench_tui.py`` measures both, and the run's slowdown)."""


class MainScreen(Screen[None]):
    """The clock bar above four tabs: world, people, feed, LLM calls."""

    def __init__(self, source: RunSource, timeline: Timeline) -> None:
        super().__init__()
        self.source, self.timeline = source, timeline
        self._found: dict[str, Any] = {}  # found once: a thousand people make the screen's DOM long to search

    def widget(self, selector: str | type[Any]) -> Any:
        """The one widget ``selector`` finds on this screen (looked up once)."""
        key = selector if isinstance(selector, str) else selector.__name__
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self.query_one(selector)
        return found

    def compose(self) -> ComposeResult:
        """Header, clock, tabs, footer."""
        assert self.source.scenario is not None
        scenario = self.source.scenario
        yield Header()
        yield ClockBar(id="clock")
        with TabbedContent(id="tabs"):
            with TabPane("World", id="world"):
                yield WorldPane(scenario, self.timeline)
            with TabPane("People", id="people"):
                yield PeoplePane(self.timeline)
            with TabPane("Feed", id="feed"):
                yield FeedPane(self.source, scenario)
            with TabPane("LLM calls", id="calls"):
                run = self.source.run() or {}
                yield CallsPane(
                    self.source,
                    scenario.start,
                    datetime.fromisoformat(run.get("sim_end") or scenario.start.isoformat()),
                )
        yield Footer()

    def on_mount(self) -> None:
        """Composed: the app can start showing the run."""
        if isinstance(self.app, HamletApp):
            self.app.begin()

    def on_screen_resume(self) -> None:
        """Back from a dialog or the inspector: draw what changed meanwhile."""
        app = self.app
        if isinstance(app, HamletApp) and app.view is not None:
            app.redraw()


class HamletApp(App[None]):
    """Shows one run at a chosen point of its log; follows it live when another process writes it."""

    TITLE = "Hamlet"
    CSS = """
    Screen { overflow: hidden; }
    TabbedContent { height: 1fr; }
    TabbedContent > ContentSwitcher { height: 1fr; }
    TabPane { height: 1fr; padding: 0; }
    """
    COMMANDS = App.COMMANDS | {HamletCommands}
    BINDINGS = [
        Binding("space,p", "play", "Play/pause"),
        Binding("full_stop", "step(1)", "Event▶"),
        Binding("comma", "step(-1)", "◀Event", show=False),
        Binding("greater_than_sign", "tick(1)", "Tick▶", show=False),
        Binding("less_than_sign", "tick(-1)", "◀Tick", show=False),
        Binding("plus,equals_sign", "speed(1)", "Faster", show=False),
        Binding("minus", "speed(-1)", "Slower", show=False),
        Binding("j", "jump", "Jump"),
        Binding("f", "follow", "Newest", show=False),
        Binding("0", "start", "Start", show=False),
        Binding("i", "inspect", "Inspect"),
        Binding("m", "metrics", "Metrics", show=False),
        Binding("x", "intervene", "Intervene", show=False),
        Binding("1", "tab('world')", "World", show=False),
        Binding("2", "tab('people')", "People", show=False),
        Binding("3", "tab('feed')", "Feed", show=False),
        Binding("4", "tab('calls')", "Calls", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        source: RunSource,
        *,
        live: bool = False,
        child: subprocess.Popen[Any] | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__()
        # Watching must not slow the run: on a machine whose cores the run keeps busy, the viewer
        # gets the time the run leaves over (its own process only; a --tui run's child keeps its own).
        self._priority = _lower_priority() if live else None
        run = source.run()
        if run is None or source.scenario is None:
            raise UserError(f"{source.path}: the run has not written anything yet")
        self.source, self.live, self.child, self.poll_s = source, live, child, poll_s
        self.timeline = Timeline(source)
        self.run_row = run
        self.end = source.time().second(datetime.fromisoformat(run["sim_end"]))
        self.paused = source.paused() if live else False
        self.following = live
        self.playing = False
        self.speed = 1
        self.seq, self.t = 0, 0
        self.view: View | None = None
        self.drawn: set[str] = set()  # the tabs drawn for the current view
        self.title = f"Hamlet · {run['world']} · seed {run['seed']}"
        self.sub_title = f"{source.path.name} · {'live' if live else 'replay'}"

    def get_default_screen(self) -> Screen[Any]:
        """The main screen."""
        return MainScreen(self.source, self.timeline)

    def begin(self) -> None:
        """Open at the newest event when live, else after the run's first tick; start the timers."""
        if self.live:
            self.goto(self.timeline.last_seq, self._latest_t())
        else:
            first = self.source.tick_end(-1, forward=True)
            self.goto(*(first or (0, 0)))
        self.player = self.set_interval(0.1, self._play_frame, pause=True)
        if self.live:
            self.set_interval(self.poll_s, self.poll)
        # What exists now (the world, the screen's widgets, a thousand people's nodes) lives as long as
        # the app: keep it out of the cyclic garbage collector, which would otherwise walk all of it
        # over and over while a live run or a replay makes new objects, and take a third of the time.
        gc.freeze()

    def on_unmount(self) -> None:
        """Leaving: what ``begin`` kept from the garbage collector is collectable again; the priority is restored."""
        gc.unfreeze()
        if self._priority is not None:
            _set_priority(self._priority)

    # -- moving the clock ----------------------------------------------------------------

    def goto(self, seq: int, t: int | None = None) -> None:
        """View the run after event ``seq`` at second ``t`` (default: that event's time)."""
        seq = max(0, min(seq, self.timeline.last_seq))
        if t is None:
            event = self.source.event(seq)
            t = int(event["t"]) if event else 0
        self.seq, self.t = seq, max(0, t)
        self.redraw()

    def seek_time(self, t: int) -> None:
        """View the run at second ``t``: after the last event at or before it."""
        t = max(0, min(t, max(self.end, self._latest_t())))
        self.goto(self.source.seq_at(t), t)

    def redraw(self) -> None:
        """Rebuild the world at the viewed point and draw the clock and what is on screen."""
        try:
            self._redraw()
        except sqlite3.DatabaseError as err:  # a file damaged past what opening it checked
            self.notify(f"{self.source.path.name}: cannot read this part of the run ({err})", severity="error")

    def _redraw(self) -> None:
        state = self.timeline.state(self.seq)
        self.view = View(self.seq, self.t, self.source.time().when(self.t), state)
        self.drawn = set()
        self._show_clock()
        if isinstance(self.screen, InspectorScreen | MetricsScreen):
            self.screen.show(self.view)
        elif isinstance(self.screen, MainScreen):
            self._draw_tab(self.screen.widget("#tabs").active)

    def _show_clock(self) -> None:
        info = self.clock_info()
        bars = [self.screen.widget(ClockBar)] if isinstance(self.screen, MainScreen) else self.screen.query(ClockBar)
        for bar in bars:
            bar.show(info)

    def clock_info(self) -> ClockInfo:
        """What the clock bar shows now."""
        assert self.view is not None
        running = self.run_row["status"] == "running"
        return ClockInfo(
            live=self.live,
            status=self.run_row["status"],
            playing=self.playing or (self.following and running),
            paused=self.paused,
            speed=SPEEDS[self.speed],
            when=self.view.when,
            t=self.t,
            end=self.end,
            seq=self.seq,
            last_seq=self.timeline.last_seq,
            tick=self.view.state.tick,
            cost=self.timeline.cost(self.view.state.tick),
            message=self.run_row.get("message", ""),
        )

    def _draw_tab(self, tab: str) -> None:
        if self.view is None or tab in self.drawn or not isinstance(self.screen, MainScreen):
            return
        panes: dict[str, type[WorldPane | PeoplePane | FeedPane | CallsPane]] = {
            "world": WorldPane,
            "people": PeoplePane,
            "feed": FeedPane,
            "calls": CallsPane,
        }
        self.screen.widget(panes[tab]).show(self.view)
        self.drawn.add(tab)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        tab = str(event.pane.id)
        try:
            self._draw_tab(tab)
        except sqlite3.DatabaseError as err:
            self.notify(f"{self.source.path.name}: cannot read this part of the run ({err})", severity="error")
        target = {"world": "#places", "people": "#people-table", "feed": "#feed-log", "calls": "#calls-table"}[tab]
        self.screen.query_one(target).focus()

    @on(ClockBar.Seek)
    def _seek(self, event: ClockBar.Seek) -> None:
        self.following = False
        self.seek_time(round(event.share * self.end))

    def _latest_t(self) -> int:
        event = self.source.event(self.timeline.last_seq)
        now = self.source.time().second(datetime.fromisoformat(self.run_row["sim_now"]))
        return max(int(event["t"]) if event else 0, now)

    def _play_frame(self) -> None:
        if not self.playing:
            return
        target = self.t + SPEEDS[self.speed] // 10
        if target >= self._latest_t():
            self.playing = False
            self.player.pause()
        self.seek_time(target)

    # -- live runs -----------------------------------------------------------------------

    def poll(self) -> None:
        """Read what the live run wrote since the last poll; follow it if following."""
        try:
            grew = self.timeline.refresh()
            run = self.source.run() or self.run_row
            paused = self.source.paused()
        except sqlite3.Error as err:
            self.notify(f"cannot read the run file: {err}", severity="error", timeout=3)
            return
        changed = grew or run["status"] != self.run_row["status"] or paused != self.paused
        self.run_row, self.paused = run, paused
        if self.child is not None and self.child.poll() is not None and run["status"] == "running":
            self.run_row = {**run, "status": "failed", "message": f"the run process exited ({self.child.returncode})"}
            changed = True
        if not changed:
            return
        if self.following:
            self.goto(self.timeline.last_seq, self._latest_t())
        elif self.view is not None:
            self._show_clock()

    @work(thread=True, group="control")
    def send(self, kind: str) -> None:
        """Ask the live run to pause or resume (written to its control table, in a thread)."""
        from sim.run.control import send

        try:
            send(str(self.source.path), kind, source="tui")
        except UserError as err:
            self.call_from_thread(self.notify, str(err), severity="error")

    # -- actions -------------------------------------------------------------------------

    def action_play(self) -> None:
        """Live run: pause or resume it. Replay: play or pause the playback."""
        if self.live and self.run_row["status"] == "running":
            self.send("resume" if self.paused else "pause")
            self.paused = not self.paused
            self.redraw()
            return
        self.playing = not self.playing
        if self.playing:
            if self.t >= self._latest_t():
                self.seek_time(0)
            self.player.resume()
        else:
            self.player.pause()
        self.redraw()

    def action_step(self, events: int) -> None:
        """Move ``events`` events forward (or back)."""
        self.following = False
        self.goto(self.seq + events)

    def action_tick(self, direction: int) -> None:
        """Move to the end of the next tick (1) or of the previous one (-1)."""
        assert self.view is not None
        self.following = False
        if direction > 0:
            upcoming = self.source.event(self.seq + 1)
            target = self.source.tick_end(int(upcoming["tick"]) - 1, forward=True) if upcoming else None
        else:
            target = self.source.tick_end(self.view.state.tick, forward=False)
        if target is not None:
            self.goto(*target)

    def action_speed(self, change: int) -> None:
        """Play faster or slower."""
        self.speed = max(0, min(len(SPEEDS) - 1, self.speed + change))
        self.redraw()

    def action_jump(self) -> None:
        """Ask for a time and go there."""
        assert self.view is not None

        def chosen(moment: datetime | None) -> None:
            """Go to the time typed, unless the dialog was cancelled."""
            if moment is not None:
                self.following = False
                self.seek_time(self.source.time().second(moment))

        self.push_screen(JumpScreen(self.source.start(), self.view.when), chosen)

    def action_follow(self) -> None:
        """Go to the newest event; on a live run, keep following it."""
        self.following = self.live
        self.goto(self.timeline.last_seq, self._latest_t())

    def action_start(self) -> None:
        """Go to the end of the run's first tick."""
        self.following = False
        self.goto(*(self.source.tick_end(-1, forward=True) or (0, 0)))

    def action_tab(self, tab: str) -> None:
        """Show one of the main tabs."""
        if isinstance(self.screen, MainScreen):
            self.screen.query_one("#tabs", TabbedContent).active = tab

    async def action_metrics(self) -> None:
        """Show the research charts as of the viewed time."""
        if isinstance(self.screen, MetricsScreen):
            return
        await self.push_screen(MetricsScreen(self.source, self.live))
        self.redraw()

    def action_intervene(self) -> None:
        """Live run: ask for an intervention and send it. Replay: say how to branch the run instead."""
        if not (self.live and self.run_row["status"] == "running"):
            self.notify(
                f"interventions reach a live run; to change this one from a time on, fork it: hamlet fork "
                f"{self.source.path} --at TIME --intervene KIND ...",
                severity="warning",
                timeout=6,
            )
            return

        def sent(request: int | None) -> None:
            """Say the request went out, unless the dialog was cancelled."""
            if request is not None:
                self.notify(f"intervention sent (request {request}); it takes effect at the run's next tick")

        self.push_screen(InterveneScreen(self.source.path), sent)

    def action_help(self) -> None:
        """Show the help screen."""
        self.push_screen(HelpScreen())

    async def action_inspect(self) -> None:
        """Inspect the person under the people table's cursor."""
        if not isinstance(self.screen, MainScreen):
            return
        table = self.screen.query_one("#people-table", DataTable)
        if self.view is not None and "people" not in self.drawn:
            self.screen.query_one(PeoplePane).show(self.view)
        if table.row_count:
            await self.inspect(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    @on(Inspect)
    async def _inspect(self, event: Inspect) -> None:
        await self.inspect(event.person)

    async def inspect(self, person: str) -> None:
        """Open the inspector for ``person`` at the viewed point."""
        if isinstance(self.screen, InspectorScreen):
            self.pop_screen()
        await self.push_screen(InspectorScreen(self.source, self.timeline, person))
        self.redraw()

    async def action_inspect_person(self, person: str) -> None:
        """Open the inspector for ``person`` (from the command palette)."""
        await self.inspect(person)


VIEWER_NICENESS = 10
"""How much lower than the run the viewer of a live run schedules itself (``os.nice`` steps)."""


def _lower_priority() -> int | None:
    """Lower this process's scheduling priority by ``VIEWER_NICENESS``; the priority before, or None if it cannot."""
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, min(19, before + VIEWER_NICENESS))
    except (AttributeError, OSError):  # not on this platform: the viewer runs as it is
        return None
    return before


def _set_priority(value: int) -> None:
    # Raising it back needs privileges an ordinary user lacks: then the lower one stays.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, value)
