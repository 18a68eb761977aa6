"""Planning: blocks from a day plan, and actions fitted into a block without gaps or overlaps."""

from __future__ import annotations

from agents.generative.planning import Action, DayPlan, PlanItem, blocks, fit


def plan(wake: str, bed: str, *items: tuple[str, str]) -> DayPlan:
    return DayPlan(wake_up=wake, bedtime=bed, items=[PlanItem(start=s, activity=a) for s, a in items])


DAY = plan("07:00", "22:30", ("07:00", "breakfast"), ("09:00", "work"), ("12:00", "lunch"), ("13:00", "work"),
           ("18:00", "dinner"), ("20:00", "read"))


def covers_without_gaps(spans: list, start: int, end: int) -> bool:
    return spans[0].start == start and spans[-1].end == end and all(
        a.end == b.start for a, b in zip(spans, spans[1:], strict=False))


def test_blocks_are_hourly_and_cover_waking_hours_exactly() -> None:
    day = blocks(DAY)
    assert covers_without_gaps(day, 7 * 60, 22 * 60 + 30)
    assert all(b.end - b.start <= 60 for b in day)
    assert [b.activity for b in day if b.start == 9 * 60] == ["work"]
    assert day[-1].start == 22 * 60 and day[-1].end == 22 * 60 + 30


def test_items_before_waking_start_at_waking_and_items_after_bedtime_are_dropped() -> None:
    day = blocks(plan("08:00", "21:00", ("06:00", "jog"), ("10:00", "shop"), ("11:00", "a"), ("12:00", "b"),
                      ("22:00", "party")))
    assert day[0].start == 8 * 60 and day[0].activity == "jog"
    assert "party" not in {b.activity for b in day} and day[-1].end == 21 * 60


def test_a_decomposed_day_covers_waking_hours_without_gaps_or_overlaps() -> None:
    steps = [(10, "a", "Home:room", None), (15, "b", "Park:lawn", "bench"), (7, "c", "Home:room", "desk")]
    actions: list[Action] = []
    for block in blocks(DAY):
        actions += fit(steps, block.start, block.end)
    assert covers_without_gaps(actions, 7 * 60, 22 * 60 + 30)
    assert all(a.end - a.start <= 15 for a in actions)
    assert sum(1 for a in actions if a.end - a.start < 5) == 0


def test_fit_clamps_step_lengths_to_5_to_15_minutes_and_repeats_steps() -> None:
    actions = fit([(2, "quick", "H:r", None), (40, "long", "H:r", None)], 600, 640)
    # 2 → 5, 40 → 15, then again 5 and 15: 600-605, 605-620, 620-625, 625-640
    assert [(a.start, a.end, a.activity) for a in actions] == [
        (600, 605, "quick"), (605, 620, "long"), (620, 625, "quick"), (625, 640, "long")]


def test_fit_merges_a_short_remainder_into_the_step_before() -> None:
    actions = fit([(10, "a", "H:r", None)], 0, 23)
    # 0-10, 10-20, then 3 minutes left: merged into the second (10-23, 13 minutes)
    assert [(a.start, a.end) for a in actions] == [(0, 10), (10, 23)]


def test_fit_of_nothing_is_nothing() -> None:
    assert fit([], 0, 60) == [] and fit([(10, "a", "H:r", None)], 60, 60) == []


def test_a_short_remainder_after_a_full_step_borrows_from_it() -> None:
    actions = fit([(15, "a", "H:r", None)], 0, 33)
    # 0-15, 15-30, 3 left: 15+3 > 15, so the second gives 2 minutes: 15-28, 28-33
    assert [(a.start, a.end) for a in actions] == [(0, 15), (15, 28), (28, 33)]
