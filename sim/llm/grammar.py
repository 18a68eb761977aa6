"""What a schema becomes on the wire: plain JSON Schema for most servers, a tighter one for grammars.

A server that turns the schema into a grammar (llama.cpp) holds the model to it token by token,
so a small model can only write what the schema allows. Left free, a 135M model fills free-text
fields with JSON fragments, schema words and numbers ("}, {", "Minutes", "12345"). Answer models
mark their free-text fields as sentences (``sentence_field``); for a grammar this module makes each
such field a pattern of words (letters and apostrophes, commas between words, an optional full
stop: no brackets, braces, quotes or digits), makes bounded integers enums (llama.cpp's grammar
ignores ``minimum``/``maximum``), and drops descriptions and titles (a grammar does not read them).
Every other server gets the schema as pydantic wrote it, without the marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SENTENCE = "x-sentence"
"""The mark on a free-text field: ``{"x-sentence": [least, most]}`` words."""

_DROPPED = {"description", "title", SENTENCE}
_ENUM_SPAN = 128  # integer ranges up to this many values become enums


@dataclass(frozen=True, slots=True)
class Words:
    """Marks a free-text string field (``Annotated[str, ..., Words(2, 24)]``) as a sentence of so many words."""

    least: int = 2
    most: int = 24

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The field's JSON Schema with the mark that ``for_wire`` reads."""
        schema = dict(handler(core_schema))
        schema[SENTENCE] = [self.least, self.most]
        return schema


def words_pattern(least: int, most: int) -> str:
    """A regular expression for ``least``-``most`` words, a comma allowed after any, a final stop optional.

    A word has at most 12 letters: held to letters alone, a small model otherwise runs on in one
    made-up word ("dafriyajidadekapoludulirra").
    """
    word = "[A-Za-z][a-z']{0,11}"
    return f"^{word}(,? {word}){{{max(0, least - 1)},{max(0, most - 1)}}}[.!?]?$"


def for_wire(schema: dict[str, Any], grammar: bool) -> dict[str, Any]:
    """The schema to send: without Hamlet's marks; for a grammar, with sentences as patterns and integer enums."""
    walked: dict[str, Any] = _walk(schema, grammar)
    return walked


def _walk(node: Any, grammar: bool) -> Any:
    if isinstance(node, list):
        return [_walk(item, grammar) for item in node]
    if not isinstance(node, dict):
        return node
    dropped = _DROPPED if grammar else {SENTENCE}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":  # property names are data, never keywords to drop
            out[key] = {name: _walk(field, grammar) for name, field in value.items()}
        elif key not in dropped:
            out[key] = _walk(value, grammar)
    if not grammar:
        return out
    if SENTENCE in node and node.get("type") == "string" and "enum" not in node:
        least, most = node[SENTENCE]
        out.pop("maxLength", None)
        out["pattern"] = words_pattern(least, most)
    low, high = node.get("minimum"), node.get("maximum")
    if node.get("type") == "integer" and low is not None and high is not None and 0 <= high - low < _ENUM_SPAN:
        out = {"enum": list(range(int(low), int(high) + 1))}
    return out
