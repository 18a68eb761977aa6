"""``hamlet show``: a run's summary and its story, as text or JSON."""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.commands import Subparsers
from sim.commands.runs import newest

if TYPE_CHECKING:  # importing the story loads the metrics, which only run() needs
    from sim.research.story import Spread, Story

LINES = 40
"""Lines ``hamlet show`` prints at most without ``--full``."""
WIDTH = 100
"""Characters of a line of the story without ``--full`` (longer ones are cut with an ellipsis)."""
PEOPLE = 12
"""Rows of the people table without ``--full``."""


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet show``."""
    show = sub.add_parser(
        "show",
        help="summarise a run and tell its story",
        description="Summarise a run: world, "
        "people, simulated span, events, LLM calls, tokens, cost and status; then its story: how "
        "far each fact spread and who came to its gathering, who talked (a line quoted from each "
        f"conversation), who changed plans and why, interventions. At most {LINES} lines unless "
        "--full.",
    )
    show.add_argument("run_file", metavar="RUN.db", nargs="?", help="the run (default: the newest in replays/)")
    show.add_argument("--json", action="store_true", help="print machine-readable JSON (the same story as the text)")
    show.add_argument("--full", action="store_true", help=f"tell the whole story, not only its first {LINES} lines")


def run(args: argparse.Namespace) -> int:
    """Print the summary and story of the run, or of the newest run in replays/."""
    from sim.research.critical import run_bound
    from sim.research.metrics import RunMetrics
    from sim.research.story import read_story

    path = args.run_file or newest(Path("replays"))
    with RunMetrics(path) as metrics:
        summary = metrics.reader.summary(metrics.scenario)
        summary["critical_path"] = run_bound(metrics.reader, metrics.scenario).as_json()
        story = read_story(metrics, None if args.full else LINES)
    head = _summary_text(summary, args.full)
    if not args.full:
        story = _fit(story, LINES - len(head))
    if args.json:
        print(json.dumps({**summary, "story": story.as_json()}, indent=2))
        return 0
    lines = head + _story_text(story, None if args.full else WIDTH)
    if not args.full and len(lines) > LINES:  # a team's many phases and files, say: the promise holds anyway
        lines = lines[: LINES - 1] + [f"… {len(lines) - LINES + 1} more lines: hamlet show --full"]
    print("\n".join(lines))
    return 0


def _summary_text(s: dict[str, Any], full: bool) -> list[str]:
    kinds = ", ".join(f"{k} {v}" for k, v in s["events_by_kind"].items())
    purposes = ", ".join(f"{k} {v}" for k, v in s["llm_calls_by_purpose"].items()) or "none"
    status = s["status"] + (f": {s['message']}" if s["message"] else "")
    if s["status"] == "lost":  # the reader's message says what to do; here, with the file's name
        status = f"lost: the process writing it died; continue it with hamlet resume {s['file']}"
    lines = [
        f"Run        {s['file']}  ({status})",
        f"World      {s['world']} ({s['world_file']}), seed {s['seed']}, {len(s['people'])} people, "
        f"{s['places']} places",
        f"Simulated  {s['sim_start']} → {s['sim_now']} (planned end {s['sim_end']})",
        f"Model      {s['options'].get('backend')} · {s['options'].get('resolved_model')}",
        f"Events     {s['events']} ({kinds})",
        f"LLM calls  {s['llm_calls']} · cache hits {s['cache_hits']} · errors {s['errors']} · "
        f"invalid {s['invalid_replies']} · repaired {s['repaired_replies']} · fallbacks {s['fallbacks']} · "
        f"by purpose: {purposes}",
        f"Tokens     {s['prompt_tokens']} prompt + {s['completion_tokens']} completion · cost ${s['cost_usd']:.4f}",
        *_servers_text(s.get("endpoints")),
    ]
    critical = _critical_text(s.get("critical_path"))
    if not full:  # the counts of a busy run run on: two lines at most, so that the story has room
        lines, critical = (
            [
                part
                for line in part_lines
                for part in textwrap.wrap(
                    line,
                    WIDTH,
                    subsequent_indent=" " * 11,
                    break_on_hyphens=False,
                    break_long_words=False,
                    max_lines=2,
                    placeholder=" … (--full)",
                )
            ]
            for part_lines in (lines, critical)
        )
    rest = _control_text(s.get("control"))
    people = _people_text(s["people"], None if full else PEOPLE)
    rest += people if full else [_clip(line, WIDTH) for line in people]
    if "team" in s:
        rest += _team_text(s["team"])
    if full or len(lines) + len(critical) + len(rest) <= LINES:  # a team's part may fill the lines: it gives way
        lines += critical
    return lines + rest


def _critical_text(c: dict[str, Any] | None) -> list[str]:
    """The oracle bound beside the time the run's model requests took (nothing if it sent none)."""
    if not (c and c["calls"]):
        return []
    took = "no wall times recorded" if c["wall_s"] is None else f"requests spanned {_secs(c['wall_s'])}"
    share = f" · {c['share']:.0%} of the limit" if c["share"] is not None else ""
    return [
        f"Critical   path {_secs(c['critical_s'])} ({c['critical_calls']} of {c['calls']} requests) · {took}{share}"
    ]


