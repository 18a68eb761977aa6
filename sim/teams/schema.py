"""The team part of a world: roles, and a chat chain of phases and loops (ChatDev's idea as a world).

A role is a part a person of the world plays (a prompt, and perhaps a model of its own). The
chain lists phases in order; in each, an instructor and an assistant talk in turns about a task
prompt until a reply carries the end marker or the turn cap is reached, and the phase's
conclusion is kept under a name that later prompts quote as ``{name}``. A loop repeats its own
chain up to a cycle cap, or until its stop condition holds. ``sim/teams/chain.py`` runs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from sim.errors import UserError
from sim.teams.filenames import clash, printable, problem
from sim.teams.sandbox import Limits
from sim.worldfile.bounds import MAX_WALK_MINUTES, SANDBOX_MAX, finite
from sim.worldfile.names import match_person, suggestion
from sim.worldfile.spec import ModelSettings, ScenarioReferenceError, Spec

if TYPE_CHECKING:
    from sim.worldfile.scenario import Scenario

PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
"""``{name}`` in a prompt; ``{{`` and ``}}`` stand for literal braces."""

BUILTINS = {
    "task": "the task the team works on (the world's team.task, or --task)",
    "background": "the team's background (team.background)",
    "role": "the name of the role whose prompt it is",
    "instructor_role": "the phase's instructor role",
    "assistant_role": "the phase's assistant role",
    "codes": "every program file as it stands, each under its name in a fenced block",
    "files": "the names of every file the team has written",
    "unimplemented_file": "the first program file that still holds a placeholder (empty when none does)",
    "test_reports": "what the last run of the program in the sandbox printed, and how it ended",
}
"""Placeholders every prompt may use, whatever the chain concludes."""

Extract = Literal["agreed", "reply", "files", "review"]
Until = Literal["approved", "complete", "runs"]
TAGS = ("phase-item", "loop-item")
"""Tags of the two kinds of chain item; they appear in pydantic error paths and are dropped there."""


class RoleSpec(Spec):
    """A part someone plays in the team: its prompt and, optionally, a model of its own."""

    name: str = Field(min_length=1, description="the role's name, unique in the team (phases name it)")
    person: str | None = Field(None, description="who plays it; default: the person of the same name")
    prompt: str = Field(
        "", description="the role's system prompt; may use {task}, {background}, {role} and conclusions"
    )
    model: ModelSettings | None = Field(
        None, description="the role's own model settings (over the person's and the world's)"
    )

    @property
    def player(self) -> str:
        """The name of the person who plays the role."""
        return self.person or self.name


class PhaseSpec(Spec):
    """One phase: the instructor opens with the task prompt, then assistant and instructor reply in turns."""

    phase: str = Field(min_length=1, description="the phase's name, unique in the chain")
    instructor: str = Field(min_length=1, description="the role that opens the phase and instructs")
    assistant: str = Field(min_length=1, description="the role that answers the task prompt")
    prompt: str = Field(min_length=1, description="the task prompt; {name} quotes a conclusion or a built-in")
    turns: int = Field(6, ge=1, le=200, description="turn cap: replies at most (the opening prompt not counted)")
    conclusion: str | None = Field(None, pattern=r"^\w+$", description="the name later prompts quote its conclusion by")
    extract: Extract = Field(
        "agreed",
        description=(
            "how the conclusion is found: agreed (given by the reply that ends the phase; asked for in one "
            "extra exchange when the phase ends without one), reply (the assistant's last reply), files (the "
            "files the assistant writes), review (the assistant's comments, and whether it approves)"
        ),
    )
    options: list[str] = Field([], description="the conclusions allowed (extract: agreed); empty: any text")
    files: list[str] = Field([], description="the files an extract: files phase writes; empty: program source files")
    end_marker: str = Field("<INFO>", description="text in a reply that ends the phase, as the reply's end field does")
    dehallucinate: bool | None = Field(
        None,
        description=(
            "communicative dehallucination (ChatDev, Qian et al. 2024): before each assistant reply the assistant "
            "says which details it lacks, and if it names any the instructor supplies them (one round a turn); "
            "none: the team's dehallucinate"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> PhaseSpec:
        if self.instructor == self.assistant:
            raise ValueError(
                f"phase {self.phase!r}: instructor and assistant are both {self.instructor!r}; a phase needs two roles"
            )
        if self.options and self.extract != "agreed":
            raise ValueError(f"phase {self.phase!r}: options apply to extract: agreed only")
        if self.files and self.extract != "files":
            raise ValueError(f"phase {self.phase!r}: files apply to extract: files only")
        for name in self.files:
            wrong = problem(name) or clash(name, self.files)
            if wrong:
                raise ValueError(
                    f"phase {self.phase!r}: {printable(name)} is not a file name the program folder can hold: {wrong}"
                )
        return self


class LoopSpec(Spec):
    """A composed phase: its own chain, repeated up to ``cycles`` times or until ``until`` holds."""

    loop: str = Field(min_length=1, description="the loop's name, unique in the chain")
    cycles: int | None = Field(None, ge=1, le=100, description="the cycle cap (required)")
    until: Until | None = Field(
        None,
        description=(
            "stop condition: approved (a review phase of the cycle approves), complete (no program file "
            "holds a placeholder; checked before each cycle), runs (the program runs in the sandbox without "
            "error; checked before each cycle); none: the cycle cap alone"
        ),
    )
    chain: list[ChainItem] = Field(min_length=1, description="the phases and loops of each cycle, in order")

    @model_validator(mode="after")
    def _capped(self) -> LoopSpec:
        if self.cycles is None:
            raise ValueError(f"loop {self.loop!r} has no cycle cap; add cycles: N (at most this many cycles)")
        if self.until == "approved" and not any(isinstance(p, PhaseSpec) and p.extract == "review" for p in self.chain):
            raise ValueError(f"loop {self.loop!r}: until: approved needs a phase with extract: review in its chain")
        return self

    @property
    def cap(self) -> int:
        """The cycle cap (validated to be set)."""
        assert self.cycles is not None
        return self.cycles


def _item_kind(value: Any) -> str:
    if isinstance(value, dict):
        return TAGS[1] if "loop" in value else TAGS[0]
    return TAGS[1] if isinstance(value, LoopSpec) else TAGS[0]


ChainItem = Annotated[Annotated[PhaseSpec, Tag(TAGS[0])] | Annotated[LoopSpec, Tag(TAGS[1])], Discriminator(_item_kind)]
LoopSpec.model_rebuild()


class TeamSpec(Spec):
    """A team: its roles, its task, and the chat chain it works through."""

    task: str = Field("", description="what the team is asked to make; hamlet run --task replaces it")
    background: str = Field("", description="what every role knows about the team, quoted as {background}")
    roles: list[RoleSpec] = Field(min_length=1, description="the parts the team's people play")
    chain: list[ChainItem] = Field(min_length=1, description="the phases and loops the team works through, in order")
    vars: dict[str, str] = Field({}, description="values of placeholders that no phase concludes")
    files: dict[str, str] = Field({}, description="files the team starts from (path: text), e.g. code to extend")
    entry: str = Field("main.py", description="the file the sandbox runs with python")
    minutes_per_turn: float = Field(
        5.0, gt=0, le=MAX_WALK_MINUTES, allow_inf_nan=False, description="simulated minutes one reply takes"
    )
    sandbox: Limits = Field(Limits(wall_seconds=5, cpu_seconds=5), description="limits of program runs")
    dehallucinate: bool = Field(
        False,
        description="communicative dehallucination in every phase that does not "
        "set its own (off by default, as in ChatDev's configs)",
    )

    @field_validator("sandbox")
    @classmethod
    def _bounded_limits(cls, value: Limits) -> Limits:
        # The sandbox checks only that limits are positive; a world may not ask for unbounded ones.
        for name, most in SANDBOX_MAX.items():
            given = getattr(value, name)
            if not finite(given) or given > most:
                raise ValueError(f"{name} {given!r} is out of range; give at most {most:g}")
        return value

    @field_validator("files")
    @classmethod
    def _file_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            wrong = problem(name) or clash(name, value)
            if wrong:
                raise ValueError(f"{printable(name)} is not a file name the program folder can hold: {wrong}")
        return value

    def role(self, name: str) -> RoleSpec:
        """The role called ``name``."""
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(name)

    def dehallucinates(self, phase: PhaseSpec) -> bool:
        """Whether ``phase`` runs communicative dehallucination (its own setting, else the team's)."""
        return self.dehallucinate if phase.dehallucinate is None else phase.dehallucinate

    def items(self) -> Iterator[tuple[str, PhaseSpec | LoopSpec]]:
        """Every phase and loop with its field path (``team.chain[3].chain[0]``), depth first."""
        yield from _walk(self.chain, "team.chain")

    def conclusions(self) -> set[str]:
        """The names the chain's phases conclude."""
        return {item.conclusion for _, item in self.items() if isinstance(item, PhaseSpec) and item.conclusion}


def _walk(chain: list[Any], where: str) -> Iterator[tuple[str, PhaseSpec | LoopSpec]]:
    for index, item in enumerate(chain):
        path = f"{where}[{index}]"
        yield path, item
        if isinstance(item, LoopSpec):
            yield from _walk(item.chain, f"{path}.chain")


def placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders ``text`` uses, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by its value (unknown names stay) and ``{{``/``}}`` unescaped."""
    filled = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
    return filled.replace("{{", "{").replace("}}", "}")


def check_team(team: TeamSpec, people: set[str]) -> None:
    """Check names are unique, every role and player exists and every placeholder names something.

    A player named in another case or by a unique first name is written back as the person's full name.
    """
    roles = [role.name for role in team.roles]
    seen: set[str] = set()
    for index, name in enumerate(roles):
        if name in seen:
            raise ScenarioReferenceError(f"team.roles[{index}].name", f"duplicate role name {name!r}")
        seen.add(name)
    for index, role in enumerate(team.roles):
        try:
            player = match_person(role.player, sorted(people))
        except ValueError as err:
            field = "person" if role.person else "name"
            raise ScenarioReferenceError(
                f"team.roles[{index}].{field}", f"no one to play role {role.name!r}: {err}"
            ) from None
        if player != role.player:  # 'kenji' or 'Kenji' for Kenji Sato: the role is his, and its name stays
            role.person = player
    for name in team.vars:
        if name in BUILTINS:
            raise ScenarioReferenceError(
                f"team.vars.{name}", f"{{{name}}} is a built-in placeholder; choose another name"
            )
    names: set[str] = set()
    known = set(BUILTINS) | team.conclusions() | set(team.vars)
    for where, item in team.items():
        name = item.phase if isinstance(item, PhaseSpec) else item.loop
        if name in names:
            raise ScenarioReferenceError(where, f"duplicate phase or loop name {name!r}; names must be unique")
        names.add(name)
        if isinstance(item, PhaseSpec):
            for field in ("instructor", "assistant"):
                role = getattr(item, field)
                if role not in seen:
                    raise ScenarioReferenceError(
                        f"{where}.{field}", f"unknown role {role!r}{_hint(role, seen)}; roles: {', '.join(roles)}"
                    )
            _check_placeholders(item.prompt, f"{where}.prompt", known)
            if item.conclusion in BUILTINS:
                raise ScenarioReferenceError(
                    f"{where}.conclusion", f"{item.conclusion!r} is a built-in placeholder; choose another name"
                )
    for index, role in enumerate(team.roles):
        _check_placeholders(role.prompt, f"team.roles[{index}].prompt", known)


def _check_placeholders(text: str, where: str, known: set[str]) -> None:
    for name in placeholders(text):
        if name not in known:
            raise ScenarioReferenceError(
                where,
                f"{{{name}}} names nothing{_hint(name, known)}; use a built-in "
                "(hamlet schema), a phase's conclusion or a name in team.vars",
            )


def _hint(name: str, names: set[str]) -> str:
    return suggestion(name, sorted(names))


def apply_task(scenario: Scenario, task: str | None, source: str) -> None:
    """Give the team the task of ``--task``; refuse it for a world without a team, and a team without a task."""
    team = scenario.team
    if task is not None:
        if team is None:
            raise UserError(f"--task: {source} has no team; --task is for worlds with one (docs/teams.md)")
        if not task.strip():
            raise UserError('--task: empty; say what the team should make, e.g. --task "a snake game"')
        team.task = " ".join(task.split())
    if team is not None and not team.task.strip():
        raise UserError(f'{source}: team.task is empty; give the task with --task, e.g. --task "a snake game"')
