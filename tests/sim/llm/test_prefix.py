"""Shared prompt prefixes: the token count, the shared leading tokens, and the rows that record them."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from sim.llm.gateway import CallSite, Endpoint, Gateway
from sim.llm.inprocess import ScriptedTransport
from sim.llm.prefix import TOKEN, Prefixes, count, render, shared
from sim.llm.scripted import ScriptConfig, ScriptedModel
from tests.sim.llm.test_gateway import FALLBACK, Plan

TEXT = st.text(alphabet="ab _.,\n", max_size=40)


def by_lists(old: str, new: str) -> int:
    """The same question answered the slow way: tokenise both, count equal tokens from the start."""
    same = 0
    for a, b in zip(TOKEN.findall(old), TOKEN.findall(new), strict=False):
        if a != b:
            break
        same += 1
    return same


@given(TEXT, TEXT, TEXT)
def test_shared_tokens_are_the_equal_leading_tokens_of_both_texts(start: str, old: str, new: str) -> None:
    assert shared(start + old, start + new) == by_lists(start + old, start + new)


def test_tokens_are_words_and_marks_with_the_space_before_them() -> None:
    assert TOKEN.findall("It is 07:30, Ann.") == ["It", " is", " 07", ":", "30", ",", " Ann", "."]
    assert count(render([{"role": "system", "content": "You are Ann."}])) == 7  # <, system, >, You, are, Ann, .
    assert shared("the plan for today", "the planned walk") == 1  # "plan" is not "planned"
    assert shared("the plan for today", "the plan, then") == 2


def test_each_person_is_counted_against_their_own_last_call() -> None:
    prefixes = Prefixes()
    persona = {"role": "system", "content": "You are Ann, 34, a baker."}
    assert prefixes.see("Ann", [persona, {"role": "user", "content": "Rate these: 1. bread"}]) == 0
    assert prefixes.see("Bo", [{"role": "system", "content": "You are Bo."}]) == 0
    second = prefixes.see("Ann", [persona, {"role": "user", "content": "Rate these: 1. cake"}])
    assert second == count(render([persona]) + "<user>\nRate these: 1.")
    again = Prefixes()
    again.seed({"Ann": [persona, {"role": "user", "content": "Rate these: 1. cake"}]})  # as a resume starts
    assert again.see("Ann", [persona]) == count(render([persona]))


def test_the_gateways_rows_carry_the_shared_prefix_and_the_schemas_tokens() -> None:
    rows: list[dict] = []

    async def main() -> None:
        gateway = Gateway(
            ScriptedTransport(ScriptedModel(ScriptConfig()), 5.0), rows.append, Endpoint(None, model="scripted")
        )
        for person, task in (("Ann", "plan the day"), ("Ann", "plan the evening"), ("Bo", "plan the day")):
            await gateway.ask(
                Plan,
                [{"role": "system", "content": f"You are {person}."}, {"role": "user", "content": task}],
                site=CallSite(person, "plan"),
                fallback=FALLBACK,
            )

    asyncio.run(main())
    assert [r["prefix_tokens"] for r in rows] == [0, count("<system>\nYou are Ann.\n<user>\nplan the"), 0]
    assert rows[0]["schema_tokens"] > 10 and len({r["schema_tokens"] for r in rows}) == 1
    assert all(r["endpoint"] == "" and r["failovers"] == "[]" for r in rows)
