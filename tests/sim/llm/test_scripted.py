"""The scripted model: valid, varied, seeded answers built from the prompt, and faults on demand."""

from __future__ import annotations

import json
import random
from typing import Literal

import openai
import pytest
from pydantic import BaseModel, Field

from sim.llm.scripted import REPAIR_PREFIX, ScriptConfig, ScriptedProcess, answer
from sim.teams import program


class Choice(BaseModel):
    mood: Literal["happy", "sad", "calm"]
    ideas: list[str] = Field(min_length=2, max_length=3)
    score: int = Field(ge=1, le=10)
    place: Literal["Bakery", "Library"]


def body(prompt: str, schema: type[BaseModel] = Choice, model: str = "scripted") -> dict:
    return {
        "model": model,
        "messages": [{"role": "system", "content": "You are Mara."}, {"role": "user", "content": prompt}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
        },
    }


PROMPTS = [
    f"Day {i}. The party is at the Bakery on Friday at five. Mara bakes bread for number {i}." for i in range(20)
]


def test_answers_are_valid_under_the_declared_schema() -> None:
    for prompt in PROMPTS:
        Choice.model_validate_json(answer(body(prompt), seed=1))


def test_same_seed_and_prompt_give_the_same_answer_and_seeds_vary_it() -> None:
    first = [answer(body(p), seed=1) for p in PROMPTS]
    assert first == [answer(body(p), seed=1) for p in PROMPTS]
    assert first != [answer(body(p), seed=2) for p in PROMPTS]
    assert len(set(first)) > 10, "answers should vary from prompt to prompt"


def test_strings_are_made_of_the_prompts_own_phrases_so_facts_travel() -> None:
    ideas = [idea for p in PROMPTS for idea in json.loads(answer(body(p), seed=3))["ideas"]]
    assert any("party is at the Bakery on Friday at five" in idea for idea in ideas)
    assert all(idea in " ".join(PROMPTS) or idea == "You are Mara" for idea in ideas)


def test_repair_turns_do_not_change_the_answer() -> None:
    plain = body(PROMPTS[0])
    repaired = dict(
        plain,
        messages=[
            *plain["messages"],
            {"role": "assistant", "content": "{bad"},
            {"role": "user", "content": f"{REPAIR_PREFIX}: mood missing"},
        ],
    )
    assert answer(plain, seed=1) == answer(repaired, seed=1)


@pytest.fixture
def faulty():
    server = ScriptedProcess(ScriptConfig(seed=4, fault_rate=1.0, hang_s=1.5))
    yield server
    server.stop()


@pytest.mark.slow
def test_fault_rate_one_produces_every_kind_of_fault(faulty: ScriptedProcess) -> None:
    client = openai.OpenAI(base_url=faulty.base_url, api_key="x", max_retries=0, timeout=0.5)
    seen = set()
    for prompt in PROMPTS[:30] * 2:
        try:
            reply = client.chat.completions.create(**body(prompt)).choices[0].message.content or ""
        except openai.RateLimitError:
            seen.add("429")
            continue
        except openai.InternalServerError:
            seen.add("500")
            continue
        except openai.APITimeoutError:
            seen.add("timeout")
            continue
        if not reply:
            seen.add("empty")
            continue
        try:
            Choice.model_validate_json(reply)
        except Exception as err:
            seen.add("malformed" if "json_invalid" in str(err) or "Invalid JSON" in str(err) else "violation")
    assert seen == {"429", "500", "timeout", "malformed", "violation", "empty"}


