"""A real mosquitto broker on a free loopback port, started and stopped by the tests.

Skipped with a reason only where mosquitto is missing and the run is not CI's (``.ci/run``
installs it and sets HAMLET_REQUIRE_MOSQUITTO=1, so there a missing broker is a failure).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import ROOT


def _require_mosquitto() -> None:
    if shutil.which("mosquitto") and shutil.which("mosquitto_sub"):
        return
    if os.environ.get("CI") or os.environ.get("HAMLET_REQUIRE_MOSQUITTO"):
        pytest.fail("mosquitto is required here: apt-get install mosquitto mosquitto-clients")
    pytest.skip("mosquitto is not installed (apt-get install mosquitto mosquitto-clients; .ci/run installs it)")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mosquitto:
    """One broker: its folder, port and configuration; ``start``, ``stop`` and ``restart`` it."""

    folder: Path
    port: int
    extra: str = ""  # more configuration lines (authentication, TLS)
    scheme: str = "mqtt"
    # As docs/scaling.md asks: mosquitto's default (1000) drops a burst of controls to the relay.
    queue: str = "max_queued_messages 100000\n"
    process: subprocess.Popen[bytes] | None = None
    clients: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The broker's URL, with credentials if given."""
        login = f"{user}:{password}@" if user else ""
        return f"{self.scheme}://{login}127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start mosquitto and wait until it takes connections."""
        config = self.folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "set_tcp_nodelay true\n"
            f"{self.queue}"
            "sys_interval 1\n"  # $SYS counters each second, not each 10 s: drops are seen at once
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "user root\n"
            f"{self.extra or 'allow_anonymous true'}\n"
        )
        log = open(self.folder / "mosquitto.log", "ab")  # noqa: SIM115  (the broker keeps writing to it)
        self.process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        """Stop the broker (SIGTERM: it saves its sessions and retained messages first)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Start it again on the same port, with what it saved."""
        self.stop()
        self.start()

    def cli(self, tool: str, *args: str, user: str | None = None, password: str | None = None) -> list[str]:
        """A mosquitto_pub / mosquitto_sub command line for this broker."""
        login = ["-u", user, "-P", password or ""] if user else []
        tls = []
        if self.scheme == "mqtts":
            tls = [
                "--cafile",
                str(self.folder / "ca.crt"),
                "--cert",
                str(self.folder / "client.crt"),
                "--key",
                str(self.folder / "client.key"),
            ]
        return [tool, "-h", "127.0.0.1", "-p", str(self.port), *login, *tls, *args]

    def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        user: str | None = None,
        password: str | None = None,
        retain: bool = False,
    ) -> subprocess.CompletedProcess[bytes]:
        """``mosquitto_pub`` one message at QoS 1."""
        args = ["-t", topic, "-q", "1", *(["-r"] if retain else []), "-s"]
        data = payload.encode() if isinstance(payload, str) else payload
        return subprocess.run(
            self.cli("mosquitto_pub", *args, user=user, password=password), input=data, capture_output=True, timeout=10
        )

    def subscribe(self, out: Path, *args: str, user: str | None = None, password: str | None = None) -> Subscriber:
        """Start ``mosquitto_sub -v`` on ``hamlet/#`` writing to ``out``; returns once it is subscribed."""
        handle = open(out, "wb")  # noqa: SIM115  (the subscriber keeps writing to it)
        process = subprocess.Popen(
            self.cli("mosquitto_sub", "-t", "hamlet/#", "-v", "-q", "1", *args, user=user, password=password),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        self.clients.append(process)
        subscriber = Subscriber(process, out)
        deadline = time.monotonic() + 10
        while b"hamlet/_probe" not in out.read_bytes():  # a probe it receives proves the subscription is live
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"mosquitto_sub did not subscribe: {out.read_text()}")
            self.publish("hamlet/_probe", "probe", user=user, password=password)
            time.sleep(0.05)
        return subscriber

    def close(self) -> None:
        """Stop every client started, then the broker."""
        for process in self.clients:
            if process.poll() is None:
                process.terminate()
                process.wait(10)
        self.stop()


