"""``hamlet validate``: check a world file and summarise it in one line."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers
from sim.errors import UserError


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet validate``."""
    validate = sub.add_parser(
        "validate",
        help="check a world file",
        description="Check a world file and print a one-line summary, or the first problem found.",
    )
    validate.add_argument("world")


def run(args: argparse.Namespace) -> int:
    """Print the world's summary line; a problem is a ``UserError`` naming the file."""
    from sim.core.mind import check_minds
    from sim.teams.schema import PhaseSpec
    from sim.worldfile.scenario import load_scenario

    scenario = load_scenario(args.world)
    try:
        check_minds(scenario)
    except UserError as err:
        raise UserError(f"{args.world}: {err}") from None
    team = scenario.team
    phases = sum(1 for _, item in team.items() if isinstance(item, PhaseSpec)) if team else 0
    roles = f" · a team of {len(team.roles)} roles, {phases} phases" if team else ""
    print(
        f"{args.world}: valid · {scenario.name!r} · {len(scenario.people)} people · "
        f"{len(scenario.area_ids())} places in {len(scenario.sectors)} sectors · "
        f"{len(scenario.interventions)} interventions{roles}"
    )
    return 0
