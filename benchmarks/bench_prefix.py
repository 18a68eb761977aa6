"""Prompts that caches can reuse: how much of each call repeats its person's last one, and what that is worth.

Runs ``worlds/smallville.yaml`` (nine generative people, every component on) for 24 simulated
hours on the scripted model, once per seed, and reads the ``llm_call`` rows of the requests
sent (first attempts; a repair or a retry resends its call):

- *prompt tokens*: the call's messages rendered and counted by ``sim.llm.prefix`` (a word or
  one mark, with the space before it: no model's tokenizer, the same rule everywhere);
- *prefix tokens*: the row's ``prefix_tokens``, the leading tokens that repeat the same
  person's previous call; *share* = prefix / prompt tokens, per call;
- *schema tokens*: the row's ``schema_tokens``, the answer's JSON Schema as the request carries it;
- *any earlier*: the longest prefix the call shares with any earlier call of its person, what a
  cache that kept all of them would reuse (SGLang's radix tree keeps what memory allows);
- *new tokens*: what a server must still prefill: the prompt less the prefix it finds cached, with a
  cache per person (the person's last call) and with one slot (the request sent just before, of
  whoever made it: llama-cpp-python, and so the embedded model, keeps only that one), in the order
  the scripted run sent them.

What a share is worth depends on the server: vLLM (automatic prefix caching, whole blocks of 16
tokens) and SGLang (RadixAttention, any length) skip the prefill of the tokens they find cached,
so the token-weighted share is the prefill a server keeping each person's last prompt saves
(block-rounded for vLLM). OpenAI caches automatically only prompts of 1,024 tokens or more, in
steps of 128 tokens from 1,024, puts the response schema before the system message (a call
whose schema differs from the last one's shares nothing), and bills cached tokens at half
price on the GPT-4o family (newer models: less); the ``openai`` rows count that.

    python benchmarks/bench_prefix.py                      # seeds 7, 8, 9; about 30 s
    python benchmarks/bench_prefix.py --seeds 7 --hours 12
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

from sim.llm.prefix import count, render, shared

TARGET_SHARE = 0.5
VLLM_BLOCK = 16
OPENAI_MIN, OPENAI_STEP, OPENAI_DISCOUNT = 1024, 128, 0.5


def one_run(world: Path, out: Path, seed: int, hours: float, timeout: float) -> list[dict[str, Any]]:
    """Run the world once and return each request's figures, in the order sent."""
    common.run_hamlet(common.run_args(world, out, "--seed", seed, "--hours", hours, llm="scripted-inprocess"), timeout)
    db = sqlite3.connect(out)
    rows = db.execute(
        "SELECT person, purpose, request, prefix_tokens, schema_tokens FROM llm_call"
        " WHERE attempt = 1 AND status IN ('ok', 'repaired', 'invalid', 'error') ORDER BY id"
    ).fetchall()
    db.close()
    calls = []
    last_schema: dict[str, tuple[str, int]] = {}
    earlier: dict[str, list[str]] = {}
    previous = ""  # the request sent just before, of anyone: all a one-slot server keeps
    for person, purpose, request, prefix, schema in rows:
        body = json.loads(request)
        text = render(body["messages"])
        tokens = count(text)
        mine = earlier.setdefault(person, [])
        anywhere = max((shared(old, text) for old in mine), default=0)
        mine.append(text)
        one_slot = shared(previous, text) if previous else 0
        previous = text
        # OpenAI's view: the schema first, then the messages; the schema repeats when the person's
        # last call had the same answer model with the same size (the decomposition's varies).
        same_schema = last_schema.get(person) == (body["schema"], schema)
        last_schema[person] = (body["schema"], schema)
        calls.append(
            {
                "purpose": purpose,
                "prompt": tokens,
                "prefix": prefix,
                "schema": schema,
                "any": anywhere,
                "one_slot": one_slot,
                "openai_prompt": schema + tokens,
                "openai_prefix": schema + prefix if same_schema else 0,
            }
        )
    return calls


def openai_cached(prompt: int, prefix: int) -> int:
    """Tokens OpenAI bills as cached for a prompt of ``prompt`` tokens whose first ``prefix`` it has seen."""
    if prompt < OPENAI_MIN or prefix < OPENAI_MIN:
        return 0
    return OPENAI_MIN + (prefix - OPENAI_MIN) // OPENAI_STEP * OPENAI_STEP


