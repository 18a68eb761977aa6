"""The event logs of the bundled worlds as recorded before a change, to prove the change keeps them byte for byte.

Each entry of ``RUNS`` is a world run with the in-process scripted model, a fixed seed and a short
span; its ``event`` rows are stored one a line in ``tests/sim/fixtures/events/<name>.jsonl``
(``seq``, ``tick``, ``t``, ``time``, ``kind``, ``person``, ``place`` and ``data`` exactly as the run
file stores them). ``tests/sim/test_event_fixtures.py`` runs each again and compares the text.

When a change is *meant* to alter a log, re-record every file and say why in the commit::

    PYTHONPATH=. python -m tests.sim.event_fixtures            # all of them
    PYTHONPATH=. python -m tests.sim.event_fixtures smallville # one

One thing is not the code's doing: a ``sandbox`` event says which isolation this machine allows
(``isolation``, ``memory_scope``, ``notes``) and quotes the program's traceback, whose form is the
Python version's (``stderr``), so those fields are written as ``*`` in the files and in the
comparison; everything else in the row is compared as stored. The software company's seed is one
whose program passes its first run: a traceback would be quoted in the team's later prompts, so
the rest of the log would follow the Python version.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "sim" / "fixtures" / "events"

RUNS: dict[str, tuple[str, ...]] = {
    "two_rooms": ("worlds/two_rooms.yaml", "--hours", "24", "--seed", "1"),
    "two_rooms_fixed_step": ("worlds/two_rooms.yaml", "--hours", "6", "--seed", "2", "--fixed-step", "900"),
    "smallville": ("worlds/smallville.yaml", "--hours", "12", "--seed", "7"),
    "software_company": ("worlds/software_company.yaml", "--task", "a snake game", "--hours", "1", "--seed", "1"),
    "interventions": ("tests/sim/fixtures/events/interventions.yaml", "--hours", "8", "--seed", "5"),
}
"""Fixture name -> the ``hamlet run`` arguments that make its log (the model is always ``scripted-inprocess``)."""

MACHINE_FIELDS = {"sandbox": ("isolation", "memory_scope", "notes", "stderr")}
"""Fields of an event kind that depend on the machine or the Python version, not on the code: written as ``*``."""


def run_world(name: str, folder: Path) -> Path:
    """Run fixture ``name`` with the in-process scripted model; the run file's path."""
    from sim.cli import main

    out = folder / f"{name}.db"
    world, *options = RUNS[name]
    code = main(["run", str(ROOT / world), *options, "--llm", "scripted-inprocess", "--quiet", "--out", str(out)])
    if code != 0:
        raise RuntimeError(f"hamlet run for fixture {name} exited with {code}")
    return out


def event_lines(run_file: Path) -> str:
    """A run file's ``event`` rows, one JSON object a line, ``data`` as the stored text."""
    db = sqlite3.connect(run_file)
    try:
        rows = db.execute("SELECT seq, tick, t, time, kind, person, place, data FROM event ORDER BY seq").fetchall()
    finally:
        db.close()
    lines = []
    for seq, tick, t, time, kind, person, place, data in rows:
        head = json.dumps(
            {"seq": seq, "tick": tick, "t": t, "time": time, "kind": kind, "person": person, "place": place},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        lines.append(f'{head[:-1]},"data":{_machine_free(kind, data)}}}\n')
    return "".join(lines)


def _machine_free(kind: str, data: str) -> str:
    fields = MACHINE_FIELDS.get(kind)
    if not fields:
        return data
    from sim.runfile.log import dumps  # the run file's own JSON form, so the other fields keep their bytes

    decoded = json.loads(data)
    return dumps({key: "*" if key in fields else value for key, value in decoded.items()})


def fixture(name: str) -> Path:
    """Where fixture ``name``'s recorded log is."""
    return FIXTURES / f"{name}.jsonl"


def record(names: list[str]) -> None:
    """Run each named fixture and write its log over the recorded one."""
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            text = event_lines(run_world(name, Path(folder)))
            fixture(name).write_text(text, encoding="utf-8")
            print(f"{fixture(name).relative_to(ROOT)}: {text.count(chr(10))} events")


if __name__ == "__main__":
    record(sys.argv[1:] or list(RUNS))
