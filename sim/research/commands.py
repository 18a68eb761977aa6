"""The research commands of ``hamlet``: intervene, metrics, plot, compare, fork and sweep.

``sim/cli.py`` (the composition root) adds these parsers and hands their arguments here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sim import bounds
from sim.errors import UserError
from sim.llm.options import LLMOptions

COMMANDS = ("intervene", "metrics", "plot", "compare", "fork", "sweep")
KINDS = ("inject", "whisper", "set-object", "add-person", "remove-person")
"""Intervention kinds as typed on the command line (the world file writes set_object, ...)."""

Options = Callable[[argparse.ArgumentParser], None]


def intervention_options(parser: argparse.ArgumentParser) -> None:
    """The fields of an intervention, shared by ``intervene`` and ``fork``."""
    group = parser.add_argument_group("intervention", "what each kind needs: inject --place --text; whisper "
                                      "--person --text; set-object --place --object --state; add-person --spec; "
                                      "remove-person --person")
    group.add_argument("--place", help="a sector, 'Sector:Area' or a unique area name")
    group.add_argument("--person", help="who is whispered to or removed")
    group.add_argument("--text", help="what happens (inject) or is whispered (whisper)")
    group.add_argument("--object", help="the object whose state changes (set-object)")
    group.add_argument("--state", help="its new state (set-object)")
    group.add_argument("--spec", metavar="FILE.yaml", help="the person to add: one entry as under people: (add-person)")


def add_parsers(sub: Any, model_options: Options, span_options: Callable[[argparse.ArgumentParser, str], None]) -> None:
    """Add the research commands to ``hamlet``'s subparsers."""
    intervene = sub.add_parser("intervene", help="change a running simulation now",
                               description="Apply an intervention to a run going on in another process: it is "
                               "checked against the run's world, takes effect at the run's next tick and is logged "
                               "as an event. To change a recorded run, fork it (hamlet fork --intervene).")
    intervene.add_argument("run_file", metavar="RUN.db")
    intervene.add_argument("kind", choices=KINDS, metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    intervention_options(intervene)

    metrics = sub.add_parser("metrics", help="measure what emerged in a run",
                             description="Information diffusion of the world's facts (from memories that carry "
                             "them: whole words, not denied; confirmed by interviews with --probe), the knows "
                             "network (talked, told, relation or probe; never sight) and the conversation network "
                             "and their density over time (knows: directed and mutual, as the paper), coordination (who was at a place in a time window; by default the "
                             "gathering a fact announces) and activity per person. See docs/research.md.")
    metrics.add_argument("run_file", metavar="RUN.db")
    out = metrics.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print every table as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per person")
    metrics.add_argument("--fact", action="append", metavar="NAME", help="only this fact (repeatable; default: all)")
    metrics.add_argument("--person", metavar="NAME", help="only this person in the per-person tables")
    metrics.add_argument("--at", metavar="TIME", help="as of TIME (ISO 8601 or +offset; default: the run's end)")
    metrics.add_argument("--place", help="coordination: the place (a sector or 'Sector:Area'), with --window")
    metrics.add_argument("--window", metavar="T1..T2", help="coordination: the time window, e.g. +35h..+37h")
    metrics.add_argument("--every", type=bounds.step_minutes, default=60, metavar="MINUTES",
                         help="step of the curves over time (default: 60)")
    metrics.add_argument("--out", metavar="DIR", help="also write every table into DIR")
    metrics.add_argument("--format", default="csv", choices=("csv", "parquet"), help="tables written by --out")
    metrics.add_argument("--graphml", metavar="DIR", help="write the networks to DIR as GraphML")
    metrics.add_argument("--probe", action="store_true",
                         help="interview everyone: the fact's question, and \"Do you know X?\" about each other "
                         "person, each answered as heard yes/no and what (with the run's model options); the "
                         "answers and the knowing rule's check are recorded, and disagreements reported")
    model_options(metrics)

    plot = sub.add_parser("plot", help="draw a chart of a run's metrics",
                          description="Draw one chart as a PNG: diffusion (people who know each fact over "
                          "time), density (of the knows and conversation networks over time), network (who "
                          "talked with whom; --graph knows for who knows whom) or cost (LLM cost by purpose).")
    plot.add_argument("run_file", metavar="RUN.db")
    plot.add_argument("metric", metavar="METRIC", help="diffusion, density, network or cost")
    plot.add_argument("-o", "--out", required=True, metavar="FILE.png")
    plot.add_argument("--fact", action="append", metavar="NAME", help="diffusion: only this fact (repeatable)")
    plot.add_argument("--at", metavar="TIME", help="network, cost: as of TIME (default: the run's end)")
    plot.add_argument("--every", type=bounds.step_minutes, default=60, metavar="MINUTES", help="step of curves (default: 60)")
    plot.add_argument("--graph", default="conversations", choices=("conversations", "knows"),
                      help="network: which graph")

    compare = sub.add_parser("compare", help="compare runs' metrics side by side",
                             description="The headline metrics of two or more runs side by side, with each "
                             "run's difference from the first (a fork and its parent, two seeds, ...).")
    compare.add_argument("run_files", metavar="RUN.db", nargs="+")
    shown = compare.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print JSON")
    shown.add_argument("--csv", action="store_true", help="print CSV")

    fork = sub.add_parser("fork", help="branch a recorded run at a time, with a change",
                          description="Copy a run's recorded prefix up to TIME (events, memories, LLM calls, "
                          "snapshots; the stretch after the last snapshot is redone from the recorded replies, "
                          "with no LLM call sent), apply the intervention at TIME, and continue live with the "
                          "run's model options (override them as for hamlet run). Identical calls after TIME are "
                          "still answered from the parent's replies. Compare the branches with hamlet compare.")
    fork.add_argument("run_file", metavar="RUN.db")
    fork.add_argument("--at", required=True, metavar="TIME", help="where to branch: ISO 8601 or +offset from the start")
    fork.add_argument("-o", "--out", metavar="BRANCH.db", help="the branch's run file (default: replays/)")
    fork.add_argument("--intervene", choices=KINDS, metavar="KIND",
                      help=f"the change at TIME: {', '.join(KINDS)} (none: the branch continues as recorded)")
    intervention_options(fork)
    span_options(fork, "default: up to the parent's planned end; given: from TIME")
    fork.add_argument("--quiet", action="store_true", help="no progress bar")
    model_options(fork)

    sweep = sub.add_parser("sweep", help="run a world over seeds and settings, and aggregate",
                           description="Run every combination of seeds and --set values (in parallel "
                           "processes), then print and save (CSV and JSON) a table of each setting's metrics: "
                           "mean and 95 % confidence interval over the seeds. Finished runs already in DIR are "
                           "reused, so an interrupted sweep continues where it stopped.")
    sweep.add_argument("world", help="world file (YAML)")
    sweep.add_argument("--seeds", required=True, help="seeds: 1-10, 1,2,5 or 3")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2", dest="settings",
                       help="a mind parameter and the values to try, e.g. reflection=on,off (repeatable: the grid "
                       "is every combination)")
    sweep.add_argument("--parallel", type=bounds.concurrency, metavar="N", help="runs at once (default: the number of cores)")
    sweep.add_argument("--out", required=True, metavar="DIR", help="folder for the runs and the tables")
    span_options(sweep, "default: the world's hours")
    model_options(sweep)