@dataclass
class Subscriber:
    """A running ``mosquitto_sub -v``: what it received, as (topic, payload) pairs."""

    process: subprocess.Popen[bytes]
    out: Path

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        """The JSON messages received so far (the probe and other text left out)."""
        received = []
        for line in self.out.read_text(encoding="utf-8").splitlines():
            topic, sep, payload = line.partition(" {")
            if sep:
                received.append((topic, orjson.loads("{" + payload)))
        return received

    def events(self, run: str) -> list[dict[str, Any]]:
        """The event messages of ``run`` received, in order of arrival."""
        return [
            data
            for topic, data in self.messages()
            if topic.startswith(f"hamlet/{run}/") and topic.count("/") == 3 and "seq" in data
        ]

    def wait_for(self, check: Callable[[Subscriber], bool], timeout: float = 30) -> None:
        """Wait until ``check`` holds."""
        deadline = time.monotonic() + timeout
        while not check(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received: {self.out.read_text()[-3000:]}")
            time.sleep(0.05)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous broker on loopback."""
    _require_mosquitto()
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Mosquitto(folder, free_port())
    server.start()
    yield server
    server.close()


USERS = {"world": "world-secret", "watcher": "watcher-secret", "operator": "operator-secret"}
ACL = """\
user world
topic readwrite hamlet/#

user watcher
topic read hamlet/#

user operator
topic read hamlet/#
topic write hamlet/+/control/#
"""


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker that takes only users of its password file, with an ACL: ``world`` may do anything under
    ``hamlet/``, ``watcher`` may only read, ``operator`` may read and write control topics."""
    _require_mosquitto()
    folder = tmp_path / "secured"
    folder.mkdir()
    passwords = folder / "passwords"
    for index, (user, password) in enumerate(USERS.items()):
        subprocess.run(
            ["mosquitto_passwd", *(["-c"] if index == 0 else []), "-b", str(passwords), user, password],
            check=True,
            capture_output=True,
        )
    (folder / "acl").write_text(ACL)
    server = Mosquitto(
        folder, free_port(), extra=f"allow_anonymous false\npassword_file {passwords}\nacl_file {folder / 'acl'}"
    )
    server.start()
    yield server
    server.close()


def make_certificates(folder: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Hamlet test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    )
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.crt",
            *(["-extfile", "server.ext"] if name == "server" else []),
        )


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker that speaks only TLS and wants a client certificate signed by the test CA."""
    _require_mosquitto()
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    folder = tmp_path / "tls"
    folder.mkdir()
    make_certificates(folder)
    server = Mosquitto(
        folder,
        free_port(),
        scheme="mqtts",
        extra=(
            "allow_anonymous true\n"
            f"cafile {folder / 'ca.crt'}\ncertfile {folder / 'server.crt'}\nkeyfile {folder / 'server.key'}\n"
            "require_certificate true"
        ),
    )
    server.start()
    yield server
    server.close()


def event_rows(run: Path) -> list[dict[str, Any]]:
    """The run file's events, as the bus publishes them (data decoded)."""
    db = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seq, tick, t, time, kind, person, place, data FROM event ORDER BY seq").fetchall()
    finally:
        db.close()
    return [
        {"seq": s, "tick": k, "t": t, "time": w, "kind": kind, "person": p, "place": pl, "data": orjson.loads(d)}
        for s, k, t, w, kind, p, pl, d in rows
    ]


_STARTED: list[subprocess.Popen[bytes]] = []


def start_hamlet(*args: str, out: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m sim ARGS`` in the background, its output in ``out``; stopped after the test if still running."""
    handle = open(out, "wb")  # noqa: SIM115  (the child keeps writing to it)
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    _STARTED.append(process)
    return process


@pytest.fixture(autouse=True)
def _stop_started() -> Iterator[None]:
    """Stop what a test started and left running (a failed test must not leave a run behind)."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)
