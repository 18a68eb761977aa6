"""The viewer (``sim/tui``): seeking in a run of 1,000,000 events, and watching a 1,000-person run live.

Seek. A run file of 1,000,000 events is built from a real one: ``towns.py``'s 1,000-person town
is run by the real engine (``python -m sim run --llm scripted``) for two simulated days; its
first day is kept as it is, and its second day (about 25,000 events and 16 snapshots, from
waking to sleep) is repeated day after day, shifted in seq, tick, time and dates, until the file
holds 1,000,000 events (about 40 simulated days). The rows are the engine's own (moves,
arrivals, actions, day plans; a snapshot every simulated hour holding ``Simulation.state()``, 460
KiB each; the day plan's LLM call of each person), written through ``RunLog`` in one ``Batch``
a tick, as the engine writes them. Then:

- open: ``RunSource`` + ``run()`` (which parses the recorded world) + ``Timeline`` (snapshot
  marks, lines said, costs): what ``HamletApp`` does before it draws anything;
- rebuild: a seek as ``j`` makes it, without drawing: ``seq_at(t)`` then ``Timeline.state(seq)``
  (the newest snapshot at or before it plus the events after it), at uniformly random times,
  with the opened file kept from the garbage collector as ``HamletApp.begin()`` keeps it;
- on screen (no target): the same seeks in the real app, headless (``App.run_test``), from
  ``HamletApp.seek_time(t)`` until the screen is composed again (``Pilot.pause()``), with each
  tab in front: the world's 1,000 people, the people table, the feed, the LLM calls.

Target: a seek (rebuild) <= 100 ms, median.

Live. ``towns.py``'s 1,000-person town is run for three simulated days with the scripted model at
50 ms a call (``python -m sim run town.yaml --llm scripted --llm-latency-ms 50 --hours 72 --quiet``)
as a child process; in half of the runs the real app watches the file it writes (``HamletApp`` in
watch mode on the world tab, headless, in this process, opened as ``hamlet watch`` opens it once
the run row exists), in the other half nobody does; the runs are interleaved. The run writes in
bursts (its writer commits a few ticks at a time, 5 to 10 times a second, a day's events within
about 2 s, after some seconds of morning day plans that write nothing), so the figures about
updates are taken while it writes: between polls that find new rows at most 1 s apart, after the
viewer's first screen. Three days, not one: a single day is written in about 2 s, which begins
as the viewer's first screen appears, so a one-day run measures the viewer's start more than its
steady state (``--hours 24`` measures it anyway; docs/benchmarks.md gives both).

- screen refreshes per second: polls of the file, each of which brings the screen up to date
  with it (one that finds new rows rebuilds the world and redraws the tab and the clock bar; one
  that finds none leaves the screen as the file is). Of these, the updates with new rows per
  second cannot exceed the writer's commits, and are given apart;
- the run's wall time, watched and not: the span its run row records (creation to end) and the
  whole command (start to exit); the slowdown is the watched median over the unwatched one;
- the viewer's CPU, as a share of one core.

Targets: >= 10 screen refreshes per second; the run slowed by <= 5 % (span, medians). On a
shared 2-core machine the span of the same run varies by 10-20 % from one run to the next, more
than the target: the load average is printed before and after, and the table gives the spread.

    python benchmarks/bench_tui.py                                   # both (about 6 minutes)
    python benchmarks/bench_tui.py --only seek --file /tmp/run1m.db  # keep the 1,000,000-event file for next time
    python benchmarks/bench_tui.py --only live --repeats 5 --hours 24  # one day: mostly the viewer's start
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import common
from common import median, percentile, table, verdict
from million import build_run, file_events

TARGET_SEEK_MS = 100.0
TARGET_UPDATES_PER_S = 10.0
TARGET_SLOWDOWN = 0.05
BUSY_GAP_S = 1.0  # new rows at most this far apart: the run is writing
DAY = 86_400


# -- seeking -----------------------------------------------------------------------------


def time_open(path: Path, repeats: int) -> dict[str, float]:
    """Seconds to open the file as the app does: the connection, the run row and world, the timeline."""
    from sim.tui.source import RunSource
    from sim.tui.timeline import Timeline

    parts: dict[str, list[float]] = {"connect_s": [], "run_s": [], "timeline_s": [], "open_s": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        source = RunSource(path)
        t1 = time.perf_counter()
        source.run()
        t2 = time.perf_counter()
        Timeline(source)
        t3 = time.perf_counter()
        source.close()
        for key, value in (("connect_s", t1 - t0), ("run_s", t2 - t1), ("timeline_s", t3 - t2), ("open_s", t3 - t0)):
            parts[key].append(value)
    return {key: median(values) for key, values in parts.items()}


class CountingRows:
    """A ``RunSource`` that counts the events and snapshots a timeline reads through it."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.events_read = self.snapshots_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def events(self, after: int, upto: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.source.events(after, upto)
        self.events_read += len(rows)
        return rows

    def snapshot_state(self, snapshot_id: int) -> dict[str, Any]:
        self.snapshots_read += 1
        state: dict[str, Any] = self.source.snapshot_state(snapshot_id)
        return state


