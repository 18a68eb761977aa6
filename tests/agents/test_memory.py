"""The memory stream: the paper's retrieval rule with hand-computed numbers, access times, persistence,
and large streams checked against an independent exhaustive scorer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from agents.memory import Memory, MemoryStream, Weights
from sim.runfile.tables import MemoryRow

HOUR = 3600
SQRT_HALF = math.sqrt(0.5)


def memory(id: int, created: int, importance: float, kind: str = "observation") -> Memory:
    return Memory(id, kind, f"memory {id}", created, created, importance)


def five() -> MemoryStream:
    """Five memories an hour apart, with 2-number vectors chosen for easy cosines against (1, 0)."""
    stream = MemoryStream()
    stream.add(memory(1, 0 * HOUR, 2), np.array([1.0, 0.0]))  # cosine 1
    stream.add(memory(2, 1 * HOUR, 8), np.array([0.0, 1.0]))  # cosine 0
    stream.add(memory(3, 2 * HOUR, 5), np.array([1.0, 1.0]))  # cosine 1/sqrt(2) = 0.70711 (normalised on add)
    stream.add(memory(4, 3 * HOUR, 2), np.array([-1.0, 0.0]))  # cosine -1
    stream.add(memory(5, 4 * HOUR, 5), np.array([0.6, 0.8]))  # cosine 0.6
    return stream


HALF = Weights(decay=0.5)  # recency halves every simulated hour: powers of two by hand
QUERY = np.array([1.0, 0.0])


def test_a_small_stream_ranks_exactly_as_computed_by_hand() -> None:
    # now = 4 h. Recency = 0.5 ** hours since access: 0.0625, 0.125, 0.25, 0.5, 1
    #   min-max over [0.0625, 1] (span 0.9375): 0, 1/15, 0.2, 7/15, 1
    # Importance 2, 8, 5, 2, 5 over [2, 8] (span 6): 0, 1, 0.5, 0, 0.5
    # Relevance 1, 0, 0.70711, -1, 0.6 over [-1, 1] (span 2) = (c + 1) / 2: 1, 0.5, 0.85355, 0, 0.8
    # Totals: #1 0 + 0 + 1 = 1 | #2 1/15 + 1 + 0.5 = 1.56667 | #3 0.2 + 0.5 + 0.85355 = 1.55355
    #         #4 7/15 + 0 + 0 = 0.46667 | #5 1 + 0.5 + 0.8 = 2.3
    scored = five().retrieve(QUERY, 4 * HOUR, HALF, touch=False)
    assert [s.memory.id for s in scored] == [5, 2, 3, 1, 4]
    expected = {
        5: (1.0, 0.5, 0.8, 2.3),
        2: (1 / 15, 1.0, 0.5, 1 / 15 + 1.5),
        3: (0.2, 0.5, (1 + SQRT_HALF) / 2, 0.7 + (1 + SQRT_HALF) / 2),
        1: (0.0, 0.0, 1.0, 1.0),
        4: (7 / 15, 0.0, 0.0, 7 / 15),
    }
    for s in scored:
        assert (s.recency, s.importance, s.relevance, s.total) == pytest.approx(expected[s.memory.id], abs=1e-6)


def test_weights_scale_each_normalised_component() -> None:
    # Same components as above with relevance weighted 2:
    # #1 0 + 0 + 2 = 2 | #2 1/15 + 1 + 1 = 2.06667 | #3 0.2 + 0.5 + 1.70711 = 2.40711 | #4 0.46667 | #5 1 + 0.5 + 1.6 = 3.1
    scored = five().retrieve(QUERY, 4 * HOUR, Weights(relevance=2.0, decay=0.5), touch=False)
    assert [s.memory.id for s in scored] == [5, 3, 2, 1, 4]
    assert [s.total for s in scored] == pytest.approx([3.1, 0.7 + 1 + SQRT_HALF, 1 / 15 + 2, 2, 7 / 15], abs=1e-6)


def test_k_limits_the_answer_to_the_best() -> None:
    assert [s.memory.id for s in five().retrieve(QUERY, 4 * HOUR, HALF, k=2)] == [5, 2]
    assert [s.memory.id for s in five().retrieve(QUERY, 4 * HOUR, Weights(decay=0.5, top_k=3))] == [5, 2, 3]


def test_the_newest_memory_outranks_an_older_one_at_equal_importance_and_relevance() -> None:
    # now = 2 h, default decay 0.995: recency 0.995 ** 2 = 0.990025 (old) and 0.995 ** 1 = 0.995 (new),
    # normalised to 0 and 1. Importance and relevance are equal: 0.5 each.
    # Totals: old 0 + 0.5 + 0.5 = 1.0, new 1 + 0.5 + 0.5 = 2.0.
    stream = MemoryStream()
    stream.add(memory(1, 0, 4), np.array([0.0, 1.0]))
    stream.add(memory(2, HOUR, 4), np.array([0.0, 1.0]))
    scored = stream.retrieve(np.array([1.0, 1.0]), 2 * HOUR, Weights())
    assert [s.memory.id for s in scored] == [2, 1]
    assert [(s.recency, s.importance, s.relevance, s.total) for s in scored] == [(1, 0.5, 0.5, 2.0), (0, 0.5, 0.5, 1.0)]


def test_a_component_equal_for_all_candidates_is_one_half_and_ties_go_to_the_newer_id() -> None:
    stream = MemoryStream()
    for i in (1, 2, 3):
        stream.add(memory(i, 0, 6), np.array([0.3, 0.4]))
    scored = stream.retrieve(np.array([0.0, 1.0]), 5 * HOUR, Weights())
    assert [(s.recency, s.importance, s.relevance, s.total) for s in scored] == [(0.5, 0.5, 0.5, 1.5)] * 3
    assert [s.memory.id for s in scored] == [3, 2, 1]


def test_an_empty_query_has_no_relevance_to_tell_memories_apart() -> None:
    scored = five().retrieve(np.zeros(2), 4 * HOUR, HALF, touch=False)
    assert {s.relevance for s in scored} == {0.5}


def test_before_leaves_out_memories_created_later_and_renormalises_over_the_rest() -> None:
    # As of 2 h, only #1-#3 exist. Recency 0.5 ** (2, 1, 0) = 0.25, 0.5, 1 over [0.25, 1]: 0, 1/3, 1
    # Importance 2, 8, 5 over [2, 8]: 0, 1, 0.5.  Relevance 1, 0, 0.70711 over [0, 1]: 1, 0, 0.70711
    # Totals: #1 0 + 0 + 1 = 1 | #2 1/3 + 1 + 0 = 1.33333 | #3 1 + 0.5 + 0.70711 = 2.20711
    stream = five()
    scored = stream.retrieve(QUERY, 2 * HOUR, HALF, before=2 * HOUR, touch=False)
    assert [s.memory.id for s in scored] == [3, 2, 1]
    assert [s.total for s in scored] == pytest.approx([1.5 + SQRT_HALF, 4 / 3, 1.0], abs=1e-6)
    assert stream.retrieve(QUERY, 2 * HOUR, HALF, before=-1) == []


def test_retrieval_updates_access_times_unless_told_not_to() -> None:
    stream = five()
    stream.retrieve(QUERY, 4 * HOUR, HALF, k=2, touch=False)
    assert [m.accessed for m in stream] == [0, HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR]
    stream.retrieve(QUERY, 5 * HOUR, HALF, k=2)  # the best two at 5 h are #5 and #2, as at 4 h
    assert [m.accessed for m in stream] == [0, 5 * HOUR, 2 * HOUR, 3 * HOUR, 5 * HOUR]
    # an interview as of 2 h touches nothing, even with touch on, after that time
    stream.retrieve(QUERY, 6 * HOUR, HALF, before=2 * HOUR)
    assert stream.get(4).accessed == 3 * HOUR and stream.get(5).accessed == 5 * HOUR


def test_a_recently_retrieved_memory_counts_as_recent() -> None:
    # #1 (created 0) is retrieved at 3 h; #2 (created 1 h) never is. At 4 h, with relevance and
    # importance equal, #1's recency is 0.5 ** 1 against #2's 0.5 ** 3: #1 now ranks first.
    stream = MemoryStream()
    stream.add(memory(1, 0, 3), np.array([1.0, 0.0]))
    stream.add(memory(2, HOUR, 3), np.array([1.0, 0.0]))
    stream.retrieve(QUERY, 3 * HOUR, HALF, k=1, before=0)
    assert stream.get(1).accessed == 3 * HOUR
    assert [s.memory.id for s in stream.retrieve(QUERY, 4 * HOUR, HALF)] == [1, 2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"recency": -1.0}, "recency must be a number >= 0"),
        ({"relevance": float("nan")}, "relevance must be a number >= 0"),
        ({"recency": 0.0, "importance": 0.0, "relevance": 0.0}, "all 0"),
        ({"decay": 0.0}, "decay must be in (0, 1]"),
        ({"decay": 1.5}, "decay must be in (0, 1]"),
        ({"top_k": 0}, "top_k must be a whole number >= 1"),
    ],
)
def test_weights_that_cannot_rank_are_rejected_with_a_clear_message(args: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
        Weights(**args)
    Weights(recency=0.0, importance=0.0, relevance=1.0, decay=1.0, top_k=1).check()  # edges that are fine


def test_the_stream_reads_in_id_order() -> None:
    stream = five()
    assert len(stream) == 5 and [m.id for m in stream] == [1, 2, 3, 4, 5]
    assert stream.get(3).importance == 5
    with pytest.raises(KeyError):
        stream.get(9)
    assert [m.id for m in stream.recent(2)] == [4, 5]
    assert [m.id for m in stream.since(3 * HOUR)] == [4, 5]
    stream.add(Memory(6, "reflection", "insight", 5 * HOUR, 5 * HOUR, 7, (2, 3)), np.array([0.0, 1.0]))
    stream.add(memory(7, 6 * HOUR, 1), np.array([0.0, 1.0]))
    assert [m.id for m in stream.recent(2, kinds=("reflection", "plan"))] == [6]
    assert [m.id for m in stream.recent(10)][0] == 1


def test_ids_must_increase_and_vectors_must_fit() -> None:
    stream = five()
    with pytest.raises(ValueError, match="ids must increase"):
        stream.add(memory(5, 9 * HOUR, 1), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="3 numbers; this stream's have 2"):
        stream.add(memory(6, 9 * HOUR, 1), np.array([1.0, 0.0, 0.0]))
    assert len(stream) == 5


def test_access_times_survive_state_and_a_rebuild_from_run_file_rows() -> None:
    stream = five()
    stream.retrieve(QUERY, 5 * HOUR, HALF, k=2)  # touches #5 and #2
    state = json.loads(json.dumps(stream.state()))
    assert state == {"accessed": {"2": 5 * HOUR, "5": 5 * HOUR}}
    rows = [
        MemoryRow(
            person="Ann",
            id=m.id,
            tick=0,
            t=m.created,
            kind=m.kind,
            text=m.text,
            importance=m.importance,
            evidence=json.dumps(list(m.evidence)),
        )
        for m in stream
    ]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
    rebuilt = MemoryStream.from_rows(rows, vectors)
    rebuilt.restore(state)
    assert [m.accessed for m in rebuilt] == [m.accessed for m in stream]
    assert rebuilt.retrieve(QUERY, 6 * HOUR, HALF) == stream.retrieve(QUERY, 6 * HOUR, HALF)
    with pytest.raises(ValueError, match="unknown memory ids"):
        rebuilt.restore({"accessed": {"99": 0}})


# -- large streams: the candidate search against exhaustive scoring ------------------------


def exhaustive(
    ids: np.ndarray,
    vectors: np.ndarray,
    created: np.ndarray,
    accessed: np.ndarray,
    importance: np.ndarray,
    query: np.ndarray,
    now: int,
    weights: Weights,
    k: int,
    before: int | None = None,
) -> list[int]:
    """The paper's rule over every memory, written independently of the stream's code."""
    keep = np.ones(len(ids), bool) if before is None else created <= before

    def scale(values: np.ndarray) -> np.ndarray:
        span = values.max() - values.min()
        return np.full(len(values), 0.5) if span <= 1e-6 else (values - values.min()) / span

    recency = weights.decay ** ((now - np.minimum(accessed[keep], now)) / 3600)
    relevance = vectors[keep] @ (query / np.linalg.norm(query))
    total = (
        weights.recency * scale(recency)
        + weights.importance * scale(importance[keep])
        + weights.relevance * scale(relevance.astype(np.float64))
    )
    order = np.lexsort((-ids[keep], -total))[:k]
    return [int(i) for i in ids[keep][order]]


def random_stream(n: int, dim: int, seed: int) -> tuple[MemoryStream, dict[str, np.ndarray]]:
    """``n`` memories over 30 simulated days, a third of them retrieved since, importance 1-10."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    created = np.sort(rng.integers(0, 30 * 24 * HOUR, n))
    accessed = np.where(rng.random(n) < 1 / 3, rng.integers(created, 30 * 24 * HOUR + 1), created)
    importance = rng.integers(1, 11, n).astype(np.float64)
    ids = np.arange(1, n + 1)
    memories = [
        Memory(int(i), "observation", "", int(c), int(a), float(m))
        for i, c, a, m in zip(ids, created, accessed, importance, strict=True)
    ]
    arrays: dict[str, np.ndarray] = {
        "ids": ids,
        "vectors": vectors,
        "created": created,
        "accessed": accessed,
        "importance": importance,
    }
    return MemoryStream.from_memories(memories, vectors), arrays


