"""The run file's tables, declared with SQLModel: one SQLite file holds one run."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 6
"""Bumped whenever a table changes shape; readers refuse files from a newer version (5: the probe table;
6: ``llm_call``'s endpoint, failovers, prefix_tokens and schema_tokens, added to older files they write to)."""

APP_ID = "hamlet"


class MetaRow(SQLModel, table=True):
    """Key/value facts about the file itself (``app``, ``schema_version``, ``hamlet_version``)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class RunRow(SQLModel, table=True):
    """The run: its world, seed, options (never secrets), simulated span and status."""

    __tablename__ = "run"
    id: int = Field(default=1, primary_key=True)
    world: str
    world_file: str = ""
    scenario_yaml: str = Field(description="the world file's text as it was run")
    seed: int
    options: str = Field(description="JSON of the run options; API keys are never stored")
    status: str = Field(
        description="running, finished, budget, failed or interrupted (readers show a running run whose process died as lost)"
    )
    message: str = ""
    sim_start: str
    sim_end: str
    sim_now: str
    created_at: str
    updated_at: str


class ControlRow(SQLModel, table=True):
    """A request to a live run (pause, resume, stop, or an intervention), applied between ticks."""

    __tablename__ = "control"
    id: int | None = Field(default=None, primary_key=True)
    issued_at: str = Field(description="wall-clock time the request was written")
    source: str = Field(description="who sent it: cli, tui or mqtt")
    kind: str = Field(description="pause, resume, stop or intervene")
    payload: str = Field(default="{}", description="JSON of the intervention (kind intervene)")
    status: str = Field(default="pending", description="pending or applied")
    tick: int | None = Field(default=None, description="the tick before which it was applied")
    t: int | None = Field(default=None, description="simulated second an intervention took effect")


class RejectionRow(SQLModel, table=True):
    """A message on one of the run's bus input topics that was refused, and why (nothing was done)."""

    __tablename__ = "rejection"
    id: int | None = Field(default=None, primary_key=True)
    received_at: str = Field(description="wall-clock time the message arrived")
    topic: str
    reason: str
    payload: str = Field(default="", description="the message as received, cut to 2,000 characters")


class EventRow(SQLModel, table=True):
    """One event: what happened at which simulated time, in commit order ``seq``."""

    __tablename__ = "event"
    seq: int = Field(primary_key=True)
    tick: int = Field(index=True)
    t: int = Field(index=True, description="simulated seconds since the run's start")
    time: str = Field(description="simulated time, ISO 8601")
    # No index on kind or person: each insert into such an index lands at a random place, and the
    # two of them cost more than half the writer's time (benchmarks/bench_log.py).
    kind: str
    person: str | None = None
    place: str | None = None
    data: str = Field(default="{}", description="JSON")


class LLMCallRow(SQLModel, table=True):
    """One attempt at an LLM call: request, reply, tokens, cost, latency, errors and fallbacks."""

    __tablename__ = "llm_call"
    id: int | None = Field(default=None, primary_key=True)
    tick: int = Field(index=True)
    t: int
    person: str | None = Field(default=None, index=True)
    purpose: str = Field(index=True)
    model: str
    attempt: int
    status: str = Field(description="ok, repaired, cached, error, invalid, fallback or replay_miss")
    cache_key: str = Field(index=True)
    cache_hit: bool = False
    fallback: bool = False
    request: str = Field(description="JSON of messages, response format and parameters")
    response: str = ""
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    wall_time: str = ""
    endpoint: str = Field(
        default="",
        description="the server that answered or failed, when a run has several "
        "(its URL without secrets); empty with one",
    )
    failovers: str = Field(
        default="[]",
        description="JSON list of [server, error]: the servers this attempt left "
        "for the next (refused or dropped connections), in order",
    )
    prefix_tokens: int = Field(
        default=0,
        description="leading tokens of the call's messages that repeat the same "
        "person's previous call (sim/llm/prefix.py counts them)",
    )
    schema_tokens: int = Field(default=0, description="tokens of the answer's JSON Schema as the request carries it")


LLM_CALL_ADDED = {
    "endpoint": "TEXT NOT NULL DEFAULT ''",
    "failovers": "TEXT NOT NULL DEFAULT '[]'",
    "prefix_tokens": "INTEGER NOT NULL DEFAULT 0",
    "schema_tokens": "INTEGER NOT NULL DEFAULT 0",
}
"""``llm_call``'s columns since schema 6, as ``ALTER TABLE`` adds them to an older file that is written to again."""


class MemoryRow(SQLModel, table=True):
    """A memory in a person's stream (observation, reflection, plan, dialogue, whisper, seed).

    Rows are written once, when the memory forms; when it was last retrieved lives in the
    mind's snapshot state, so the stream of any person at any time can be rebuilt.
    """

    __tablename__ = "memory"
    person: str = Field(primary_key=True)
    id: int = Field(primary_key=True, description="the memory's number in its person's stream, from 1")
    tick: int = Field(index=True)
    t: int = Field(index=True, description="simulated second the memory formed")
    kind: str
    text: str
    importance: float = 0.0
    evidence: str = Field(default="[]", description="JSON list of the memory ids a reflection rests on")


class SnapshotRow(SQLModel, table=True):
    """The full state after tick ``tick``; events up to ``seq`` are included in it."""

    __tablename__ = "snapshot"
    id: int | None = Field(default=None, primary_key=True)
    tick: int
    t: int = Field(index=True)
    seq: int
    state: str = Field(description="JSON")


class ArtifactRow(SQLModel, table=True):
    """One version of a file a team wrote: every version is kept, with the phase and role that wrote it."""

    __tablename__ = "artifact"
    id: int | None = Field(default=None, primary_key=True)
    tick: int = Field(index=True, description="the tick that wrote it")
    t: int = Field(description="simulated second it was written")
    path: str = Field(index=True, description="file name in the program folder")
    version: int = Field(description="1 for the first version of the path, then 2, 3, ...")
    phase: str = Field("", description="the phase that wrote it (empty for the team's starting files)")
    role: str = Field("", description="the role that wrote it")
    person: str = Field("", description="the person who plays that role")
    content: str = ""


class InterviewRow(SQLModel, table=True):
    """An interview: a question put to a person as of a simulated time, and the answer.

    Interviews have their own table rather than event rows, so that resuming a run (which
    renumbers the events after its snapshot) never touches them.
    """

    __tablename__ = "interview"
    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(index=True)
    t: int = Field(description="the simulated second the person was asked as of")
    time: str
    question: str
    answer: str
    model: str = ""
    wall_time: str = ""


class ProbeRow(SQLModel, table=True):
    """A probe: a structured interview answer (heard or not, and what) and the knowing rule's check of it.

    ``heard`` is the person's own answer (None when the model gave no valid one); ``keyword`` is
    whether ``what`` carries the fact (kind ``fact``) or names the person asked about (kind
    ``person``) by the rule of sim/research/knowing.py. ``hamlet metrics`` reports where they differ.
    """

    __tablename__ = "probe"
    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(index=True)
    t: int = Field(description="the simulated second the person was asked as of")
    time: str
    kind: str = Field(description="fact or person")
    subject: str = Field(description="the fact's name, or the person asked about")
    question: str
    heard: bool | None = Field(default=None, description="the person's answer: have they heard of it")
    what: str = Field(default="", description="what they say they heard")
    keyword: bool = Field(default=False, description="the knowing rule's check of what")
    wall_time: str = ""


TABLES = {
    "run": RunRow,
    "event": EventRow,
    "llm_call": LLMCallRow,
    "memory": MemoryRow,
    "snapshot": SnapshotRow,
    "artifact": ArtifactRow,
    "interview": InterviewRow,
    "probe": ProbeRow,
    "control": ControlRow,
    "rejection": RejectionRow,
}
"""Every table users may export, by name."""
