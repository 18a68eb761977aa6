"""Could a new memory's importance call leave the critical path? How often retrieval does not depend on the score.

A generative wake-up scores each new memory's importance (one call) before its next call, whose
prompt lists memories retrieved by recency, importance and relevance. If that retrieval came out
the same whatever score the model gave, the next call could go out without waiting for the
score, and the log would stay exact. This runs a world on the scripted model and, for every
retrieval made in the same simulated second as some memory was formed (so that the waiting call
would be the one before it), retrieves again with each score the model could give (1-10) to those
memories and counts how often the result is the same:

- in order (the prompts list retrieved memories best first), and
- as a set (were the prompts to list them in some other fixed order).

With more than ``--most`` memories formed in that second (10 ** n retrievals each), the
retrieval is counted as not checked.

    python benchmarks/bench_importance.py                         # smallville, 24 h, seed 5 (a few seconds)
    python benchmarks/bench_importance.py --hours 4 --seed 7

docs/benchmarks.md (section 14) quotes its figures. They rest on the scripted model: which
memories are formed, and so retrieved, follows its choices.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.memory import MemoryStream, Weights  # noqa: E402
from sim.cli import main as hamlet  # noqa: E402

SCORES = range(1, 11)


def probe(counts: Counter[str], most: int) -> Any:
    """A ``MemoryStream.retrieve`` that also counts whether the result depends on the newest memories' scores."""
    retrieve = MemoryStream.retrieve

    def counted(
        self: MemoryStream,
        query: np.ndarray,
        now: int,
        weights: Weights,
        *,
        k: int | None = None,
        before: int | None = None,
        touch: bool = True,
    ) -> Any:
        n = len(self)
        fresh = [p for p in range(n) if int(self._created[p]) == now]
        if fresh and before is None:
            counts["retrievals after a memory was formed"] += 1
            if len(fresh) > most:
                counts["not checked (too many new memories)"] += 1
            else:
                saved = self._importance[:n].copy()
                ordered, unordered = set(), set()
                for scores in itertools.product(SCORES, repeat=len(fresh)):
                    for position, score in zip(fresh, scores, strict=True):
                        self._importance[position] = score
                    found = [s.memory.id for s in retrieve(self, query, now, weights, k=k, touch=False)]
                    ordered.add(tuple(found))
                    unordered.add(frozenset(found))
                    if len(ordered) > 1 and len(unordered) > 1:
                        break
                self._importance[:n] = saved
                counts["the same in order"] += len(ordered) == 1
                counts["the same as a set"] += len(unordered) == 1
        return retrieve(self, query, now, weights, k=k, before=before, touch=touch)

    return counted


def main(argv: list[str] | None = None) -> int:
    """Run the world with the probe, print the counts."""
    parser = argparse.ArgumentParser(
        description="How often retrieval right after a memory is formed does not depend on its importance score.",
        epilog="Figures rest on the scripted model's choices (docs/benchmarks.md, section 14).",
    )
    parser.add_argument("--world", default=str(ROOT / "worlds" / "smallville.yaml"), help="the world file")
    parser.add_argument("--hours", type=float, default=24, help="simulated hours (default: 24)")
    parser.add_argument("--seed", type=int, default=5, help="the run's seed (default: 5)")
    parser.add_argument("--most", type=int, default=3, help="new memories at most to try every score of (default: 3)")
    args = parser.parse_args(argv)
    if args.most < 1 or args.hours <= 0:
        parser.error("--most must be at least 1 and --hours more than 0")
    counts: Counter[str] = Counter()
    MemoryStream.retrieve = probe(counts, args.most)  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.db"
        code = hamlet(
            ["run", args.world, "--llm", "scripted", "--hours", f"{args.hours:g}", "--seed", str(args.seed)]
            + ["--out", str(out), "--quiet"]
        )
    if code:
        return int(code)
    total = counts["retrievals after a memory was formed"]
    checked = total - counts["not checked (too many new memories)"]
    print(f"\nbench_importance: {Path(args.world).name} x {args.hours:g} h, seed {args.seed}, scripted model")
    for key in (
        "retrievals after a memory was formed",
        "not checked (too many new memories)",
        "the same in order",
        "the same as a set",
    ):
        share = f" ({counts[key] / checked:.0%} of those checked)" if key.startswith("the same") and checked else ""
        print(f"  {key}: {counts[key]}{share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
