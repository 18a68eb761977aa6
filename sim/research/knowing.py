"""Whether a text carries a fact's news, and whether a memory shows that its person knows the fact.

One hand-written rule, used by diffusion, by the probes' check and by the labelled test set
(tests/sim/research/knowing_cases.py). docs/research.md ("What counts as knowing") states it:

1. **Cues.** The fact's ``keywords`` and ``paraphrases`` (its ``text`` if it has neither). A cue
   matches as whole words in order: case ignored, curly and straight apostrophes alike, a word never inside
   another (a hyphen joins words: "third-party" is one word), and a word of the text may add a
   plural or possessive ending to the cue's (party: parties, party's; Valentine's: Valentines).
   A cue inside one of the fact's ``excludes`` phrases (another sense, another event: "search
   party", "birthday party") does not count.
2. **Denials.** A cue does not count when, in its clause (clauses end at . ! ? ; : and before
   but, although, though, however, until, till, except, whereas):
   - ``any`` or ``no`` comes before it in its phrase ("not going to any party", "no party"),
     or ``a``/``an`` does and the clause has a negation, is a question or says if/whether
     ("I'm not going to a party", "is there a party on Saturday?", "he asked if there is a party");
   - a negation is followed within three words by a verb of knowing (heard, know, aware, told,
     idea, ...) not followed by what/where/when/who/how/why/whether/if: "I haven't heard about
     the party", "nobody told me about it"; unless the sentence goes on with until or till
     ("I didn't know about the party until Ann told me");
   - it is called off: cancel(led), scrapped, "called off", "is off", or a negated happen / go
     ahead within four words ("the party was cancelled", "Sofia called off the party", "the party isn't happening").
   Negations: not, no, never, cannot, nobody, nothing, none, neither, nor, without, and words
   ending in n't.
3. **Someone else's activity** (an observation "<Name> <activity>" of another person) counts
   only if the activity itself carries the news: one of the fact's ``paraphrases`` (its text if
   it has none), not a bare keyword; seeing Sofia "decorate for a party" is not hearing the news.
   What someone said to the person ("<Name> said to me: ...") is being told, and counts like
   any other memory.
4. **Plans** (``plans_for``: a plan item or a re-planning's reason). A plan involves the fact
   when it carries it (rules 1 and 2) in a clause that neither negates nor declines it: no
   negation in the clause, no skip/avoid/miss/instead before the cue ("skips the party",
   "stays home instead of the party", "won't go to the party").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sim.worldfile.scenario import FactSpec

_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*'?")
_CLAUSE_END = re.compile(r"([.!?;:\n]+)")
_BREAKERS = frozenset({"but", "although", "though", "however", "until", "till", "except", "whereas"})
_REVERSERS = frozenset({"until", "till"})
_NEGATIONS = frozenset({"not", "no", "never", "cannot", "nobody", "nothing", "none", "neither", "nor", "without"})
_UNSPECIFIC = frozenset({"any", "no"})
_INDEFINITE = frozenset({"a", "an"})
_ASKING = frozenset({"if", "whether"})
# Words that end the look-back from a cue to its determiner: a specific determiner or a preposition.
_PHRASE_STOPS = frozenset(
    {
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "about",
        "of",
        "for",
        "to",
        "at",
        "in",
        "on",
        "with",
        "from",
        "by",
    }
)
_KNOWING = frozenset(
    {
        "hear",
        "heard",
        "hearing",
        "know",
        "knew",
        "known",
        "knowing",
        "aware",
        "told",
        "tell",
        "telling",
        "mention",
        "mentioned",
        "idea",
        "clue",
        "informed",
    }
)
_WH = frozenset({"what", "where", "when", "who", "how", "why", "whether", "if", "which"})
_CANCEL = frozenset({"cancel", "cancels", "cancelled", "canceled", "cancelling", "canceling", "scrapped"})
_OFF_AFTER = frozenset({"call", "calls", "called", "calling", "is", "was", "be", "been", "it's"})
_HAPPEN = frozenset({"happen", "happens", "happening", "ahead"})
_NEAR = 4
_DECLINE = frozenset(
    {
        "skip",
        "skips",
        "skipping",
        "skipped",
        "avoid",
        "avoids",
        "avoiding",
        "miss",
        "misses",
        "missing",
        "instead",
        "decline",
        "declines",
        "declining",
    }
)


@dataclass(frozen=True, slots=True)
class _Clause:
    words: tuple[str, ...]  # normalised words
    commas: tuple[int, ...]  # word indexes a comma precedes (a phrase's look-back stops there)
    reversed_after: bool  # the sentence goes on with until/till after this clause
    open_question: bool  # a question, or it asks if/whether: nothing in it is asserted


def normalise(text: str) -> str:
    """Text folded for matching: NFKC, casefolded, curly apostrophes and dashes made plain."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u02bc", "'")
        .replace("\u2010", "-")
        .replace("\u2011", "-")
    )


