"""Files the scripted model writes when an answer schema asks for them: small programs that work.

A schema asks for files with an array of objects that have a ``path`` and a ``content`` whose
``contentMediaType`` says what it holds. For ``text/x-python`` the scripted model writes a small
working Python program named after the task (found in a ``Task: "..."`` line of the prompt, or
else the prompt's most frequent words): a module with a class, a ``self_test`` and ``main.py``,
which runs the self-test and a short demonstration. A first draft (a prompt that shows no code)
is sometimes flawed, as a model's first draft can be: a placeholder left in (a TODO), a bug its
self-test catches, or both. A revision (a prompt that shows code) keeps each flaw of the code it
is shown unless the feedback it is given (the prompt outside its fenced code) names that flaw:
the bug is fixed only when a traceback ending in ``AssertionError`` quotes the assertion that
caught it (``CAUGHT``), the placeholder only when the feedback speaks of a placeholder, a TODO or
something unimplemented.
A traceback of some other error, or the word "Traceback" alone, fixes nothing, so the team's
executability measures its loop, not the test model.
Documents are Markdown or plain text made of the prompt's phrases. Everything depends only on
the prompt and the seed.
"""

from __future__ import annotations

import keyword
import random
import re
from collections import Counter
from typing import Any

_STOP_WORDS = """a an the and or but of to in on at for with by from as is are was were be been it its this that
these those you your we our they their he she his her i me my not no yes do does did can could should would will
shall may might must has have had so such than then there here what which who whom whose when where why how all any each every
some more most other into about over under after before between again also only very just new one two three
task software user users program programs code codes file files phase role roles team based following listed
below above according use using used make made write written please must now first final our ideas modality
language python programming"""
STOP = frozenset(_STOP_WORDS.split())
"""Words that name nothing a program could be about."""
_WORD = re.compile(r"[A-Za-z][a-z]{2,}")
_TASK = (
    re.compile(r"\btask\b\s*:\s*\"([^\"\n]{2,200})\"", re.I),  # Task: "a snake game"
    re.compile(r"\btask\b\s*:\s*([^\n]{2,200}?)(?:\.\s|\.?$)", re.I | re.M),
)  # task: a snake game.
FLAWS = ("none", "placeholder", "bug", "both")
BUG = "len(name) + 1"  # how the bug reads in the code: the revision that is shown it keeps it
CAUGHT = "assert thing.score == sum(len(name) for name in ITEMS)"
"""The self-test's line that fails on ``BUG``: a traceback of the program quotes it."""
PLACEHOLDER = "# TODO: describe the state"
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.S)
_RAISED = re.compile(r"^AssertionError\b", re.M)
_UNFINISHED = re.compile(r"placeholder|\bTODO\b|unimplemented|not (?:yet )?implemented", re.I)
"""Words that name the placeholder flaw (ChatDev's prompts say "Unimplemented File")."""


def is_file_list(items: dict[str, Any]) -> bool:
    """Whether an array's item schema (references resolved) describes written files."""
    props = items.get("properties", {})
    return "path" in props and "contentMediaType" in props.get("content", {})


def files(items: dict[str, Any], prompt: str, rng: random.Random, phrases: list[str]) -> list[dict[str, str]]:
    """The files for an array whose items are ``items``: a program, or documents, by media type."""
    path_schema, media = items["properties"]["path"], items["properties"]["content"]["contentMediaType"]
    allowed = list(path_schema.get("enum", [])) or ([path_schema["const"]] if "const" in path_schema else [])
    if media == "text/x-python":
        revision = "```python" in prompt or "\ndef " in prompt
        flaw = rng.choice(FLAWS) if not revision else revised_flaw(prompt)
        written = program(task_of(prompt), content_words(prompt, rng), rng, flaw=flaw)
        if allowed:  # fixed file names: the whole program in the first of them
            return [{"path": allowed[0], "content": single_file(written)}]
        return [{"path": path, "content": text} for path, text in written.items()]
    names = allowed or ["notes.md" if media == "text/markdown" else "notes.txt"]
    return [{"path": name, "content": document(name, media, task_of(prompt), phrases, rng)} for name in names]


def revised_flaw(prompt: str) -> str:
    """The flaw (one of ``FLAWS``) a revision keeps: those of the code shown that the feedback does not name."""
    feedback = _FENCED.sub("", prompt)
    bug = BUG in prompt and not (_RAISED.search(feedback) and CAUGHT in feedback)
    hole = PLACEHOLDER in prompt and not _UNFINISHED.search(feedback)
    return "both" if bug and hole else "bug" if bug else "placeholder" if hole else "none"


