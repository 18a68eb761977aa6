"""Run files written by hand (the real writer, chosen rows), so metrics can be checked against known answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sim.core.events import Event
from sim.runfile.log import Batch, RunLog, create_run_file, dumps, wall_now

WORLD = """\
hamlet: 1
name: Handmade
start: 2026-03-02T08:00
hours: 4
sectors:
  - name: Home
    areas:
      - name: room
  - name: Cafe
    areas:
      - name: counter
      - name: seating
links:
  - between: [Home, Cafe]
    minutes: 5
people:
  - name: Ann Reed
    home: Home
    relationships:
      - {name: Bo Lane, relation: neighbour}
  - name: Bo Lane
    home: Home
  - name: Cy Moss
    home: Home
facts:
  - name: festival
    text: The spring festival is on Sunday at the cafe.
    keywords: [festival]
    seeded_to: [Ann Reed]
    place: Cafe
    starts: +2h
    ends: +3h
"""


class HandRun:
    """Writes a run file row by row through ``RunLog``, as the engine would."""

    def __init__(self, path: Path, world: str = WORLD, hours: float = 4) -> None:
        self.path = path
        self.start = datetime(2026, 3, 2, 8, 0)
        end = (self.start + timedelta(hours=hours)).isoformat(timespec="seconds")
        engine = create_run_file(path)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO run (id, world, world_file, scenario_yaml, seed, options, status, message,"
                " sim_start, sim_end, sim_now, created_at, updated_at) VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    "Handmade",
                    "handmade.yaml",
                    world,
                    1,
                    dumps({"llm": "scripted", "settings": []}),
                    "finished",
                    "",
                    self.start.isoformat(timespec="seconds"),
                    end,
                    end,
                    wall_now(),
                    wall_now(),
                ),
            )
        self.log = RunLog(engine)
        self.seq = 0
        self.memory_ids: dict[str, int] = {}

    def event(self, t: int, kind: str, person: str | None = None, place: str | None = None, **data: Any) -> None:
        """Append one event at second ``t``."""
        self.seq += 1
        time = (self.start + timedelta(seconds=t)).isoformat(timespec="seconds")
        self.log.submit(Batch(events=[Event(t, kind, person, place, data, self.seq, self.seq, time)]))

    def memory(self, person: str, t: int, text: str, kind: str = "observation") -> None:
        """Add a memory to ``person``'s stream."""
        number = self.memory_ids[person] = self.memory_ids.get(person, 0) + 1
        self.log.submit(
            Batch(
                memories=[
                    {
                        "person": person,
                        "id": number,
                        "tick": self.seq,
                        "t": t,
                        "kind": kind,
                        "text": text,
                        "importance": 3.0,
                        "evidence": "[]",
                    }
                ]
            )
        )

    def call(self, person: str | None, t: int, purpose: str, tokens: int, cost: float, tick: int = 1) -> None:
        """Add one LLM call row."""
        self.log.submit(
            Batch(
                llm_calls=[
                    {
                        "tick": tick,
                        "t": t,
                        "person": person,
                        "purpose": purpose,
                        "model": "scripted",
                        "attempt": 1,
                        "status": "ok",
                        "cache_key": f"k{t}{person}{purpose}",
                        "cache_hit": False,
                        "fallback": False,
                        "request": "{}",
                        "response": "{}",
                        "error": "",
                        "prompt_tokens": tokens,
                        "completion_tokens": 0,
                        "cost_usd": cost,
                        "latency_ms": 1.0,
                        "wall_time": wall_now(),
                    }
                ]
            )
        )

    def close(self) -> Path:
        """Commit everything; the file is complete."""
        self.log.close()
        return self.path


def town_run(path: Path) -> Path:
    """The handmade town's four hours: who learns the festival when, who meets whom, who comes to the cafe.

    Known answers: Ann knows at 0 (seeded), Bo at 1 h (told), Cy never. Ann knows Bo from the start (her
    persona), Bo knows Ann from 50 min (they talk), Cy and Ann know each other from 2 h 10 min (Cy says
    something to Ann); Cy only sees Bo at 1.5 h, which is not knowing him. At the cafe between 2 h and 3 h: Ann from 1 h 55 min to 2 h 30 min
    (30 minutes of the window), Bo from 2 h 13 min 20 s to the end (46.7 minutes); Cy never comes.
    """
    run = HandRun(path)
    run.event(0, "run_start", world="Handmade")
    for person in ("Ann Reed", "Bo Lane", "Cy Moss"):
        run.event(0, "spawn", person, "Home:room", home="Home:room")
    run.memory("Ann Reed", 0, "The spring festival is on Sunday at the cafe.", "seed")
    run.memory("Ann Reed", 0, "Bo Lane is my neighbour", "seed")
    run.event(3000, "talk", "Ann Reed", "Home:room", **{"with": "Bo Lane", "topic": "news"})
    run.event(3000, "say", "Ann Reed", "Home:room", text="Have you heard?", to="Bo Lane", turn=1)
    run.event(3000, "say", "Bo Lane", "Home:room", text="No, tell me.", to="Ann Reed", turn=2)
    run.event(3000, "talk_end", "Ann Reed", "Home:room", **{"with": "Bo Lane", "turns": 2, "reason": "ended"})
    run.memory("Bo Lane", 3600, "Ann told me about the festival.", "dialogue")
    run.memory("Cy Moss", 5400, "Saw Bo Lane reading a paper.")
    run.event(6600, "move", "Ann Reed", "Home:room", to="Cafe:counter", route=[], minutes=5, purpose="coffee")
    run.event(6900, "arrive", "Ann Reed", "Cafe:counter")
    run.event(7500, "move", "Bo Lane", "Home:room", to="Cafe:seating", route=[], minutes=5, purpose="lunch")
    run.event(7800, "say", "Cy Moss", "Home:room", text="Bye, Ann!", to="Ann Reed")
    run.event(8000, "arrive", "Bo Lane", "Cafe:seating")
    run.event(9000, "move", "Ann Reed", "Cafe:counter", to="Home:room", route=[], minutes=5, purpose="home")
    run.event(9300, "arrive", "Ann Reed", "Home:room")
    run.call("Ann Reed", 0, "day_plan", 100, 0.001)
    run.call("Bo Lane", 0, "day_plan", 120, 0.002)
    run.call("Bo Lane", 3000, "dialogue_turn", 50, 0.0005)
    run.call("Ann Reed", 3000, "interview", 999, 0.5, tick=-1)  # a researcher's probe, not the run's activity
    return run.close()
