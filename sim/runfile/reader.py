"""Reading run files: summaries, events, LLM calls, snapshots; never blocks the writer (WAL)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sim.errors import NotARunFile, UserError
from sim.runfile.tables import APP_ID, SCHEMA_VERSION, TABLES
from sim.runfile.writer import writer_gone

if TYPE_CHECKING:
    from sim.worldfile.scenario import Scenario


class RunReader:
    """Read-only access to one run file, checked to be a Hamlet run of a schema this version reads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise UserError(f"{self.path}: no such file; list recorded runs with hamlet runs")
        if self.path.is_dir():
            raise NotARunFile(f"{self.path}: is a folder, not a run file (.db)")
        with open(self.path, "rb") as handle:
            header = handle.read(16)
        if header != b"SQLite format 3\x00":
            raise NotARunFile(f"{self.path}: not a Hamlet run file (not an SQLite database)")
        try:
            self.db = connect_read_only(self.path)
            self.db.row_factory = sqlite3.Row
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as err:
            if hasattr(self, "db"):
                self.db.close()
            raise NotARunFile(f"{self.path}: not a Hamlet run file, or a damaged one ({err})") from None
        if meta.get("app") != APP_ID:
            self.db.close()
            raise NotARunFile(f"{self.path}: not a Hamlet run file (no Hamlet marker)")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            self.db.close()
            raise UserError(
                f"{self.path}: written by a newer Hamlet (file schema {version}, this Hamlet reads "
                f"up to {SCHEMA_VERSION}); upgrade Hamlet to read it"
            )
        self.meta = meta

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> RunReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the run -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """The run row as a dict (raises if the run has not started writing yet).

        A ``running`` run whose writing process is known to have ended reads as ``lost``.
        """
        row = self.db.execute("SELECT * FROM run WHERE id = 1").fetchone()
        claim = self.db.execute("SELECT value FROM meta WHERE key = 'writer'").fetchone()
        writer = claim[0] if claim else ""  # read now: the writer may have claimed the file since it was opened
        if row is None:
            if writer and writer_gone(writer):
                raise UserError(
                    f"{self.path}: holds no run: the process that created it (pid {writer.split('@')[0]}) "
                    "stopped before the run began; delete the file"
                )
            raise UserError(f"{self.path}: the run has not written anything yet; try again in a moment")
        run = dict(row)
        if run["status"] == "running" and writer_gone(writer):
            run["status"] = "lost"
            run["message"] = "the process writing it ended without closing it; continue with hamlet resume"
        return run

    def options(self) -> dict[str, Any]:
        """The run's recorded options (no secrets)."""
        return dict(json.loads(self.run()["options"]))

    def summary(self, scenario: Scenario | None = None) -> dict[str, Any]:
        """What ``hamlet show`` prints: world, people, span, counts, tokens, cost and status.

        ``scenario``: the recorded world, if the caller has parsed it already (a big world takes a second).
        """
        run = self.run()
        scenario = self._world_as_run(run, scenario)
        return {
            "file": str(self.path),
            "world": run["world"],
            "world_file": run["world_file"],
            "seed": run["seed"],
            "status": run["status"],
            "message": run["message"],
            "people": _people(scenario),
            "places": len(scenario.area_ids()),
            "sim_start": run["sim_start"],
            "sim_end": run["sim_end"],
            "sim_now": run["sim_now"],
            **self._event_counts(),
            **self._call_counts(),
            "options": json.loads(run["options"]),
            "created_at": run["created_at"],
            "updated_at": run["updated_at"],
            "control": self.controls(),
            **({"endpoints": endpoints} if (endpoints := self.endpoints()) else {}),
            **({"team": self.team()} if scenario.team is not None else {}),
        }

    def _world_as_run(self, run: dict[str, Any], scenario: Scenario | None) -> Scenario:
        """The recorded world (parsed from the run row unless given), with the mind a ``--set mind=KIND`` chose."""
        from sim.worldfile.scenario import parse_scenario

        if scenario is None:
            scenario = parse_scenario(run["scenario_yaml"], f"{self.path}:run.scenario_yaml")
        for setting in self.options().get("settings", []):
            if setting.startswith("mind="):  # run with --set mind=KIND
                scenario = scenario.model_copy(update={"mind": setting.partition("=")[2]})
        return scenario

    def event_count(self) -> int:
        """How many events the file holds."""
        return int(self.db.execute("SELECT COUNT(*) FROM event").fetchone()[0])

    def _event_counts(self) -> dict[str, Any]:
        """The summary's events: the last one's time, how many, and how many of each kind."""
        last = self.db.execute("SELECT time FROM event ORDER BY seq DESC LIMIT 1").fetchone()
        by_kind = self.db.execute("SELECT kind, COUNT(*) FROM event GROUP BY kind ORDER BY kind").fetchall()
        return {
            "last_event_time": last[0] if last else None,
            "events": self.event_count(),
            "events_by_kind": dict(by_kind),
        }

    def _call_counts(self) -> dict[str, Any]:
        """The summary's LLM calls: how many (and by purpose), tokens, cost, cache hits, fallbacks and failures."""
        calls = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens),0), COALESCE(SUM(completion_tokens),0),"
            " COALESCE(SUM(cost_usd),0), COALESCE(SUM(cache_hit),0), COALESCE(SUM(fallback),0),"
            " COALESCE(SUM(status='error'),0), COALESCE(SUM(status='invalid'),0), COALESCE(SUM(status='repaired'),0)"
            " FROM llm_call"
        ).fetchone()
        by_purpose = self.db.execute("SELECT purpose, COUNT(*) FROM llm_call GROUP BY purpose ORDER BY purpose")
        return {
            "llm_calls": calls[0],
            "llm_calls_by_purpose": dict(by_purpose.fetchall()),
            "prompt_tokens": calls[1],
            "completion_tokens": calls[2],
            "cost_usd": round(calls[3], 6),
            "cache_hits": calls[4],
            "fallbacks": calls[5],
            "errors": calls[6],
            "invalid_replies": calls[7],
            "repaired_replies": calls[8],
        }

    def controls(self) -> dict[str, Any]:
        """Live control: requests by source and status, messages rejected, and control messages lost on the bus.

        ``shed``: control messages the relay counted but did not read (too many waiting);
        ``broker_dropped``: messages the broker reported dropping to slow subscribers while the
        run was live (it does not say whose: the relay's, or a watcher's).
        """
        one = self.db.execute
        try:
            by_source = dict(one("SELECT source, COUNT(*) FROM control GROUP BY source ORDER BY source").fetchall())
            by_status = dict(one("SELECT status, COUNT(*) FROM control GROUP BY status ORDER BY status").fetchall())
            rejected = one("SELECT COUNT(*) FROM rejection").fetchone()[0]
        except sqlite3.OperationalError:  # a file from before live control
            by_source, by_status, rejected = {}, {}, 0
        meta = dict(one("SELECT key, value FROM meta WHERE key IN ('bus_shed', 'bus_broker_dropped')").fetchall())
        return {
            "requests": sum(by_source.values()),
            "by_source": by_source,
            "by_status": by_status,
            "rejected": rejected,
            "shed": int(meta.get("bus_shed", 0)),
            "broker_dropped": int(meta.get("bus_broker_dropped", 0)),
        }

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Per model server of a run that had several: calls, tokens, errors, failovers away, median latency.

        ``calls`` counts the attempts it answered or failed (rows naming it), ``failovers`` the
        attempts that left it for another server, and ``median_latency_ms`` is over its answers.
        Empty for a run with one server, or a file from before servers were recorded.
        """
        one = self.db.execute
        if "endpoint" not in self.columns("llm_call"):
            return {}
        rows = one(
            "SELECT endpoint, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(status = 'error'),"
            " SUM(status IN ('ok', 'repaired', 'invalid')) FROM llm_call WHERE endpoint != ''"
            " GROUP BY endpoint ORDER BY endpoint"
        ).fetchall()
        left = dict(
            one(
                "SELECT json_extract(f.value, '$[0]'), COUNT(*) FROM llm_call,"
                " json_each(llm_call.failovers) AS f WHERE llm_call.failovers != '[]' GROUP BY 1"
            ).fetchall()
        )
        out: dict[str, dict[str, Any]] = {}
        for name in sorted({row[0] for row in rows} | set(left)):
            found = next((row for row in rows if row[0] == name), (name, 0, 0, 0, 0, 0))
            answered = found[5]
            median = None
            if answered:  # the middle answer by latency (the lower of the two middle ones for an even count)
                median = one(
                    "SELECT latency_ms FROM llm_call WHERE endpoint = ? AND status IN ('ok', 'repaired',"
                    " 'invalid') ORDER BY latency_ms LIMIT 1 OFFSET ?",
                    (name, (answered - 1) // 2),
                ).fetchone()[0]
            out[name] = {
                "calls": found[1],
                "prompt_tokens": found[2],
                "completion_tokens": found[3],
                "errors": found[4],
                "failovers": left.get(name, 0),
                "median_latency_ms": median,
            }
        return out

    def last_prompts(self, until_tick: int) -> dict[str, list[dict[str, str]]]:
        """Each person's (``""``: the world's) last call's messages by tick ``until_tick``: what a resume's
        or a fork's count of shared prompt prefixes starts from (``sim.llm.prefix.Prefixes.seed``)."""
        rows = self.db.execute(
            "SELECT person, request FROM llm_call WHERE id IN (SELECT MAX(id) FROM llm_call"
            " WHERE tick >= 0 AND tick <= ? AND attempt = 1 GROUP BY person)",
            (until_tick,),
        )
        return {person or "": json.loads(request)["messages"] for person, request in rows}

    def team(self) -> dict[str, Any]:
        """What the team did: its task, each phase and loop that ended and why, program runs, files, quality."""
        happened = list(self.events(kinds=["chain", "phase_end", "loop_end", "sandbox", "chain_end"]))
        first = next((e for e in happened if e["kind"] == "chain"), None)
        last = next((e for e in happened if e["kind"] == "chain_end"), None)
        phases = [
            {
                "time": e["time"],
                **{
                    k: e["data"].get(k)
                    for k in ("phase", "loop", "cycle", "replies", "reason", "conclusion_name", "conclusion", "files")
                },
            }
            for e in happened
            if e["kind"] == "phase_end"
        ]
        loops = [{"time": e["time"], **e["data"]} for e in happened if e["kind"] == "loop_end"]
        runs = [
            {"time": e["time"], **{k: e["data"].get(k) for k in ("ok", "exit_code", "signal", "limit_hit", "error")}}
            for e in happened
            if e["kind"] == "sandbox"
        ]
        metrics = None
        if last is not None and last["data"].get("program"):
            metrics = {
                k: last["data"][k]
                for k in ("completeness", "executability", "consistency", "quality", "code_files", "placeholder_lines")
            }
        return {
            "task": first["data"].get("task") if first else self.options().get("task"),
            "status": "finished" if last else ("working" if first else "not started"),
            "phases": phases,
            "loops": loops,
            "program_runs": runs,
            "artifacts": self.artifact_versions(),
            "quality": metrics,
        }

    def artifacts(self, latest: bool = False) -> list[dict[str, Any]]:
        """Every version of every file the team wrote (or only each file's newest), by path and version."""
        try:
            rows = [dict(r) for r in self.db.execute("SELECT * FROM artifact ORDER BY path, version")]
        except sqlite3.OperationalError:  # a file from before teams
            return []
        if latest:
            newest = {row["path"]: row for row in rows}
            rows = list(newest.values())
        return rows

    def artifact(self, path: str, version: int) -> str | None:
        """The text of one version of a file the team wrote; None if there is no such version."""
        row = self.db.execute("SELECT content FROM artifact WHERE path = ? AND version = ?", (path, version)).fetchone()
        return str(row[0]) if row else None

    def artifact_versions(self) -> list[dict[str, Any]]:
        """Each file: its versions and, for the newest, when, in which phase and by which role it was written."""
        rows = self.artifacts()
        files: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = files.setdefault(row["path"], {"path": row["path"], "versions": []})
            entry["versions"].append(
                {
                    "version": row["version"],
                    "t": row["t"],
                    "phase": row["phase"],
                    "role": row["role"],
                    "person": row["person"],
                    "bytes": len(row["content"].encode()),
                }
            )
        return list(files.values())

    # -- rows ----------------------------------------------------------------------------

    def events(
        self, kinds: list[str] | None = None, since: int | None = None, until: int | None = None, after_seq: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Events in commit order, ``data`` decoded; filter by kinds and simulated seconds."""
        where, args = _where([("seq > ?", after_seq), ("t >= ?", since), ("t <= ?", until)])
        if kinds:
            where += f" AND kind IN ({','.join('?' * len(kinds))})"
            args += kinds
        for row in self.db.execute(f"SELECT * FROM event WHERE {where} ORDER BY seq", args):
            item = dict(row)
            item["data"] = json.loads(item["data"])
            yield item

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of one table, in key order, as stored."""
        if table not in TABLES:
            raise UserError(f"table {table!r}: unknown; tables are {', '.join(TABLES)}")
        if not self.has(table):
            return  # a table added after this file was written: it holds no rows
        key = {"event": "seq", "memory": "person, id"}.get(table, "id")
        yield from (dict(row) for row in self.db.execute(f"SELECT * FROM {table} ORDER BY {key}"))

    def has(self, table: str) -> bool:
        """Whether the file has ``table`` (files written by an older Hamlet lack the newer ones)."""
        found = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return found.fetchone() is not None

    def columns(self, table: str) -> list[str]:
        """The column names of ``table`` in declaration order."""
        return [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]

    def llm_calls(self) -> list[dict[str, Any]]:
        """Every LLM call attempt in the order made."""
        return list(self.rows("llm_call"))

    def replies(self) -> dict[str, str]:
        """Valid replies by cache key: what a replay, resume or fork answers from.

        Replies answered from a cache count too: a fork's recorded prefix holds only those.
        """
        rows = self.db.execute(
            "SELECT cache_key, response FROM llm_call WHERE status IN ('ok', 'repaired', 'cached') ORDER BY id"
        )
        return {key: response for key, response in rows}

    def calls_after(self, tick: int) -> list[dict[str, Any]]:
        """The llm_call rows of the run's ticks after ``tick``, in the order written (interviews excluded)."""
        rows = self.db.execute("SELECT * FROM llm_call WHERE tick > ? ORDER BY id", (tick,))
        calls = [dict(row) for row in rows]
        for call in calls:
            del call["id"]
        return calls

    def memories(
        self, person: str | None = None, until: int | None = None, until_tick: int | None = None
    ) -> list[dict[str, Any]]:
        """Memory rows (of one person, formed by second ``until`` or tick ``until_tick``) in stream order."""
        where, args = _where([("person = ?", person), ("t <= ?", until), ("tick <= ?", until_tick)])
        rows = [dict(row) for row in self.db.execute(f"SELECT * FROM memory WHERE {where} ORDER BY person, id", args)]
        for row in rows:
            row["evidence"] = json.loads(row["evidence"])
        return rows

    def interviews(self, person: str) -> list[dict[str, Any]]:
        """The interviews of ``person`` recorded in the file, oldest first."""
        try:
            rows = self.db.execute("SELECT * FROM interview WHERE person = ? ORDER BY id", (person,))
            return [dict(row) for row in rows]
        except sqlite3.OperationalError:  # a file from before interviews
            return []

    def latest_snapshot(self, at_or_before: int | None = None) -> dict[str, Any] | None:
        """The newest snapshot (optionally at or before simulated second ``at_or_before``)."""
        sql, args = "SELECT * FROM snapshot", []
        if at_or_before is not None:
            sql += " WHERE t <= ?"
            args.append(at_or_before)
        row = self.db.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        snap = dict(row)
        snap["state"] = json.loads(snap["state"])
        return snap

    def dataframe(self, table: str = "event") -> Any:
        """One table as a pandas DataFrame (pandas comes with Hamlet)."""
        try:
            import pandas as pd
        except ImportError:
            raise UserError(
                "pandas is not installed, though it comes with Hamlet; pip install 'pandas>=2.1,<4'"
            ) from None
        return pd.DataFrame(list(self.rows(table)), columns=self.columns(table))


def _people(scenario: Scenario) -> list[dict[str, Any]]:
    """The summary's people: name, age, occupation, home and mind, in the world's order."""
    return [
        {
            "name": p.name,
            "age": p.age,
            "occupation": p.occupation,
            "home": scenario.resolve_place(p.home),
            "mind": scenario.mind_of(p),
        }
        for p in scenario.people
    ]


def writable(path: Path) -> bool:
    """Whether a run file and its folder can be written (not on a read-only mount, not read-only files)."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def refuse_read_only(path: Path, what: str) -> None:
    """One clear line when ``path`` cannot be written: ``what`` says what needs to write it."""
    if not writable(path):
        raise UserError(
            f"{path}: read-only (its folder or the file cannot be written); {what} writes to it: "
            "copy the run file to a writable folder first"
        )


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to an SQLite file, also in a folder that cannot be written.

    SQLite reads a WAL file through a shared-memory file it creates next to it. In a read-only
    folder (a read-only mount) it cannot, but nothing can be writing there either: the file is
    then opened as immutable, read as it stands.
    """
    uri = f"file:{quote(str(path))}"
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return db
    except sqlite3.OperationalError:
        db.close()
        if writable(path):
            raise
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)


def refuse_writes(db: sqlite3.Connection) -> None:
    """Make ``db`` refuse every statement that writes, to temporary tables too (``PRAGMA query_only``)."""
    db.execute("PRAGMA query_only = ON")


def _where(conditions: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """An SQL condition joining the clauses whose value is given, and their arguments."""
    given = [(clause, value) for clause, value in conditions if value is not None]
    return " AND ".join([clause for clause, _ in given] or ["1=1"]), [value for _, value in given]
