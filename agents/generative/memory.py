"""Memory: the person's memory stream, importance scoring and retrieval (Park et al. 2023 §4.1).

The stream itself (``agents.memory.MemoryStream``) scores recency, importance and relevance;
this component stores memories as rows of the run file, scores new ones with the model, rebuilds
the stream after a resume, and counts the importance perceived since the last reflection.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, create_model

from agents.embeddings import Embedder, shared_embedder
from agents.generative.identity import Identity
from agents.memory import Memory, MemoryStream, Weights
from sim.core.mind import MindContext, Recalled
from sim.runfile.log import dumps

IMPORTANCE_SCALE = (
    "On a scale of 1 to 10, where 1 is purely mundane (brushing teeth, making the bed) and "
    "10 is extremely poignant (a break-up, a death, big news), rate each memory"
)


def weights(params: dict[str, Any]) -> Weights:
    """The retrieval weights a parameter set describes."""
    return Weights(
        float(params["w_recency"]),
        float(params["w_importance"]),
        float(params["w_relevance"]),
        float(params["decay"]),
        int(params["top_k"]),
    )


@cache
def importance_model(count: int) -> type[BaseModel]:
    """The schema scoring ``count`` memories at once, 1 (mundane) to 10 (poignant)."""
    return create_model(
        "Importance", scores=(list[Annotated[int, Field(ge=1, le=10)]], Field(min_length=count, max_length=count))
    )


class Memories:
    """The memory stream of one person, with what it takes to store, score, recall and resume it."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("importance",)
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {"next_id": 1, "importance_since": 0.0, "stream": {}, "ready": False}
    """The state of a person who has not woken yet."""

    def __init__(self, identity: Identity, ctx: MindContext, params: dict[str, Any]) -> None:
        self.identity, self.ctx = identity, ctx
        self.weights = weights(params)
        self.embedder: Embedder = shared_embedder(params["embeddings"])
        self.stream: MemoryStream | None = None
        # state saved in snapshots (memories themselves are rows of the run file):
        self.next_id = 1
        self.ready = False  # seed memories stored, or the stream rebuilt after a resume
        self.importance_since = 0.0  # of observations and conversations stored since the last reflection
        self._restored: dict[str, Any] = {}
        # (stream length, its texts): ``knows`` without a scan each time
        self._texts: tuple[int, set[str]] | None = None
        self._resumed = False

    async def remember(
        self, kind: str, texts: list[str], importance: list[float], t: int, evidence: list[list[int]] | None = None
    ) -> list[Memory]:
        """Store ``texts`` as memories of ``kind`` formed at second ``t``, and write their rows."""
        if not texts:
            return []
        vectors = await self.embedder.embed(texts)
        stream = self._stream(vectors.shape[1])
        made = []
        for index, text in enumerate(texts):
            proof = tuple(evidence[index]) if evidence else ()
            memory = Memory(self.next_id, kind, text, t, t, float(importance[index]), proof)
            self.next_id += 1
            stream.add(memory, vectors[index])
            self.ctx.memories.append(
                {
                    "id": memory.id,
                    "t": t,
                    "kind": kind,
                    "text": text,
                    "importance": memory.importance,
                    "evidence": dumps(list(proof)),
                }
            )
            made.append(memory)
        return made

    def _stream(self, dim: int) -> MemoryStream:
        if self.stream is None:
            self.stream = MemoryStream(dim)
        return self.stream

    async def retrieve(
        self, query: str, now: int, *, k: int | None = None, before: int | None = None, touch: bool = True
    ) -> list[Memory]:
        """The memories most worth recalling for ``query`` at second ``now``."""
        if self.stream is None or len(self.stream) == 0:
            return []
        vector = (await self.embedder.embed([query]))[0]
        scored = self.stream.retrieve(vector, now, self.weights, k=k, before=before, touch=touch)
        return [s.memory for s in scored]

    def recent(self, n: int, kinds: tuple[str, ...] | None = None) -> list[Memory]:
        """The ``n`` newest memories (of ``kinds``), oldest first; none before the first wake."""
        return self.stream.recent(n, kinds=kinds) if self.stream is not None else []

    def knows(self, text: str) -> bool:
        """Whether ``text`` is already a memory (so scoring it again needs no call)."""
        if self.stream is None:
            return False
        if self._texts is None or self._texts[0] != len(self.stream):
            self._texts = (len(self.stream), {m.text for m in self.stream})
        return text in self._texts[1]

    async def score(self, texts: list[str], t: int) -> list[float]:
        """Importance for each text: known texts keep their score, the rest are scored in one call."""
        known = {m.text: m.importance for m in self.stream} if self.stream is not None else {}
        missing = [text for text in dict.fromkeys(texts) if text not in known]
        if missing:
            schema = importance_model(len(missing))
            listing = "\n".join(f"{i}. {text}" for i, text in enumerate(missing, 1))
            fallback = schema(scores=[3] * len(missing))
            answer = await self.identity.ask(schema, "importance", f"{IMPORTANCE_SCALE}:\n{listing}", fallback, t=t)
            known.update(zip(missing, answer.scores, strict=True))
        return [float(known[text]) for text in texts]

    async def wake(self, now: int) -> None:
        """Before the first use: store the seed memories, or rebuild the stream from the run file after a resume."""
        if self.ready:
            return
        self.ready = True
        rows = self.ctx.recorded
        if self._resumed:  # rebuild the stream from the run file, then the access times
            if not rows:
                return
            vectors = await self.embedder.embed([row["text"] for row in rows])
            stream = self._stream(vectors.shape[1])
            for row, vector in zip(rows, vectors, strict=True):
                stream.add(
                    Memory(
                        row["id"],
                        row["kind"],
                        row["text"],
                        row["t"],
                        row["t"],
                        row["importance"],
                        tuple(row["evidence"]),
                    ),
                    vector,
                )
            if self._restored.get("stream"):
                stream.restore(self._restored["stream"])
            return
        seeds = self.identity.seeds()
        await self.remember("seed", seeds, await self.score(seeds, now), now)

    def state(self) -> dict[str, Any]:
        """The id counter, the importance since the last reflection and the stream's access times."""
        return {
            "next_id": self.next_id,
            "importance_since": self.importance_since,
            # Restored but not woken since: the stream is rebuilt lazily, so say what was restored
            # (a snapshot taken before this person's next wake equals an uninterrupted run's).
            "stream": self.stream.state() if self.stream is not None else self._restored.get("stream", {}),
            "ready": self.ready or bool(self._restored.get("ready")),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved; the stream is rebuilt from the run file on the next wake."""
        self.next_id, self.importance_since = state["next_id"], state["importance_since"]
        self._restored = state
        self.ready = False
        # rebuild the stream from recorded rows; seed only if that never happened
        self._resumed = bool(state["ready"]) or bool(self.ctx.recorded)


def recall_rows(
    rows: list[dict[str, Any]], state: dict[str, Any], query: str, now: int, params: dict[str, Any], k: int = 20
) -> list[Recalled]:
    """What a person would recall for ``query`` at second ``now``, read from run-file rows (for viewers).

    The stream is rebuilt from ``rows`` (one person's memory rows formed by then, in id order) with
    the access times of ``state`` (the mind's saved state at or before then), embedded with the
    run's own embedder, and scored exactly as the mind would, touching none of them.
    """
    if not rows or not query.strip():
        return []
    embedder = shared_embedder(params.get("embeddings"))
    texts = [str(row["text"]) for row in rows]
    vectors = asyncio.run(embedder.embed([*texts, query]))
    stream = MemoryStream.from_rows([_Row(row) for row in rows], vectors[:-1])
    accessed = state.get("stream", {}).get("accessed", {})
    ids = {int(r["id"]) for r in rows}
    stream.restore({"accessed": {key: value for key, value in accessed.items() if int(key) in ids}})
    scored = stream.retrieve(vectors[-1], now, weights(params), k=k, before=now, touch=False)
    return [
        Recalled(
            s.memory.id,
            s.memory.kind,
            s.memory.text,
            s.memory.created,
            s.memory.importance,
            s.recency,
            s.importance,
            s.relevance,
            s.total,
        )
        for s in scored
    ]


class _Row:
    """A memory row dict seen with attribute access, as ``agents.memory.memory_from_row`` reads rows."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.id, self.t, self.kind, self.text = row["id"], row["t"], row["kind"], row["text"]
        self.importance, self.evidence = row["importance"], row["evidence"]
