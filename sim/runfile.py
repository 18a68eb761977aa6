"""The run file: creating one with its run row, and the queries its writers share.

``sim.tables`` declares the tables and ``sim.log`` appends a running run's batches; this module
holds what the commands that start a run (``run``, ``resume``, ``fork``, the benchmark runner)
write around that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import SQLModel

from sim.log import Batch, RunLog, create_run_file, dumps, open_engine, wall_now
from sim.writer import claim

_RUN_SQL = ("INSERT INTO run (id, world, world_file, scenario_yaml, seed, options, status, message,"
            " sim_start, sim_end, sim_now, created_at, updated_at) VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?)")


@dataclass(slots=True)
class RunRow:
    """The ``run`` row a new run file starts with (status ``running``); times are ISO simulated datetimes."""

    world: str
    world_file: str
    scenario_yaml: str
    seed: int
    options: dict[str, Any]
    sim_start: str
    sim_end: str
    sim_now: str

    def values(self) -> tuple[Any, ...]:
        """The row's values in the order of the INSERT, with the options as the file's JSON."""
        return (self.world, self.world_file, self.scenario_yaml, self.seed, dumps(self.options), "running", "",
                self.sim_start, self.sim_end, self.sim_now, wall_now(), wall_now())


def create(path: Path, row: RunRow) -> Engine:
    """Create the run file at ``path``, claim it for this process and write ``row``; no stub is left if that fails."""
    values = row.values()  # made before the file: a value it cannot hold fails here, leaving nothing behind
    engine = create_run_file(path)
    try:
        claim(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(_RUN_SQL, values)
    except BaseException:
        engine.dispose()
        for stub in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stub.unlink(missing_ok=True)
        raise
    return engine


def add_interviews(path: Path, exchanges: list[tuple[str, int, str, str, str, str]], calls: list[dict[str, Any]]) -> None:
    """Add interview rows (person, second, time, question, answer, model) and their LLM call rows, beside any live writer."""
    engine = open_engine(path)
    SQLModel.metadata.create_all(engine)  # files from before interviews existed gain the table
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO interview (person, t, time, question, answer, model, wall_time) VALUES (?,?,?,?,?,?,?)",
            [(*exchange, wall_now()) for exchange in exchanges],
        )
    log = RunLog(engine)
    log.submit(Batch(llm_calls=calls))
    log.close()
