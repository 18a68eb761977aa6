"""Small text helpers the components' prompts share."""

from __future__ import annotations

from datetime import datetime, timedelta

from agents.memory import Memory


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters: fallbacks quote model or author text and must always validate."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(memories: list[Memory]) -> str:
    """Memories as one line of sentences, or a phrase saying there are none."""
    return " ".join(m.text.rstrip(".") + "." for m in memories) or "nothing in particular."


def numbered(texts: list[str]) -> str:
    """Texts as a numbered list, one a line, from 1."""
    return "\n".join(f"{i}. {text}" for i, text in enumerate(texts, 1))


def clock(minute: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def at(now: datetime, minute: int) -> datetime:
    """The moment ``minute`` minutes after the midnight that starts ``now``'s day."""
    return datetime.combine(now.date(), datetime.min.time()) + timedelta(minutes=minute)