def task_of(prompt: str) -> str:
    """The task a prompt states (``Task: "a snake game"``), or its most frequent content words."""
    for pattern in _TASK:
        found = pattern.search(prompt)
        if found and found.group(1).strip(" .\"'"):
            return found.group(1).strip(" .\"'")
    counts = Counter(w.lower() for w in _WORD.findall(prompt) if w.lower() not in STOP)
    return " ".join(word for word, _ in counts.most_common(2)) or "little tool"


def content_words(prompt: str, rng: random.Random, count: int = 4) -> list[str]:
    """A few distinct words of the prompt that can name things in code, drawn with ``rng``."""
    words = sorted({w.lower() for w in _WORD.findall(prompt)} - STOP)
    words = [w for w in words if w.isidentifier() and not keyword.iskeyword(w)] or ["alpha", "beta", "gamma"]
    return rng.sample(words, min(count, len(words)))


def _identifier(words: list[str], default: str) -> str:
    parts = [w for w in (re.sub(r"[^a-z0-9]", "", w.lower()) for w in words) if w]
    name = "_".join(parts[:3]) or default
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"{default}_{name}"
    return name


def program(task: str, words: list[str], rng: random.Random, *, flaw: str = "none") -> dict[str, str]:
    """A module named after ``task`` and a ``main.py``, with the ``flaw`` asked for (one of ``FLAWS``).

    Long because most of it is the program's text, kept as one template so it reads as the program does.
    """
    words_of_task = [w for w in re.findall(r"[a-z0-9]+", task.lower()) if w not in STOP] or ["little", "tool"]
    module = _identifier(words_of_task, "tool")
    if module == "main":
        module = "main_logic"
    cls = "".join(part.capitalize() for part in module.split("_"))
    size = rng.randint(len(words), len(words) + 5)
    items = ", ".join(repr(w) for w in words)
    score = BUG if flaw in ("bug", "both") else "len(name)"
    if flaw in ("placeholder", "both"):
        summary = f"        {PLACEHOLDER}\n        pass\n"
    else:
        summary = '        return f"{len(self.items)} items, score {self.score}, {self.steps} steps"\n'
    logic = f'''"""{task.capitalize()}: the state and rules of the program."""

ITEMS = [{items}]


class {cls}:
    """Keeps the state of {task}: its items, a score and the steps taken."""

    def __init__(self, size: int = {size}) -> None:
        self.size = size
        self.items: list[str] = []
        self.score = 0
        self.steps = 0

    def add(self, name: str) -> int:
        """Add an item, score it by its length; returns how many items there are."""
        if len(self.items) >= self.size:
            raise ValueError(f"{{self.size}} items at most")
        self.items.append(name)
        self.score += {score}
        return len(self.items)

    def step(self) -> str:
        """Take one step: the next item in turn."""
        self.steps += 1
        return self.items[(self.steps - 1) % len(self.items)] if self.items else ""

    def summary(self) -> str:
        """The state in one line."""
{summary}

def self_test() -> None:
    """Check the rules; raises AssertionError when one is broken."""
    thing = {cls}(size=len(ITEMS))
    for name in ITEMS:
        thing.add(name)
    assert thing.items == ITEMS
    assert thing.score == sum(len(name) for name in ITEMS), thing.score
    assert [thing.step() for _ in ITEMS] == ITEMS
    try:
        thing.add("one too many")
        kept = False
    except ValueError:
        kept = True
    assert kept, "the size limit was not kept"
'''
    main = f'''"""{task.capitalize()}: run the self-test, then a short demonstration."""

from {module} import ITEMS, {cls}, self_test


def main() -> None:
    """Check the program, then show it at work."""
    self_test()
    thing = {cls}()
    for name in ITEMS:
        thing.add(name)
    for _ in range({rng.randint(2, 5)}):
        print(thing.step())
    print(thing.summary())
    print("self-test passed")


if __name__ == "__main__":
    main()
'''
    return {f"{module}.py": logic, "main.py": main}


def single_file(written: dict[str, str]) -> str:
    """A program of a module and ``main.py`` as one file."""
    main = written["main.py"]
    logic = next(text for path, text in written.items() if path != "main.py")
    body = "\n".join(line for line in main.splitlines()[1:] if not line.startswith("from "))
    return logic + "\n" + body.lstrip("\n")


def document(name: str, media: str, task: str, phrases: list[str], rng: random.Random) -> str:
    """A document for ``name``: a manual in Markdown, a requirements list, or plain notes."""
    if name.lower().startswith("requirements"):
        return "# none: the program uses only the Python standard library\n"
    picked = [rng.choice(phrases) for _ in range(rng.randint(2, 4))]
    if media == "text/markdown":
        points = "\n".join(f"- {p}" for p in picked)
        return (
            f"# {task.capitalize()}\n\n{picked[0]}.\n\n## How to run it\n\n```\npython main.py\n```\n\n"
            f"It checks itself first, then shows what it does.\n\n## Notes\n\n{points}\n"
        )
    return "\n".join(picked) + "\n"
