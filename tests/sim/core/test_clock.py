"""The clock: total order, ticks, replaceable wake-ups, fixed steps, snapshots."""

from __future__ import annotations

from sim.core.clock import ARRIVE, INTERVENE, WAKE, Clock


def test_entries_are_ordered_by_time_then_priority_then_insertion() -> None:
    clock = Clock()
    clock.push(60, WAKE, "wake-ish", "b")
    clock.push(60, ARRIVE, "arrive", "a")
    clock.push(30, WAKE, "early")
    clock.push(60, ARRIVE, "arrive", "c")
    t, first = clock.pop_tick(10_000)
    assert t == 30 and [e.kind for e in first] == ["early"]
    t, second = clock.pop_tick(10_000)
    assert t == 60 and [(e.kind, e.person) for e in second] == [("arrive", "a"), ("arrive", "c"), ("wake-ish", "b")]


def test_a_new_wake_replaces_the_old_one() -> None:
    clock = Clock()
    clock.wake("ann", 100)
    clock.wake("ann", 50)
    assert clock.wake_at("ann") == 50
    t, entries = clock.pop_tick(10_000)
    assert (t, [e.person for e in entries]) == (50, ["ann"])
    assert clock.pop_tick(10_000) is None, "the replaced wake at 100 must not fire"


def test_forget_cancels_a_wake() -> None:
    clock = Clock()
    clock.wake("bo", 10)
    clock.forget("bo")
    assert clock.pop_tick(10_000) is None


def test_nothing_at_or_after_the_end_is_taken() -> None:
    clock = Clock()
    clock.push(100, INTERVENE, "intervene")
    assert clock.pop_tick(100) is None
    assert clock.pop_tick(101) is not None


def test_fixed_step_puts_every_entry_on_the_grid() -> None:
    clock = Clock(fixed_step=10)
    clock.wake("ann", 13)
    clock.push(21, ARRIVE, "arrive", "bo")
    assert [clock.pop_tick(1000)[0], clock.pop_tick(1000)[0]] == [20, 30]


def test_state_round_trip_keeps_order_and_drops_stale_wakes() -> None:
    clock = Clock()
    clock.wake("ann", 100)
    clock.wake("ann", 40)
    clock.push(40, ARRIVE, "arrive", "bo")
    copy = Clock()
    copy.restore(clock.state())
    assert len(copy.state()["queue"]) == 2
    for original in (clock, copy):
        t, entries = original.pop_tick(1000)
        assert (t, [e.kind for e in entries]) == (40, ["arrive", "wake"])
