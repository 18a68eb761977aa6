"""A labelled set for the knowing rule (sim/research/knowing.py): memories and probe answers, each marked
knows / does not know by reading it as a person would, with the hard case it stands for.

Written for this set (no text from the paper or from Smallville). Two facts of an imagined town: a
Valentine's party and a candidacy for town clerk. Labels say whether the text shows its person has
the news; they were written before the rule was run on them, and the rule's misses are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.worldfile.scenario import FactSpec

PARTY = FactSpec(
    name="party",
    text="Sofia Marchetti is hosting a Valentine's party in the library reading room on Saturday at five.",
    keywords=["party"],
    paraphrases=[
        "Valentine's party",
        "Sofia's party",
        "party at the library",
        "party in the reading room",
        "library party",
        "get-together at the library",
        "Valentine's get-together",
        "Valentine's dance",
    ],
    excludes=[
        "search party",
        "third party",
        "political party",
        "birthday party",
        "party line",
        "working party",
        "guilty party",
        "party to",
    ],
)
CLERK = FactSpec(
    name="clerk",
    text="Walter Greaves is standing for town clerk in the March election.",
    keywords=["election", "candidacy"],
    paraphrases=[
        "running for clerk",
        "standing for clerk",
        "running for town clerk",
        "standing for town clerk",
        "Walter's campaign",
        "clerk election",
        "Walter is running",
    ],
)
FACTS = {"party": PARTY, "clerk": CLERK}
PEOPLE = ["Sofia Marchetti", "Walter Greaves", "Amara Nwosu", "Jonas Achterberg", "Priya Raman", "Mateo Quispe"]
OWNER = "Priya Raman"
"""Whose memories these are (she is never the one seen)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled text: the fact, the memory kind (or "probe"), the text, whether it shows knowing, the hard case."""

    fact: str
    kind: str
    text: str
    knows: bool
    category: str


M = Case
MEMORIES: list[Case] = [
    # plain news, told or read
    M("party", "dialogue", "Amara told me Sofia is throwing a party at the library on Saturday.", True, "plain"),
    M("party", "whisper", "Sofia is hosting a party on Saturday evening and everyone is welcome.", True, "plain"),
    M("party", "seed", "I am organising a Valentine's party in the reading room this Saturday.", True, "plain"),
    M("party", "reflection", "Sofia seems very excited about the party she is planning.", True, "plain"),
    M(
        "party",
        "plan",
        "My plan for Saturday: wake 08:00, 17:00 go to the party at the library, bed 23:00",
        True,
        "plain",
    ),
    M(
        "party",
        "observation",
        "A red poster on the notice board announces a party in the reading room, Saturday from 5 pm.",
        True,
        "plain",
    ),
    M("party", "dialogue", "Jonas and I agreed to walk to the party together.", True, "plain"),
    M("party", "dialogue", "PARTIES at the library are rare, so Saturday's will be busy.", True, "plain"),
    M("clerk", "dialogue", "Walter says he is standing in the March election for town clerk.", True, "plain"),
    M("clerk", "reflection", "Walter's candidacy could change how the town hall is run.", True, "plain"),
    M("clerk", "whisper", "Vote for Walter in the election next month.", True, "plain"),
    # denials that still show knowing (a negation that does not deny the news)
    M("party", "dialogue", "I'm not going to Sofia's party because I work late on Saturday.", True, "negated, knows"),
    M("party", "reflection", "I can't wait for the party on Saturday.", True, "negated, knows"),
    M("party", "dialogue", "Mateo doesn't know what to bring to the party.", True, "negated, knows"),
    M("party", "dialogue", "I didn't know about the party until Amara told me this morning.", True, "negated, knows"),
    M("party", "dialogue", "Walter won't miss the Valentine's party for anything.", True, "negated, knows"),
    M("clerk", "dialogue", "I'm not sure Walter can win the election, but he is trying hard.", True, "negated, knows"),
    # denials
    M("party", "dialogue", "No, I'm not going to any party this weekend.", False, "denial"),
    M("party", "dialogue", "I haven't heard anything about a party.", False, "denial"),
    M("party", "reflection", "Nobody has told me about the party everyone keeps hinting at.", False, "denial"),
    M("party", "dialogue", "There is no party at the library, the room is being painted.", False, "denial"),
    M("party", "dialogue", "Amara said the party was cancelled.", False, "denial"),
    M("party", "dialogue", "Sofia called off the party because of the storm.", False, "denial"),
    M("party", "dialogue", "I never heard of any Valentine's party.", False, "denial"),
    M("clerk", "dialogue", "I don't know anything about an election.", False, "denial"),
    M("clerk", "dialogue", "Walter's campaign isn't happening after all.", False, "denial"),
    # the keyword inside another word
    M("party", "observation", "Jonas Achterberg ordering spare parts from a third-party vendor", False, "substring"),
    M("party", "dialogue", "The counterparty never signed the lease.", False, "substring"),
    M("party", "dialogue", "Priya bought a partly eaten cake at the market.", False, "substring"),
    M("party", "reflection", "Mateo is a partygoer by nature.", False, "substring"),
    M("party", "dialogue", "The bakery uses a third-party courier for deliveries.", False, "substring"),
    M("clerk", "dialogue", "The seeds come from a careful selection of heirloom beans.", False, "substring"),
    M("clerk", "observation", "Amara Nwosu reading about electrons in a physics book", False, "substring"),
    M("clerk", "dialogue", "Walter bought an electric kettle.", False, "substring"),
    # the word in another sense
    M("party", "dialogue", "A search party went out to find the lost dog.", False, "other sense"),
    M("party", "reflection", "Walter has voted for the same political party all his life.", False, "other sense"),
    M("party", "dialogue", "The council set up a working party on the canal locks.", False, "other sense"),
    M("party", "dialogue", "The insurer says the other driver was the guilty party.", False, "other sense"),
    M("party", "dialogue", "Jonas was never a party to the dispute.", False, "other sense"),
    M("party", "dialogue", "Amara always follows the party line at meetings.", False, "other sense"),
    # paraphrases
    M(
        "party",
        "dialogue",
        "Sofia's get-together at the library on Saturday at five sounds lovely.",
        True,
        "paraphrase",
    ),
    M("party", "dialogue", "Everyone is talking about the Valentine's dance on Saturday.", True, "paraphrase"),
    M("party", "reflection", "The library party might bring the neighbours closer.", True, "paraphrase"),
    M("clerk", "dialogue", "Walter is running for town clerk, Jonas said.", True, "paraphrase"),
    M("clerk", "reflection", "Walter's campaign posters are all over the canal bridge.", True, "paraphrase"),
    M("clerk", "dialogue", "Amara heard that the clerk election is in March.", True, "paraphrase"),
    # a different fact with the same words
    M("party", "dialogue", "Mateo's birthday party is next month at the bakery.", False, "different fact"),
    M("party", "reflection", "Jonas threw a birthday party for his mother last spring.", False, "different fact"),
    M("clerk", "dialogue", "The school held a prefect election last week.", False, "different fact"),
    # someone else's activity, seen from afar
    M("party", "observation", "Sofia Marchetti hanging paper hearts for a party", False, "activity"),
    M("party", "observation", "Sofia Marchetti carrying party supplies into the library", False, "activity"),
    M("party", "observation", "Amara Nwosu buying balloons for the party", False, "activity"),
    M("party", "observation", "Walter Greaves is talking with Sofia Marchetti", False, "activity"),
    M(
        "party",
        "observation",
        "Sofia Marchetti setting up for the Valentine's party in the reading room",
        True,
        "activity",
    ),
    M("party", "observation", "Jonas Achterberg telling Mateo about Sofia's party at the library", True, "activity"),
    M("clerk", "observation", "Walter Greaves pinning up election posters", False, "activity"),
    M("clerk", "observation", "Walter Greaves handing out leaflets for Walter's campaign", True, "activity"),
    M("clerk", "observation", "Walter Greaves sweeping the town hall steps", False, "activity"),
    # what someone said to the person (being told, not seen)
    M("party", "observation", "Sofia Marchetti said to me: Come to my party on Saturday at five!", True, "told"),
    M("party", "observation", "Amara Nwosu said to me: Are you going to any party this weekend?", False, "told"),
    M(
        "clerk",
        "observation",
        "Walter Greaves said to me: I hope I can count on your vote in the election.",
        True,
        "told",
    ),
    # written after the rule, to probe it: kept whatever it says
    M("party", "dialogue", "Jonas asked me if there is a party on Saturday.", False, "question"),
    M("party", "dialogue", "Amara hasn't told Jonas about the party yet.", True, "negated, knows"),
    M("party", "dialogue", "Mateo hasn't decided whether to go to the party.", True, "negated, knows"),
    M("party", "reflection", "I should ask Sofia whether her party needs more chairs.", True, "plain"),
    M("party", "dialogue", "Walter heard about Sofia's party from Amara.", True, "plain"),
    M("clerk", "dialogue", "Sofia never votes in any election.", False, "denial"),
    # events of the world, not a person's activity
    M(
        "party",
        "observation",
        "A flyer under the door invites everyone to a Valentine's party at the library.",
        True,
        "plain",
    ),
    M("party", "observation", "The reading room is closed on Saturday afternoon for a private party.", True, "plain"),
]

P = Case
PROBES: list[Case] = [
    P("party", "probe", "Sofia's Valentine's party at the library on Saturday at five.", True, "plain"),
    P("party", "probe", "Yes, Sofia is having a party in the reading room on Saturday.", True, "plain"),
    P("party", "probe", "There's a party at the library this weekend, Amara mentioned it.", True, "plain"),
    P("party", "probe", "Sofia's get-together at the library on Saturday at five.", True, "paraphrase"),
    P("party", "probe", "The Valentine's dance Sofia is organising.", True, "paraphrase"),
    P("party", "probe", "I'm going to the library party with Jonas.", True, "paraphrase"),
    P("party", "probe", "I'm not going to Sofia's party, I have a shift.", True, "negated, knows"),
    P("party", "probe", "I can't make the party, sadly, but I heard it's on Saturday.", True, "negated, knows"),
    P("party", "probe", "No, I'm not going to any party this weekend.", False, "denial"),
    P("party", "probe", "I haven't heard about a party.", False, "denial"),
    P("party", "probe", "Nothing about a party, no.", False, "denial"),
    P("party", "probe", "The party was called off, Sofia told me.", False, "denial"),
    P("party", "probe", "I don't know about any party.", False, "denial"),
    P("party", "probe", "Nothing; I have been busy at the bakery.", False, "nothing"),
    P("party", "probe", "", False, "nothing"),
    P("party", "probe", "I ordered napkins from a third-party supplier.", False, "substring"),
    P("party", "probe", "We are partway through the stocktake.", False, "substring"),
    P("party", "probe", "The search party found the dog by the canal.", False, "other sense"),
    P("party", "probe", "I joined a political party last year.", False, "other sense"),
    P("party", "probe", "Mateo's birthday party next month.", False, "different fact"),
    P("party", "probe", "Walter is running for town clerk.", False, "different fact"),
    P("clerk", "probe", "Walter is standing for town clerk in March.", True, "plain"),
    P("clerk", "probe", "Yes, Walter's candidacy for clerk.", True, "plain"),
    P("clerk", "probe", "There is an election in March and Walter is in it.", True, "plain"),
    P("clerk", "probe", "Walter's campaign for the clerk's office.", True, "paraphrase"),
    P("clerk", "probe", "I'm not voting for Walter in the election.", True, "negated, knows"),
    P("clerk", "probe", "I haven't heard of any election.", False, "denial"),
    P("clerk", "probe", "No idea about an election.", False, "denial"),
    P("clerk", "probe", "Jonas has a good selection of cheeses.", False, "substring"),
    P("clerk", "probe", "Sofia's Valentine's party on Saturday.", False, "different fact"),
    P("clerk", "probe", "The electrician came to fix the lights.", False, "substring"),
    P("party", "probe", "Not that I know of.", False, "nothing"),
    P("party", "probe", "Yes! The party. Sofia's thing on Saturday.", True, "plain"),
    P("party", "probe", "Only that Jonas asked whether there is a party somewhere.", False, "question"),
]


@dataclass(slots=True)
class Confusion:
    """Counts of a classifier's verdicts against the labels."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, label: bool, verdict: bool) -> None:
        """Count one verdict."""
        if verdict:
            self.tp, self.fp = self.tp + label, self.fp + (not label)
        else:
            self.fn, self.tn = self.fn + label, self.tn + (not label)

    @property
    def precision(self) -> float:
        """Of the texts said to show knowing, the share that do (1.0 if none was)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Of the texts that show knowing, the share said to (1.0 if none do)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


L = Case
PLANS: list[Case] = [
    # A plan item or a re-planning's reason: does it involve the fact (going, preparing, hosting, passing
    # it on), or does it decline it or mean something else? ``knows`` here means "is a plan for it".
    L("party", "plan", "go to the party at the library", True, "plain"),
    L("party", "plan", "helps Sofia decorate the reading room for the party", True, "plain"),
    L("party", "plan", "bakes a cake to bring to the party", True, "plain"),
    L("party", "plan", "buys a small gift for the party", True, "plain"),
    L("party", "plan", "leaves the pharmacy early for the party", True, "plain"),
    L("party", "plan", "After talking with Amara: I want to go to the party on Saturday", True, "plain"),
    L("party", "plan", "tells Jonas about the party on the way home", True, "plain"),
    L("party", "plan", "PARTY at the library!", True, "plain"),
    L("party", "plan", "gets ready for the get-together at the library", True, "paraphrase"),
    L("party", "plan", "dances at the Valentine's dance", True, "paraphrase"),
    L("party", "plan", "walks with Jonas to Sofia's party", True, "paraphrase"),
    L("party", "plan", "goes to the party instead of the pub", True, "declined, other side"),
    L("clerk", "plan", "campaigns for Walter's candidacy at the market", True, "plain"),
    L("clerk", "plan", "votes in the clerk election", True, "plain"),
    L("clerk", "plan", "hands out leaflets: Walter is running for town clerk", True, "paraphrase"),
    L("party", "plan", "is not going to the party", False, "negated"),
    L("party", "plan", "won't make it to the party, works a late shift", False, "negated"),
    L("party", "plan", "skips the party to study", False, "declined"),
    L("party", "plan", "stays home instead of going to the party", False, "declined"),
    L("party", "plan", "avoids the party and reads", False, "declined"),
    L("party", "plan", "misses the party because of the flu", False, "declined"),
    L("party", "plan", "joins the search party for the lost dog", False, "other sense"),
    L("party", "plan", "calls a third-party plumber about the sink", False, "substring"),
    L("party", "plan", "goes to Mateo's birthday party", False, "different fact"),
    L("party", "plan", "partners with Jonas on the crossword", False, "substring"),
    L("party", "plan", "decorates the library for the book sale", False, "different fact"),
    L("party", "plan", "works at the pharmacy", False, "unrelated"),
    L("clerk", "plan", "files papers at the town hall", False, "unrelated"),
    L("clerk", "plan", "avoids talk of the election at dinner", False, "declined"),
    L("clerk", "plan", "does not vote in the election", False, "negated"),
    L("party", "plan", "plays party games with the children at home", False, "other sense"),
    L("party", "plan", "hosts a tea party for her granddaughter", False, "other sense"),
]
"""Plan items and reasons, labelled whether each is a plan for the fact (``sim.research.knowing.plans_for``)."""


def verdict(case: Case) -> bool:
    """What the rule says of a case: a memory by its kind (someone's activity: paraphrases only), a probe answer as text."""
    from sim.research.knowing import carries, memory_carries, plans_for

    fact = FACTS[case.fact]
    if case.kind == "probe":
        return carries(fact, case.text)
    if case.kind == "plan" and case in PLANS:
        return plans_for(fact, case.text)
    return memory_carries(fact, case.kind, case.text, PEOPLE, OWNER)


def score(
    cases: list[Any],
    judge: Callable[[Any], bool] | None = None,
    label: Callable[[Any], bool] = lambda case: bool(case.knows),
) -> tuple[Confusion, dict[str, Confusion], list[Any]]:
    """A rule's confusion counts over labelled ``cases``, in all and per hard case, and the cases it got wrong.

    ``judge`` is the rule's verdict on a case (the knowing rule's by default), ``label`` the truth.
    """
    judge = judge or verdict
    total = Confusion()
    per: dict[str, Confusion] = {}
    wrong: list[Any] = []
    for case in cases:
        said, truth = judge(case), label(case)
        total.add(truth, said)
        per.setdefault(case.category, Confusion()).add(truth, said)
        if said != truth:
            wrong.append(case)
    return total, per, wrong