def needs_minds(args: argparse.Namespace) -> bool:
    """Whether the command runs minds (so they must be registered): forks, sweeps, probes, new people."""
    return args.command in ("fork", "sweep", "intervene") or (args.command == "metrics" and args.probe)


def dispatch(args: argparse.Namespace, llm_options: Callable[[argparse.Namespace], LLMOptions]) -> int:
    """Run one research command."""
    if args.command == "intervene":
        return _intervene(args)
    if args.command == "metrics":
        return _metrics(args, llm_options(args))
    if args.command == "plot":
        return _plot(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "fork":
        return _fork(args, llm_options(args))
    if args.command == "sweep":
        return _sweep(args, llm_options(args))
    raise AssertionError(args.command)


def intervention_fields(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The intervention the options describe, as the world file would write it."""
    fields: dict[str, Any] = {"kind": kind.replace("-", "_")}
    for name in ("place", "person", "text", "object", "state"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    if args.spec is not None:
        fields["spec"] = person_file(Path(args.spec))
    return fields


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


def _no_intervention_fields(args: argparse.Namespace) -> None:
    given = [f"--{n}" for n in ("place", "person", "text", "object", "state", "spec") if getattr(args, n) is not None]
    if given:
        raise UserError(f"{given[0]}: belongs to an intervention; name its kind with --intervene")


def _intervene(args: argparse.Namespace) -> int:
    from sim.control import send

    fields = intervention_fields(args, args.kind)
    request = send(args.run_file, "intervene", fields)
    print(f"{args.kind} sent to {args.run_file} (request {request}); it takes effect at the run's next tick")
    return 0


def _metrics(args: argparse.Namespace, llm: LLMOptions) -> int:
    from sim.research import report
    from sim.research.metrics import RunMetrics

    with RunMetrics(args.run_file) as metrics:
        built = report.build(metrics, facts=args.fact, person=args.person, at=args.at, place=args.place,
                             window=args.window, every_minutes=args.every, probe=llm if args.probe else None)
        if args.json:
            print(json.dumps(report.as_json(built), indent=2, ensure_ascii=False))
        elif args.csv:
            report.people_table(built).to_csv(sys.stdout, index=False)
        else:
            print(report.as_text(built))
        written = []
        if args.out:
            written += report.write(built, Path(args.out), args.format)
        if args.graphml:
            written += report.write_graphml(built, Path(args.graphml))
    for path in written:
        print(path, file=sys.stderr)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from sim.research.metrics import RunMetrics
    from sim.research.plots import plot

    with RunMetrics(args.run_file) as metrics:
        at = None if args.at is None else metrics.time_option(args.at, "--at")
        written = plot(metrics, args.metric, Path(args.out), facts=args.fact, at=at, every=round(args.every * 60),
                       graph=args.graph)
    print(written)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from sim.research.compare import compare, compare_text

    table = compare([Path(p) for p in args.run_files])
    if args.json:
        print(table.to_json(orient="records", indent=2))
    elif args.csv:
        table.to_csv(sys.stdout, index=False)
    else:
        print(compare_text(table))
    return 0


def _fork(args: argparse.Namespace, llm: LLMOptions) -> int:
    from sim.research.fork import ForkOptions, fork_run

    if args.intervene is None:
        _no_intervention_fields(args)
    fields = intervention_fields(args, args.intervene) if args.intervene else None
    outcome = fork_run(args.run_file, ForkOptions(at=args.at, out=args.out, hours=args.hours, until=args.until,
                                                  intervention=fields, quiet=args.quiet, llm=llm))
    note = f" · branched from {args.run_file} at {outcome.summary['options']['fork']['at']}"
    print("\n".join(outcome.lines(note, calls=f"{outcome.sent} sent")))
    print(f"Compare: hamlet compare {args.run_file} {outcome.path}")
    return 0 if outcome.status == "finished" else 3


def _sweep(args: argparse.Namespace, llm: LLMOptions) -> int:
    from sim.research.sweep import SweepOptions, sweep, sweep_text

    result = sweep(args.world, SweepOptions(seeds=args.seeds, settings=args.settings, parallel=args.parallel,
                                            out=args.out, hours=args.hours, until=args.until, llm=llm))
    print(sweep_text(result))
    for path in result.files:
        print(path, file=sys.stderr)
    return 0