def time_rebuilds(path: Path, seeks: int, seed: int) -> dict[str, Any]:
    """Milliseconds of ``seq_at`` + ``Timeline.state`` at ``seeks`` uniformly random times; what each read."""
    from sim.tui.source import RunSource
    from sim.tui.timeline import Timeline

    source = RunSource(path)
    try:
        run = source.run()
        assert run is not None
        rows = CountingRows(source)
        timeline = Timeline(rows)
        end = source.time().second(datetime.fromisoformat(run["sim_end"]))
        rng = random.Random(seed)
        times, applied, snapshots = [], [], []
        gc.freeze()  # what is open stays: HamletApp.begin() keeps it from the garbage collector too
        for _ in range(seeks):
            t = rng.randrange(0, end + 1)
            rows.events_read = rows.snapshots_read = 0
            t0 = time.perf_counter()
            timeline.state(source.seq_at(t))
            times.append((time.perf_counter() - t0) * 1000)
            applied.append(rows.events_read)
            snapshots.append(rows.snapshots_read)
        return {"ms": times, "events_applied": applied, "snapshots_read": snapshots}
    finally:
        gc.unfreeze()
        source.close()


def time_screen_seeks(path: Path, seeks: int, seed: int, size: tuple[int, int], tabs: list[str]) -> dict[str, Any]:
    """Milliseconds from ``HamletApp.seek_time(t)`` until the screen is composed again, per tab; and the first screen."""
    from sim.tui.app import HamletApp
    from sim.tui.source import RunSource

    keys = {"world": "1", "people": "2", "feed": "3", "calls": "4"}
    out: dict[str, Any] = {}

    async def main() -> None:
        source = RunSource(path)
        try:
            t0 = time.perf_counter()
            app = HamletApp(source)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                out["first_screen_s"] = time.perf_counter() - t0
                rng = random.Random(seed)
                for tab in tabs:
                    await pilot.press(keys[tab])
                    await pilot.pause()
                    times = []
                    for _ in range(seeks):
                        t = rng.randrange(0, app.end + 1)
                        t1 = time.perf_counter()
                        app.seek_time(t)
                        await pilot.pause()
                        times.append((time.perf_counter() - t1) * 1000)
                    out[tab] = times
        finally:
            source.close()

    asyncio.run(main())
    return out


# -- watching a live run -------------------------------------------------------------------


def _sim_args(world: Path, out: Path, latency_ms: float, hours: float) -> list[str]:
    return common.run_args(world, out, "--hours", f"{hours:g}", latency_ms=latency_ms)


def _run_span(out: Path) -> float:
    """Seconds between the run row's creation and its last update (the run's end), by the writer's clock."""
    import sqlite3

    with sqlite3.connect(out) as db:
        created, updated, status = db.execute("SELECT created_at, updated_at, status FROM run").fetchone()
    if status != "finished":
        raise RuntimeError(f"{out}: the run ended {status}")
    return (datetime.fromisoformat(updated) - datetime.fromisoformat(created)).total_seconds()


