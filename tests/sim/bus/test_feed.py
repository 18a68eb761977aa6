"""Every committed event reaches MQTT subscribers, in order, and none is lost while the broker is away."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import WORLDS, count_events
from tests.sim.bus.conftest import Mosquitto, event_rows, start_hamlet

# A generative town whose model answers in 40 ms: events are committed steadily for several seconds.
SLOW_TOWN = [
    "run",
    str(WORLDS / "smallville.yaml"),
    "--llm",
    "scripted",
    "--llm-latency-ms",
    "40",
    "--hours",
    "8",
    "--embeddings",
    "hash",
    "--quiet",
]


def published(run: Path) -> list[dict]:
    """The file's events as the feed publishes them, for comparing with what a subscriber got."""
    return [{"v": 1, "run": run.stem, **row} for row in event_rows(run)]


def test_mosquitto_sub_receives_every_event_of_a_run_in_commit_order(broker: Mosquitto, tmp_path: Path, hamlet) -> None:
    subscriber = broker.subscribe(tmp_path / "sub.txt")
    run = tmp_path / "two.db"
    result = hamlet(
        "run",
        WORLDS / "two_rooms.yaml",
        "--llm",
        "scripted",
        "--hours",
        "24",
        "--out",
        run,
        "--quiet",
        "--mqtt",
        broker.url(),
    )
    assert result.code == 0, result.err
    subscriber.wait_for(lambda s: any(t == "hamlet/two/status" and d["status"] == "finished" for t, d in s.messages()))
    events = subscriber.events("two")
    assert events == published(run)  # every event, each once, in seq order, with its data
    assert len(events) == count_events(run) > 20
    topics = [t for t, d in subscriber.messages() if "seq" in d]
    assert topics[0] == "hamlet/two/run_start/_"  # nobody's events go under _
    assert "hamlet/two/spawn/Ada Brook" in topics
    statuses = [d for t, d in subscriber.messages() if t == "hamlet/two/status"]
    assert [s["status"] for s in statuses] == ["running", "finished"]
    assert statuses[0]["log"] == str(run.resolve()) and statuses[0]["world"] == "Two rooms"
    assert statuses[-1]["events"] == len(events)


def test_the_status_message_is_retained_for_late_subscribers(broker: Mosquitto, tmp_path: Path, hamlet) -> None:
    run = tmp_path / "late.db"
    assert (
        hamlet(
            "run",
            WORLDS / "two_rooms.yaml",
            "--llm",
            "scripted",
            "--hours",
            "2",
            "--out",
            run,
            "--quiet",
            "--mqtt",
            broker.url(),
        ).code
        == 0
    )
    later = broker.subscribe(tmp_path / "later.txt")
    later.wait_for(lambda s: any(t == "hamlet/late/status" for t, _ in s.messages()))
    (status,) = [d for t, d in later.messages() if t == "hamlet/late/status"]
    assert status["status"] == "finished" and status["log"] == str(run.resolve())


@pytest.mark.slow
def test_events_committed_while_the_broker_is_down_are_published_after_it_returns(
    broker: Mosquitto, tmp_path: Path
) -> None:
    # A persistent session (-c, QoS 1): the broker keeps what arrives for the subscriber while it reconnects.
    subscriber = broker.subscribe(tmp_path / "sub.txt", "-c", "-i", "hamlet-test-watcher")
    run = tmp_path / "town.db"
    world = start_hamlet(*SLOW_TOWN, "--out", str(run), "--mqtt", broker.url(), out=tmp_path / "run.txt")
    subscriber.wait_for(lambda s: len(s.events("town")) >= 30)
    broker.stop()
    at_stop = count_events(run)
    deadline = time.monotonic() + 20
    while count_events(run) < at_stop + 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    committed_while_down = range(at_stop + 1, count_events(run) + 1)
    assert len(committed_while_down) >= 40 and world.poll() is None  # the run went on without the broker
    broker.start()
    assert world.wait(60) == 0, (tmp_path / "run.txt").read_text()
    subscriber.wait_for(
        lambda s: any(t == "hamlet/town/status" and d["status"] == "finished" for t, d in s.messages()), timeout=60
    )
    rows = event_rows(run)
    seen = {e["seq"] for e in subscriber.events("town")}
    assert seen >= set(committed_while_down)
    assert seen == {row["seq"] for row in rows} == set(range(1, len(rows) + 1))  # nothing lost, the log complete
    output = (tmp_path / "run.txt").read_text()
    assert "lost the broker" in output and "reconnected" in output and "finished" in output


@pytest.mark.slow
def test_a_run_killed_mid_way_still_has_its_committed_events_published_and_its_status_says_lost(
    broker: Mosquitto, tmp_path: Path
) -> None:
    subscriber = broker.subscribe(tmp_path / "sub.txt")
    run = tmp_path / "killed.db"
    world = start_hamlet(*SLOW_TOWN, "--out", str(run), "--mqtt", broker.url(), out=tmp_path / "run.txt")
    subscriber.wait_for(lambda s: len(s.events("killed")) >= 30)
    world.kill()
    world.wait(10)
    subscriber.wait_for(lambda s: any(t == "hamlet/killed/status" and d["status"] == "lost" for t, d in s.messages()))
    assert subscriber.events("killed") == published(run)  # all the file holds, nothing it does not
