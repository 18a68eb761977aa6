"""A labelled set for the sentence check (sim/research/readable.py): texts people in a run wrote, each marked
reads-as-written-by-a-person or not, with the kind of failure it stands for.

The junk comes from runs of the embedded 135M model before its free text was held to words (an
8-hour run of worlds/smallville.yaml at 9ffe1f6) and after (a 2-hour run); the sentences are
written for this set. Labels were given by reading each text as what a townsperson said, did or
planned; the rule's misses are kept, not relabelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.sim.research.knowing_cases import Confusion
from tests.sim.research.knowing_cases import score as score_rule


@dataclass(frozen=True, slots=True)
class Text:
    """One labelled text: what it says, whether a person could have written it, and what it stands for."""

    text: str
    good: bool
    category: str


def _cases(good: bool, category: str, *texts: str) -> list[Text]:
    return [Text(t, good, category) for t in texts]


CASES: list[Text] = [
    *_cases(
        False,
        "json fragment",
        "}, {",
        "][",
        "{ {\n    ",
        ");{",
        "#/$defs/ReplanItem",
        "ActivityType}, {",
        "{{#description}} The end of the conversation ends here.",
        "Reply with one JSON object, please",
    ),
    *_cases(
        False,
        "identifier",
        "go_to_bed",
        "action_detail",
        "Step_Nwosu-Brandt House:bedroom",
        "Activity2",
        "halal-14keli",
    ),
    *_cases(
        False,
        "schema word",
        "Activity",
        "Items",
        "Minutes",
        "Activity 2.3",
        "Start Activity",
        "the activity",
        "Activity start time",
    ),
    *_cases(False, "number", "05:31", "12345", ".05:19", ""),
    *_cases(False, "one word", "Danceable", "Bakehouse", "canadafoods", "Movie"),
    *_cases(
        False,
        "schema prose",
        "One line of a conversation and whether the speaker ends it.",
        "true when the conversation has run its course",
        "The end of the conversation ends here.",
    ),
    *_cases(
        False,
        "nonsense words",
        "dafriyajidadekapoludulirra mambacarakutlantukamamareya",
        "ipsum ipsum sceleras ac multis",
        "Bed Life",
        "Lotte Achterberg",
        "break the time into steps of five to ten minutes",
    ),
    *_cases(
        True,
        "activity",
        "bakes bread and cardamom buns",
        "reads the paper by the fire",
        "has breakfast",
        "serves coffee to the regulars",
        "tends the leeks in the community garden",
        "walks home along the canal",
        "closes the shop and counts the till",
        "prepares lessons for Monday",
        "sleeps in",
        "goes to the 3rd floor office",
        "talks with Amara about the permit",
    ),
    *_cases(
        True,
        "plan item",
        "wake up",
        "Wake Up",
        "has lunch with Felix",
        "meets Lotte at 5pm",
        "Walks to the library to return a book.",
    ),
    *_cases(
        True,
        "line said",
        "Good morning, Sofia! Are you coming to the party?",
        "I think the council will fix the bandstand.",
        "It was lovely to see you.",
        "I can't wait for Saturday.",
        "Did you hear about the party at the library?",
        "Thanks!",
        "My name is Lena",
    ),
]


def score(cases: list[Text]) -> tuple[Confusion, dict[str, Confusion], list[Text]]:
    """The sentence check's counts on ``cases`` ("well-formed" is the positive class), per category, and its misses."""
    from sim.research.readable import well_formed

    return score_rule(cases, lambda case: well_formed(case.text), lambda case: case.good)
