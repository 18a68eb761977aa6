"""Memory retrieval latency for one person: 1k, 10k and 100k memories in one stream.

Each stream holds memories written as a generative agent writes them: short sentences from
templates ("Klaus Mueller is reading a book at the library"), embedded with WordLlama (256
numbers), created over simulated weeks, a third of them retrieved again later, importance 1-10.
``--random-vectors`` stores random unit vectors instead (faster to set up; the same cost to
search, which never looks at what the vectors mean).

Each query is a fresh sentence, timed two ways (p50 and p99 over the queries):

- search+score: ``MemoryStream.retrieve`` with the default weights and top-8: every candidate's
  cosine, recency and importance, min-max normalised, the weighted total and the top-k.
- with query embedding: the query's WordLlama embedding (uncached) plus the above; what a mind
  pays per retrieval. The targets apply to this column: <= 2 ms at 10k, <= 10 ms at 100k.

    python benchmarks/bench_retrieval.py                       # 1k, 10k, 100k; 300 queries each
    python benchmarks/bench_retrieval.py --sizes 1000 10000 --queries 1000 --random-vectors
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import common
import numpy as np
from common import percentile, table, verdict

from agents.embeddings import WordLlamaEmbedder
from agents.memory import Memory, MemoryStream, Weights

TARGETS_MS = {10_000: 2.0, 100_000: 10.0}
HOUR = 3600

PEOPLE = [
    "Isabella Rodriguez",
    "Klaus Mueller",
    "Maria Lopez",
    "Tom Moreno",
    "Ayesha Khan",
    "Sam Moore",
    "Jennifer Moore",
    "Carlos Gomez",
    "Wolfgang Schulz",
    "Latoya Williams",
]
DOINGS = [
    "reading a book",
    "drinking coffee",
    "talking about the election",
    "planning a party",
    "painting a portrait",
    "writing a research paper",
    "cooking dinner",
    "jogging",
    "arguing about rent prices",
    "practising the guitar",
    "sweeping the floor",
    "taking a nap",
    "ordering breakfast",
    "studying chemistry",
    "fixing a leaking tap",
    "telling a joke",
]
PLACES = [
    "at Hobbs Cafe",
    "at the library",
    "in the park",
    "at home",
    "at the college",
    "at the pharmacy",
    "at The Rose and Crown Pub",
    "at the supply store",
    "in the kitchen",
]
THOUGHTS = [
    "seems worried about",
    "is excited about",
    "keeps mentioning",
    "wants to talk about",
    "has not heard about",
    "is curious about",
]
TOPICS = [
    "the Valentine's Day party",
    "the mayoral election",
    "the new bakery",
    "the exam results",
    "the rent increase",
    "the art exhibition",
    "the broken fountain",
    "a job offer",
]


def sentence(rng: random.Random) -> str:
    """A memory-like sentence: an observation most of the time, otherwise an impression."""
    who = rng.choice(PEOPLE)
    if rng.random() < 0.7:
        return f"{who} is {rng.choice(DOINGS)} {rng.choice(PLACES)}"
    return f"{who} {rng.choice(THOUGHTS)} {rng.choice(TOPICS)}"


async def build(
    size: int, embedder: WordLlamaEmbedder, rng: random.Random, random_vectors: bool
) -> tuple[MemoryStream, int, float]:
    """A stream of ``size`` memories over 30 simulated days; returns it, 'now' and the set-up seconds."""
    began = time.perf_counter()
    span = 30 * 24 * HOUR
    created = sorted(rng.randrange(span) for _ in range(size))
    memories = []
    for i, t in enumerate(created, 1):
        accessed = rng.randrange(t, span) if rng.random() < 1 / 3 else t
        memories.append(Memory(i, "observation", "", t, accessed, float(rng.randint(1, 10))))
    if random_vectors:
        vectors = np.random.default_rng(rng.randrange(2**32)).standard_normal((size, embedder.dim))
    else:
        texts = [sentence(rng) for _ in range(size)]
        for memory, text in zip(memories, texts, strict=True):
            memory.text = text
        vectors = await embedder.embed(texts)
    stream = MemoryStream.from_memories(memories, vectors.astype(np.float32))
    return stream, span, time.perf_counter() - began


async def measure(size: int, queries: int, random_vectors: bool, seed: int) -> dict[str, Any]:
    """Time ``queries`` retrievals from a stream of ``size`` memories."""
    rng = random.Random(seed)
    embedder = WordLlamaEmbedder()
    await embedder.embed(["warm up the model"])  # loading once per process is not a retrieval
    stream, now, setup_s = await build(size, embedder, rng, random_vectors)
    weights = Weights()
    texts = [f"What do I know about {rng.choice(PEOPLE)} and {rng.choice(TOPICS)}? ({i})" for i in range(queries)]
    for text in texts[:20]:  # warm caches and code paths
        stream.retrieve((await embedder.embed([text]))[0], now, weights)
    search_ms: list[float] = []
    total_ms: list[float] = []
    for text in texts:
        began = time.perf_counter()
        vector = (await embedder.embed([text]))[0]
        embedded = time.perf_counter()
        found = stream.retrieve(vector, now, weights)
        done = time.perf_counter()
        assert len(found) == weights.top_k
        search_ms.append((done - embedded) * 1000)
        total_ms.append((done - began) * 1000)
    return {
        "memories": size,
        "queries": queries,
        "setup_s": setup_s,
        "stored": "random vectors" if random_vectors else "WordLlama sentences",
        "search_p50_ms": percentile(search_ms, 0.5),
        "search_p99_ms": percentile(search_ms, 0.99),
        "total_p50_ms": percentile(total_ms, 0.5),
        "total_p99_ms": percentile(total_ms, 0.99),
        "vectors_mb": size * embedder.dim * 4 / 2**20,
    }


def report(results: list[dict[str, Any]]) -> str:
    """The table of figures, with the targets where the issue sets them."""
    rows = []
    for r in results:
        target = TARGETS_MS.get(r["memories"])
        rows.append(
            [
                r["memories"],
                r["search_p50_ms"],
                r["search_p99_ms"],
                r["total_p50_ms"],
                r["total_p99_ms"],
                f"<= {target:g} ms" if target else "-",
                verdict(r["total_p50_ms"] <= target if target else None),
                r["vectors_mb"],
            ]
        )
    return table(
        [
            "memories",
            "search+score p50 ms",
            "p99 ms",
            "with query embedding p50 ms",
            "p99 ms",
            "target (p50)",
            "",
            "vectors MB",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000, 10_000, 100_000],
        help="memories in the stream (default: 1000 10000 100000)",
    )
    parser.add_argument("--queries", type=int, default=300, help="timed queries per size (default: 300)")
    parser.add_argument("--random-vectors", action="store_true", help="store random unit vectors, not sentences")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)

    print(common.machine_line(), flush=True)
    results = []
    for size in args.sizes:
        result = asyncio.run(measure(size, args.queries, args.random_vectors, args.seed))
        print(f"  {size:,} memories: set up in {result['setup_s']:.1f} s", flush=True)
        results.append(result)
    stored = "random unit vectors" if args.random_vectors else "WordLlama-embedded sentences"
    print(
        f"\nbench_retrieval: one person's stream of {stored}, default weights, top-8, {args.queries} queries per size"
    )
    print(report(results))
    common.write_figures(args.json, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
