"""Embedders: unit rows, WordLlama offline, an OpenAI-compatible endpoint over loopback, the hash fake,
the by-text cache, and the ``--embeddings`` values ``make_embedder`` takes."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import numpy as np
import pytest

from agents import embeddings
from agents.embeddings import (
    CachedEmbedder,
    HashEmbedder,
    OpenAIEmbedder,
    WordLlamaEmbedder,
    make_embedder,
    normalise_rows,
)
from sim.errors import UserError


def embed(embedder: Any, texts: list[str]) -> np.ndarray:
    return asyncio.run(embedder.embed(texts))


def test_normalised_rows_have_unit_length_and_zero_rows_stay_zero() -> None:
    rows = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert rows.dtype == np.float32
    assert rows.tolist() == [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]


# -- the hash fake ---------------------------------------------------------------------------


def test_hash_vectors_are_unit_rows_and_texts_sharing_words_are_closer() -> None:
    vectors = embed(
        HashEmbedder(),
        [
            "Isabella plans a party at the cafe",
            "The party at the cafe starts at five",
            "Klaus reads about gentrification",
            "",
        ],
    )
    assert vectors.shape == (4, 256) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors[:3], axis=1) == pytest.approx([1, 1, 1])
    assert not vectors[3].any(), "an empty text is the zero vector"
    shared, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert shared > 0.3 and shared > unrelated + 0.3


def test_hash_vectors_are_the_same_in_every_process() -> None:
    # Python's own hash() is salted per process; the buckets must not be, or replays would drift.
    # These numbers were computed once with blake2b and pinned.
    assert embeddings._bucket("cafe", 256) == (88, 1.0)
    assert embeddings._bucket("party", 256) == (231, -1.0)
    vector = embed(HashEmbedder(), ["Party, party; CAFE"])[0]
    # "party" twice in bucket 231 (sign -, so -2) and "cafe" once in bucket 88 (+1): (-2, 1) / sqrt(5)
    assert vector[231] == pytest.approx(-2 / 5**0.5) and vector[88] == pytest.approx(1 / 5**0.5)
    assert np.count_nonzero(vector) == 2


# -- the cache -------------------------------------------------------------------------------


class Counting(HashEmbedder):
    """A hash embedder that remembers every batch it was asked for."""

    def __init__(self) -> None:
        super().__init__(dim=8)
        self.batches: list[list[str]] = []

    async def embed(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return await super().embed(texts)


def test_the_cache_embeds_each_new_text_once_in_one_batch_and_counts_hits() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner)
    first = embed(cached, ["a b", "c", "a b"])
    assert inner.batches == [["a b", "c"]]
    assert (cached.misses, cached.hits) == (2, 1), "the repeated text is sent once, then served"
    second = embed(cached, ["c", "d", "a b"])
    assert inner.batches == [["a b", "c"], ["d"]]
    assert (cached.misses, cached.hits) == (3, 3)
    assert np.array_equal(second, embed(HashEmbedder(dim=8), ["c", "d", "a b"]))
    assert np.array_equal(first[0], second[2])
    second[:] = 0  # the caller's copy; the cache is untouched
    assert embed(cached, ["c"]).any()
    assert cached.dim == 8 and cached.name == "hash"


def test_the_cache_drops_its_oldest_texts_past_its_limit() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, limit=2)
    embed(cached, ["a", "b", "c"])
    assert len(cached) == 2
    embed(cached, ["c", "a"])
    assert inner.batches[-1] == ["a"], "'a' was the oldest and was dropped"


# -- WordLlama -------------------------------------------------------------------------------


def test_wordllama_loads_without_the_network_and_ranks_related_sentences_closer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("WordLlama tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    embeddings._wordllama.cache_clear()
    embedder = WordLlamaEmbedder()
    vectors = embed(
        embedder,
        ["The cat sat on the mat.", "A kitten was sitting on the rug.", "Stock markets fell sharply today.", "   "],
    )
    assert vectors.shape == (4, 256) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors[:3], axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    assert not vectors[3].any(), "a blank text is the zero vector"
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    assert embed(embedder, []).shape == (0, 256)


# -- an OpenAI-compatible endpoint ---------------------------------------------------------


class EmbeddingServer:
    """Answers POST /v1/embeddings with [len(text), 1, 0] per input, listed in reverse order."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path, _ = head[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if ":" in line)
                }
                body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))) or b"{}")
                self.auth.append(headers.get("authorization", ""))
                status, payload = self.respond(method, path, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def respond(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method != "POST" or path != "/v1/embeddings":
            return 404, {"error": {"message": f"no route {method} {path}"}}
        if self.status != 200:
            return self.status, {"error": {"message": "refused"}}
        self.bodies.append(body)
        texts = body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]} for i, t in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        return 200, {
            "object": "list",
            "data": data[::-1],
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def with_server(server: EmbeddingServer, test: Any) -> None:
    async def main() -> None:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        embedder = make_embedder(f"http://127.0.0.1:{port}/v1/test-embed", api_key="sk-test")
        assert isinstance(embedder, OpenAIEmbedder)
        try:
            await test(embedder)
        finally:
            await embedder.aclose()
            listener.close()

    asyncio.run(main())


def test_an_openai_compatible_endpoint_gives_unit_rows_in_input_order() -> None:
    server = EmbeddingServer()

    async def test(embedder: OpenAIEmbedder) -> None:
        assert embedder.dim == 0, "unknown until the first reply"
        vectors = await embedder.embed(["abc", "", "abcd"])
        assert embedder.dim == 3 and embedder.name == "test-embed"
        assert vectors.dtype == np.float32 and vectors.shape == (3, 3)
        # [3, 1, 0] / sqrt(10) and [4, 1, 0] / sqrt(17); the blank text is never sent
        assert vectors[0] == pytest.approx([3 / 10**0.5, 1 / 10**0.5, 0])
        assert not vectors[1].any()
        assert vectors[2] == pytest.approx([4 / 17**0.5, 1 / 17**0.5, 0])
        assert (await embedder.embed([])).shape == (0, 3)

    with_server(server, test)
    assert server.bodies == [{"model": "test-embed", "input": ["abc", "abcd"], "encoding_format": "float"}]
    assert server.auth == ["Bearer sk-test"]


def test_one_endpoint_embedder_serves_one_event_loop_after_another() -> None:
    # a process-wide embedder outlives each run's loop; its client must follow the loop
    server = EmbeddingServer()

    async def main(embedder: OpenAIEmbedder | None) -> OpenAIEmbedder:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", port)
        if embedder is None:
            made = make_embedder(f"http://127.0.0.1:{port}/v1/m")
            assert isinstance(made, OpenAIEmbedder)
            embedder = made
        try:
            assert (await embedder.embed(["ab"])).shape == (1, 3)
        finally:
            listener.close()
        return embedder

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    embedder = asyncio.run(main(None))
    asyncio.run(main(embedder))
    assert len(server.bodies) == 2


def test_an_endpoint_that_refuses_is_a_one_line_user_error() -> None:
    async def test(embedder: OpenAIEmbedder) -> None:
        with pytest.raises(
            UserError,
            match=r"^--embeddings http://127\.0\.0\.1:\d+/v1/test-embed: "
            r"the server answered HTTP 401$",
        ):
            await embedder.embed(["hello"])

    with_server(EmbeddingServer(status=401), test)


def test_an_unreachable_endpoint_is_a_one_line_user_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    embedder = make_embedder(f"http://127.0.0.1:{port}/v1/m")
    assert isinstance(embedder, OpenAIEmbedder)

    async def test() -> None:
        embedder.client.max_retries = 0
        try:
            with pytest.raises(UserError, match="cannot reach the embeddings server"):
                await embedder.embed(["hello"])
        finally:
            await embedder.aclose()

    asyncio.run(test())


# -- choosing one ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "base_url", "model"),
    [
        ("http://127.0.0.1:8080/v1/text-embedding-3-small", "http://127.0.0.1:8080/v1", "text-embedding-3-small"),
        ("https://api.example.com/v1/BAAI/bge-small-en-v1.5", "https://api.example.com/v1", "BAAI/bge-small-en-v1.5"),
        ("http://gpu:11434/v1/nomic-embed-text/", "http://gpu:11434/v1", "nomic-embed-text"),
        ("http://localhost:9000/embed-model", "http://localhost:9000", "embed-model"),
        ("http://host/api/v2/e5", "http://host/api/v2", "e5"),
    ],
)
def test_a_url_names_the_endpoint_and_its_model(spec: str, base_url: str, model: str) -> None:
    embedder = make_embedder(spec)
    assert isinstance(embedder, OpenAIEmbedder)
    assert (embedder.base_url, embedder.model) == (base_url, model)


def test_the_default_is_wordllama_and_hash_is_the_fake() -> None:
    assert isinstance(make_embedder(None), WordLlamaEmbedder)
    assert isinstance(make_embedder("WordLlama"), WordLlamaEmbedder)
    assert isinstance(make_embedder("hash"), HashEmbedder)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "bert",
        "ftp://host/v1/m",
        "http://",
        "http://host:8080",
        "http://host:8080/",
        "http://host:8080/v1",
        "http://host:8080/v1/",
    ],
)
def test_a_bad_embeddings_value_is_a_one_line_error_naming_the_flag_and_value(spec: str) -> None:
    with pytest.raises(UserError) as caught:
        make_embedder(spec)
    message = str(caught.value)
    assert message.startswith(f"--embeddings {spec!r}: ") and "\n" not in message
