"""The 1,000,000-event run file of the viewer and research benchmarks, built from a real run.

``towns.py``'s 1,000-person town is run by the real engine (``python -m sim run --llm
scripted``) for two simulated days; its first day is kept as it is, and its second day (about
25,000 events and 16 snapshots, from waking to sleep) is repeated day after day, shifted in
seq, tick, time and dates, until the file holds the events asked for (1,000,000: about 40
simulated days). The rows are the engine's own (moves, arrivals, actions, day plans; a snapshot
every simulated hour holding ``Simulation.state()``; the day plan's LLM call of each person),
written through ``RunLog`` in one ``Batch`` a tick, as the engine writes them. Its people run
the ``schedule`` mind, which keeps no memory stream: the file has no memory rows.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import common
from common import median

DAY = 86_400


def record_template(folder: Path, people: int, timeout: float) -> Path:
    """A real scripted run of ``towns.py``'s town of ``people`` for two simulated days."""
    from towns import write_town

    world = write_town(folder, people, hours=48)
    out = folder / f"template-{people}.db"
    common.run_hamlet(common.run_args(world, out), timeout)
    return out


def _shift_data(data: dict[str, Any], days: int) -> dict[str, Any]:
    """An event's data ``days`` later: its ``until`` (act) and ``date`` (plan)."""
    if not days:
        return data
    if "until" in data and data["until"]:
        data = {
            **data,
            "until": (datetime.fromisoformat(data["until"]) + timedelta(days=days)).isoformat(timespec="seconds"),
        }
    if "date" in data and data["date"]:
        data = {**data, "date": (datetime.fromisoformat(data["date"]) + timedelta(days=days)).date().isoformat()}
    return data


def _shift_state(state: dict[str, Any], days: int, seq: int, tick: int) -> dict[str, Any]:
    """A snapshot's state ``days`` later, at ``seq`` and ``tick``."""
    if not days:
        return state
    shift = days * DAY
    clock = dict(state["clock"])
    clock["now"] = int(clock["now"]) + shift
    clock["queue"] = [[entry[0] + shift, *entry[1:]] for entry in clock.get("queue", [])]
    minds = {}
    for name, mind in state["minds"].items():
        if isinstance(mind, dict) and mind.get("plan_date"):
            mind = {
                **mind,
                "plan_date": (datetime.fromisoformat(mind["plan_date"]) + timedelta(days=days)).date().isoformat(),
            }
        minds[name] = mind
    return {
        **state,
        "seq": seq,
        "tick": tick,
        "next_snapshot": int(state["next_snapshot"]) + shift,
        "clock": clock,
        "minds": minds,
        "busy": {k: v + shift for k, v in state.get("busy", {}).items()},
    }


