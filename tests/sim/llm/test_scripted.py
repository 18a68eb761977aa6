"""The scripted model: valid, varied, seeded answers built from the prompt, and faults on demand."""

from __future__ import annotations

import json
from typing import Literal

import openai
import pytest
from pydantic import BaseModel, Field

from sim.llm.scripted import REPAIR_PREFIX, ScriptConfig, ScriptedProcess, answer


class Choice(BaseModel):
    mood: Literal["happy", "sad", "calm"]
    ideas: list[str] = Field(min_length=2, max_length=3)
    score: int = Field(ge=1, le=10)
    place: Literal["Bakery", "Library"]


def body(prompt: str, schema: type[BaseModel] = Choice, model: str = "scripted") -> dict:
    return {
        "model": model,
        "messages": [{"role": "system", "content": "You are Mara."}, {"role": "user", "content": prompt}],
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()}},
    }


PROMPTS = [f"Day {i}. The party is at the Bakery on Friday at five. Mara bakes bread for number {i}."
           for i in range(20)]


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
    repaired = dict(plain, messages=[*plain["messages"], {"role": "assistant", "content": "{bad"},
                                     {"role": "user", "content": f"{REPAIR_PREFIX}: mood missing"}])
    assert answer(plain, seed=1) == answer(repaired, seed=1)


@pytest.fixture
def faulty():
    server = ScriptedProcess(ScriptConfig(seed=4, fault_rate=1.0, hang_s=1.5))
    yield server
    server.stop()


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
