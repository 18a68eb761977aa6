"""How much of a prompt a server's prefix cache could reuse: the leading tokens a person's call shares with their last.

vLLM and SGLang keep the attention state of the prompts they served and reuse it for a new prompt
that begins the same way; OpenAI does the same for prompts of 1,024 tokens or more. Hamlet sends a
person's calls to one server (``sim.llm.route``) and puts what does not change first in every
prompt (the person's card, then the call's instructions), so each call can reuse its person's last.
``Prefixes`` measures that for the ``llm_call`` table's ``prefix_tokens``.

The tokens are counted with one simple rule, the same everywhere, not any model's tokenizer: a
token is a run of letters, digits and underscores, or one other visible character, with the
whitespace before it (``TOKEN``). The messages are rendered as ``<role>`` and the content, one per
line (``render``), so a change of role breaks a shared prefix as a chat template would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")
"""One token: a word (letters, digits, underscores) or one other visible character, with the whitespace before it."""
_WORD = re.compile(r"\w")


def render(messages: Sequence[Mapping[str, Any]]) -> str:
    """The messages as one text: ``<role>`` then the content, each on its own line."""
    return "".join(f"<{m.get('role', '')}>\n{m.get('content', '')}\n" for m in messages)


def count(text: str) -> int:
    """The tokens in ``text`` by ``TOKEN``."""
    return len(TOKEN.findall(text))


def prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """The tokens of the rendered messages (what ``prefix_tokens`` is a share of)."""
    return count(render(messages))


def schema_tokens(schema: Mapping[str, Any] | None) -> int:
    """The tokens of a JSON Schema written as the request carries it (0 for none)."""
    return count(json.dumps(schema)) if schema is not None else 0


def shared(old: str, new: str) -> int:
    """How many leading tokens of ``new`` are the same tokens at the start of ``old``."""
    # The texts' common start, found by halving (each comparison is one memcmp), then the tokens in it.
    low, high = 0, min(len(old), len(new))
    while low < high:
        middle = (low + high + 1) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle - 1
    tokens = count(new[:low])
    # A word cut at the end of the common start is a different token in one of the texts.
    if tokens and _WORD.match(new, low - 1) and (_WORD.match(new, low) or _WORD.match(old, low)):
        tokens -= 1
    return tokens


class Prefixes:
    """Each person's last rendered prompt, and how much of the next one repeats it."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}  # person ("" for the world) -> their last call's rendered messages

    def see(self, who: str, messages: Sequence[Mapping[str, Any]]) -> int:
        """The leading tokens ``messages`` share with ``who``'s last call; they become that last call."""
        text = render(messages)
        old = self.last.get(who)
        self.last[who] = text
        return shared(old, text) if old is not None else 0

    def seed(self, last: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Start from each person's last recorded call (a resumed run or a fork), as the run that made them had."""
        for who, messages in last.items():
            self.last[who] = render(messages)
