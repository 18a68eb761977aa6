"""The README's install line brings everything the README and docs/research.md use.

The check is static and runs without network: it reads the README's first command (the install
and its extras), the project's declared dependencies, and every ``hamlet`` command and Python
snippet of the two pages; it follows every import the code behind them makes (lazy ones inside
functions too, where ``pandas``, ``pyarrow`` and ``matplotlib`` are imported) and requires each
third-party package to be declared by what that install line installs.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "docs" / "research.md"]
OPTIONAL = {"ray": "cluster"}
"""Modules only an option needs (``hamlet sweep --executor ray``), each declared by its extra; without it the
option is refused in one line saying what to install (tests/sim/research/test_sweep_ray.py)."""


def name_of(requirement: str) -> str:
    """A requirement's distribution name, normalised (``llama-cpp-python[server]>=0.3`` -> ``llama-cpp-python``)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]).lower()


def blocks(page: Path, kind: str) -> list[str]:
    """A page's fenced code blocks of one kind, in order."""
    return re.findall(rf"```{kind}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def readme_extras() -> list[str]:
    """The extras the README's first command installs (``pip install -e '.[local]'``)."""
    first = blocks(ROOT / "README.md", "bash")[0]
    found = re.search(r"pip install -e '\.\[([^\]]*)\]'", first)
    assert found, f"the README's first command installs the checkout: {first!r}"
    return [extra.strip() for extra in found.group(1).split(",")]


def installed(extras: list[str]) -> set[str]:
    """The distributions declared by the dependencies and ``extras`` of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {name_of(r) for r in requirements}


def documented() -> tuple[set[str], list[str]]:
    """Every ``hamlet`` command the pages run, and the code of their Python snippets."""
    commands: set[str] = set()
    snippets: list[str] = []
    for page in PAGES:
        for block in blocks(page, "bash"):
            commands |= set(re.findall(r"(?:^|[;&|(]\s*)hamlet ([a-z]+)", block, flags=re.M))
        snippets += blocks(page, "python")
    return commands, snippets


def module_file(name: str) -> Path | None:
    """The file of one of Hamlet's own modules (``sim.research.plots``), if it is one."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports(tree: ast.AST, package: str) -> set[str]:
    """Every module an AST imports, wherever it does (module level or inside a function)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # a submodule imported by name
    return found


def third_party(roots: list[tuple[ast.AST, str]]) -> set[str]:
    """The top-level third-party modules Hamlet's code reached from ``roots`` imports, followed through."""
    seen: set[Path] = set()
    outside: set[str] = set()
    queue = list(roots)
    while queue:
        tree, package = queue.pop()
        for name in imports(tree, package):
            top = name.split(".")[0]
            if top in ("sim", "agents"):
                path = module_file(name)
                if path is not None and path not in seen:
                    seen.add(path)
                    is_package = path.name == "__init__.py"
                    queue.append(
                        (ast.parse(path.read_text(encoding="utf-8")), name if is_package else name.rpartition(".")[0])
                    )
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                outside.add(top)
    return outside


def test_the_readme_install_brings_every_package_the_documented_commands_import() -> None:
    extras = readme_extras()
    have = installed(extras)
    commands, snippets = documented()
    assert {"run", "show", "export", "metrics", "plot", "sweep", "fork", "compare"} <= commands, commands
    roots: list[tuple[ast.AST, str]] = [(ast.parse(code), "") for code in snippets]
    for command in commands:
        path = module_file(f"sim.commands.{command}") or module_file(f"sim.commands.{command}_")
        assert path is not None, f"hamlet {command}: no module in sim/commands"
        roots.append((ast.parse(path.read_text(encoding="utf-8")), "sim.commands"))
    roots.append((ast.parse((ROOT / "sim" / "cli.py").read_text(encoding="utf-8")), "sim"))
    modules = third_party(roots)
    assert {"pandas", "pyarrow", "matplotlib"} <= modules, "the walk reaches the research libraries"
    owners = importlib.metadata.packages_distributions()
    for module, extra in OPTIONAL.items():
        assert module in modules and module in installed([extra]), f"{module}: declared by the {extra} extra"
    missing = {
        module: owners.get(module, [module])
        for module in sorted(modules - set(OPTIONAL))
        if not any(name_of(dist) in have for dist in owners.get(module, [module]))
    }
    assert missing == {}, (
        f"imported by documented commands but not installed by the README's "
        f"pip install -e '.[{','.join(extras)}]': {missing}"
    )