def words(text: str) -> list[str]:
    """The words of ``text`` as the rule sees them (folded; hyphens and apostrophes inside a word kept)."""
    return _TOKEN.findall(normalise(text))


def _bare(word: str) -> str:
    """A word without a possessive ending: party's -> party, parties' -> parties."""
    if word.endswith("'s"):
        return word[:-2]
    return word[:-1] if word.endswith("'") else word


def _same(text_word: str, cue_word: str) -> bool:
    """Whether a word of the text is the cue's word, allowing a plural or possessive ending."""
    t, c = _bare(text_word), _bare(cue_word)
    if t == c or t in (c + "s", c + "es"):
        return True
    return c.endswith("y") and t == c[:-1] + "ies"


def _clauses(text: str) -> list[_Clause]:
    """The text's clauses, each with where its commas fall."""
    out: list[_Clause] = []
    pieces = _CLAUSE_END.split(normalise(text))
    for sentence, end in zip(pieces[::2], [*pieces[1::2], ""], strict=True):
        parts: list[tuple[list[str], list[int], str]] = [([], [], "")]  # words, commas, the word that opened it
        for piece in re.split(r"(,)", sentence):
            if piece == ",":
                parts[-1][1].append(len(parts[-1][0]))
                continue
            for word in _TOKEN.findall(piece):
                if word in _BREAKERS:
                    parts.append(([], [], word))
                else:
                    parts[-1][0].append(word)
        for i, (ws, cs, _) in enumerate(parts):
            if ws:
                asks = "?" in end or any(w in _ASKING for w in ws)
                out.append(
                    _Clause(tuple(ws), tuple(cs), any(opener in _REVERSERS for *_, opener in parts[i + 1 :]), asks)
                )
    return out


def _find(clause: Sequence[str], cue: Sequence[str]) -> list[int]:
    """Start indexes where ``cue`` (words) occurs in ``clause`` (words)."""
    n = len(cue)
    return [i for i in range(len(clause) - n + 1) if all(_same(clause[i + j], cue[j]) for j in range(n))]


def _negation(word: str) -> bool:
    return word in _NEGATIONS or word.endswith("n't")


def _denied(clause: _Clause, start: int, end: int) -> bool:
    """Whether the cue at ``clause.words[start:end]`` is denied (rule 2 of the module docstring)."""
    ws = clause.words
    # An indefinite in a negated, conditional or questioning clause asserts nothing ("is there a party?").
    negated = clause.open_question or any(_negation(w) for w in ws)
    # Its phrase: look back from the cue to a comma, a specific determiner or a preposition.
    floor = max((c for c in clause.commas if c <= start), default=0)
    for i in range(start - 1, max(floor, start - 4) - 1, -1):
        if ws[i] in _UNSPECIFIC or (negated and ws[i] in _INDEFINITE):
            return True
        if ws[i] in _PHRASE_STOPS:
            break
    # A negated verb of knowing anywhere in the clause, about something (not "don't know what to wear").
    if not clause.reversed_after:
        for i, w in enumerate(ws):
            if not _negation(w):
                continue
            for j in range(i + 1, min(i + 4, len(ws))):
                if ws[j] in _KNOWING and (j + 1 >= len(ws) or ws[j + 1] not in _WH):
                    return True
    # Called off, near the cue.
    lo, hi = max(0, start - _NEAR), min(len(ws), end + _NEAR)
    for i in range(lo, hi):
        if (
            ws[i] in _CANCEL
            or ws[i] == "off"
            and i > 0
            and (ws[i - 1] in _OFF_AFTER or i == end and ws[i - 1].endswith("'s"))
        ):
            return True
    after = ws[end : end + _NEAR + 1]
    return any(_negation(w) and any(x in _HAPPEN for x in after[k + 1 : k + 3]) for k, w in enumerate(after))