def figures(calls: list[dict[str, Any]]) -> dict[str, float]:
    """One run's figures: median share, token-weighted shares by server, schema and prompt tokens."""
    prompt = sum(c["prompt"] for c in calls)
    long = [c for c in calls if c["openai_prompt"] >= OPENAI_MIN]
    cached = sum(openai_cached(c["openai_prompt"], c["openai_prefix"]) for c in calls)
    openai_prompt = sum(c["openai_prompt"] for c in calls)
    return {
        "calls": len(calls),
        "median_share": median(c["prefix"] / c["prompt"] for c in calls if c["prompt"]),
        "median_prefix": median(c["prefix"] for c in calls),
        "weighted_share": sum(c["prefix"] for c in calls) / prompt,
        "median_any_share": median(c["any"] / c["prompt"] for c in calls if c["prompt"]),
        "weighted_any_share": sum(c["any"] for c in calls) / prompt,
        "vllm_share": sum(c["prefix"] // VLLM_BLOCK * VLLM_BLOCK for c in calls) / prompt,
        "median_prompt": median(c["prompt"] for c in calls),
        "mean_prompt": prompt / len(calls),
        "run_prompt": prompt,
        "mean_new": sum(c["prompt"] - c["prefix"] for c in calls) / len(calls),
        "mean_new_one_slot": sum(c["prompt"] - c["one_slot"] for c in calls) / len(calls),
        "median_schema": median(c["schema"] for c in calls),
        "openai_long_share": len(long) / len(calls),
        "openai_cached_share": cached / openai_prompt,
        "openai_saving": OPENAI_DISCOUNT * cached / openai_prompt,
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--world", default=str(common.ROOT / "worlds" / "smallville.yaml"), help="world file")
    parser.add_argument("--seeds", default="7,8,9", help="comma-separated seeds, one run each (default: 7,8,9)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default: 24)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds one run may take")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    print(common.machine_line(), flush=True)
    runs: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="hamlet-prefix-") as tmp:
        for seed in seeds:
            runs.append(one_run(Path(args.world), Path(tmp) / f"seed{seed}.db", seed, args.hours, args.timeout))
            print(f"  seed {seed}: {len(runs[-1])} requests", file=sys.stderr, flush=True)
    each = [figures(calls) for calls in runs]

    def med(key: str) -> float:
        return median(f[key] for f in each)

    share = med("median_share")
    print(
        f"\nbench_prefix: {Path(args.world).name}, {args.hours:g} simulated hours, scripted model, seeds "
        f"{args.seeds}; medians over the runs; tokens by sim.llm.prefix's rule"
    )
    print(
        table(
            ["figure", "value", "target", "verdict"],
            [
                ["requests per run", med("calls"), "", "-"],
                ["prompt tokens per request (messages), median", med("median_prompt"), "", "-"],
                ["prompt tokens per request (messages), mean", med("mean_prompt"), "", "-"],
                ["prompt tokens per run (messages)", med("run_prompt"), "", "-"],
                ["new tokens per request after the person's last call, mean", med("mean_new"), "", "-"],
                ["new tokens per request after the request before (one slot), mean", med("mean_new_one_slot"), "", "-"],
                ["schema tokens per request, median", med("median_schema"), "", "-"],
                [
                    "share of a prompt repeating its person's last call, median",
                    share,
                    f">= {TARGET_SHARE}",
                    verdict(share >= TARGET_SHARE),
                ],
                ["prefix tokens per request (repeating the last call), median", med("median_prefix"), "", "-"],
                ["prefix tokens / prompt tokens, all requests (SGLang: prefill saved)", med("weighted_share"), "", "-"],
                ["the same in whole 16-token blocks (vLLM: prefill saved)", med("vllm_share"), "", "-"],
                ["share repeating any earlier call of the person, median", med("median_any_share"), "", "-"],
                ["the same, all requests (a cache keeping every earlier prompt)", med("weighted_any_share"), "", "-"],
                ["OpenAI: requests of >= 1,024 tokens (schema + messages)", med("openai_long_share"), "", "-"],
                ["OpenAI: prompt tokens billed as cached", med("openai_cached_share"), "", "-"],
                ["OpenAI: saving on prompt tokens at half price for cached ones", med("openai_saving"), "", "-"],
            ],
        )
    )
    purposes = sorted({c["purpose"] for calls in runs for c in calls})
    print("\nby purpose (medians over every request of every run):")
    rows = []
    for purpose in purposes:
        calls = [c for run in runs for c in run if c["purpose"] == purpose]
        rows.append(
            [
                purpose,
                len(calls) / len(runs),
                median(c["prompt"] for c in calls),
                median(c["schema"] for c in calls),
                median(c["prefix"] / c["prompt"] for c in calls if c["prompt"]),
                median(c["any"] / c["prompt"] for c in calls if c["prompt"]),
            ]
        )
    rows.sort(key=lambda row: -row[1])
    print(
        table(
            [
                "purpose",
                "requests per run",
                "prompt tokens",
                "schema tokens",
                "share repeating the last call",
                "share repeating any earlier",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
