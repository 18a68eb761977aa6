"""LLM economy of a role team: calls and tokens per software run, by phase, against ChatDev's figures.

Runs a team world with ``hamlet run --llm scripted --task TASK`` once per seed, each in its own
process, and reads the run file: the ``llm_call`` table (a call's purpose is the phase it was made
in; ``PHASE conclusion`` for the question that extracts a missing conclusion, ``PHASE
dehallucinate_ask`` / ``PHASE dehallucinate_answer`` for communicative dehallucination), the ``chain_end``
event (quality metrics) and the ``sandbox`` events. Two worlds by default:
``worlds/software_company.yaml`` and ChatDev's own Default CompanyConfig imported with
``hamlet import chatdev`` (its prompts, which are ChatDev's, from ../shared/peers/chatdev).

- *calls*: questions asked (rows that ended a call: ``ok``, ``repaired``, ``cached``, ``fallback``);
  *requests*: what was sent, repairs and retries included;
- *tokens*: prompt + completion as the backend reported them; the scripted model counts 4
  characters as a token, the usual rule for English with OpenAI's tokenizers;
- *cost*: at the scripted model's price (0.15 / 0.60 USD per million prompt / completion tokens).

Reference (no target: a real model's replies are longer than the scripted model's, and so are the
later prompts that quote them): the ChatDev paper, v1 (Qian et al., 2023), 409.84 s and
$0.2967 per program on average; a sample of its published logs, a median of 18 calls and about
26k tokens per program.

    python benchmarks/bench_team.py                       # seeds 1-10, both worlds
    python benchmarks/bench_team.py --seeds 1,2 --task "a todo list"
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
from common import median, table

CHATDEV_SECONDS = 409.84
CHATDEV_COST = 0.2967
CHATDEV_CALLS = 18
CHATDEV_TOKENS = 26_000
ENDED = ("ok", "repaired", "cached", "fallback")
SENT = ("ok", "repaired", "invalid", "error")
DEFAULT_CONFIG = common.ROOT.parent / "shared" / "peers" / "chatdev" / "CompanyConfig" / "Default"


def one_run(world: Path, out: Path, seed: int, task: str, timeout: float) -> dict[str, Any]:
    """Run the world on the scripted model and read its calls (by phase), quality and program runs."""
    wall = common.run_hamlet(
        ["run", str(world), "--llm", "scripted", "--task", task, "--seed", str(seed), "--out", str(out), "--quiet"],
        timeout,
    )
    db = sqlite3.connect(out)
    phases: dict[str, dict[str, float]] = {}
    for purpose, status, prompt, completion, cost in db.execute(
        "SELECT purpose, status, prompt_tokens, completion_tokens, cost_usd FROM llm_call"
    ):
        entry = phases.setdefault(purpose, {"calls": 0, "requests": 0, "prompt": 0, "completion": 0, "cost": 0.0})
        entry["calls"] += status in ENDED
        entry["requests"] += status in SENT
        entry["prompt"] += prompt
        entry["completion"] += completion
        entry["cost"] += cost
    end = db.execute("SELECT t, data FROM event WHERE kind = 'chain_end'").fetchone()
    runs = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'sandbox'").fetchone()[0]
    db.close()
    quality = json.loads(end[1]) if end else {}
    return {
        "seed": seed,
        "wall_s": wall,
        "phases": phases,
        "sim_minutes": end[0] / 60 if end else float("nan"),
        "quality": quality.get("quality", float("nan")),
        "executability": quality.get("executability", 0.0),
        "program_runs": runs,
    }


def total(run: dict[str, Any], key: str, phase: str | None = None) -> float:
    """One run's figure over all phases, or one phase's."""
    items = [run["phases"][phase]] if phase else run["phases"].values()
    if key == "tokens":
        return sum(p["prompt"] + p["completion"] for p in items)
    return sum(p[key] for p in items)


def bench_world(name: str, world: Path, seeds: list[int], task: str, timeout: float, tmp: Path) -> None:
    """Run one world for every seed and print its tables."""
    runs = []
    for seed in seeds:
        run = one_run(world, tmp / f"{world.stem}-{seed}.db", seed, task, timeout)
        runs.append(run)
        print(
            f"  {name} seed {seed}: {total(run, 'calls'):.0f} calls, {total(run, 'tokens'):,.0f} tokens, "
            f"quality {run['quality']:.3f}, {run['wall_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    def med(key: str) -> float:
        return median(total(r, key) for r in runs)

    def med_of(get: Callable[[dict[str, Any]], float]) -> float:
        return median(get(r) for r in runs)

    calls, tokens = med("calls"), med("tokens")
    print(
        f"\nbench_team: {name}, task {task!r}, scripted model, seeds {','.join(map(str, seeds))}; "
        "medians per run (one program)"
    )
    print(
        table(
            ["figure", "Hamlet", "ChatDev (reference)", "Hamlet / ChatDev"],
            [
                ["calls (questions asked)", calls, CHATDEV_CALLS, f"{calls / CHATDEV_CALLS:.0%}"],
                ["requests sent (with repairs and retries)", med("requests"), "", ""],
                ["tokens (prompt + completion)", tokens, CHATDEV_TOKENS, f"{tokens / CHATDEV_TOKENS:.0%}"],
                ["prompt tokens", med("prompt"), "", ""],
                ["completion tokens", med("completion"), "", ""],
                ["cost, USD (scripted price)", med("cost"), CHATDEV_COST, ""],
                ["wall seconds, whole command (model instant)", med_of(lambda r: r["wall_s"]), CHATDEV_SECONDS, ""],
                ["simulated minutes to the end of the chain", med_of(lambda r: r["sim_minutes"]), "", ""],
                ["program runs in the sandbox", med_of(lambda r: r["program_runs"]), "", ""],
                ["executability (share of runs)", sum(r["executability"] for r in runs) / len(runs), "", ""],
                ["quality", med_of(lambda r: r["quality"]), "", ""],
            ],
        )
    )
    phases = sorted(
        {p for r in runs for p in r["phases"]},
        key=lambda p: -sum(total(r, "tokens", p) for r in runs if p in r["phases"]),
    )
    count = len(runs)
    print(f"\nby phase (means per run over the {count} runs; a loop's phases run 0 to cycle-cap times):")
    print(
        table(
            ["phase", "runs it ran in", "calls", "prompt tokens", "completion tokens", "tokens per call"],
            [
                [
                    p,
                    sum(p in r["phases"] for r in runs),
                    sum(total(r, "calls", p) for r in runs if p in r["phases"]) / count,
                    sum(total(r, "prompt", p) for r in runs if p in r["phases"]) / count,
                    sum(total(r, "completion", p) for r in runs if p in r["phases"]) / count,
                    sum(total(r, "tokens", p) for r in runs if p in r["phases"])
                    / max(1.0, sum(total(r, "calls", p) for r in runs if p in r["phases"])),
                ]
                for p in phases
            ],
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--world", help="a team world file (default: software_company.yaml and ChatDev's Default)")
    parser.add_argument(
        "--seeds", default=",".join(map(str, range(1, 11))), help="comma-separated seeds (default 1-10)"
    )
    parser.add_argument("--task", default="a snake game", help="the task (default: a snake game)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one run may take")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    print(common.machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="hamlet-team-") as folder:
        tmp = Path(folder)
        worlds = (
            [(Path(args.world).name, Path(args.world))]
            if args.world
            else [("software_company.yaml", common.ROOT / "worlds" / "software_company.yaml")]
        )
        if not args.world and DEFAULT_CONFIG.is_dir():
            imported = tmp / "chatdev_default.yaml"
            common.run_hamlet(["import", "chatdev", str(DEFAULT_CONFIG), "-o", str(imported)], args.timeout)
            worlds.append(("ChatDev Default (imported)", imported))
        for name, world in worlds:
            bench_world(name, world, seeds, args.task, args.timeout, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
