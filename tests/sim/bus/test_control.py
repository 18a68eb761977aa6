"""Live control over MQTT: pause, resume, stop and interventions; bad messages refused and recorded; logins."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import WORLDS, assert_one_line_error, count_events
from tests.sim.bus.conftest import USERS, Mosquitto, start_hamlet
from tests.sim.bus.test_feed import SLOW_TOWN


def live_run(broker_url: str, run: Path, out: Path) -> subprocess.Popen[bytes]:
    """A long generative run on the bus, returned once it has committed some events."""
    world = start_hamlet(*SLOW_TOWN, "--hours", "48", "--out", str(run), "--mqtt", broker_url, out=out)
    deadline = time.monotonic() + 60
    while count_events(run) < 20:
        assert world.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.05)
    return world


def rows(run: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def steady(run: Path, seconds: float) -> bool:
    """Whether the run file gained no event for ``seconds``."""
    before = count_events(run)
    time.sleep(seconds)
    return count_events(run) == before


def wait_until(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_pause_whisper_resume_and_stop_published_on_control_topics_steer_a_live_run(
    broker: Mosquitto, tmp_path: Path
) -> None:
    run, out = tmp_path / "live.db", tmp_path / "run.txt"
    world = live_run(broker.url(), run, out)
    assert broker.publish("hamlet/live/control/pause", '{"v": 1, "run": "live"}').returncode == 0
    time.sleep(0.5)
    assert steady(run, 1.0), "the run kept going after a pause"
    whisper = '{"v": 1, "run": "live", "kind": "whisper", "person": "Walter Greaves", "text": "The mill is for sale."}'
    assert broker.publish("hamlet/live/control/intervene", whisper).returncode == 0
    assert broker.publish("hamlet/live/control/resume", '{"v": 1, "run": "live"}').returncode == 0
    wait_until(
        lambda: (
            rows(
                run,
                "SELECT COUNT(*) FROM memory WHERE kind = 'whisper' AND person = 'Walter Greaves'"
                " AND text = 'The mill is for sale.'",
            )[0][0]
            == 1
        )
    )
    assert broker.publish("hamlet/live/control/stop", '{"v": 1, "run": "live"}').returncode == 0
    assert world.wait(60) == 3, out.read_text()  # 3: stopped before its end
    assert rows(run, "SELECT status FROM run") == [("interrupted",)]
    controls = rows(run, "SELECT source, kind, status FROM control ORDER BY id")
    assert controls == [
        ("mqtt", "pause", "applied"),
        ("mqtt", "intervene", "applied"),
        ("mqtt", "resume", "applied"),
        ("mqtt", "stop", "applied"),
    ]
    assert rows(run, "SELECT COUNT(*) FROM rejection") == [(0,)]


BAD = [
    ("hamlet/bad/control/pause", "{not json", "not JSON"),
    ("hamlet/bad/control/pause", '{"v": 2, "run": "bad"}', "envelope version 2"),
    ("hamlet/bad/control/stop", '{"v": 1, "run": "another-run"}', "run 'another-run' is not this run"),
    ("hamlet/bad/control/explode", '{"v": 1, "run": "bad"}', "unknown control 'explode'"),
    ("hamlet/bad/control/pause", '{"v": 1, "run": "bad", "now": true}', "pause takes no fields"),
    (
        "hamlet/bad/control/intervene",
        '{"v": 1, "run": "bad", "kind": "whisper", "person": "Nobody", "text": "x"}',
        "unknown person 'Nobody'",
    ),
    ("hamlet/bad/control/intervene", '{"v": 1, "run": "bad", "kind": "teleport"}', "kind"),
]


@pytest.mark.slow
def test_malformed_wrong_version_and_other_runs_messages_on_control_topics_are_rejected_and_recorded(
    broker: Mosquitto, tmp_path: Path
) -> None:
    run, out = tmp_path / "bad.db", tmp_path / "run.txt"
    # A retained stop left on the broker must not stop every run that later subscribes under this name.
    assert broker.publish("hamlet/bad/control/stop", '{"v": 1, "run": "bad"}', retain=True).returncode == 0
    world = live_run(broker.url(), run, out)
    broker.publish("hamlet/bad/control/stop", b"", retain=True)  # clear it
    for topic, payload, _ in BAD:
        assert broker.publish(topic, payload).returncode == 0
    wait_until(lambda: rows(run, "SELECT COUNT(*) FROM rejection")[0][0] == len(BAD) + 1)
    rejected = rows(run, "SELECT topic, reason, payload FROM rejection ORDER BY id")
    assert "retained" in rejected[0][1]
    for (topic, payload, needle), (got_topic, reason, got_payload) in zip(BAD, rejected[1:], strict=True):
        assert (got_topic, got_payload) == (topic, payload)
        assert needle in reason, reason
    assert world.poll() is None and rows(run, "SELECT COUNT(*) FROM control") == [(0,)]  # nothing was acted on
    assert broker.publish("hamlet/bad/control/stop", '{"v": 1, "run": "bad"}').returncode == 0
    assert world.wait(60) == 3
    warnings = [line for line in out.read_text().splitlines() if "rejected a message on hamlet/bad/control/" in line]
    assert len(warnings) == len(BAD) + 1


@pytest.mark.slow
def test_with_broker_authentication_only_a_user_allowed_to_write_controls_a_run(
    secured_broker: Mosquitto, tmp_path: Path
) -> None:
    run, out = tmp_path / "guarded.db", tmp_path / "run.txt"
    world = live_run(secured_broker.url("world", USERS["world"]), run, out)
    stop = '{"v": 1, "run": "guarded"}'
    anonymous = secured_broker.publish("hamlet/guarded/control/stop", stop)
    assert anonymous.returncode != 0 and b"not authori" in anonymous.stdout.lower() + anonymous.stderr.lower()
    wrong = secured_broker.publish("hamlet/guarded/control/stop", stop, user="world", password="guess")
    assert wrong.returncode != 0
    # A reader may connect, but the broker's ACL drops what it publishes on control topics.
    assert (
        secured_broker.publish(
            "hamlet/guarded/control/stop", stop, user="watcher", password=USERS["watcher"]
        ).returncode
        == 0
    )
    time.sleep(1.5)
    assert world.poll() is None and rows(run, "SELECT COUNT(*) FROM control") == [(0,)]
    assert (
        secured_broker.publish(
            "hamlet/guarded/control/stop", stop, user="operator", password=USERS["operator"]
        ).returncode
        == 0
    )
    assert world.wait(60) == 3, out.read_text()
    assert rows(run, "SELECT source, kind FROM control") == [("mqtt", "stop")]


@pytest.mark.parametrize("login", [None, ("world", "guess")])
def test_a_run_refused_by_the_broker_stops_with_one_line_and_writes_nothing(
    secured_broker: Mosquitto, tmp_path: Path, hamlet, login
) -> None:
    run = tmp_path / "refused.db"
    url = secured_broker.url(*login) if login else secured_broker.url()
    result = hamlet("run", WORLDS / "two_rooms.yaml", "--llm", "scripted", "--out", run, "--mqtt", url)
    assert_one_line_error(result, "--mqtt", "refused the login")
    assert "guess" not in result.err  # the password is never echoed
    assert not run.exists()
