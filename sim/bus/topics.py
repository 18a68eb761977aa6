"""Topic names and the versioned JSON envelope of every message Hamlet puts on the bus or takes from it.

Topics (``<run>`` is the run file's name without ``.db``; see ``segment`` for how names are written):

- ``hamlet/<run>/<kind>/<person>``: one committed event, in commit order; ``<person>`` is ``_``
  for events of nobody in particular (``run_start``, an injected event, an object's change).
- ``hamlet/<run>/status``: retained; what is running, on which host, and where its log is.
- ``hamlet/<run>/control/<verb>``: input; ``pause``, ``resume``, ``stop`` or ``intervene``.

Every payload is a JSON object carrying ``"v": 1`` (the envelope version) and, for a run's
topics, ``"run": "<run>"``. Levels Hamlet names itself start with ``_`` or are ``status`` and
``control``; person names and event kinds that would collide are written percent-encoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

ROOT = "hamlet"
VERSION = 1
"""The envelope version: bumped when a payload changes shape; messages of another version are refused."""
NOBODY = "_"
_RESERVED = {"status", "control"}
_ESCAPES = {"%": "%25", "/": "%2F", "+": "%2B", "#": "%23", "\x00": "%00"}


class Rejected(ValueError):
    """A message Hamlet will not act on, with the reason in words."""


def segment(name: str) -> str:
    """``name`` as one topic level: ``%``, ``/``, ``+``, ``#`` percent-encoded, and a leading ``_``
    (or a whole ``status`` / ``control``) too, so no name can pose as one of Hamlet's own levels."""
    text = "".join(_ESCAPES.get(ch, ch) for ch in name)
    if text.startswith("_"):
        text = "%5F" + text[1:]
    if text in _RESERVED or not text:
        text = "%" + format(ord(text[0]), "02X") + text[1:] if text else "%00"
    return text


def run_id(path: Path) -> str:
    """The run's name on the bus: its file name without ``.db``, written as one topic level."""
    return segment(path.name[:-3] if path.name.endswith(".db") else path.name)


def event_topic(run: str, kind: str, person: str | None) -> str:
    """Where one event of ``kind`` by ``person`` (or nobody) is published."""
    return f"{ROOT}/{run}/{segment(kind)}/{NOBODY if person is None else segment(person)}"


def status_topic(run: str) -> str:
    """The retained status of a run."""
    return f"{ROOT}/{run}/status"


def control_topic(run: str, verb: str = "#") -> str:
    """A run's control input (``#``: all of it)."""
    return f"{ROOT}/{run}/control/{verb}"


def matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` matches an MQTT subscription ``pattern`` (``+`` one level, ``#`` the rest)."""
    wanted, levels = pattern.split("/"), topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(wanted) == len(levels)


def envelope(run: str | None, **fields: Any) -> bytes:
    """A payload: ``fields`` with the envelope version (and the run, for a run's topics)."""
    head: dict[str, Any] = {"v": VERSION}
    if run is not None:
        head["run"] = run
    return orjson.dumps({**head, **fields}, option=orjson.OPT_NON_STR_KEYS)


def opened(payload: bytes, run: str | None) -> dict[str, Any]:
    """The fields of a payload, checked: a JSON object, of this envelope version, for ``run``."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise Rejected(f"not JSON ({err})") from None
    if not isinstance(data, dict):
        raise Rejected(f"not a JSON object (got {type(data).__name__})")
    if data.get("v") != VERSION:
        raise Rejected(f'envelope version {data.get("v")!r}; this Hamlet reads version {VERSION} ("v": {VERSION})')
    if run is not None and data.get("run") != run:
        raise Rejected(f"run {data.get('run')!r} is not this run ({run!r})")
    return data