def _secs(seconds: float) -> str:
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


def _servers_text(endpoints: dict[str, dict[str, Any]] | None) -> list[str]:
    """One line for the model servers of a run that had several: each one's calls, errors, failovers, median."""
    if not endpoints:
        return []
    parts = [
        f"{url} {e['calls']} calls, {e['errors']} errors, {e['failovers']} failovers away"
        + (f", median {e['median_latency_ms']:.0f} ms" if e["median_latency_ms"] is not None else "")
        for url, e in endpoints.items()
    ]
    return ["Servers    " + " · ".join(parts)]


def _control_text(c: dict[str, Any] | None) -> list[str]:
    if not (c and (c["requests"] or c["rejected"] or c["shed"] or c["broker_dropped"])):
        return []
    lost = f" · shed {c['shed']}" if c["shed"] else ""
    lost += f" · broker dropped {c['broker_dropped']} (to some subscriber)" if c["broker_dropped"] else ""
    return [
        f"Controls   {c['requests']} requests ({c['by_status'].get('applied', 0)} applied) · "
        f"rejected {c['rejected']}{lost}"
    ]


def _people_text(people: list[dict[str, Any]], rows: int | None) -> list[str]:
    shown = people if rows is None else people[:rows]
    width = max([len(p["name"]) for p in shown] + [4])
    home = max([len(p["home"]) for p in shown] + [4])
    more = f" (the first {len(shown)}; hamlet show --full for all)" if len(shown) < len(people) else ""
    return [
        f"People     {len(people)}{more}",
        f"  {'name':<{width}}  {'age':>3}  {'home':<{home}}  {'mind':<10} occupation",
    ] + [
        f"  {p['name']:<{width}}  {p['age']:>3}  {p['home']:<{home}}  {p['mind']:<10} {p['occupation']}" for p in shown
    ]


def _team_text(team: dict[str, Any]) -> list[str]:
    # the viewer's words for the same things (the event classes' own)
    from sim.core.events import clip, count, run_outcome

    lines = [
        f"Team       task {team['task']!r} · {team['status']} · {len(team['phases'])} phases ended · "
        f"{len(team['program_runs'])} program runs"
    ]
    if team["phases"]:
        lines.append("Phases")
        width = max(len(p["phase"]) for p in team["phases"])
        for p in team["phases"]:
            cycle = f" #{p['cycle']}" if p["cycle"] else ""
            result = (
                f" → {', '.join(p['files'])}"
                if p["files"]
                else (f" → {clip(p['conclusion'], 50)}" if p["conclusion"] else "")
            )
            lines.append(
                f"  {p['time'][11:16]}  {p['phase'] + cycle:<{width + 3}} {count(p['replies'], 'reply'):>10} · "
                f"{p['reason']}{result}"
            )
    for loop in team["loops"]:
        lines.append(f"Loop       {loop['loop']}: {count(loop['cycles'], 'cycle')} · {loop['reason']}")
    for program in team["program_runs"]:
        lines.append(f"Sandbox    {program['time'][11:16]}  {run_outcome(program).removeprefix('it ')}")
    if team["artifacts"]:
        lines.append("Artifacts")
        for item in team["artifacts"]:
            last = item["versions"][-1]
            by = f"{last['phase']}, {last['role']}" if last["phase"] else "given by the world"
            lines.append(
                f"  {item['path']:<28} v{last['version']} ({by}) · {last['bytes']} bytes · "
                f"{count(len(item['versions']), 'version')}"
            )
    if team["quality"]:
        q = team["quality"]
        lines.append(
            f"Quality    completeness {q['completeness']:g} · executability {q['executability']:g} · "
            f"consistency {q['consistency']:.3f} · quality {q['quality']:.3f}"
        )
    return lines


# -- the story ---------------------------------------------------------------------------------


def _fit(story: Story, lines: int) -> Story:
    """``story`` cut to at most ``lines`` lines of text: each part's heading, then an item of each part in turn."""
    parts = [
        [_fact_lines(f) for f in story.facts],
        [2] * len(story.conversations.items),
        [1] * len(story.reactions.items),
        [1] * len(story.interventions.items),
    ]
    totals = [len(story.facts), story.conversations.total, story.reactions.total, story.interventions.total]
    used = sum(1 for total in totals if total)  # every part with something to tell keeps its heading
    shown = [0] * len(parts)
    grew = True
    while grew:
        grew = False
        for index, costs in enumerate(parts):
            if shown[index] < len(costs) and used + costs[shown[index]] <= lines:
                used += costs[shown[index]]
                shown[index] += 1
                grew = True
    facts, talks, replans, interventions = shown
    return replace(
        story,
        facts=story.facts[:facts],
        conversations=replace(story.conversations, items=story.conversations.items[:talks]),
        reactions=replace(story.reactions, items=story.reactions.items[:replans]),
        interventions=replace(story.interventions, items=story.interventions.items[:interventions]),
    )


