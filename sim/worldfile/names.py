"""Names a user types for people and places: what they match, and a "did you mean" when nothing does."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggestion(name: str, names: Iterable[str]) -> str:
    """``"; did you mean 'X'?"`` for the name in ``names`` closest to ``name`` in any case, or ``""`` if none is close."""
    # Compared in lower case, so 'sofia marchetti' is as close to 'Sofia Marchetti' as it can be.
    by_lower: dict[str, str] = {}
    for known in names:
        by_lower.setdefault(known.lower(), known)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def match_person(name: str, names: Iterable[str], among: str = "") -> str:
    """The one of ``names`` that ``name`` means: itself, itself in another case, or the only one with that first name.

    Anything else raises ``ValueError`` with one line: ``unknown person 'sofa'{among}; did you mean 'Sofia'?`` (the
    people listed when none is close), or that the name is ambiguous and which names it could mean.
    """
    known = list(dict.fromkeys(names))
    if name in known:
        return name
    wanted = name.strip().casefold()
    same = [n for n in known if n.casefold() == wanted]
    if not same and wanted and " " not in wanted:
        same = [n for n in known if (n.split() or [""])[0].casefold() == wanted]
    if len(same) == 1:
        return same[0]
    if same:
        raise ValueError(f"person {name!r} is ambiguous{among}: write one of {', '.join(same)}")
    hint = suggestion(name, known) or f"; people: {', '.join(known) or 'none'}"
    raise ValueError(f"unknown person {name!r}{among}{hint}")
