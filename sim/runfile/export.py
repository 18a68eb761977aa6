"""Exporting a run's tables as JSON Lines, CSV or Parquet, ready for pandas."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.paths import writable_folder
from sim.runfile.reader import RunReader
from sim.runfile.tables import TABLES
from sim.teams.filenames import clash, escaped, printable, problem

FORMATS = ("jsonl", "csv", "parquet")
DEFAULT_TABLES = ("run", "event", "llm_call", "memory", "artifact")
_JSON_COLUMNS = {"data", "options", "request", "evidence", "state"}
_PLURALS = {(t[:-1] + "ies" if t.endswith("y") else t + "s"): t for t in TABLES}  # events -> event, memories -> memory


def need_pyarrow() -> None:
    """Refuse ``--format parquet`` in one line when pyarrow is missing (it comes with Hamlet, but may be removed)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UserError(
            "--format parquet needs pyarrow, which comes with Hamlet: pip install 'pyarrow>=15,<30'"
        ) from None


def export_run(path: str | Path, fmt: str, out: str | Path, tables: Iterable[str] | None = None) -> list[Path]:
    """Write the chosen tables of a run into ``out``, one file a table; returns the files written."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    chosen = [table_named(name) for name in tables or DEFAULT_TABLES]
    if fmt == "parquet":
        need_pyarrow()
    folder = writable_folder(Path(out), f"--out {out}")
    written = []
    with RunReader(path) as reader:
        reader.run()
        for table in chosen:
            target = folder / f"{table}.{fmt}"
            _write(reader, table, fmt, target)
            written.append(target)
    return written


def table_named(name: str) -> str:
    """The table ``name`` means: a table's own name or its plural (``events``, ``llm_calls``, ``memories``)."""
    table = name if name in TABLES else _PLURALS.get(name)
    if table is None:
        raise UserError(f"--tables {name!r}: unknown table; tables are {', '.join(TABLES)}")
    return table


def export_artifacts(path: str | Path, out: str | Path, *, all_versions: bool = False) -> list[Path]:
    """Write the newest version of each file a run's team wrote into ``out`` (and, if asked, every version
    as ``versions/N/PATH``), with ``hamlet-artifacts.json`` listing every version and the quality metrics."""
    folder = writable_folder(Path(out), f"--artifacts {out}")
    with RunReader(path) as reader:
        reader.run()
        rows = reader.artifacts()
        versions = reader.artifact_versions()
        quality = reader.team()["quality"] if rows else None
    written = []
    newest = {row["path"]: row for row in rows}
    targets = [(row["path"], row) for row in newest.values()]
    if all_versions:
        targets += [(f"versions/{row['version']}/{row['path']}", row) for row in rows]
    skipped: list[dict[str, str]] = []
    kept: list[str] = []
    for name, row in targets:
        # A run file from before names were checked may hold any name: a bad one is skipped and listed.
        reason = problem(name) or clash(name, kept)
        try:
            if reason:
                raise ValueError(reason)
            target = _inside(folder, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(row["content"], encoding="utf-8", errors="backslashreplace")
        except (OSError, ValueError, UserError) as err:
            skipped.append({"path": escaped(name), "reason": str(err)})
            print(f"hamlet: --artifacts: {printable(name)} not written: {err}", file=sys.stderr)
            continue
        written.append(target)
        kept.append(name)
    manifest = folder / "hamlet-artifacts.json"
    document = {
        "run": str(path),
        "files": versions,
        "quality": quality,
        **({"not_written": skipped} if skipped else {}),
    }
    manifest.write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", errors="backslashreplace"
    )
    return [*written, manifest]


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, refusing names that would leave the folder (a run file is not to be trusted blindly)."""
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise UserError(f"artifact {name!r}: its name leaves the export folder; not written")
    return target


def _write(reader: RunReader, table: str, fmt: str, target: Path) -> None:
    columns = reader.columns(table)
    # Write beside the target and rename, so a failed export never leaves half a file.
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        rows = reader.rows(table)
        if fmt == "jsonl":
            with open(temp, "w", encoding="utf-8") as stream:
                for row in rows:
                    stream.write(json.dumps(_decoded(row), sort_keys=True, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            with open(temp, "w", encoding="utf-8", newline="") as stream:
                writer = csv.writer(stream)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([row[c] for c in columns])
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            data = list(rows)
            pq.write_table(pa.Table.from_pylist(data) if data else pa.table({c: [] for c in columns}), temp)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.loads(v) if k in _JSON_COLUMNS and isinstance(v, str) and v else v for k, v in row.items()}
