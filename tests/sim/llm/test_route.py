"""Many model servers: routing by person, failover when a server is gone, the rows and summary that say so, bad lists."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sim.llm.route import RoutingTransport
from sim.llm.scripted import ScriptConfig, ScriptedProcess
from sim.llm.transport import Refused, Reply, Request, Unavailable, Unreachable
from tests.conftest import ROOT, TINY_WORLD, WORLDS, Result, assert_one_line_error


class Fake:
    """A server stand-in: answers with its name, or fails as told; counts what it was sent."""

    def __init__(self, name: str) -> None:
        self.name, self.sent = name, 0
        self.fail_with: Exception | None = None

    async def send(self, request: Request) -> Reply:
        self.sent += 1
        if self.fail_with is not None:
            raise self.fail_with
        return Reply(self.name, 1, 1)

    async def aclose(self) -> None:
        pass


def request(who: str) -> Request:
    return Request("m", [{"role": "user", "content": "hi"}], None, {}, "key", who)


def router(*weights: int, clock: list[float] | None = None) -> tuple[RoutingTransport, list[Fake]]:
    fakes = [Fake(f"http://s{i}/v1") for i in range(len(weights))]
    now = clock if clock is not None else [0.0]
    return RoutingTransport([(f.name, f, w) for f, w in zip(fakes, weights, strict=True)], clock=lambda: now[0]), fakes


PEOPLE = [f"Person {i}" for i in range(3000)]


def test_a_person_keeps_to_one_server_and_the_share_follows_the_concurrency() -> None:
    route, _ = router(1, 3)
    first = Counter(route.rank(p)[0].name for p in PEOPLE)
    assert abs(first["http://s1/v1"] / len(PEOPLE) - 0.75) < 0.03  # weighted by concurrency: 3 of 4
    assert all(route.rank(p) == route.rank(p) for p in PEOPLE[:50])


def test_the_ranking_is_the_same_in_every_process_whatever_pythons_hash_seed() -> None:
    code = (
        "from tests.sim.llm.test_route import router, PEOPLE; r, _ = router(2, 2, 1);"
        "print([[m.name for m in r.rank(p)] for p in PEOPLE[:40]])"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(seen) == 1


def test_a_server_removed_moves_only_its_own_people() -> None:
    three, _ = router(1, 1, 1)
    two = RoutingTransport([(m.name, m.transport, 1) for m in three.members[:2]])
    for person in PEOPLE[:500]:
        before = three.rank(person)[0].name
        if before != "http://s2/v1":
            assert two.rank(person)[0].name == before


def test_an_unreachable_server_is_left_for_the_next_and_every_failover_is_in_the_reply() -> None:
    now = [0.0]
    route, fakes = router(1, 1, clock=now)
    person = next(p for p in PEOPLE if route.rank(p)[0] is route.members[0])
    fakes[0].fail_with = Unreachable("APIConnectionError: Connection error.")

    async def main() -> list[Reply]:
        replies = [await route.send(request(person))]
        replies.append(await route.send(request(person)))  # within the pause: passed over, not sent
        now[0] = 10.0  # after it: tried again
        replies.append(await route.send(request(person)))
        return replies

    first, second, third = asyncio.run(main())
    assert [r.endpoint for r in (first, second, third)] == ["http://s1/v1"] * 3
    assert [(f.endpoint, f.error) for f in first.failovers] == [
        ("http://s0/v1", "APIConnectionError: Connection error.")
    ]
    assert second.failovers[0].error.startswith("passed over: ") and fakes[0].sent == 2
    assert len(third.failovers) == 1


def test_errors_of_a_server_that_answered_stay_on_it_and_say_where() -> None:
    route, fakes = router(1, 1)
    person = next(p for p in PEOPLE if route.rank(p)[0] is route.members[1])
    for error in (Unavailable("RateLimitError (HTTP 429): slow down"), Refused("NotFoundError (HTTP 404)", 404)):
        fakes[1].fail_with = error
        with pytest.raises(type(error)) as caught:
            asyncio.run(route.send(request(person)))
        assert caught.value.endpoint == "http://s1/v1" and caught.value.failovers == ()
    assert fakes[0].sent == 0  # the person's cache is on s1: a busy server is waited for, not left


def test_when_every_server_is_gone_each_is_tried_and_the_error_lists_them() -> None:
    route, fakes = router(1, 1)
    for fake in fakes:
        fake.fail_with = Unreachable("APIConnectionError: Connection error.")

    async def main() -> tuple[Unreachable, Unreachable]:
        errors = []
        for _ in range(2):  # the second time all are marked gone: each is tried again anyway
            with pytest.raises(Unreachable) as caught:
                await route.send(request("Ann"))
            errors.append(caught.value)
        return errors[0], errors[1]

    first, second = asyncio.run(main())
    assert [f.endpoint for f in first.failovers] == [m.name for m in route.rank("Ann")]
    assert len(second.failovers) == 2 and all(f.sent == 2 for f in fakes)
    assert "no model server took the connection (2 tried)" in str(first)


def test_a_servers_concurrency_bounds_its_calls_in_flight() -> None:
    class Slow(Fake):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self.now = self.most = 0

        async def send(self, request: Request) -> Reply:
            self.now += 1
            self.most = max(self.most, self.now)
            await asyncio.sleep(0.01)
            self.now -= 1
            return Reply(self.name)

    slow = Slow("http://one/v1")
    route = RoutingTransport([(slow.name, slow, 3), ("http://two/v1", Fake("http://two/v1"), 1)])
    people = [p for p in PEOPLE if route.rank(p)[0].name == slow.name][:20]

    async def main() -> None:
        await asyncio.gather(*(route.send(request(p)) for p in people))

    asyncio.run(main())
    assert slow.most == 3


# -- runs over several scripted servers ---------------------------------------------------------------------


def _count(path: Path, sql: str, args: tuple = ()) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)  # never creates the file
        try:
            return int(db.execute(sql, args).fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def _run(servers: list[ScriptedProcess], out: Path, *extra: str) -> subprocess.Popen[str]:
    endpoints = [arg for s in servers for arg in ("--endpoint", f"{s.base_url},concurrency=2")]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            WORLDS / "smallville.yaml",
            "--llm",
            "openai",
            "--model",
            "scripted",
            "--out",
            out,
            "--quiet",
            *endpoints,
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when_answered(run: subprocess.Popen[str], out: Path, server: ScriptedProcess, calls: int) -> None:
    deadline = time.monotonic() + 120
    while _count(out, "SELECT COUNT(*) FROM llm_call WHERE endpoint = ?", (server.base_url,)) < calls:
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.05)
    server.stop()


@pytest.mark.slow
def test_a_server_killed_mid_run_the_run_completes_and_every_failover_is_recorded(hamlet, tmp_path: Path) -> None:
    servers = [ScriptedProcess(ScriptConfig(seed=1, latency_ms=40)) for _ in range(3)]
    out = tmp_path / "r.db"
    try:
        route = RoutingTransport([(s.base_url, None, 2) for s in servers])  # type: ignore[misc]  (ranks only)
        homes = Counter(route.rank(p.name)[0].name for p in _people())
        victim = next(s for s in servers if s.base_url == homes.most_common(1)[0][0])
        run = _run(servers, out, "--hours", "3")
        _kill_when_answered(run, out, victim, 5)
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    finally:
        for server in servers:
            server.stop()
    db = sqlite3.connect(out)
    rows = db.execute("SELECT person, endpoint, failovers FROM llm_call WHERE endpoint != '' ORDER BY id")
    moved = 0
    for person, endpoint, failovers in rows:
        ranked = [m.name for m in route.rank(person or "")]
        left = [server for server, _ in json.loads(failovers)]
        # every server before the one that answered is a recorded failover, in the person's order
        assert ranked[: len(left) + 1] == [*left, endpoint], (person, endpoint, left)
        moved += bool(left)
    assert moved > 0 and db.execute("SELECT status FROM run").fetchone()[0] == "finished"
    summary = json.loads(hamlet("show", out, "--json").out)
    gone = summary["endpoints"][victim.base_url]
    assert gone["failovers"] >= moved and gone["calls"] >= 5
    for figures in summary["endpoints"].values():
        assert set(figures) == {
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "errors",
            "failovers",
            "median_latency_ms",
        }
    assert sum(e["calls"] for e in summary["endpoints"].values()) == summary["llm_calls"] - summary["cache_hits"]
    assert "Servers" in hamlet("show", out).out


def _people() -> list:
    from sim.worldfile.scenario import load_scenario

    return load_scenario(WORLDS / "smallville.yaml").people


@pytest.mark.slow
def test_every_server_gone_stops_the_run_with_one_line_and_it_resumes(hamlet, tmp_path: Path) -> None:
    servers = [ScriptedProcess(ScriptConfig(seed=1, latency_ms=20)) for _ in range(2)]
    out = tmp_path / "r.db"
    try:
        run = _run(servers, out, "--hours", "2")
        _kill_when_answered(run, out, servers[0], 3)
        servers[1].stop()
        _, err = run.communicate(timeout=300)
    finally:
        for server in servers:
            server.stop()
    assert_one_line_error(Result(run.returncode, "", err), str(out), "cannot reach the model server", "hamlet resume")
    show = json.loads(hamlet("show", out, "--json").out)
    assert show["status"] == "failed" and "hamlet resume" in show["message"]  # not running, not lost: stopped
    again = [ScriptedProcess(ScriptConfig(seed=1)) for _ in range(2)]
    try:
        result = hamlet("resume", out, "--quiet", *[a for s in again for a in ("--endpoint", s.base_url)])
    finally:
        for server in again:
            server.stop()
    assert result.code == 0, result.err
    assert json.loads(hamlet("show", out, "--json").out)["status"] == "finished"


# -- bad lists ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (
            ["--endpoint", "http://127.0.0.1:9/v1", "--endpoint", "http://127.0.0.1:9/v1/"],
            ["--endpoint", "given twice"],
        ),
        (["--endpoint", "http://127.0.0.1:9/v1,concurrency=0"], ["concurrency=0", "from 1 to 1024"]),
        (["--endpoint", "http://127.0.0.1:9/v1,concurrency=-2"], ["concurrency=-2", "positive"]),
        (["--endpoint", "localhost:9"], ["--endpoint", "not an http:// or https:// URL"]),
        (["--endpoint", "http://127.0.0.1:9/v1", "--base-url", "http://127.0.0.1:9/v1"], ["--endpoint and --base-url"]),
        (["--endpoint", "http://127.0.0.1:9/v1", "--llm", "scripted"], ["--endpoint", "only --llm openai"]),
    ],
)
def test_a_bad_endpoint_option_is_one_line_and_no_file(
    hamlet, tiny_world: Path, tmp_path: Path, flags: list[str], needles: list[str]
) -> None:
    result = hamlet("run", tiny_world, "--model", "m", "--out", tmp_path / "r.db", *flags)
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize(
    ("endpoints", "needles"),
    [
        (
            "[http://127.0.0.1:9/v1, {url: 'http://127.0.0.1:9/v1/', concurrency: 2}]",
            ["model.endpoints[1]", "listed twice", "model.endpoints[0]", "list each server once"],
        ),
        ("[{url: 'http://127.0.0.1:9/v1', concurrency: 0}]", ["model.endpoints[0].concurrency", "(got 0)", "positive"]),
        ("[{url: 'http://127.0.0.1:9/v1?api-key=SECRET'}]", ["model.endpoints[0].url", "key or password"]),
    ],
)
def test_a_bad_endpoint_list_in_the_world_is_one_line(
    hamlet, tmp_path: Path, endpoints: str, needles: list[str]
) -> None:
    world = tmp_path / "w.yaml"
    world.write_text(TINY_WORLD + f"model:\n  endpoints: {endpoints}\n")
    result = hamlet("run", world, "--model", "m", "--out", tmp_path / "r.db")
    assert_one_line_error(result, str(world), *needles)
    assert "SECRET" not in result.err and not (tmp_path / "r.db").exists()


def test_an_unreachable_server_of_the_list_is_named_before_anything_is_written(hamlet, tmp_path: Path) -> None:
    from sim.llm.local import free_port

    server = ScriptedProcess(ScriptConfig(seed=1))
    world = tmp_path / "w.yaml"
    gone = f"http://127.0.0.1:{free_port()}/v1"
    world.write_text(TINY_WORLD + f"model:\n  endpoints: [{server.base_url}, {gone}]\n")
    try:
        result = hamlet("run", world, "--model", "scripted", "--out", tmp_path / "r.db")
    finally:
        server.stop()
    assert_one_line_error(result, f"model.endpoints[1] {gone}", "cannot reach")
    assert not (tmp_path / "r.db").exists()


# -- files from before the servers' columns -----------------------------------------------------------------


def test_a_run_file_from_before_the_new_columns_is_shown_resumed_interviewed_and_forked(
    hamlet, tiny_world: Path, tmp_path: Path
) -> None:
    from sim.runfile.tables import LLM_CALL_ADDED

    out = tmp_path / "old.db"
    made = hamlet(
        "run",
        tiny_world,
        "--llm",
        "scripted-inprocess",
        "--hours",
        "2",
        "--out",
        out,
        "--quiet",
        "--set",
        "mind=generative",
        "--set",
        "embeddings=hash",
    )
    assert made.code == 0, made.err
    db = sqlite3.connect(out)
    for column in LLM_CALL_ADDED:
        db.execute(f"ALTER TABLE llm_call DROP COLUMN {column}")
    db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    shown = json.loads(hamlet("show", out, "--json").out)
    assert shown["llm_calls"] > 0 and "endpoints" not in shown
    fork = hamlet("fork", out, "--at", "+1h", "--llm", "scripted-inprocess", "--out", tmp_path / "branch.db", "--quiet")
    assert fork.code == 0, fork.err
    asked = hamlet("interview", out, "Ann", "How are you?", "--llm", "scripted-inprocess")
    assert asked.code == 0, asked.err
    resumed = hamlet("resume", out, "--hours", "2", "--llm", "scripted-inprocess", "--quiet")
    assert resumed.code == 0, resumed.err
    db = sqlite3.connect(out)
    assert {row[1] for row in db.execute("PRAGMA table_info(llm_call)")} >= set(LLM_CALL_ADDED)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "6"
