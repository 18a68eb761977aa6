"""Text embeddings for memory retrieval: WordLlama offline by default, any OpenAI-compatible endpoint,
a deterministic hash fake for tests, and a by-text cache in front of any of them.

Every embedder returns float32 rows of unit length, so an inner product is a cosine similarity.
Empty or blank texts get the zero vector (relevance 0 to everything) from every embedder alike:
endpoints reject empty inputs, and WordLlama would embed its padding.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np
import openai

from sim.errors import UserError
from sim.run import progress

EXAMPLE_URL = "http://127.0.0.1:8080/v1/text-embedding-3-small"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dim`` numbers each."""

    name: str

    @property
    def dim(self) -> int:
        """How many numbers each vector has."""
        ...

    async def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text, shape ``(len(texts), dim)``; rows have unit length or are all zero."""
        ...

    async def aclose(self) -> None:
        """Release connections, if any; the embedder stays usable."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as float32 with each row scaled to unit length; zero rows stay zero."""
    out = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _blank(text: str) -> bool:
    return not text.strip()


# -- WordLlama -----------------------------------------------------------------------------


@cache
def _wordllama() -> Any:
    """The WordLlama model, loaded once per process (it takes ~0.6 s)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise UserError(
            "--embeddings wordllama: the wordllama package is not installed; pip install 'wordllama>=0.4,<0.5'"
        )
    with progress.stage("loading embeddings (WordLlama)"):
        from wordllama import WordLlama

        # The wheel holds its weights and tokenizer, but the loader looks for the tokenizer in the
        # wrong folder and would download it; pointing cache_dir at the package finds both offline.
        return WordLlama.load(cache_dir=Path(spec.origin).parent, dim=WordLlamaEmbedder.dim, disable_download=True)


class WordLlamaEmbedder:
    """WordLlama's 256-number embeddings: offline, numpy only, about 0.1 ms per sentence."""

    name = "wordllama"
    dim = 256

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Embed on the event loop's thread: a query takes less than a hop to a worker thread would.

        Large batches (rebuilding a stream on resume) hold the loop ~30 µs a text.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keep = [i for i, text in enumerate(texts) if not _blank(text)]
        if keep:
            out[keep] = normalise_rows(_wordllama().embed([texts[i] for i in keep]))
        return out

    async def aclose(self) -> None:
        """Nothing to release."""


