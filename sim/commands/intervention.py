"""An intervention as command-line options, shared by ``hamlet intervene`` and ``hamlet fork --intervene``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from sim.errors import UserError

KINDS = ("inject", "whisper", "set-object", "add-person", "remove-person")
"""Intervention kinds as typed on the command line (the world file writes set_object, ...)."""

FIELDS = ("place", "person", "text", "object", "state")
"""The options that carry an intervention's text fields (``--spec`` carries a file)."""


def intervention_options(parser: argparse.ArgumentParser) -> None:
    """The fields of an intervention, shared by ``intervene`` and ``fork``."""
    group = parser.add_argument_group(
        "intervention",
        "what each kind needs: inject --place --text; whisper "
        "--person --text; set-object --place --object --state; add-person --spec; "
        "remove-person --person",
    )
    group.add_argument("--place", help="a sector, 'Sector:Area' or a unique area name")
    group.add_argument("--person", help="who is whispered to or removed")
    group.add_argument("--text", help="what happens (inject) or is whispered (whisper)")
    group.add_argument("--object", help="the object whose state changes (set-object)")
    group.add_argument("--state", help="its new state (set-object)")
    group.add_argument("--spec", metavar="FILE.yaml", help="the person to add: one entry as under people: (add-person)")


def intervention_fields(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The intervention the options describe, as the world file would write it."""
    fields: dict[str, Any] = {"kind": kind.replace("-", "_")}
    for name in FIELDS:
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    if args.spec is not None:
        fields["spec"] = person_file(Path(args.spec))
    return fields


def no_intervention_fields(args: argparse.Namespace) -> None:
    """Refuse intervention options given without a kind (``fork`` without ``--intervene``)."""
    given = [f"--{n}" for n in (*FIELDS, "spec") if getattr(args, n) is not None]
    if given:
        raise UserError(f"{given[0]}: belongs to an intervention; name its kind with --intervene")


def person_file(path: Path) -> dict[str, Any]:
    """The person entry in a YAML file (``--spec`` of add-person), as a mapping; one clear line if it is not one."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--spec {path}: no such file; write the new person as one people: entry in YAML") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"--spec {path}: cannot be read ({err})") from None
    except yaml.YAMLError as err:
        raise UserError(f"--spec {path}: invalid YAML ({str(err).splitlines()[0]})") from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise UserError(f"--spec {path}: expected one person (a mapping with name:, home:, ...)")
    return data
