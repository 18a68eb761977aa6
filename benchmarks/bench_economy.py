"""LLM economy of the generative mind: calls and tokens per person per simulated day.

Runs ``worlds/smallville.yaml`` as it ships (nine people on the generative mind, every
component on: day plans, decomposition, importance, reflection, talk decisions, conversations)
for 24 simulated hours against the scripted model, once per seed, and reads the run file's
``llm_call`` table:

- *requests*: every request sent to the model (``ok``, ``repaired``, ``invalid`` and ``error``
  rows; a repair or a retry is one more request), the figure a provider bills;
- *calls*: questions the mind asked (rows that ended a call: ``ok``, ``repaired``, ``cached``,
  ``fallback``);
- *tokens*: prompt + completion tokens as the backend reported them. The scripted model counts
  4 characters of the messages it receives as one token (the usual rule of thumb for English
  with OpenAI's tokenizers) and the same for its reply.

Targets: <= 60 calls and <= 40k tokens per person per day. Reference: Smallville about 1,000
calls and 500k tokens per agent per day (the AGA paper's baseline: 25.4M tokens for 25 agents
over 2 days); AGA itself 42.7 % of that.

    python benchmarks/bench_economy.py                  # seeds 7, 8, 9
    python benchmarks/bench_economy.py --seeds 7 --hours 12
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_CALLS = 60
TARGET_TOKENS = 40_000
SMALLVILLE_CALLS = 1_000
SMALLVILLE_TOKENS = 25_400_000 / 25 / 2  # the AGA paper's baseline, per agent per day
SENT = ("ok", "repaired", "invalid", "error")
ENDED = ("ok", "repaired", "cached", "fallback")


def one_run(world: Path, out: Path, seed: int, hours: float, timeout: float) -> dict[str, Any]:
    """Run the world with the scripted model and read its LLM calls back, per purpose."""
    wall = common.run_hamlet(["run", str(world), "--llm", "scripted", "--seed", str(seed), "--hours", str(hours),
                              "--out", str(out), "--quiet"], timeout)
    db = sqlite3.connect(out)
    people = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'spawn'").fetchone()[0]
    rows = db.execute("SELECT purpose, status, prompt_tokens, completion_tokens FROM llm_call").fetchall()
    db.close()
    purposes: dict[str, dict[str, float]] = {}
    for purpose, status, prompt, completion in rows:
        entry = purposes.setdefault(purpose, {"calls": 0, "requests": 0, "prompt": 0, "completion": 0})
        entry["calls"] += status in ENDED
        entry["requests"] += status in SENT
        entry["prompt"] += prompt
        entry["completion"] += completion
    return {"seed": seed, "people": people, "wall_s": wall, "purposes": purposes}


def per_person_day(run: dict[str, Any], hours: float, key: str, purpose: str | None = None) -> float:
    """A figure of one run, per person per 24 simulated hours (one purpose, or all)."""
    items = [run["purposes"][purpose]] if purpose else run["purposes"].values()
    if key == "tokens":
        total = sum(p["prompt"] + p["completion"] for p in items)
    else:
        total = sum(p[key] for p in items)
    return total / run["people"] * 24 / hours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--world", default=str(common.ROOT / "worlds" / "smallville.yaml"), help="world file")
    parser.add_argument("--seeds", default="7,8,9", help="comma-separated seeds, one run each (default: 7,8,9)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default: 24)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds one run may take")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    print(common.machine_line(), flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="hamlet-economy-") as tmp:
        for seed in seeds:
            run = one_run(Path(args.world), Path(tmp) / f"seed{seed}.db", seed, args.hours, args.timeout)
            runs.append(run)
            print(f"  seed {seed}: {run['people']} people, {per_person_day(run, args.hours, 'calls'):.1f} calls and "
                  f"{per_person_day(run, args.hours, 'tokens'):,.0f} tokens a person a day, {run['wall_s']:.1f} s",
                  file=sys.stderr, flush=True)

    def med(key: str, purpose: str | None = None) -> float:
        return median(per_person_day(r, args.hours, key, purpose) for r in runs if purpose is None
                      or purpose in r["purposes"])

    calls, tokens, requests = med("calls"), med("tokens"), med("requests")
    print(f"\nbench_economy: {Path(args.world).name}, {runs[0]['people']} people, {args.hours:g} simulated hours, "
          f"scripted model, seeds {args.seeds}; medians per person per simulated day")
    print(table(["figure", "Hamlet", "target", "verdict", "Smallville (reference)", "Hamlet / Smallville"], [
        ["calls (questions asked)", calls, f"<= {TARGET_CALLS}", verdict(calls <= TARGET_CALLS), SMALLVILLE_CALLS,
         f"{calls / SMALLVILLE_CALLS:.1%}"],
        ["requests sent (with repairs and retries)", requests, "", "-", "", ""],
        ["tokens (prompt + completion)", tokens, f"<= {TARGET_TOKENS:,}", verdict(tokens <= TARGET_TOKENS),
         SMALLVILLE_TOKENS, f"{tokens / SMALLVILLE_TOKENS:.1%}"],
        ["prompt tokens", med("prompt"), "", "-", "", ""],
        ["completion tokens", med("completion"), "", "-", "", ""],
    ]))
    purposes = sorted({p for r in runs for p in r["purposes"]}, key=lambda p: -med("tokens", p))
    print("\nby purpose (medians per person per day):")
    print(table(["purpose", "calls", "requests", "prompt tokens", "completion tokens", "tokens per call"], [
        [p, med("calls", p), med("requests", p), med("prompt", p), med("completion", p),
         med("tokens", p) / max(med("calls", p), 1e-9)] for p in purposes
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