def test_unknown_model_is_a_404(faulty: ScriptedProcess) -> None:
    client = openai.OpenAI(base_url=faulty.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(**body("hello there friend", model="gpt-9"))


# -- no preference, and the profiles ---------------------------------------------------------


class Talk(BaseModel):
    talk_to: Literal["Ann", "Bo", "nobody"]
    end: bool
    importance: int = Field(ge=1, le=10)
    object: Literal["none", "desk"]


FACTS = [
    "The Party Is At Hobbs Cafe On 14 February At 5 PM With 20 Guests",
    "the cat sleeps on the mat",
    "it rained for a while",
    "someone made some tea",
]


def test_a_phrase_with_capitals_and_numbers_is_picked_no_more_often_than_plain_ones() -> None:
    class Say(BaseModel):
        line: str

    prompt = ". ".join(FACTS) + ".\nSay something."
    picks = [json.loads(answer(body(prompt, Say), seed=s))["line"] for s in range(2000)]
    shares = [picks.count(fact) / len(picks) for fact in FACTS]
    assert sum(shares) == 1.0
    assert all(0.2 < share < 0.3 for share in shares), shares  # uniform: 1/4 each


def test_neutral_is_uniform_over_enums_booleans_and_integers() -> None:
    replies = [json.loads(answer(body(f"Ann and Bo are here, day {s}.", Talk), seed=s)) for s in range(3000)]
    for name in ("Ann", "Bo", "nobody"):
        assert 0.29 < sum(r["talk_to"] == name for r in replies) / len(replies) < 0.38
    assert 0.46 < sum(r["end"] for r in replies) / len(replies) < 0.54
    mean = sum(r["importance"] for r in replies) / len(replies)
    assert 5.3 < mean < 5.7 and {r["importance"] for r in replies} == set(range(1, 11))


def test_eager_always_engages_never_ends_and_scores_importance_realistically() -> None:
    replies = [
        json.loads(answer(body(f"Ann and Bo are here, day {s}.", Talk), seed=s, profile="eager")) for s in range(3000)
    ]
    assert {r["talk_to"] for r in replies} == {"Ann", "Bo"}
    assert not any(r["end"] for r in replies)
    scores = [r["importance"] for r in replies]
    assert 3.6 < sum(scores) / len(scores) < 4.2
    assert sum(2 <= s <= 4 for s in scores) / len(scores) > 0.55 and sum(s >= 8 for s in scores) / len(scores) < 0.12
    # "none" of a field that is not about engaging (an object) stays an ordinary option
    assert 0.45 < sum(r["object"] == "none" for r in replies) / len(replies) < 0.55


def test_eager_rules_follow_field_names_so_a_new_reaction_schema_gets_them() -> None:
    class Reaction(BaseModel):
        react: bool
        reaction: Literal["ignore", "greet them", "ask what happened"]
        should_end: bool
        weekend: bool  # "end" inside a word is not an ending
        scores: list[int] = Field(min_length=3, max_length=3)

    replies = [json.loads(answer(body(f"A fire on day {s}.", Reaction), seed=s, profile="eager")) for s in range(400)]
    assert all(r["react"] and r["reaction"] != "ignore" and not r["should_end"] for r in replies)
    assert 0.4 < sum(r["weekend"] for r in replies) / len(replies) < 0.6
    assert (
        max(s for r in replies for s in r["scores"]) == 10 and sum(s for r in replies for s in r["scores"]) / 1200 < 4.3
    )


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile 'keen'"):
        answer(body("hello there friend"), seed=1, profile="keen")


def test_the_server_process_answers_with_the_profile_it_was_started_with() -> None:
    server = ScriptedProcess(ScriptConfig(seed=5, profile="eager"))
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        assert [m.id for m in client.models.list()] == ["scripted-eager"]  # its replies cache apart
        for s in range(20):
            sent = body(f"Ann and Bo are here, day {s}.", Talk, model="scripted-eager")
            reply = client.chat.completions.create(**sent)
            data = json.loads(reply.choices[0].message.content or "")
            assert data["talk_to"] != "nobody" and data["end"] is False
            assert reply.choices[0].message.content == answer(sent, 5, "eager")
    finally:
        server.stop()


# -- the programmer's revisions --------------------------------------------------------------


def _revision(feedback: str, flaw: str = "both") -> str:
    shown = program.single_file(program.program("a snake game", ["apple", "board"], random.Random(1), flaw=flaw))
    return f'Task: "a snake game".\nThe code:\nmain.py\n```python\n{shown}\n```\n{feedback}\nFix the code.'


TRACE = (
    'Traceback (most recent call last):\n  File "/program/main.py", line 39, in self_test\n'
    f"    {program.CAUGHT}, thing.score\nAssertionError: 18"
)


@pytest.mark.parametrize(
    ("feedback", "kept"),
    [
        ("The reviewer's comment: looks fine to me.", "both"),
        ("What running it reported: Traceback (most recent call last): something failed.", "both"),
        ("What running it reported:\nTraceback (most recent call last):\nZeroDivisionError: division by zero", "both"),
        (f"What running it reported:\n{TRACE}", "placeholder"),
        ("The file main.py still holds placeholders.", "bug"),
        ('Unimplemented File:\n"main.py"\nimplement all methods', "bug"),
        ("Check that everything is imported and implemented.", "both"),
        (f"{TRACE}\nThe file main.py still holds placeholders.", "none"),
    ],
)
def test_a_revision_fixes_only_the_flaws_its_feedback_names(feedback: str, kept: str) -> None:
    assert program.revised_flaw(_revision(feedback)) == kept


def test_a_revision_of_sound_code_stays_sound_and_the_fix_runs() -> None:
    assert program.revised_flaw(_revision("Nothing to report.", flaw="none")) == "none"
    schema = {
        "type": "object",
        "properties": {
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"enum": ["main.py"]},
                        "content": {"type": "string", "contentMediaType": "text/x-python"},
                    },
                },
            }
        },
    }
    fixed = json.loads(
        answer(
            {
                "model": "scripted",
                "messages": [{"role": "user", "content": _revision(TRACE)}],
                "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
            },
            1,
        )
    )
    assert program.BUG not in fixed["files"][0]["content"]
