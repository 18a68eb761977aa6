"""``hamlet show``: a run's summary, as text or JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sim.commands import Subparsers
from sim.commands.runs import newest


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet show``."""
    show = sub.add_parser("show", help="summarise a run", description="Summarise a run: world, people, "
                          "simulated span, events, LLM calls, tokens, cost and status.")
    show.add_argument("run_file", metavar="RUN.db", nargs="?", help="the run (default: the newest in replays/)")
    show.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    """Print the summary of the run, or of the newest run in replays/."""
    from sim.reader import RunReader

    with RunReader(args.run_file or newest(Path("replays"))) as reader:
        summary = reader.summary()
    print(json.dumps(summary, indent=2) if args.json else _summary_text(summary))
    return 0


def _summary_text(s: dict[str, Any]) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in s["events_by_kind"].items())
    purposes = ", ".join(f"{k} {v}" for k, v in s["llm_calls_by_purpose"].items()) or "none"
    lines = [
        f"Run        {s['file']}  ({s['status']}{': ' + s['message'] if s['message'] else ''})",
        f"World      {s['world']} ({s['world_file']}), seed {s['seed']}, {len(s['people'])} people, "
        f"{s['places']} places",
        f"Simulated  {s['sim_start']} → {s['sim_now']} (planned end {s['sim_end']})",
        f"Model      {s['options'].get('backend')} · {s['options'].get('resolved_model')}",
        f"Events     {s['events']} ({kinds})",
        f"LLM calls  {s['llm_calls']} ({purposes}) · cache hits {s['cache_hits']} · errors {s['errors']} · "
        f"invalid {s['invalid_replies']} · repaired {s['repaired_replies']} · fallbacks {s['fallbacks']}",
        f"Tokens     {s['prompt_tokens']} prompt + {s['completion_tokens']} completion · cost ${s['cost_usd']:.4f}",
    ]
    lines += _control_text(s.get("control"))
    lines += _people_text(s["people"])
    if "team" in s:
        lines += _team_text(s["team"])
    return "\n".join(lines)


def _control_text(c: dict[str, Any] | None) -> list[str]:
    if not (c and (c["requests"] or c["rejected"] or c["shed"] or c["broker_dropped"])):
        return []
    lost = f" · shed {c['shed']}" if c["shed"] else ""
    lost += f" · broker dropped {c['broker_dropped']} (to some subscriber)" if c["broker_dropped"] else ""
    return [f"Controls   {c['requests']} requests ({c['by_status'].get('applied', 0)} applied) · "
            f"rejected {c['rejected']}{lost}"]


def _people_text(people: list[dict[str, Any]]) -> list[str]:
    width = max(len(p["name"]) for p in people) if people else 4
    return ["People"] + [f"  {p['name']:<{width}}  {p['age']:>3}  {p['home']:<28} {p['mind']:<10} {p['occupation']}"
                         for p in people]


def _team_text(team: dict[str, Any]) -> list[str]:
    # the viewer's words for the same things (sim.tui.view imports no Textual)
    from sim.tui.view import clip, count, run_outcome

    lines = [f"Team       task {team['task']!r} · {team['status']} · {len(team['phases'])} phases ended · "
             f"{len(team['program_runs'])} program runs"]
    if team["phases"]:
        lines.append("Phases")
        width = max(len(p["phase"]) for p in team["phases"])
        for p in team["phases"]:
            cycle = f" #{p['cycle']}" if p["cycle"] else ""
            result = f" → {', '.join(p['files'])}" if p["files"] else (f" → {clip(p['conclusion'], 50)}" if p["conclusion"] else "")
            lines.append(f"  {p['time'][11:16]}  {p['phase'] + cycle:<{width + 3}} {count(p['replies'], 'reply'):>10} · "
                         f"{p['reason']}{result}")
    for loop in team["loops"]:
        lines.append(f"Loop       {loop['loop']}: {count(loop['cycles'], 'cycle')} · {loop['reason']}")
    for program in team["program_runs"]:
        lines.append(f"Sandbox    {program['time'][11:16]}  {run_outcome(program).removeprefix('it ')}")
    if team["artifacts"]:
        lines.append("Artifacts")
        for item in team["artifacts"]:
            last = item["versions"][-1]
            by = f"{last['phase']}, {last['role']}" if last["phase"] else "given by the world"
            lines.append(f"  {item['path']:<28} v{last['version']} ({by}) · {last['bytes']} bytes · "
                         f"{count(len(item['versions']), 'version')}")
    if team["quality"]:
        q = team["quality"]
        lines.append(f"Quality    completeness {q['completeness']:g} · executability {q['executability']:g} · "
                     f"consistency {q['consistency']:.3f} · quality {q['quality']:.3f}")
    return lines
