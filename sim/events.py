"""Events: everything observable in a run, and the glossary of their kinds.

Kinds (the same words are used in the ``event`` table, the viewer and the docs):

- ``run_start``: the run began (a resumed run does not log it again: its log equals an uninterrupted one).
- ``spawn``: a person appeared in a place (start of the run, or ``add_person``).
- ``move``: a person set off along a route; ``arrive``: they reached the destination.
- ``act``: a person started an activity (with the object used and until when).
- ``say``: a person said something (to someone, or to whoever is present).
- ``talk`` / ``talk_end``: a conversation began / ended (with how many turns and why).
- ``plan``: a mind made or changed a plan.
- ``intervene``: a researcher's intervention took effect.
- ``object``: an object's state changed.
- ``leave``: a person was removed from the world.

A team's chat chain (``docs/teams.md``) adds:

- ``chain`` / ``chain_end``: the team took up its task / finished its chain (with the quality metrics).
- ``phase`` / ``phase_end``: a phase began (instructor, assistant, turn cap) / ended (why, and its conclusion);
  its lines are ``say`` events carrying the phase.
- ``loop`` / ``loop_end``: a loop began / ended (after how many cycles, and why).
- ``artifact``: a team member wrote a version of a file (its text is a row of the ``artifact`` table).
- ``file_rejected``: a file a reply proposed was not written (its name, escaped, and why); the team's next
  prompt says so.
- ``sandbox``: the team's program ran in the sandbox (exit status, signal, limit hit, output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "run_start",
    "spawn",
    "move",
    "arrive",
    "act",
    "say",
    "talk",
    "talk_end",
    "plan",
    "intervene",
    "object",
    "leave",
    "chain",
    "phase",
    "phase_end",
    "loop",
    "loop_end",
    "artifact",
    "file_rejected",
    "sandbox",
    "chain_end",
)


@dataclass(slots=True)
class Event:
    """One happening at simulated second ``t`` of the run; ``seq`` is given when it is committed."""

    t: int
    kind: str
    person: str | None = None
    place: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    tick: int = 0
    time: str = ""


def event_dict(event: Event) -> dict[str, Any]:
    """An event as a dict of its fields (snapshots keep inboxes so; workers receive percepts so)."""
    return {"t": event.t, "kind": event.kind, "person": event.person, "place": event.place,
            "data": event.data, "seq": event.seq, "tick": event.tick, "time": event.time}
