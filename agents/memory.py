"""A person's memory stream and the paper's retrieval rule over it.

Retrieval scores each candidate memory as

    score = w_recency * recency + w_importance * importance + w_relevance * relevance

with every component min–max normalised to [0, 1] over the candidates:

- recency = decay ** (simulated hours since the memory was last retrieved): the most recently
  accessed memory scores highest, as Park et al. (2023) say. (Smallville's code ranks by list
  position and inverts it; this does not copy that.)
- importance = the 1–10 score given when the memory was written.
- relevance = cosine similarity to the query: an inner product, as all vectors have unit length.

When every candidate has the same value of a component, that component is 0.5 for all of them:
it then tells the candidates nothing apart, and 0.5 keeps the total on the same scale as when it
does. Cosines closer than float32 rounding (1e-6) count as the same. Equal totals rank the newer
memory (higher id) first, so rankings are deterministic.

Candidates are every memory (created at or before ``before``, when given), scored exactly. A
shortcut that scores only the union of the top few hundred memories by each component (a faiss
search for relevance) was measured and dropped: min–max normalisation needs the lowest cosine of
all, which only a full scan finds, and at 6,000 random memories the shortcut's top-8 equalled the
exhaustive one in 28% of queries. Nor was it faster: reading the vectors dominates either way,
and a BLAS product over the index's own storage reads them as fast as a faiss search does (100k
memories of 256 numbers, 98 MB a query: 6–11 ms at p50 on a busy 2-core machine, against ~8.5 ms
for the shortcut; ``benchmarks/bench_retrieval.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from agents.embeddings import normalise_rows

# The index stores the vectors (they are read in place); should anything search it, OpenMP's
# default threads would add ~16 ms of wake-up to each single query on a small machine, where one
# thread searches 10k vectors in ~0.4 ms. This is process-wide, and set once.
faiss.omp_set_num_threads(1)

KINDS = ("observation", "reflection", "plan", "dialogue", "whisper", "seed")
"""The kinds of memory the generative mind writes."""

_SECONDS_PER_HOUR = 3600.0
_COSINE_TOLERANCE = 1e-6  # float32 rounding: cosines closer than this are the same cosine


@dataclass(slots=True)
class Memory:
    """One memory of one person; ``evidence`` lists the ids a reflection rests on.

    Times are simulated seconds since the run's start. ``accessed`` (the last retrieval, at
    first ``created``) belongs to the stream once the memory is added: change it only through
    ``MemoryStream.retrieve`` or ``MemoryStream.restore``.
    """

    id: int
    kind: str
    text: str
    created: int
    accessed: int
    importance: float
    evidence: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Weights:
    """Retrieval parameters: component weights, recency decay per simulated hour, and how many to return."""

    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0
    decay: float = 0.995
    top_k: int = 8

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` with a one-line reason if the parameters cannot rank anything."""
        for name in ("recency", "importance", "relevance"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"retrieval weight {name} must be a number >= 0, got {value}")
        if self.recency == self.importance == self.relevance == 0:
            raise ValueError(
                "retrieval weights recency, importance and relevance are all 0; at least one must be positive"
            )
        if not (0 < self.decay <= 1):
            raise ValueError(f"retrieval decay must be in (0, 1], got {self.decay}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise ValueError(f"retrieval top_k must be a whole number >= 1, got {self.top_k}")


@dataclass(frozen=True, slots=True)
class Scored:
    """A retrieved memory with its normalised components (0–1) and their weighted total."""

    memory: Memory
    recency: float
    importance: float
    relevance: float
    total: float


def memory_from_row(row: Any) -> Memory:
    """The ``Memory`` of a run file's ``memory`` row (``sim.runfile.tables.MemoryRow`` or the like)."""
    evidence = row.evidence
    if isinstance(evidence, str):
        evidence = json.loads(evidence or "[]")
    created = int(row.t)
    # rows are written once; later access times come from ``MemoryStream.state`` via ``restore``
    accessed = max(created, int(getattr(row, "last_access", None) or 0))
    return Memory(
        id=int(row.id),
        kind=row.kind,
        text=row.text,
        created=created,
        accessed=accessed,
        importance=float(row.importance),
        evidence=tuple(int(e) for e in evidence),
    )


class MemoryStream:
    """One person's memories in id order, with a faiss inner-product index over their unit vectors.

    Ids must increase with each memory added (the person's sequence from 1): position in the
    stream is then id order. ``dim`` is learned from the first vector when not given.
    """

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim
        self._index: faiss.IndexFlatIP | None = faiss.IndexFlatIP(dim) if dim else None
        self._memories: list[Memory] = []
        self._position: dict[int, int] = {}  # memory id -> position in ``_memories`` and the arrays
        # per position, grown by doubling; only the first ``len(self)`` entries are in use
        self._ids = np.zeros(0, dtype=np.int64)
        self._created = np.zeros(0, dtype=np.int64)
        self._accessed = np.zeros(0, dtype=np.int64)  # the truth; ``Memory.accessed`` mirrors it
        self._importance = np.zeros(0, dtype=np.float64)

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def from_memories(cls, memories: Iterable[Memory], vectors: np.ndarray, dim: int | None = None) -> MemoryStream:
        """A stream holding ``memories`` (in id order) with their vectors, row for row."""
        stream = cls(dim)
        stream.extend(list(memories), vectors)
        return stream

    @classmethod
    def from_rows(cls, rows: Iterable[Any], vectors: np.ndarray, dim: int | None = None) -> MemoryStream:
        """A stream rebuilt from one person's ``memory`` rows (in id order) and their texts' vectors."""
        return cls.from_memories([memory_from_row(row) for row in rows], vectors, dim)

    def add(self, memory: Memory, vector: np.ndarray) -> None:
        """Append ``memory`` with its embedding (normalised here; a zero vector stays zero)."""
        self.extend([memory], np.asarray(vector).reshape(1, -1))

    def extend(self, memories: Sequence[Memory], vectors: np.ndarray) -> None:
        """Append several memories at once, in id order, with one vector row each."""
        if not memories:
            return
        rows = normalise_rows(vectors)
        if rows.shape[0] != len(memories):
            raise ValueError(f"{len(memories)} memories but {rows.shape[0]} vectors")
        if not np.isfinite(rows).all():
            raise ValueError("memory vectors must be finite")
        if self._index is None:
            self.dim = rows.shape[1]
            self._index = faiss.IndexFlatIP(self.dim)
        if rows.shape[1] != self.dim:
            raise ValueError(f"memory vectors have {rows.shape[1]} numbers; this stream's have {self.dim}")
        last = self._memories[-1].id if self._memories else None
        for memory in memories:
            if last is not None and memory.id <= last:
                raise ValueError(f"memory id {memory.id} does not follow {last}; ids must increase")
            last = memory.id
        start, end = len(self._memories), len(self._memories) + len(memories)
        self._reserve(end)
        self._ids[start:end] = [m.id for m in memories]
        self._created[start:end] = [m.created for m in memories]
        self._accessed[start:end] = [max(m.accessed, m.created) for m in memories]
        self._importance[start:end] = [m.importance for m in memories]
        for position, memory in enumerate(memories, start):
            memory.accessed = int(self._accessed[position])
            self._position[memory.id] = position
        self._memories.extend(memories)
        self._index.add(rows)

    def _reserve(self, size: int) -> None:
        capacity = len(self._ids)
        if size <= capacity:
            return
        capacity = max(size, 2 * capacity, 64)
        for name in ("_ids", "_created", "_accessed", "_importance"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: len(self._memories)] = old[: len(self._memories)]
            setattr(self, name, new)

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._memories)

    def __iter__(self) -> Iterator[Memory]:
        return iter(list(self._memories))

    def get(self, memory_id: int) -> Memory:
        """The memory with id ``memory_id``; ``KeyError`` if there is none."""
        return self._memories[self._position[memory_id]]

    def recent(self, n: int, kinds: Iterable[str] | None = None) -> list[Memory]:
        """The last ``n`` memories added (of ``kinds``, if given), oldest first."""
        if n <= 0:
            return []
        if kinds is None:
            return self._memories[-n:]
        wanted = set(kinds)
        found: list[Memory] = []
        for memory in reversed(self._memories):
            if memory.kind in wanted:
                found.append(memory)
                if len(found) == n:
                    break
        return found[::-1]

    def since(self, t: int) -> list[Memory]:
        """Memories created at or after simulated second ``t``, in id order."""
        positions = np.flatnonzero(self._created[: len(self)] >= t)
        return [self._memories[p] for p in positions]

    # -- retrieval ---------------------------------------------------------------------------

    def retrieve(
        self,
        query: np.ndarray,
        now: int,
        weights: Weights,
        *,
        k: int | None = None,
        before: int | None = None,
        touch: bool = True,
    ) -> list[Scored]:
        """The ``k`` (default ``weights.top_k``) best memories for ``query`` at ``now``, best first.

        ``before``: only memories created at or before that second take part (an interview "as of"
        a time). ``touch``: set the returned memories' access time to ``now`` (interviews do not).
        Access times later than ``now`` count as ``now``: the stream keeps only the last access.
        """
        k = weights.top_k if k is None else k
        n = len(self)
        if n == 0 or k < 1 or self._index is None:
            return []
        q = normalise_rows(np.asarray(query).reshape(1, -1))[0]
        if q.shape[0] != self.dim:
            raise ValueError(f"query vector has {q.shape[0]} numbers; this stream's have {self.dim}")
        end = n  # candidates lie in positions [0, end); ``picked`` narrows them when not a run
        picked: np.ndarray | None = None
        if before is not None:
            picked = np.flatnonzero(self._created[:n] <= before)
            if len(picked) == 0:
                return []
            end = int(picked[-1]) + 1
            if len(picked) == end:  # memories are usually created in id order: a prefix
                picked = None
        relevance = (self._vectors()[:end] @ q).astype(np.float64)
        accessed = np.minimum(self._accessed[:end], now)
        importance = self._importance[:end]
        if picked is not None:
            relevance, accessed, importance = relevance[picked], accessed[picked], importance[picked]
        positions = np.arange(end) if picked is None else picked
        # decay ** hours, through exp: numpy's exp is vectorised, its pow is not
        recency = np.exp((now - accessed) * (math.log(weights.decay) / _SECONDS_PER_HOUR))
        parts = (_normalise(recency, 0.0), _normalise(importance, 0.0), _normalise(relevance, _COSINE_TOLERANCE))
        total = weights.recency * parts[0]
        total += weights.importance * parts[1]
        total += weights.relevance * parts[2]
        slots = _best(total, positions, k)
        chosen = positions[slots]
        if touch:
            self._accessed[chosen] = np.maximum(self._accessed[chosen], now)
        result = []
        for slot, position in zip(slots, chosen, strict=True):
            memory = self._memories[position]
            if touch:
                memory.accessed = int(self._accessed[position])
            result.append(
                Scored(memory, float(parts[0][slot]), float(parts[1][slot]), float(parts[2][slot]), float(total[slot]))
            )
        return result

    def _vectors(self) -> np.ndarray:
        """The index's vectors as an (n, dim) array, without copying (valid until the next add)."""
        assert self._index is not None and self.dim is not None
        n = self._index.ntotal
        return faiss.rev_swig_ptr(self._index.get_xb(), n * self.dim).reshape(n, self.dim)

    # -- persistence -------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Access times that differ from creation times, as JSON-ready ``{"accessed": {id: t}}``.

        The memories themselves are rows of the run file; only their access times change later.
        """
        n = len(self)
        changed = np.flatnonzero(self._accessed[:n] != self._created[:n])
        return {"accessed": {str(int(self._ids[p])): int(self._accessed[p]) for p in changed}}

    def restore(self, state: dict[str, Any]) -> None:
        """Set every access time to its creation time, then to the times ``state`` lists."""
        accessed = {int(key): int(value) for key, value in state.get("accessed", {}).items()}
        unknown = sorted(set(accessed) - set(self._position))
        if unknown:
            raise ValueError(f"memory stream state names unknown memory ids: {unknown[:5]}")
        n = len(self)
        self._accessed[:n] = self._created[:n]
        for memory_id, t in accessed.items():
            self._accessed[self._position[memory_id]] = t
        for position, memory in enumerate(self._memories):
            memory.accessed = int(self._accessed[position])


def _normalise(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Min–max scaling to [0, 1]; 0.5 for all when the values span no more than ``tolerance``."""
    low, high = float(values.min()), float(values.max())
    if high - low <= tolerance:
        return np.full(len(values), 0.5)
    scaled = values - low
    scaled /= high - low
    return scaled


def _best(total: np.ndarray, positions: np.ndarray, k: int) -> np.ndarray:
    """Indexes into ``total`` of its ``k`` largest, best first; equal totals put the later position first."""
    if k < len(total):
        # everything tied with the k-th best stays in, so the tie-break below sees all of them
        kth = np.partition(total, len(total) - k)[len(total) - k]
        among = np.flatnonzero(total >= kth)
    else:
        among = np.arange(len(total))
    return among[np.lexsort((-positions[among], -total[among]))[:k]]
