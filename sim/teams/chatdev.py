"""Importing a ChatDev ``CompanyConfig`` folder as a Hamlet world (``hamlet import chatdev PATH -o WORLD.yaml``).

A folder holds ``ChatChainConfig.json`` (the chain, the recruits, the background), and may hold
``PhaseConfig.json`` (each phase's roles and prompt lines) and ``RoleConfig.json`` (each role's
prompt lines); a file it lacks is taken from the ``Default`` folder beside it, as ChatDev does.
Each role becomes a person of the same name in one office, running the ``role`` mind; each
``SimplePhase`` a phase (ChatDev's user role instructs, its assistant role assists), each
``ComposedPhase`` a loop with its ``cycleNum`` as cycle cap.

What ChatDev keeps in code rather than in these files (what a phase concludes, when a composed
phase stops) comes from the table below, by phase name; a phase it does not know concludes text
under its own name. ``{chatdev_prompt}`` becomes ``{background}``. Placeholders no phase fills
(``{ideas}``, ``{description}``, ``{gui}``) become ``team.vars``. Nothing of the prompts is changed
but trailing spaces; the prose is the config's own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from sim.errors import UserError
from sim.teams.schema import BUILTINS, placeholders
from sim.worldfile.scenario import parse_scenario

FILES = ("ChatChainConfig.json", "PhaseConfig.json", "RoleConfig.json")
DEFAULT_TURN_LIMIT = 10
"""ChatDev's rounds for a phase whose ``max_turn_step`` is not positive; a round is two replies."""

# phase -> (the name its conclusion is kept under, how it is found, the files it writes)
PHASES: dict[str, tuple[str | None, str, list[str]]] = {
    "DemandAnalysis": ("modality", "agreed", []),
    "LanguageChoose": ("language", "agreed", []),
    "Coding": (None, "files", []),
    "ArtDesign": ("images", "reply", []),
    "ArtIntegration": (None, "files", []),
    "CodeComplete": (None, "files", []),
    "CodeReviewComment": ("comments", "review", []),
    "CodeReviewModification": (None, "files", []),
    "CodeReviewHuman": (None, "files", []),
    "TestErrorSummary": ("error_summary", "reply", []),
    "TestModification": (None, "files", []),
    "EnvironmentDoc": ("requirements", "files", ["requirements.txt"]),
    "Manual": ("manual", "files", ["manual.md"]),
}
# composed phase -> its stop condition (the others stop at their cycle cap)
LOOPS = {"CodeCompleteAll": "complete", "CodeReview": "approved", "Test": "runs"}
GUI = "The program should have a graphical user interface."
OFFICE = "Office"


def load_config(folder: Path) -> dict[str, tuple[Path, Any]]:
    """The three config files of ``folder`` (or of its ``Default`` sibling), each as (path, parsed JSON)."""
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; give a ChatDev CompanyConfig folder such as CompanyConfig/Default")
    found = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            path = folder.parent / "Default" / name
        if not path.is_file():
            raise UserError(f"{folder}: no {name} here nor in {folder.parent / 'Default'}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: cannot be read ({err})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: the top level is a {type(data).__name__}, expected an object")
        found[name] = (path, data)
    return found


class _Chain:
    """Reads a ChatChainConfig's items into Hamlet's chain: phases, loops, and the roles in the order named."""

    def __init__(
        self, chain_path: Path, phase_path: Path, role_path: Path, phase_cfg: dict[str, Any], role_cfg: dict[str, Any]
    ) -> None:
        self.chain_path, self.phase_path, self.role_path = chain_path, phase_path, role_path
        self.phase_cfg, self.role_cfg = phase_cfg, role_cfg
        self.used: list[str] = []  # roles in the order phases name them
        self.names: dict[str, int] = {}

    def unique(self, name: str) -> str:
        """``name``, numbered from its second use on (a phase repeated in the chain)."""
        self.names[name] = self.names.get(name, 0) + 1
        return name if self.names[name] == 1 else f"{name} {self.names[name]}"

    def item(self, item: Any, where: str) -> dict[str, Any]:
        """One chain item as a Hamlet phase or loop."""
        if not isinstance(item, dict) or not isinstance(item.get("phase"), str):
            raise UserError(f"{self.chain_path}: {where}: expected an object with a phase name")
        name = item["phase"]
        kind = item.get("phaseType", "SimplePhase")
        if kind == "ComposedPhase":
            return self.loop(item, name, where)
        if kind != "SimplePhase":
            raise UserError(
                f"{self.chain_path}: {where} ({name}): unknown phaseType {kind!r}; "
                "expected SimplePhase or ComposedPhase"
            )
        return self.phase(item, name, where)

    def loop(self, item: dict[str, Any], name: str, where: str) -> dict[str, Any]:
        """A ComposedPhase: its phases repeated up to ``cycleNum`` times, until its stop condition."""
        cycles = item.get("cycleNum")
        if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 1:
            raise UserError(
                f"{self.chain_path}: {where} ({name}): a ComposedPhase needs cycleNum, its cycle cap "
                f"(a whole number of at least 1; got {cycles!r})"
            )
        parts = item.get("Composition")
        if not isinstance(parts, list) or not parts:
            raise UserError(f"{self.chain_path}: {where} ({name}): Composition: expected a list of phases")
        loop: dict[str, Any] = {"loop": self.unique(name), "cycles": cycles}
        if LOOPS.get(name):
            loop["until"] = LOOPS[name]
        loop["chain"] = [self.item(part, f"{where}.Composition[{i}]") for i, part in enumerate(parts)]
        return loop

    def roles(self, name: str, spec: dict[str, Any]) -> list[str]:
        """The phase's instructor and assistant, each a role of the RoleConfig."""
        roles = []
        for field in ("user_role_name", "assistant_role_name"):
            role = spec.get(field)
            if not isinstance(role, str) or not isinstance(self.role_cfg.get(role), list):
                known = ", ".join(sorted(self.role_cfg))
                raise UserError(
                    f"{self.phase_path}: {name}.{field}: role {role!r} is not in {self.role_path}; its roles: {known}"
                )
            roles.append(role)
            if role not in self.used:
                self.used.append(role)
        return roles

    def phase(self, item: dict[str, Any], name: str, where: str) -> dict[str, Any]:
        """A SimplePhase, with its roles, turn cap, conclusion, files and prompt from the PhaseConfig."""
        spec = self.phase_cfg.get(name)
        if not isinstance(spec, dict):
            raise UserError(f"{self.chain_path}: {where}: phase {name!r} is not in {self.phase_path}")
        roles = self.roles(name, spec)
        lines = spec.get("phase_prompt")
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise UserError(f"{self.phase_path}: {name}.phase_prompt: expected a list of lines")
        steps = item.get("max_turn_step", -1)
        rounds = steps if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0 else DEFAULT_TURN_LIMIT
        conclusion, extract, files = PHASES.get(name, (_snake(name), "agreed" if rounds > 1 else "reply", []))
        phase: dict[str, Any] = {
            "phase": self.unique(name),
            "instructor": roles[0],
            "assistant": roles[1],
            "turns": 1 if rounds == 1 else 2 * rounds,
            "extract": extract,
        }
        if conclusion:
            phase["conclusion"] = conclusion
        if files:
            phase["files"] = files
        phase["prompt"] = _text(lines, "\n\n")
        return phase