def _fact_lines(spread: Spread) -> int:
    return 2 + bool(spread.planned) + 2 * (spread.gathering is not None)


def _story_text(story: Story, width: int | None) -> list[str]:
    """The story's lines, each cut to ``width`` characters (None: whole)."""
    lines: list[str] = []
    if story.facts_total:
        lines.append(f"Facts      {_shown(len(story.facts), story.facts_total)}")
        for spread in story.facts:
            lines += _spread_text(spread, width)
    talks = story.conversations
    if talks.total:
        lines.append(
            f"Conversations {talks.total} between {story.talking_pairs} pairs of people"
            f"{_more(len(talks.items), talks.total)}"
        )
        for c in talks.items:
            a, b = c["people"]
            ended = "" if c["ended"] is not None else ", still going when the log ends"
            lines.append(f"  {_when(c['time'])}  {a} with {b} at {c['place']}, {c['lines']} lines{ended}")
            quote = c["quote"]
            lines.append(
                f"{'':16}{quote['person']}: “{' '.join(quote['text'].split())}”" if quote else f"{'':16}(no line said)"
            )
    replans = story.reactions
    if replans.total:
        lines.append(
            f"Reactions  {replans.total} re-plans by {story.reacting_people} people"
            f"{_more(len(replans.items), replans.total)}"
        )
        lines += [f"  {_when(r['time'])}  {r['person']} changes plans: {r['reason']}" for r in replans.items]
    done = story.interventions
    if done.total:
        lines.append(f"Interventions {_shown(len(done.items), done.total)}")
        lines += [f"  {_when(i['time'])}  {_intervention_text(i)}" for i in done.items]
    return lines if width is None else [_clip(line, width) for line in lines]


def _shown(shown: int, total: int) -> str:
    return f"{total}{_more(shown, total)}"


def _more(shown: int, total: int) -> str:
    if shown == total:
        return ""
    return f" (the first {shown}; hamlet show --full for all)" if shown else " (hamlet show --full to see them)"


def _when(iso: str) -> str:
    """A simulated time as a reader scans it: day of the week, day of the month, hour and minute."""
    return datetime.fromisoformat(iso).strftime("%a %d %H:%M")


def _clock(iso: str) -> str:
    return iso[11:16]


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _spread_text(spread: Spread, width: int | None) -> list[str]:
    """A fact: how many knew it, who made a plan for it, who came to its gathering; a line each."""
    lines = [
        f"  {spread.fact}: {len(spread.knew)} of {spread.people} knew it by the end, "
        f"{len(spread.planned)} made a plan for it",
        "    knew      "
        + _names(
            [f"{k['person']} ({'seeded' if k['how'] == 'seeded' else _when(k['time'])})" for k in spread.knew], width
        ),
    ]
    if spread.planned:
        lines.append(
            "    planned   "
            + _names(
                [
                    f"{p['person']} ({_when(p['time'])}, {p['scope']}{': ' + p['reason'] if p['reason'] else ''})"
                    for p in spread.planned
                ],
                width,
            )
        )
    g = spread.gathering
    if g is not None:
        lines.append(f"    gathering {g['place']}, {_when(g['start'])}–{_clock(g['end'])}")
        lines.append("    came      " + _came_text(g, width))
    return lines


def _names(items: list[str], width: int | None, used: int = 14) -> str:
    """``items`` joined with commas; with a ``width``, as many as fit after ``used`` characters, then how many more."""
    if not items:
        return "nobody"
    if width is None:
        return ", ".join(items)
    text = items[0]
    for count, item in enumerate(items[1:], 1):
        rest = len(items) - count - 1
        tail = f", and {rest} more" if rest else ""
        if used + len(text) + 2 + len(item) + len(tail) > width:
            return f"{text}, and {len(items) - count} more"
        text += ", " + item
    return text


def _came_text(g: dict[str, Any], width: int | None) -> str:
    """Who came to a gathering, or why nobody could have."""
    if g["reached"] == "ahead":
        return f"nobody could have come yet: it starts after this run ends ({_when(g['run_end'])})"
    said = (
        f"{len(g['came'])}"
        + (f" by the run's end ({_when(g['run_end'])}), during it" if g["reached"] == "during" else "")
        + ": "
    )
    return said + _names(
        [f"{c['person']} ({_clock(c['arrived'])}, {c['minutes']:g} min)" for c in g["came"]], width, 14 + len(said)
    )


def _intervention_text(i: dict[str, Any]) -> str:
    said = f"“{' '.join(str(i['text']).split())}”"
    if i["kind"] == "inject":
        return f"inject at {i['place']}: {said}"
    if i["kind"] == "whisper":
        return f"whisper to {i['person']}: {said}"
    if i["kind"] == "set_object":
        return f"set_object at {i['place']}: {i['text']}"
    if i["kind"] == "add_person":
        return f"add_person: {i['person']} joins the world"
    return f"remove_person: {i['person']} leaves the world"
