"""The files a team writes: the answer schemas that carry them, versions, placeholders and listings.

A reply of an ``extract: files`` phase carries its files as structured data (``path`` and
``content``); files a model writes as fenced blocks in its text instead, under their names as
ChatDev asks for, are taken too. Every changed file becomes a new version, kept with the phase
and role that wrote it. Files other than documents (``.md``, ``.txt``, ``.rst``) are the program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from sim.teams.filenames import clash, problem

DOCUMENTS = (".md", ".txt", ".rst")
FILE_NAME = r"^[\w.-]+(/[\w.-]+)*$"
MAX_FILE_CHARS = 40_000
# What counts as unfinished code, as ChatDev's completion phase and its paper's completeness
# metric look for it: a bare ``pass`` or ``...`` statement, a TODO or FIXME, NotImplementedError.
_PLACEHOLDER = re.compile(r"^\s*(pass|\.\.\.)\s*(#.*)?$|\b(TODO|FIXME)\b|NotImplementedError")
_FENCED = re.compile(r"(?:^|\n)[ \t]*[`*#\s]*([\w./-]+\.\w+)[`*:\s]*\n```[\w+-]*\n(.*?)```", re.S)
_MEDIA = {".md": "text/markdown", ".txt": "text/plain", ".rst": "text/plain", ".py": "text/x-python"}


def is_code(path: str) -> bool:
    """Whether ``path`` is part of the program (not a document)."""
    return PurePosixPath(path).suffix.lower() not in DOCUMENTS


def media_type(path: str) -> str:
    """The content's media type by file name, for the answer schema (program files are Python)."""
    return _MEDIA.get(PurePosixPath(path).suffix.lower(), "text/x-python" if is_code(path) else "text/plain")


@cache
def file_model(paths: tuple[str, ...]) -> type[BaseModel]:
    """The schema of one written file: any program file name, or one of ``paths`` when given."""
    if paths:
        kinds = {media_type(p) for p in paths}
        path_type: Any = Literal[paths]
        media = kinds.pop() if len(kinds) == 1 else "text/plain"
        name = "Document" if not any(is_code(p) for p in paths) else "SourceFile"
    else:
        path_type = Annotated[str, StringConstraints(pattern=FILE_NAME, max_length=120)]
        media, name = "text/x-python", "SourceFile"
    return create_model(
        name,
        path=(path_type, Field(description="file name relative to the program folder, e.g. main.py")),
        content=(
            Annotated[str, StringConstraints(max_length=MAX_FILE_CHARS)],
            Field(description="the file's complete text", json_schema_extra={"contentMediaType": media}),
        ),
    )


def from_text(text: str) -> dict[str, str]:
    """Files written in a reply's text as a name line followed by a fenced block (ChatDev's format).

    Every name is returned as written: ``Files.check`` decides which may be written.
    """
    return dict(_FENCED.findall(text))


def placeholders(text: str) -> list[int]:
    """The numbers of the lines of ``text`` that are placeholders for code still to write."""
    return [number for number, line in enumerate(text.splitlines(), 1) if _PLACEHOLDER.search(line)]


@dataclass(slots=True)
class Version:
    """The newest version of one file: its number, text, and who wrote it in which phase."""

    version: int
    content: str
    phase: str = ""
    role: str = ""


@dataclass(slots=True)
class Files:
    """The team's files as they stand, and a counter that changes whenever a program file does."""

    current: dict[str, Version] = field(default_factory=dict)
    revision: int = 0  # of the program: documents do not change how it runs

    def write(self, path: str, content: str, phase: str, role: str, person: str) -> dict[str, Any] | None:
        """Keep ``content`` as the next version of ``path``; the artifact row, or None if nothing changed."""
        old = self.current.get(path)
        if old is not None and old.content == content:
            return None
        version = old.version + 1 if old else 1
        self.current[path] = Version(version, content, phase, role)
        self.revision += is_code(path)
        return {"path": path, "version": version, "phase": phase, "role": role, "person": person, "content": content}

    def check(self, given: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The files of ``given`` that may be written, and each other one's name with the reason it may not.

        A name must pass ``sim.teams.filenames.problem``, must not make a file and a folder of one name
        with the files already written or those before it in ``given``, and its text must be UTF-8.
        """
        accepted: dict[str, str] = {}
        rejected: list[tuple[str, str]] = []
        for path, content in given.items():
            reason = problem(path) or clash(path, [*self.current, *accepted])
            if reason is None and not isinstance(content, str):
                reason = "its content must be text"
            if reason is None:
                try:
                    content.encode("utf-8")
                except UnicodeEncodeError:
                    reason = "its text must be valid UTF-8"
            if reason is None:
                accepted[path] = content
            else:
                rejected.append((path, reason))
        return accepted, rejected

    def program(self) -> dict[str, str]:
        """Every file by name (what the sandbox gets)."""
        return {path: v.content for path, v in sorted(self.current.items())}

    def code(self) -> dict[str, str]:
        """The program's files (documents left out)."""
        return {path: text for path, text in self.program().items() if is_code(path)}

    def unimplemented(self) -> str:
        """The first program file holding a placeholder, or empty."""
        return next((path for path, text in self.code().items() if placeholders(text)), "")

    def state(self) -> dict[str, Any]:
        """JSON-ready: every file's newest version."""
        return {
            "revision": self.revision,
            "current": {p: [v.version, v.content, v.phase, v.role] for p, v in sorted(self.current.items())},
        }

    @classmethod
    def restored(cls, state: dict[str, Any]) -> Files:
        """The files ``state`` saved."""
        return cls({p: Version(*row) for p, row in state.get("current", {}).items()}, int(state.get("revision", 0)))


def listing(files: dict[str, str], empty: str = "(no files yet)") -> str:
    """Files as a prompt shows them: each name, then its text in a fenced block."""
    if not files:
        return empty
    blocks = []
    for path, text in files.items():
        language = "python" if media_type(path) == "text/x-python" else ""
        blocks.append(f"{path}\n```{language}\n{text.rstrip()}\n```")
    return "\n\n".join(blocks)
