"""The rule for file names a model proposes: checked before anything is written, never a crash.

A name is relative, stays inside the program folder, is valid UTF-8 made of letters, digits,
``_``, ``.`` and ``-`` in ``/``-separated parts (no ``.`` or ``..`` part, no empty part), and is
short. A set of names must not use one name both as a file and as a folder (``util`` and
``util/helpers.py``). ``problem`` says what is wrong with one name, ``clash`` with a name among
others; both give a short reason for the team's next prompt, or None when the name is fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_NAME = 120
"""Characters in a whole name."""
MAX_DEPTH = 8
"""Folders a name may go down."""
_PART = re.compile(r"[\w.-]+")


def problem(name: object) -> str | None:
    """What is wrong with ``name`` as a file name inside the program folder (a short reason), or None."""
    if not isinstance(name, str) or not name:
        return "a file name must not be empty"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "names must be valid UTF-8"
    if name.startswith("/"):
        return "names must be relative to the project folder, not absolute"
    parts = name.split("/")
    if ".." in parts:
        return "names must stay inside the project folder (no '..')"
    if len(name) > MAX_NAME:
        return f"names must be at most {MAX_NAME} characters long"
    if len(parts) > MAX_DEPTH + 1:
        return f"names may go at most {MAX_DEPTH} folders deep"
    for part in parts:
        if part in ("", "."):
            return "names must not have an empty or '.' part"
        if not _PART.fullmatch(part):
            return "names may use only letters, digits, '_', '.', '-' and '/'"
    return None


def clash(name: str, others: Iterable[str]) -> str | None:
    """Whether ``name`` is a folder of one of ``others`` or has one of them as a folder (a reason), or None."""
    for other in others:
        if other == name:
            continue
        if other.startswith(name + "/"):
            return f"it is a folder already (it holds {printable(other)}), so no file can have its name"
        if name.startswith(other + "/"):
            return f"{printable(other)} is a file, so it cannot be a folder too"
    return None


def printable(name: str) -> str:
    """``name`` quoted, with bytes that are not UTF-8 and control characters backslash-escaped."""
    return repr(escaped(name))[: MAX_NAME * 2]


def escaped(name: str) -> str:
    """``name`` (perhaps from the file system, surrogate-escaped) as valid UTF-8: bad bytes become ``\\xNN``."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
