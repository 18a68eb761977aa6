"""The knowing rule on its labelled set (precision and recall) and on the hard cases one at a time."""

from __future__ import annotations

import re

import pytest

from sim.research.knowing import (
    FOLDS_TO_PLAIN,
    activity_of,
    carries,
    fragments,
    memory_carries,
    normalise,
    words,
)
from sim.worldfile.scenario import FactSpec
from tests.sim.research.knowing_cases import MEMORIES, PEOPLE, PLANS, PROBES, score


def test_the_labelled_set_is_big_enough_and_covers_every_hard_case() -> None:
    assert len(MEMORIES) >= 60 and len(PROBES) >= 30
    need = {"substring", "denial", "other sense", "paraphrase", "different fact", "activity"}
    assert need <= {c.category for c in MEMORIES} and need - {"activity"} <= {c.category for c in PROBES}
    assert any(c.knows for c in MEMORIES) and any(not c.knows for c in MEMORIES)


@pytest.mark.parametrize("cases", [MEMORIES, PROBES], ids=["memories", "probe answers"])
def test_precision_and_recall_on_the_labelled_set_are_at_least_095(cases: list) -> None:
    total, _, wrong = score(cases)
    assert total.precision >= 0.95 and total.recall >= 0.95, [c.text for c in wrong]


FACT = FactSpec(
    name="party",
    text="Sofia hosts a Valentine's party.",
    keywords=["party"],
    paraphrases=["Valentine's party"],
    excludes=["search party"],
)


@pytest.mark.parametrize(
    ("text", "knows"),
    [
        ("I ordered from a third-party vendor.", False),  # the audit's two false positives
        ("No, I'm not going to any party this weekend.", False),
        ("PARTIES! Sofia's party's on.", True),  # any case, plural and possessive endings
        ("The Valentines party is on Saturday.", True),
        ("The search party left at dawn.", False),  # an excluded phrase
        ("The party was cancelled.", False),
        ("The party kicks off at five.", True),  # "off" is not "called off"
        ("I haven't heard about the party, but Ann says it is on Saturday.", False),  # the clause with the cue denies
        ("I haven't heard much, but Ann says the party is on Saturday.", True),
        ("I don't know what to wear to the party.", True),  # not knowing *what*: still knowing the party
        ("Nothing.", False),
    ],
)
def test_carries_reads_whole_words_and_denials(text: str, knows: bool) -> None:
    assert carries(FACT, text) is knows


def test_someone_elses_activity_counts_only_with_a_paraphrase_and_being_told_counts_as_told() -> None:
    me = "Priya Raman"
    assert activity_of("Sofia Marchetti decorating for a party", PEOPLE, me) == "decorating for a party"
    assert activity_of("Sofia Marchetti said to me: come to my party", PEOPLE, me) is None
    assert activity_of("Priya Raman reading", PEOPLE, me) is None, "one's own doings are not someone else's"
    assert not memory_carries(FACT, "observation", "Sofia Marchetti decorating for a party", PEOPLE, me)
    assert memory_carries(FACT, "observation", "Sofia Marchetti decorating for the Valentine's party", PEOPLE, me)
    assert memory_carries(FACT, "dialogue", "Sofia Marchetti decorating for a party", PEOPLE, me), "told, not seen"
    assert memory_carries(FACT, "observation", "Sofia Marchetti said to me: come to my party", PEOPLE, me)


def test_a_fact_without_keywords_or_paraphrases_is_known_by_its_whole_text() -> None:
    bare = FactSpec(name="mill", text="The mill closes")
    assert carries(bare, "I heard the mill closes on Friday.") and not carries(bare, "The mill is open.")
    assert words("Sofia’s  Get-Together!") == ["sofia's", "get-together"], "curly apostrophes, hyphenated words"


def test_the_plan_rule_finds_every_plan_for_the_fact_and_its_only_misses_are_unlisted_other_senses() -> None:
    """Measured on 32 labelled plan items: recall 1.0, precision 0.88 (two other senses of "party" the
    fact's excludes do not list); a regression below that fails."""
    total, per, wrong = score(PLANS)
    assert len(PLANS) >= 30 and total.recall == 1.0 and total.precision >= 0.88, [c.text for c in wrong]
    assert {c.category for c in wrong} <= {"other sense"}


def test_every_character_the_rule_reads_as_a_plain_letter_or_digit_is_one_a_reader_must_not_skip() -> None:
    plain = re.compile(r"[a-z0-9]")
    folding = [cp for cp in range(0x80, 0x110000) if not 0xD800 <= cp < 0xE000 and plain.search(normalise(chr(cp)))]
    missed = [hex(cp) for cp in folding if not any(a <= cp <= b for a, b in FOLDS_TO_PLAIN)]
    assert folding and not missed  # a newer Unicode may add some: extend FOLDS_TO_PLAIN
    assert not any(a <= ord(c) <= b for c in "éèñüçøåÉ’“—…" for a, b in FOLDS_TO_PLAIN)  # names keep the SQL narrow


@pytest.mark.parametrize("cases", [MEMORIES, PROBES, PLANS], ids=["memories", "probe answers", "plans"])
def test_a_text_that_carries_a_fact_holds_one_of_its_fragments(cases: list) -> None:
    from tests.sim.research.knowing_cases import FACTS

    for case in cases:
        fact = FACTS[case.fact]
        pieces = fragments(fact)
        assert pieces, fact.name
        if carries(fact, case.text) or memory_carries(fact, "observation", case.text, PEOPLE, "Priya Raman"):
            assert any(piece in case.text.lower() for piece in pieces), case.text