def test_retrieval_is_exhaustive_scoring_for_large_streams_too() -> None:
    # 6,000 memories: more than a shortcut over per-component top lists could rank exactly
    stream, arrays = random_stream(6000, 32, seed=3)
    rng = np.random.default_rng(4)
    now = 30 * 24 * HOUR
    cases = [
        (Weights(), 8, None),
        (Weights(relevance=3.0), 8, None),
        (Weights(decay=0.99), 20, None),
        (Weights(recency=0.0), 8, None),
        (Weights(), 8, 25 * 24 * HOUR),
    ]
    for weights, k, before in cases:
        for _ in range(40):
            query = rng.standard_normal(32)
            got = [s.memory.id for s in stream.retrieve(query, now, weights, k=k, before=before, touch=False)]
            assert got == exhaustive(**arrays, query=query, now=now, weights=weights, k=k, before=before), (
                weights,
                k,
                before,
            )


def test_before_picks_the_right_memories_when_creation_times_are_out_of_id_order() -> None:
    # a whisper planted late may carry an early time; #3 (created at 0) is a candidate as of 1 h
    stream = MemoryStream()
    stream.add(memory(1, 0, 5), np.array([1.0, 0.0]))
    stream.add(memory(2, 2 * HOUR, 5), np.array([1.0, 0.0]))
    stream.add(memory(3, 0, 5, kind="whisper"), np.array([1.0, 0.0]))
    assert [s.memory.id for s in stream.retrieve(QUERY, HOUR, HALF, before=HOUR)] == [3, 1]
    assert stream.get(2).accessed == 2 * HOUR
