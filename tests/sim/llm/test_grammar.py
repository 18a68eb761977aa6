"""What a schema becomes on the wire: marks dropped for most servers; words, enums and no prose for grammars."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import BaseModel, Field

from agents.generative.dialogue import Utterance
from agents.generative.planning import DayPlan, decomposition_model
from sim.llm.grammar import SENTENCE, for_wire, words_pattern
from sim.teams.roles import Answer as RoleAnswer


@pytest.mark.parametrize(
    "text",
    [
        "Good morning to you.",
        "bakes bread",
        "Sofia Marchetti, are you coming?",
        "I can't stay long!",
        "reads the paper, then naps",
    ],
)
def test_the_word_pattern_accepts_sentences(text: str) -> None:
    assert re.fullmatch(words_pattern(2, 20), text)


@pytest.mark.parametrize(
    "text",
    [
        "}, {",
        "][",
        "12345",
        "05:31 Activity",
        "Activity",
        "{{#description}} end",
        "dafriyajidadekapoludulirra mamba",
        "two  spaces",
        "a " * 30 + "end",
        'say "hi" now',
    ],
)
def test_the_word_pattern_refuses_what_the_small_model_wrote(text: str) -> None:
    assert not re.fullmatch(words_pattern(2, 20), text)


def test_sentence_fields_become_word_patterns_and_bounded_integers_enums_for_a_grammar() -> None:
    wire = for_wire(DayPlan.model_json_schema(), grammar=True)
    item = wire["$defs"]["PlanItem"]["properties"]
    assert item["activity"] == {"type": "string", "pattern": words_pattern(2, 12)}
    assert "05:00" in item["start"]["enum"]  # choices stay choices
    steps = for_wire(decomposition_model(("Home:kitchen",), ("stove",)).model_json_schema(), grammar=True)
    step = steps["$defs"]["Step"]["properties"]
    assert step["minutes"] == {"enum": list(range(5, 16))}  # llama.cpp's grammar ignores minimum and maximum
    text = json.dumps(wire) + json.dumps(steps)
    assert "description" not in text and "title" not in text and SENTENCE not in text


def test_other_servers_get_pydantics_schema_less_the_marks() -> None:
    schema = Utterance.model_json_schema()
    wire = for_wire(schema, grammar=False)
    assert SENTENCE in json.dumps(schema) and SENTENCE not in json.dumps(wire)
    assert wire["description"] == schema["description"]
    assert wire["properties"]["line"] == {"maxLength": 240, "title": "Line", "type": "string"}


def test_unmarked_text_such_as_a_teams_files_is_never_held_to_words() -> None:
    wire = json.dumps(for_wire(RoleAnswer.model_json_schema(), grammar=True))
    assert "pattern" not in wire or words_pattern(2, 20) not in wire
    assert "[A-Za-z][a-z']" not in wire


def test_a_property_named_like_a_keyword_is_kept() -> None:
    class Odd(BaseModel):
        title: str = Field(max_length=10)
        description: int = Field(ge=0, le=2)

    wire = for_wire(Odd.model_json_schema(), grammar=True)
    assert set(wire["properties"]) == {"title", "description"}
    assert wire["properties"]["description"] == {"enum": [0, 1, 2]}


@pytest.mark.parametrize(("mode", "grammar"), [(None, True), ("json_object", True), ("none", False)])
def test_the_embedded_server_enforces_the_schema_as_a_grammar_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, mode: str | None, grammar: bool
) -> None:
    import sim.llm.local
    from sim.llm.backends import open_backend
    from sim.llm.options import LLMOptions
    from sim.worldfile.scenario import ModelSettings

    class Server:  # stands in for llama.cpp's server: only where it listens and how to stop it
        base_url = "http://127.0.0.1:9/v1"
        alias = "SmolLM2-135M-Instruct"

        def stop(self) -> None:
            pass

    monkeypatch.setattr(sim.llm.local, "LocalServer", lambda *args, **kwargs: Server())
    with open_backend(LLMOptions(llm="local", json_mode=mode), ModelSettings(), 0) as backend:
        assert backend.endpoint.grammar is grammar