def cue_words(fact: FactSpec, paraphrases_only: bool = False) -> list[tuple[str, ...]]:
    """The fact's cues as word sequences: keywords and paraphrases (only paraphrases if asked), else its text."""
    cues = list(fact.paraphrases) if paraphrases_only else [*fact.keywords, *fact.paraphrases]
    found = [tuple(words(c)) for c in cues if words(c)]
    return found or [tuple(words(fact.text))]


def carries(fact: FactSpec, text: str, paraphrases_only: bool = False) -> bool:
    """Whether ``text`` carries the news of ``fact``: a cue as whole words, not excluded, not denied."""
    cues = cue_words(fact, paraphrases_only)
    excludes = [tuple(words(e)) for e in fact.excludes]
    for clause in _clauses(text):
        blocked: set[int] = set()
        for phrase in excludes:
            for i in _find(clause.words, phrase):
                blocked.update(range(i, i + len(phrase)))
        for cue in cues:
            for i in _find(clause.words, cue):
                if blocked.isdisjoint(range(i, i + len(cue))) and not _denied(clause, i, i + len(cue)):
                    return True
    return False


_PLAIN = re.compile(r"[a-z0-9]+")
FOLDS_TO_PLAIN = (
    (0xAA, 0xBE),
    (0xDF, 0xDF),
    (0x130, 0x133),
    (0x13F, 0x140),
    (0x149, 0x149),
    (0x17F, 0x17F),
    (0x1C4, 0x1CC),
    (0x1F0, 0x1F3),
    (0x2B0, 0x2E3),
    (0x1D2C, 0x1DBF),
    (0x1E96, 0x1E9E),
    (0x2070, 0x24FF),
    (0x2C7C, 0x2C7D),
    (0x3250, 0x33FF),
    (0xA7F2, 0xA7F4),
    (0xFB00, 0xFB06),
    (0xFF10, 0xFF5A),
    (0x10780, 0x107BF),
    (0x1D400, 0x1D7FF),
    (0x1F100, 0x1F1FF),
    (0x1FBF0, 0x1FBF9),
)
"""Ranges of code points holding every character outside ASCII that ``normalise`` turns into plain
letters or digits (superscripts, ligatures, fullwidth and mathematical letters, ...), and few others:
accented letters are not among them (tests/sim/research/test_knowing.py checks the claim)."""


def fragments(fact: FactSpec) -> list[str] | None:
    """Lower-case ASCII pieces, one per cue: a text that carries ``fact`` holds one of them, in any case,
    unless it has a character in ``FOLDS_TO_PLAIN``; None if some cue has no such piece.

    So a reader can narrow a big table with SQL ``LIKE`` before applying the rule to what is left.
    Each piece is the longest plain run of a cue's longest word, without the endings ``_same`` allows
    (a possessive; a final y that becomes "ies").
    """
    found = []
    for cue in {*cue_words(fact), *cue_words(fact, paraphrases_only=True)}:
        word = _bare(max(cue, key=len))
        pieces = _PLAIN.findall(word[:-1] if word.endswith("y") else word)
        if not pieces:
            return None
        found.append(max(pieces, key=len))
    return sorted(set(found))


def activity_of(text: str, people: Iterable[str], person: str) -> str | None:
    """The activity text if ``text`` is an observation of someone else's activity ("<Name> <activity>"), else None."""
    for name in sorted(people, key=len, reverse=True):
        if name != person and text.startswith(name + " "):
            rest = text[len(name) + 1 :]
            return None if rest.startswith("said to me:") else rest
    return None


def memory_carries(fact: FactSpec, kind: str, text: str, people: Iterable[str], person: str) -> bool:
    """Whether ``person``'s memory of ``kind`` shows they know ``fact`` (someone else's activity: paraphrases only)."""
    if kind == "observation":
        activity = activity_of(text, people, person)
        if activity is not None:
            return carries(fact, activity, paraphrases_only=True)
    return carries(fact, text)


def plans_for(fact: FactSpec, text: str) -> bool:
    """Whether a plan's ``text`` involves ``fact`` (rule 4): it carries it, neither negated nor declined."""
    cues = cue_words(fact)
    for clause in _clauses(text):
        if not carries(fact, " ".join(clause.words)):
            continue
        ws = clause.words
        if any(_negation(w) for w in ws):
            continue
        starts = [i for cue in cues for i in _find(ws, cue)]
        if starts and not any(w in _DECLINE for w in ws[: min(starts)]):
            return True
    return False