def convert(folder: Path) -> dict[str, Any]:
    """The Hamlet world (as data for YAML) that a CompanyConfig folder describes."""
    config = load_config(folder)
    (chain_path, chain_cfg), (phase_path, phase_cfg), (role_path, role_cfg) = (config[n] for n in FILES)
    chain = chain_cfg.get("chain")
    if not isinstance(chain, list) or not chain:
        raise UserError(f"{chain_path}: chain: expected a list of phases")
    reading = _Chain(chain_path, phase_path, role_path, phase_cfg, role_cfg)
    items = [reading.item(item, f"chain[{i}]") for i, item in enumerate(chain)]
    used = reading.used
    recruits = chain_cfg.get("recruitments", chain_cfg.get("recruits", []))
    cast = used + [r for r in recruits if isinstance(r, str) and r not in used and isinstance(role_cfg.get(r), list)]
    roles = [
        {"name": role, "prompt": _text(role_cfg[role], "\n").replace("{chatdev_prompt}", "{background}")}
        for role in cast
    ]
    concluded = {phase.get("conclusion") for phase in _phases(items)}
    texts = [phase["prompt"] for phase in _phases(items)] + [role["prompt"] for role in roles]
    free = sorted({name for text in texts for name in placeholders(text)} - set(BUILTINS) - concluded)
    gui = str(chain_cfg.get("gui_design", "False")).lower() == "true"
    team: dict[str, Any] = {
        "task": "",
        "background": str(chain_cfg.get("background_prompt", "")),
        "roles": roles,
        "chain": items,
        "vars": {name: (GUI if name == "gui" and gui else "") for name in free},
    }
    company = folder.name
    return {
        "hamlet": 1,
        "name": f"ChatDev {company}",
        "description": f"Imported from the ChatDev CompanyConfig folder {company} (hamlet import chatdev).",
        "start": "2026-05-04T09:00",
        "hours": 8,
        "seed": 0,
        "mind": "role",
        "sectors": [{"name": OFFICE, "kind": "office", "areas": [{"name": "floor", "objects": ["desks"]}]}],
        "people": [{"name": role, "home": OFFICE} for role in cast],
        "team": team,
    }


def import_chatdev(folder: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """Write the world a CompanyConfig folder describes to ``out``, checked to validate; returns ``out``."""
    target = Path(out)
    if target.exists() and not force:
        raise UserError(f"-o {target}: already exists; choose another name, or --force to replace it")
    world = convert(Path(folder))
    text = f"# Imported by hamlet import chatdev {folder}\n" + yaml.dump(
        world, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110
    )
    parse_scenario(text, str(target))  # what is written always validates
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UserError(f"-o {target}: cannot write ({err.strerror})") from None
    return target


def add_parser(kinds: Any) -> None:
    """Add ``hamlet import chatdev``."""
    parser = kinds.add_parser(
        "chatdev",
        help="a ChatDev CompanyConfig folder",
        description="Turn a ChatDev CompanyConfig folder (ChatChainConfig.json, PhaseConfig.json, "
        "RoleConfig.json; files it lacks are taken from the Default folder beside it, as ChatDev "
        "does) into a Hamlet world file whose team works through the same chain.",
    )
    parser.add_argument("path", metavar="PATH", help="the folder, e.g. ChatDev/CompanyConfig/Art")
    parser.add_argument("-o", "--out", required=True, metavar="WORLD.yaml", help="the world file to write")
    parser.add_argument("--force", action="store_true", help="replace WORLD.yaml if it exists")
    parser.set_defaults(run_import=run)


def run(args: Any) -> int:
    """Import and write the world; print where it went and how to run it."""
    target = import_chatdev(args.path, args.out, force=args.force)
    print(f'{target}: written; run it with hamlet run {target} --task "..."')
    return 0


def _phases(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found += _phases(item["chain"]) if "loop" in item else [item]
    return found


def _text(lines: list[Any], joiner: str) -> str:
    # Trailing spaces are dropped so that YAML can write the prompts as readable blocks.
    text = joiner.join(str(line) for line in lines)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"\W", "", name)).lower() or "conclusion"


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as ``|`` blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)