def build_run(path: Path, events: int, people: int, folder: Path, timeout: float) -> dict[str, Any]:
    """Write a run file of exactly ``events`` events at ``path`` (see the module's docstring); its figures."""
    import sqlite3

    import yaml
    from towns import town

    from sim.core.events import Event
    from sim.runfile.log import _LLM_COLUMNS, Batch, RunLog, create_run_file

    began = time.perf_counter()
    template = record_template(folder, people, timeout)
    recorded = time.perf_counter() - began
    db = sqlite3.connect(template)
    db.row_factory = sqlite3.Row
    run = dict(db.execute("SELECT * FROM run").fetchone())
    start = datetime.fromisoformat(run["sim_start"])
    rows = db.execute("SELECT seq, tick, t, kind, person, place, data FROM event ORDER BY seq").fetchall()
    template_events = [
        (r["seq"], r["tick"], r["t"], r["kind"], r["person"], r["place"], json.loads(r["data"])) for r in rows
    ]
    snapshots = {
        r["tick"]: (r["t"], r["seq"], json.loads(r["state"]))
        for r in db.execute("SELECT tick, t, seq, state FROM snapshot ORDER BY id")
    }
    calls: dict[int, list[dict[str, Any]]] = {}
    for r in db.execute(f"SELECT {', '.join(_LLM_COLUMNS)} FROM llm_call ORDER BY id"):
        calls.setdefault(r["tick"], []).append(dict(r))
    db.close()

    # Day one as it was; then day two (every tick from its first event to its last) again and again.
    day1_ticks = max(tick for _, tick, t, *_ in template_events if t < DAY)
    day1_seq = max(seq for seq, _, t, *_ in template_events if t < DAY)
    last_tick = max(tick for _, tick, *_ in template_events)
    day2_events = len(template_events) - day1_seq
    ticks_per_day = last_tick - day1_ticks
    by_tick: dict[int, list[tuple[Any, ...]]] = {}
    for event in template_events:
        by_tick.setdefault(event[1], []).append(event)

    engine = create_run_file(path)
    with engine.begin() as conn:  # the run row first, as the engine's session writes it
        conn.exec_driver_sql(
            "INSERT INTO run (id, world, world_file, scenario_yaml, seed, options, status, message,"
            " sim_start, sim_end, sim_now, created_at, updated_at) VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run["world"],
                run["world_file"],
                run["scenario_yaml"],
                run["seed"],
                run["options"],
                "running",
                "",
                run["sim_start"],
                run["sim_end"],
                run["sim_start"],
                run["created_at"],
                run["updated_at"],
            ),
        )
    log = RunLog(engine)
    written = last_t = copy = 0
    try:
        while written < events:
            # Copy 0: the template as it was (but its closing snapshot); then its second day, shifted a day
            # further each time: seq by the day's events, tick by the day's ticks, times and dates by a day.
            for tick in range(0 if copy == 0 else day1_ticks + 1, last_tick + 1):
                new_tick = tick + copy * ticks_per_day
                batch = Batch()
                for seq, _, t, kind, person, place, data in by_tick.get(tick, []):
                    if written >= events:
                        break
                    new_t = t + copy * DAY
                    batch.events.append(
                        Event(
                            new_t,
                            kind,
                            person,
                            place,
                            _shift_data(data, copy),
                            seq + copy * day2_events,
                            new_tick,
                            (start + timedelta(seconds=new_t)).isoformat(timespec="seconds"),
                        )
                    )
                    written, last_t = written + 1, new_t
                for call in calls.get(tick, []) if batch.events else []:
                    batch.llm_calls.append({**call, "tick": new_tick, "t": call["t"] + copy * DAY})
                snap = snapshots.get(tick)
                if snap is not None and batch.events and snap[0] < 2 * DAY and written < events:
                    snap_seq, snap_t = snap[1] + copy * day2_events, snap[0] + copy * DAY
                    batch.snapshot = {
                        "tick": new_tick,
                        "t": snap_t,
                        "seq": snap_seq,
                        "state": _shift_state(snap[2], copy, snap_seq, new_tick),
                    }
                    batch.run = {"sim_now": (start + timedelta(seconds=snap_t)).isoformat(timespec="seconds")}
                if batch.events or batch.snapshot:
                    log.submit(batch)
                if written >= events:
                    break
            copy += 1
        end = (start + timedelta(seconds=last_t)).isoformat(timespec="seconds")
        scenario = yaml.safe_dump(town(people, hours=round(last_t / 3600, 3)), sort_keys=False, allow_unicode=True)
        log.submit(Batch(run={"status": "finished", "sim_end": end, "sim_now": end, "scenario_yaml": scenario}))
    finally:
        log.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        marks = [seq for (seq,) in db.execute("SELECT seq FROM snapshot ORDER BY seq")]
        count = db.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    gaps = [b - a for a, b in zip(marks, [*marks[1:], count], strict=True)]
    return {
        "events": count,
        "snapshots": len(marks),
        "days": last_t / DAY,
        "bytes": path.stat().st_size,
        "record_s": recorded,
        "build_s": time.perf_counter() - began,
        "gap_median": median(gaps),
        "gap_max": max(gaps),
    }


def file_events(path: Path) -> int:
    """The events of a finished run file, or 0 if it is not one (missing, unfinished, damaged)."""
    """How many events a run file holds (0 if it is not a finished run file)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            if db.execute("SELECT status FROM run").fetchone() != ("finished",):
                return 0
            return int(db.execute("SELECT COUNT(*) FROM event").fetchone()[0])
    except sqlite3.Error:
        return 0
