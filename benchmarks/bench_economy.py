"""LLM economy of the generative mind: calls and tokens per person per simulated day.

Runs ``worlds/smallville.yaml`` as it ships (nine people on the generative mind, every
component on: day plans, decomposition, importance, reflection, reactions, re-plans, conversations)
for 24 simulated hours against the scripted model, once per seed and behaviour profile, and
reads the run file's ``llm_call`` table:

- *requests*: every request sent to the model (``ok``, ``repaired``, ``invalid`` and ``error``
  rows; a repair or a retry is one more request), the figure a provider bills;
- *calls*: questions the mind asked (rows that ended a call: ``ok``, ``repaired``, ``cached``,
  ``fallback``);
- *tokens*: prompt + completion tokens as the backend reported them. The scripted model counts
  4 characters of the messages it receives as one token (the usual rule of thumb for English
  with OpenAI's tokenizers) and the same for its reply.

Every figure rests on the scripted model's choices, which decide how often people talk, how
long conversations last and how soon importance adds up to a reflection. ``neutral`` (every
choice uniform: "nobody" is one option among the people offered, a conversation ends with
probability 1/2 a line, importance uniform 1-10) gives a typical figure that coin flips set;
``eager`` (always talks when someone is there, conversations run to the turn cap, importance
mostly 2-4) gives an upper bound that no coin flip sets. The target is the eager one (issue
#13): <= 100 calls and <= 60k tokens per person per day. Reference: Smallville about 1,000
calls and 500k tokens per agent per day (the AGA paper's baseline: 25.4M tokens for 25 agents
over 2 days); AGA itself 42.7 % of that.

    python benchmarks/bench_economy.py                  # seeds 7, 8, 9; neutral and eager
    python benchmarks/bench_economy.py --seeds 7 --hours 12 --profiles eager
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_CALLS = 100  # per person per day, eager profile (issue #13)
TARGET_TOKENS = 60_000
PROFILES = ("neutral", "eager")
SMALLVILLE_CALLS = 1_000
SMALLVILLE_TOKENS = 25_400_000 / 25 / 2  # the AGA paper's baseline, per agent per day
SENT = ("ok", "repaired", "invalid", "error")
ENDED = ("ok", "repaired", "cached", "fallback")


def one_run(
    world: Path, out: Path, seed: int, hours: float, timeout: float, profile: str = "neutral"
) -> dict[str, Any]:
    """Run the world with the scripted model in ``profile`` and read its LLM calls back, per purpose."""
    wall = common.run_hamlet(
        common.run_args(world, out, "--llm-profile", profile, "--seed", seed, "--hours", hours), timeout
    )
    db = sqlite3.connect(out)
    people = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'spawn'").fetchone()[0]
    rows = db.execute("SELECT purpose, status, prompt_tokens, completion_tokens FROM llm_call").fetchall()
    purposes: dict[str, dict[str, float]] = {}
    for purpose, status, prompt, completion in rows:
        entry = purposes.setdefault(purpose, {"calls": 0, "requests": 0, "prompt": 0, "completion": 0})
        entry["calls"] += status in ENDED
        entry["requests"] += status in SENT
        entry["prompt"] += prompt
        entry["completion"] += completion
    lines = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'say'").fetchone()[0]
    talks = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'talk_end'").fetchone()[0]
    reflections = db.execute(
        "SELECT COUNT(*) FROM llm_call WHERE purpose = 'reflection_questions'"
        " AND status IN ('ok', 'repaired', 'cached', 'fallback')"
    ).fetchone()[0]
    db.close()
    return {
        "seed": seed,
        "profile": profile,
        "people": people,
        "wall_s": wall,
        "purposes": purposes,
        "conversations": talks,
        "lines": lines,
        "reflections": reflections,
    }


def per_person_day(run: dict[str, Any], hours: float, key: str, purpose: str | None = None) -> float:
    """A figure of one run, per person per 24 simulated hours (one purpose, or all)."""
    items = [run["purposes"][purpose]] if purpose else run["purposes"].values()
    total = sum(p["prompt"] + p["completion"] for p in items) if key == "tokens" else sum(p[key] for p in items)
    return total / run["people"] * 24 / hours


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--world", default=str(common.ROOT / "worlds" / "smallville.yaml"), help="world file")
    parser.add_argument("--seeds", default="7,8,9", help="comma-separated seeds, one run each (default: 7,8,9)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default: 24)")
    parser.add_argument(
        "--profiles",
        default=",".join(PROFILES),
        help="comma-separated scripted-model profiles (default: neutral,eager)",
    )
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds one run may take")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown or not profiles or not seeds:
        parser.error(f"--profiles: choose from {', '.join(PROFILES)}; --seeds: at least one")

    print(common.machine_line(), flush=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="hamlet-economy-") as tmp:
        for profile in profiles:
            for seed in seeds:
                run = one_run(
                    Path(args.world), Path(tmp) / f"{profile}-seed{seed}.db", seed, args.hours, args.timeout, profile
                )
                runs.setdefault(profile, []).append(run)
                print(
                    f"  {profile} seed {seed}: {run['people']} people, "
                    f"{per_person_day(run, args.hours, 'calls'):.1f} calls and "
                    f"{per_person_day(run, args.hours, 'tokens'):,.0f} tokens a person a day, {run['wall_s']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )

    def med(profile: str, key: str, purpose: str | None = None) -> float:
        return median(
            per_person_day(r, args.hours, key, purpose)
            for r in runs[profile]
            if purpose is None or purpose in r["purposes"]
        )

    def behaviour(profile: str, key: str) -> float:
        return median(r[key] / r["people"] * 24 / args.hours for r in runs[profile])

    first = next(iter(runs.values()))[0]
    print(
        f"\nbench_economy: {Path(args.world).name}, {first['people']} people, {args.hours:g} simulated hours, "
        f"scripted model, seeds {args.seeds}; medians per person per simulated day. Every figure rests on the "
        "scripted model's choices; the target applies to eager, the upper bound"
    )
    rows = []
    for profile in profiles:
        calls, tokens = med(profile, "calls"), med(profile, "tokens")
        lines = median(r["lines"] / max(r["conversations"], 1) for r in runs[profile])
        target = profile == "eager"
        rows += [
            [
                profile,
                "calls (questions asked)",
                calls,
                f"<= {TARGET_CALLS}" if target else "",
                verdict(calls <= TARGET_CALLS) if target else "-",
                f"{calls / SMALLVILLE_CALLS:.1%}",
            ],
            [profile, "requests sent (with repairs and retries)", med(profile, "requests"), "", "-", ""],
            [
                profile,
                "tokens (prompt + completion)",
                tokens,
                f"<= {TARGET_TOKENS:,}" if target else "",
                verdict(tokens <= TARGET_TOKENS) if target else "-",
                f"{tokens / SMALLVILLE_TOKENS:.1%}",
            ],
            [
                profile,
                "prompt / completion tokens",
                f"{med(profile, 'prompt'):,.0f} / {med(profile, 'completion'):,.0f}",
                "",
                "-",
                "",
            ],
            [
                profile,
                "conversations / lines per conversation",
                f"{behaviour(profile, 'conversations'):.1f} / {lines:.1f}",
                "",
                "-",
                "",
            ],
            [profile, "reflections", behaviour(profile, "reflections"), "", "-", ""],
        ]
    print(table(["profile", "figure", "Hamlet", "target", "verdict", "of Smallville's"], rows))
    for profile in profiles:
        purposes = sorted({p for r in runs[profile] for p in r["purposes"]}, key=lambda p: -med(profile, "tokens", p))
        print(f"\nby purpose, {profile} (medians per person per day):")
        print(
            table(
                ["purpose", "calls", "requests", "prompt tokens", "completion tokens", "tokens per call"],
                [
                    [
                        p,
                        med(profile, "calls", p),
                        med(profile, "requests", p),
                        med(profile, "prompt", p),
                        med(profile, "completion", p),
                        med(profile, "tokens", p) / max(med(profile, "calls", p), 1e-9),
                    ]
                    for p in purposes
                ],
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
