"""hamlet import chatdev: every CompanyConfig of ChatDev becomes a world that validates and runs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED, assert_one_line_error

CONFIGS = SHARED / "peers" / "chatdev" / "CompanyConfig"
COMPANIES = sorted(p.name for p in CONFIGS.iterdir() if p.is_dir()) if CONFIGS.is_dir() else []
pytestmark = pytest.mark.skipif(not COMPANIES, reason=f"no ChatDev configs at {CONFIGS}")


def copy_configs(tmp_path: Path) -> Path:
    """A writable copy of the CompanyConfig folder."""
    target = tmp_path / "CompanyConfig"
    shutil.copytree(CONFIGS, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.mark.parametrize("company", COMPANIES)
def test_each_company_config_imports_validates_and_runs_with_the_scripted_model(
    hamlet, tmp_path: Path, company: str
) -> None:
    world = tmp_path / f"{company}.yaml"
    result = hamlet("import", "chatdev", CONFIGS / company, "-o", world)
    assert result.code == 0, result.err
    assert hamlet("validate", world).code == 0
    run = tmp_path / "run.db"
    result = hamlet("run", world, "--llm", "scripted-inprocess", "--task", "a snake game", "--out", run, "--quiet")
    assert result.code == 0, result.err
    chain = json.loads((CONFIGS / company / "ChatChainConfig.json").read_text())["chain"]
    db = sqlite3.connect(run)
    kinds = dict(db.execute("SELECT kind, COUNT(*) FROM event GROUP BY kind").fetchall())
    loops = [json.loads(d)["loop"] for (d,) in db.execute("SELECT data FROM event WHERE kind = 'loop'")]
    asked = db.execute("SELECT COUNT(*) FROM llm_call WHERE purpose LIKE '% dehallucinate_%'").fetchone()[0]
    db.close()
    # ChatDev's configs carry no dehallucination switch: an imported company runs as ChatDev's code does
    assert "dehallucinate" not in yaml.safe_load(world.read_text())["team"] and asked == 0
    assert kinds["chain_end"] == 1 and kinds["artifact"] >= 2
    assert loops == [item["phase"] for item in chain if item["phaseType"] == "ComposedPhase"]


def test_files_a_company_lacks_come_from_the_default_folder(hamlet, tmp_path: Path) -> None:
    world = tmp_path / "art.yaml"
    assert hamlet("import", "chatdev", CONFIGS / "Art", "-o", world).code == 0
    data = yaml.safe_load(world.read_text())
    default_roles = json.loads((CONFIGS / "Default" / "RoleConfig.json").read_text())
    programmer = next(r for r in data["team"]["roles"] if r["name"] == "Programmer")
    assert default_roles["Programmer"][1] in programmer["prompt"]  # Art has no RoleConfig.json of its own
    assert programmer["prompt"].startswith("{background}")
    names = [item.get("phase") or item.get("loop") for item in data["team"]["chain"]]
    assert names[:4] == ["DemandAnalysis", "LanguageChoose", "Coding", "Art"]
    review = next(i for i in data["team"]["chain"] if i.get("loop") == "CodeReview")
    assert (review["cycles"], review["until"]) == (3, "approved")
    coding = data["team"]["chain"][2]
    assert (coding["instructor"], coding["assistant"], coding["turns"]) == ("Chief Technology Officer", "Programmer", 1)


def test_broken_json_in_a_company_config_is_one_line_with_its_place(hamlet, tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    path = configs / "Art" / "ChatChainConfig.json"
    path.write_text(path.read_text().replace('"phaseType": "SimplePhase",', '"phaseType": "SimplePhase"', 1))
    result = hamlet("import", "chatdev", configs / "Art", "-o", tmp_path / "w.yaml")
    assert_one_line_error(result, "ChatChainConfig.json: invalid JSON at line", "column", "delimiter")
    assert not (tmp_path / "w.yaml").exists()


def test_a_phase_naming_a_role_the_company_lacks_is_one_line(hamlet, tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    path = configs / "Default" / "PhaseConfig.json"
    phases = json.loads(path.read_text())
    phases["Coding"]["assistant_role_name"] = "Programer"
    path.write_text(json.dumps(phases))
    result = hamlet("import", "chatdev", configs / "Default", "-o", tmp_path / "w.yaml")
    assert_one_line_error(result, "PhaseConfig.json: Coding.assistant_role_name", "role 'Programer'", "RoleConfig.json")


def test_a_composed_phase_without_a_cycle_cap_is_one_line(hamlet, tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    path = configs / "Default" / "ChatChainConfig.json"
    chain = json.loads(path.read_text())
    del chain["chain"][4]["cycleNum"]
    path.write_text(json.dumps(chain))
    result = hamlet("import", "chatdev", configs / "Default", "-o", tmp_path / "w.yaml")
    assert_one_line_error(result, "chain[4] (CodeReview)", "needs cycleNum")


def test_import_refuses_to_overwrite_a_world_unless_forced(hamlet, tmp_path: Path) -> None:
    world = tmp_path / "w.yaml"
    world.write_text("mine")
    assert_one_line_error(hamlet("import", "chatdev", CONFIGS / "Default", "-o", world), "already exists", "--force")
    assert world.read_text() == "mine"
    assert hamlet("import", "chatdev", CONFIGS / "Default", "-o", world, "--force").code == 0
    assert "team:" in world.read_text()


def test_a_folder_that_is_not_a_company_config_is_one_line(hamlet, tmp_path: Path) -> None:
    assert_one_line_error(
        hamlet("import", "chatdev", tmp_path, "-o", tmp_path / "w.yaml"), "no ChatChainConfig.json here nor in"
    )
    assert_one_line_error(hamlet("import", "chatdev", tmp_path / "nope", "-o", tmp_path / "w.yaml"), "not a folder")
