"""The in-process bus behaves as a broker does, and the event feed publishes a run file's events on it."""

from __future__ import annotations

from pathlib import Path

from sim.bus.base import LocalBus, Outgoing
from sim.bus.feed import Feed
from sim.core.events import Event
from sim.runfile.log import Batch, RunLog, create_run_file


def test_the_local_bus_delivers_by_pattern_and_hands_retained_messages_to_later_subscribers() -> None:
    bus = LocalBus()
    bus.start()
    got: list[tuple[str, bytes, bool]] = []
    acked: list[str] = []
    bus.subscribe("hamlet/+/status", lambda t, p, r: got.append((t, p, r)))
    bus.send(Outgoing("hamlet/a/status", b"one", retain=True, on_ack=lambda: acked.append("one")))
    bus.post("hamlet/a/act/Ann", b"not for them")
    late: list[tuple[str, bytes, bool]] = []
    bus.subscribe("hamlet/#", lambda t, p, r: late.append((t, p, r)))
    assert got == [("hamlet/a/status", b"one", False)] and acked == ["one"]
    assert late == [("hamlet/a/status", b"one", True)]
    bus.post("hamlet/a/status", b"", retain=True)  # an empty retained message clears the topic
    later: list[tuple[str, bytes, bool]] = []
    bus.subscribe("hamlet/#", lambda t, p, r: later.append((t, p, r)))
    assert later == []


def test_the_feed_publishes_each_committed_event_once_in_order_from_where_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    bus = LocalBus()
    bus.start()
    got: list[bytes] = []
    bus.subscribe("hamlet/r/#", lambda t, p, r: got.append(p))
    log.submit(Batch([Event(0, "run_start", seq=1)]))
    log.flush()
    feed = Feed(bus, "r", path, after_seq=1)  # as a resumed run: what was there before is not sent again
    log.listeners.append(feed.committed_up_to)
    log.submit(Batch([Event(0, "spawn", "Ann", "Home:room", {"home": "Home:room"}, seq=2, time="t0")]))
    log.submit(Batch([Event(5, "act", "Ann", "Home:room", {"activity": "reads"}, seq=3, tick=1, time="t5")]))
    log.close()
    assert feed.drain(1.0) == 0
    assert got == [
        b'{"v":1,"run":"r","seq":2,"tick":0,"t":0,"time":"t0","kind":"spawn","person":"Ann","place":"Home:room",'
        b'"data":{"home":"Home:room"}}',
        b'{"v":1,"run":"r","seq":3,"tick":1,"t":5,"time":"t5","kind":"act","person":"Ann","place":"Home:room",'
        b'"data":{"activity":"reads"}}',
    ]