def unwatched_run(world: Path, out: Path, latency_ms: float, hours: float, timeout: float) -> dict[str, Any]:
    """The run with nobody watching: its wall time."""
    wall = common.run_hamlet(_sim_args(world, out, latency_ms, hours), timeout)
    return {"wall_s": wall, "span_s": _run_span(out)}


def commits_run(world: Path, out: Path, latency_ms: float, hours: float, timeout: float) -> dict[str, Any]:
    """An extra unwatched run whose file is sampled every 10 ms: how often its writer commits new rows.

    Not timed (the sampling costs a little CPU); it tells how many updates with new rows a viewer
    could show at most, counted as the watched runs count theirs.
    """
    import sqlite3

    child = subprocess.Popen(
        common.hamlet_command(*_sim_args(world, out, latency_ms, hours)),
        cwd=common.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    commits: list[float] = []
    last = -1
    db = None
    try:
        while child.poll() is None:
            if time.perf_counter() - (commits[0] if commits else time.perf_counter()) > timeout:
                raise TimeoutError("the sampled run took too long")
            try:
                if db is None and out.exists():
                    db = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
                if db is not None:
                    seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM event").fetchone()[0]
                    if seq != last:
                        commits.append(time.perf_counter())
                        last = seq
            except sqlite3.Error:
                db = None  # still being created
            time.sleep(0.01)
    finally:
        if db is not None:
            db.close()
        if child.poll() is None:
            child.kill()
        _, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the sampled run failed ({child.returncode}):\n{err[-3000:]}")
    busy = [b - a for a, b in zip(commits[1:], commits[2:], strict=False) if b - a <= BUSY_GAP_S]
    return {"commits_per_s": len(busy) / sum(busy) if busy else float("nan"), "writing_s": sum(busy)}


def _wait_for_run_row(out: Path, child: subprocess.Popen[str]) -> None:
    """Wait until the child has written the run row (as ``hamlet run --tui`` waits before it opens the viewer)."""
    import sqlite3
    from contextlib import closing

    while child.poll() is None:
        if out.exists():
            try:
                with closing(sqlite3.connect(f"file:{out}?mode=ro", uri=True)) as db:
                    if db.execute("SELECT 1 FROM run").fetchone():
                        return
            except sqlite3.Error:
                pass  # still being created
        time.sleep(0.02)
    raise RuntimeError(f"the run ended before it wrote its first rows ({child.returncode})")


def watched_run(
    world: Path, out: Path, latency_ms: float, hours: float, timeout: float, poll_s: float | None, size: tuple[int, int]
) -> dict[str, Any]:
    """The run watched by the app (headless, in this process) from its first rows to its end."""
    from sim.tui.app import HamletApp
    from sim.tui.clock import ClockBar
    from sim.tui.launch import open_source

    repaints: list[tuple[float, float, int]] = []  # (wall, CPU, event seq shown) at each repaint of the clock bar
    redraws: list[float] = []  # when the world was rebuilt and drawn
    original_render = ClockBar.render

    def render(bar: ClockBar) -> Any:
        if bar.info is not None:
            repaints.append((time.perf_counter(), time.process_time(), bar.info.seq))
        return original_render(bar)

    polls: list[tuple[float, float, bool]] = []  # (wall, CPU, whether it found new rows) at the end of each poll

    class CountingApp(HamletApp):
        def _redraw(self) -> None:
            super()._redraw()
            redraws.append(time.perf_counter())

        def poll(self) -> None:
            before = self.timeline.last_seq
            super().poll()
            polls.append((time.perf_counter(), time.process_time(), self.timeline.last_seq != before))

    figures: dict[str, Any] = {}
    t0 = time.perf_counter()
    child = subprocess.Popen(
        common.hamlet_command(*_sim_args(world, out, latency_ms, hours)),
        cwd=common.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ClockBar.render = render  # type: ignore[method-assign]
    try:
        _wait_for_run_row(out, child)
        figures["row_at"] = time.perf_counter() - t0
        cpu0, opened_at = time.process_time(), time.perf_counter()
        source = open_source(str(out), live=True)
        try:
            app = CountingApp(source, live=True) if poll_s is None else CountingApp(source, live=True, poll_s=poll_s)
            figures["poll_s"] = app.poll_s

            async def main() -> None:
                async with app.run_test(size=size):
                    while child.poll() is None:
                        if time.perf_counter() - t0 > timeout:
                            raise TimeoutError("the watched run took too long")
                        await asyncio.sleep(0.05)  # not Pilot.pause: it would add its own work to the viewer's
                    figures["exited_at"] = time.perf_counter()
                    await asyncio.sleep(max(1.0, 4 * app.poll_s))  # the last rows and the finished status
                    figures["status_shown"] = app.run_row["status"]
                    figures["followed_to"] = (app.seq, app.timeline.last_seq)

            asyncio.run(main())
            figures["viewer_cpu_s"] = time.process_time() - cpu0
            figures["viewer_wall_s"] = time.perf_counter() - opened_at
        finally:
            source.close()
        _, err = child.communicate(timeout=timeout)
    finally:
        ClockBar.render = original_render  # type: ignore[method-assign]
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the watched run failed ({child.returncode}):\n{err[-3000:]}")
    if not repaints:
        raise RuntimeError("the viewer never drew the clock")
    # While the run wrote: between polls that found new rows after the first screen, at most BUSY_GAP_S
    # apart (a longer gap is the run thinking without writing, e.g. a morning's day plans). Every poll
    # brings the screen up to date with the file: one that finds new rows rebuilds the world and
    # redraws the tab and the clock bar; one that finds none leaves the screen as the file is.
    first_screen = repaints[0][0]
    grew = [(when, cpu) for when, cpu, new in polls if new and when > first_screen]
    busy = [(a, b) for a, b in zip(grew, grew[1:], strict=False) if b[0] - a[0] <= BUSY_GAP_S]
    window = sum(b[0] - a[0] for a, b in busy)
    window_cpu = sum(b[1] - a[1] for a, b in busy)
    refreshes = sum(1 for when, _, _ in polls if any(a[0] < when <= b[0] for a, b in busy))
    return {
        "wall_s": figures["exited_at"] - t0,
        "span_s": _run_span(out),
        "poll_s": figures["poll_s"],
        "run_row_after_s": figures["row_at"],
        "first_screen_after_s": first_screen - t0,
        "caught_up_after_exit_s": grew[-1][0] - figures["exited_at"] if grew else float("nan"),
        "window_s": window,
        "polls_per_s": refreshes / window if window > 0 else float("nan"),
        "updates_per_s": len(busy) / window if window > 0 else float("nan"),
        "gaps_ms": [1000 * (b[0] - a[0]) for a, b in busy],
        "window_cpu_share": window_cpu / window if window > 0 else float("nan"),
        "viewer_cpu_share": figures["viewer_cpu_s"] / figures["viewer_wall_s"],
        "redraws": len(redraws),
        "clock_repaints": len(repaints),
        "status_shown": figures["status_shown"],
        "followed_to": figures["followed_to"],
    }


# -- the two benchmarks ----------------------------------------------------------------------


def seek_benchmark(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Build (or reuse) the run file, then time opening it and seeking in it."""
    import sqlite3

    path = Path(args.file) if args.file else folder / "run1m.db"
    built: dict[str, Any] = {}
    if file_events(path) != args.events:
        for old in path.parent.glob(path.name + "*"):
            old.unlink()
        print(f"  building {path} ({args.events:,} events)…", file=sys.stderr, flush=True)
        built = build_run(path, args.events, args.people, folder, args.timeout)
    else:
        print(f"  reusing {path}", file=sys.stderr, flush=True)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        marks = [seq for (seq,) in db.execute("SELECT seq FROM snapshot ORDER BY seq")]
        count = int(db.execute("SELECT COUNT(*) FROM event").fetchone()[0])
        last_t = int(db.execute("SELECT MAX(t) FROM event").fetchone()[0])
        people = int(db.execute("SELECT COUNT(*) FROM event WHERE kind = 'spawn'").fetchone()[0])
        snapshot_kib = float(db.execute("SELECT AVG(LENGTH(state)) FROM snapshot").fetchone()[0]) / 1024
    gaps = [b - a for a, b in zip(marks, [*marks[1:], count], strict=True)]
    print("  opening…", file=sys.stderr, flush=True)
    opened = time_open(path, args.opens)
    print(f"  {args.seeks} seeks (rebuild)…", file=sys.stderr, flush=True)
    rebuilt = time_rebuilds(path, args.seeks, args.seed)
    screen: dict[str, Any] = {}
    if args.screen_seeks:
        print(f"  {args.screen_seeks} seeks on screen per tab ({', '.join(args.tabs)})…", file=sys.stderr, flush=True)
        screen = time_screen_seeks(path, args.screen_seeks, args.seed, args.size, args.tabs)
    return {
        "path": str(path),
        "events": count,
        "snapshots": len(marks),
        "people": people,
        "days": last_t / DAY,
        "bytes": sum(p.stat().st_size for p in path.parent.glob(path.name + "*")),
        "snapshot_kib": snapshot_kib,
        "gap_median": median(gaps),
        "gap_max": max(gaps),
        "built": built,
        "open": opened,
        "rebuild": rebuilt,
        "screen": screen,
    }


def seek_table(f: dict[str, Any], args: argparse.Namespace) -> str:
    """The seek benchmark's table."""
    ms = f["rebuild"]["ms"]
    rows: list[list[Any]] = [
        ["run file: events", f["events"], "", "-"],
        ["run file: people, simulated days", f"{f['people']:,}, {f['days']:.1f}", "", "-"],
        [
            "run file: snapshots (one a simulated hour), size each (KiB)",
            f"{f['snapshots']:,}, {f['snapshot_kib']:,.0f}",
            "",
            "-",
        ],
        ["run file: events between snapshots, median / max", f"{f['gap_median']:,} / {f['gap_max']:,}", "", "-"],
        ["run file: size (MB)", f["bytes"] / 1e6, "", "-"],
    ]
    if f["built"]:
        rows.append(
            [
                "run file: built in (s), of which the 2-day engine run",
                f"{f['built']['build_s']:.0f}, {f['built']['record_s']:.0f}",
                "",
                "-",
            ]
        )
    o = f["open"]
    rows += [
        ["open: run row and world (s)", o["run_s"], "", "-"],
        ["open: timeline (snapshot marks, lines said, costs) (s)", o["timeline_s"], "", "-"],
        ["open: total (s)", o["open_s"], "", "-"],
        [
            f"seek, rebuild (seq_at + Timeline.state), median of {len(ms)} (ms)",
            median(ms),
            f"<= {TARGET_SEEK_MS:g}",
            verdict(median(ms) <= TARGET_SEEK_MS),
        ],
        ["seek, rebuild: p95 / max (ms)", f"{percentile(ms, 0.95):.1f} / {max(ms):.1f}", "", "-"],
        [
            "seek, rebuild: events applied, median / max",
            f"{median(f['rebuild']['events_applied']):,} / {max(f['rebuild']['events_applied']):,}",
            "",
            "-",
        ],
        ["seek, rebuild: snapshots read per seek, median", median(f["rebuild"]["snapshots_read"]), "", "-"],
    ]
    screen = f["screen"]
    if screen:
        rows.append(
            [
                f"app: opened (world parsed) to first screen, {args.size[0]}x{args.size[1]} (s)",
                screen["first_screen_s"],
                "",
                "-",
            ]
        )
        for tab in args.tabs:
            rows.append(
                [
                    f"seek on screen, {tab} tab: median / p95 (ms)",
                    f"{median(screen[tab]):.0f} / {percentile(screen[tab], 0.95):.0f}",
                    "",
                    "-",
                ]
            )
    return table(["figure", "value", "target", "verdict"], rows)


def live_benchmark(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Interleaved runs of the town, watched and unwatched."""
    from towns import write_town

    world = write_town(folder, args.live_people, hours=args.hours)
    runs: dict[str, list[dict[str, Any]]] = {"unwatched": [], "watched": []}
    for index in range(args.repeats):
        order = ("unwatched", "watched") if index % 2 == 0 else ("watched", "unwatched")
        for kind in order:  # interleaved, and in turn first, so drifts of the machine hit both alike
            out = folder / f"live-{kind}-{index}.db"
            if kind == "watched":
                run = watched_run(world, out, args.latency_ms, args.hours, args.timeout, args.poll, args.size)
                print(
                    f"  run {index + 1}/{args.repeats}, watched: {run['span_s']:.2f} s (start to exit "
                    f"{run['wall_s']:.2f} s), {run['polls_per_s']:.1f} refreshes/s, {run['updates_per_s']:.1f} "
                    f"updates with new rows/s, viewer CPU {run['window_cpu_share']:.0%}",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                run = unwatched_run(world, out, args.latency_ms, args.hours, args.timeout)
                print(
                    f"  run {index + 1}/{args.repeats}, unwatched: {run['span_s']:.2f} s (start to exit "
                    f"{run['wall_s']:.2f} s)",
                    file=sys.stderr,
                    flush=True,
                )
            runs[kind].append(run)
            for leftover in folder.glob(out.name + "*"):
                leftover.unlink()
    out = folder / "live-sampled.db"
    runs["sampled"] = [commits_run(world, out, args.latency_ms, args.hours, args.timeout)]
    print(
        f"  one more run, unwatched, its file sampled: {runs['sampled'][0]['commits_per_s']:.1f} commits with new "
        f"rows/s while it wrote",
        file=sys.stderr,
        flush=True,
    )
    return runs


def live_table(runs: dict[str, list[dict[str, Any]]]) -> str:
    """The live benchmark's table."""
    plain, watched = runs["unwatched"], runs["watched"]

    def spread(items: list[dict[str, Any]], key: str) -> str:
        values = [r[key] for r in items]
        return f"{median(values):.2f} ({min(values):.2f}–{max(values):.2f})"

    span = {k: median(r["span_s"] for r in runs[k]) for k in ("unwatched", "watched")}
    wall = {k: median(r["wall_s"] for r in runs[k]) for k in ("unwatched", "watched")}
    slowdown = span["watched"] / span["unwatched"] - 1
    refreshes = median(r["polls_per_s"] for r in watched)
    gaps = [g for r in watched for g in r["gaps_ms"]]
    rows: list[list[Any]] = [
        ["runs", len(plain), len(watched), "", "-"],
        [
            "run file span, creation to end (s): median (min–max)",
            spread(plain, "span_s"),
            spread(watched, "span_s"),
            "",
            "-",
        ],
        [
            "slowdown of the run (span)",
            "",
            f"{slowdown:+.1%}",
            f"<= {TARGET_SLOWDOWN:.0%}",
            verdict(slowdown <= TARGET_SLOWDOWN),
        ],
        [
            "whole command, start to exit (s): median (min–max)",
            spread(plain, "wall_s"),
            spread(watched, "wall_s"),
            "",
            "-",
        ],
        ["slowdown of the whole command", "", f"{wall['watched'] / wall['unwatched'] - 1:+.1%}", "", "-"],
        ["viewer: poll interval (s)", "", watched[0]["poll_s"], "", "-"],
        [
            "viewer: first screen, after the run's start (s)",
            "",
            median(r["first_screen_after_s"] for r in watched),
            "",
            "-",
        ],
        [
            f"while the run wrote (new rows <= {BUSY_GAP_S:g} s apart): time (s)",
            "",
            median(r["window_s"] for r in watched),
            "",
            "-",
        ],
        [
            "  screen refreshes (file polled, screen brought up to date) per s",
            "",
            refreshes,
            f">= {TARGET_UPDATES_PER_S:g}",
            verdict(refreshes >= TARGET_UPDATES_PER_S),
        ],
        [
            "  of which with new rows (world rebuilt, tab and clock redrawn) per s",
            "",
            median(r["updates_per_s"] for r in watched),
            "",
            "-",
        ],
        [
            "  the writer's commits with new rows per s (one more run, its file sampled every 10 ms)",
            runs["sampled"][0]["commits_per_s"] if runs.get("sampled") else "",
            "",
            "",
            "-",
        ],
        [
            "  time between updates with new rows: median / p95 (ms)",
            "",
            f"{median(gaps):.0f} / {percentile(gaps, 0.95):.0f}",
            "",
            "-",
        ],
        ["  viewer CPU (share of one core)", "", f"{median(r['window_cpu_share'] for r in watched):.0%}", "", "-"],
        [
            "viewer CPU from opening to the end (share of one core)",
            "",
            f"{median(r['viewer_cpu_share'] for r in watched):.0%}",
            "",
            "-",
        ],
        [
            "last event on screen, after the run exited (s)",
            "",
            median(r["caught_up_after_exit_s"] for r in watched),
            "",
            "-",
        ],
    ]
    return table(["figure", "unwatched", "watched", "target", "verdict"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--only", choices=["seek", "live"], help="run one of the two (default: both)")
    seek = parser.add_argument_group("seek")
    seek.add_argument(
        "--file", help="the run file to build, or to reuse if it holds --events events (default: a temporary file)"
    )
    seek.add_argument("--events", type=int, default=1_000_000, help="events in the run file (default: 1,000,000)")
    seek.add_argument("--people", type=int, default=1000, help="people in its town (default: 1,000)")
    seek.add_argument("--seeks", type=int, default=200, help="seeks to random times (default: 200)")
    seek.add_argument("--screen-seeks", type=int, default=40, help="seeks on screen per tab (default: 40; 0: none)")
    seek.add_argument(
        "--tabs",
        nargs="+",
        default=["world", "people", "feed", "calls"],
        choices=["world", "people", "feed", "calls"],
        help="tabs for the seeks on screen",
    )
    seek.add_argument("--opens", type=int, default=3, help="times the file is opened (default: 3)")
    seek.add_argument("--seed", type=int, default=7, help="seed of the random times (default: 7)")
    live = parser.add_argument_group("live")
    live.add_argument("--live-people", type=int, default=1000, help="people in the live town (default: 1,000)")
    live.add_argument("--hours", type=float, default=72.0, help="simulated hours of each run (default: 72)")
    live.add_argument("--latency-ms", type=float, default=50.0, help="scripted model delay per reply (default: 50)")
    live.add_argument("--repeats", type=int, default=3, help="runs of each kind (default: 3)")
    live.add_argument("--poll", type=float, help="the viewer's poll interval in seconds (default: the app's)")
    parser.add_argument(
        "--size",
        type=lambda text: tuple(int(x) for x in text.split("x")),
        default=(120, 40),
        help="the headless terminal, COLSxROWS (default: 120x40)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    args = parser.parse_args(argv)

    print(common.machine_line(), flush=True)
    results: dict[str, Any] = {"machine": common.machine()}
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        folder = Path(tmp)
        if args.only in (None, "seek"):
            results["seek"] = seek_benchmark(args, folder)
            print(
                f"\nbench_tui seek: a run file of {results['seek']['events']:,} events, "
                f"{args.seeks} seeks to random times (seed {args.seed})"
            )
            print(seek_table(results["seek"], args), flush=True)
        if args.only in (None, "live"):
            print(f"\n  (load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())})", file=sys.stderr)
            results["live"] = live_benchmark(args, folder)
            print(
                f"\nbench_tui live: {args.live_people:,} people x {args.hours:g} simulated hours, scripted model at "
                f"{args.latency_ms:g} ms a call, viewer headless at {args.size[0]}x{args.size[1]} on the world tab, "
                f"medians over {args.repeats} runs of each, interleaved; load average after "
                f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            print(live_table(results["live"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