# -- OpenAI-compatible endpoints -----------------------------------------------------------


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/embeddings`` endpoint; ``dim`` is 0 until the first reply tells it."""

    batch = 512  # inputs per request, well under the API's limit of 2,048

    def __init__(self, base_url: str, model: str, api_key: str | None = None) -> None:
        self.base_url = base_url
        self.model = model
        self.name = model
        self.dim = 0
        self._api_key = api_key or "not-needed"
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the client was made in

    @property
    def spec(self) -> str:
        """The ``--embeddings`` value this embedder answers to, for error messages."""
        return f"{self.base_url.rstrip('/')}/{self.model}"

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The ``AsyncOpenAI`` client of the running event loop, made on first use in each loop.

        An embedder may outlive its loop (one per process serves run after run), and a client's
        connections belong to the loop that opened them.
        """
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._api_key, max_retries=2, timeout=30)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client; the next request opens a new one."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = self._loop = None

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Ask the endpoint for the non-blank texts, ``batch`` at a time."""
        keep = [i for i, text in enumerate(texts) if not _blank(text)]
        rows: list[np.ndarray] = []
        for start in range(0, len(keep), self.batch):
            rows.append(await self._request([texts[i] for i in keep[start : start + self.batch]]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if rows:
            out[keep] = np.concatenate(rows)
        return out

    async def _request(self, texts: list[str]) -> np.ndarray:
        try:
            reply = await self.client.embeddings.create(model=self.model, input=texts, encoding_format="float")
        except openai.APIConnectionError:
            raise UserError(f"--embeddings {self.spec}: cannot reach the embeddings server") from None
        except openai.APIStatusError as err:
            raise UserError(f"--embeddings {self.spec}: the server answered HTTP {err.status_code}") from None
        # servers may answer out of order; ``index`` says which input each vector belongs to
        data = sorted(reply.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise UserError(f"--embeddings {self.spec}: sent {len(texts)} texts, got {len(data)} vectors")
        vectors = np.asarray([item.embedding for item in data], dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] == 0 or (self.dim and vectors.shape[1] != self.dim):
            raise UserError(f"--embeddings {self.spec}: the server's vectors have inconsistent sizes")
        self.dim = vectors.shape[1]
        return normalise_rows(vectors)


# -- the deterministic fake ----------------------------------------------------------------


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65_536)
def _bucket(token: str, dim: int) -> tuple[int, float]:
    # hashlib, not hash(): Python salts str hashes per process, which would break replays
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % dim, (1.0 if digest[4] & 1 else -1.0)


class HashEmbedder:
    """A bag of lowercase words hashed into ``dim`` signed buckets: texts sharing words are similar."""

    name = "hash"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    async def aclose(self) -> None:
        """Nothing to release."""

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Count each word into its bucket with its sign, then normalise."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _WORD.findall(text.lower()):
                bucket, sign = _bucket(token, self.dim)
                out[row, bucket] += sign
        return normalise_rows(out)


# -- the cache -------------------------------------------------------------------------------


class CachedEmbedder:
    """Remembers each text's vector, so only texts never seen before reach the wrapped embedder.

    ``misses`` counts distinct texts sent to the wrapped embedder; ``hits`` every other text
    asked for (a text repeated within one batch is one miss and then hits). The oldest entries
    are dropped past ``limit`` texts to bound memory (1 KiB a text at 256 numbers).
    """

    def __init__(self, inner: Embedder, limit: int | None = 200_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.limit = limit
        self.hits = 0
        self.misses = 0
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        """The wrapped embedder's size (an endpoint learns it from its first reply)."""
        return self.inner.dim

    def __len__(self) -> int:
        return len(self._vectors)

    async def aclose(self) -> None:
        """Close the wrapped embedder's connections; the cache stays."""
        await self.inner.aclose()

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Embed the texts not cached yet in one batch, then answer every text from the cache."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            fresh = await self.inner.embed(missing)
            for text, vector in zip(missing, fresh, strict=True):
                vector.flags.writeable = False  # callers get copies; the cache must not change
                self._vectors[text] = vector
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._vectors[text]
        if self.limit is not None:
            while len(self._vectors) > self.limit:
                del self._vectors[next(iter(self._vectors))]
        return out


# -- choosing one --------------------------------------------------------------------------

_SHARED: dict[str, CachedEmbedder] = {}


def shared_embedder(spec: str | None) -> CachedEmbedder:
    """One cached embedder per spec for the whole process, shared by every person."""
    key = spec or "wordllama"
    if key not in _SHARED:
        _SHARED[key] = CachedEmbedder(make_embedder(spec))
    return _SHARED[key]


def make_embedder(spec: str | None, api_key: str | None = None) -> Embedder:
    """The embedder named by ``--embeddings``: ``wordllama`` (default), ``hash`` or ``URL/model``."""
    value = "wordllama" if spec is None else spec.strip()
    if value.lower() == "wordllama":
        return WordLlamaEmbedder()
    if value.lower() == "hash":
        return HashEmbedder()
    expected = f"expected wordllama, hash or URL/model (e.g. {EXAMPLE_URL})"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--embeddings {spec!r}: {expected}")
    if "/v1/" in parts.path:
        # the model may itself contain slashes (``BAAI/bge-small-en``), so split at the API root
        head, _, model = value.rpartition("/v1/")
        base_url = head + "/v1"
    else:
        base_url, _, model = value.rstrip("/").rpartition("/")
    if model.strip("/") in ("", "v1") or not urlsplit(base_url).netloc:
        raise UserError(f"--embeddings {spec!r}: no model named after the URL; {expected}")
    return OpenAIEmbedder(base_url, model.strip("/"), api_key)
