"""The rule for file names a model proposes: what passes, what is refused and why, in one line."""

from __future__ import annotations

import pytest

from sim.teams.filenames import clash, escaped, printable, problem


@pytest.mark.parametrize("name", ["main.py", "pkg/util.py", "a-b_c.v2.txt", "données.py", "a/b/c/d.py"])
def test_ordinary_names_pass(name: str) -> None:
    assert problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../escape.py", "inside the project folder"),
        ("a/../../b", "inside the project folder"),
        ("a//b.py", "empty or '.' part"),
        ("./a.py", "empty or '.' part"),
        ("dir/", "empty or '.' part"),
        ("bad\udcff.py", "UTF-8"),
        ("nul\x00.py", "only letters"),
        ("tab\t.py", "only letters"),
        ("new\nline.py", "only letters"),
        ("back\\slash.py", "only letters"),
        ("x" * 121, "at most 120"),
        ("/".join("d" * 10) + ".py", "folders deep"),
        (None, "empty"),
    ],
)
def test_bad_names_are_refused_with_a_reason(name: object, reason: str) -> None:
    found = problem(name)
    assert found is not None and reason in found


def test_a_name_cannot_be_both_a_file_and_a_folder() -> None:
    assert "is a folder already" in (clash("util", ["util/helpers.py"]) or "")
    assert "'util' is a file" in (clash("util/helpers.py", ["util"]) or "")
    assert clash("util.py", ["util/helpers.py", "util.py"]) is None


def test_names_from_the_file_system_that_are_not_utf8_are_escaped() -> None:
    raw = b"bad\xff.txt".decode("utf-8", "surrogateescape")
    assert escaped(raw) == "bad\\xff.txt" and escaped("\ud800") == "\\ud800"
    assert printable(raw) == "'bad\\\\xff.txt'"


def test_a_worlds_team_files_and_phase_files_follow_the_same_rule() -> None:
    from pydantic import ValidationError

    from sim.teams.schema import PhaseSpec, TeamSpec

    phase = {"phase": "Write", "instructor": "A", "assistant": "B", "prompt": "write", "extract": "files"}
    with pytest.raises(ValidationError, match="is a folder already"):
        PhaseSpec.model_validate({**phase, "files": ["util", "util/helpers.py"]})
    with pytest.raises(ValidationError, match="inside the project folder"):
        TeamSpec.model_validate(
            {"roles": [{"name": "A"}, {"name": "B"}], "chain": [phase], "files": {"../escape.py": "x = 1"}}
        )
