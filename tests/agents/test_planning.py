"""Planning: blocks from a day plan, and actions fitted into a block without gaps or overlaps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.generative.planning import Action, DayPlan, PlanItem, blocks, fit


def plan(wake: str, bed: str, *items: tuple[str, str]) -> DayPlan:
    return DayPlan(wake_up=wake, bedtime=bed, items=[PlanItem(start=s, activity=a) for s, a in items])


DAY = plan(
    "07:00",
    "22:30",
    ("07:00", "breakfast"),
    ("09:00", "work"),
    ("12:00", "lunch"),
    ("13:00", "work"),
    ("18:00", "dinner"),
    ("20:00", "read"),
)


def covers_without_gaps(spans: list, start: int, end: int) -> bool:
    return (
        spans[0].start == start
        and spans[-1].end == end
        and all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    )


def test_blocks_are_hourly_and_cover_waking_hours_exactly() -> None:
    day = blocks(DAY)
    assert covers_without_gaps(day, 7 * 60, 22 * 60 + 30)
    assert all(b.end - b.start <= 60 for b in day)
    assert [b.activity for b in day if b.start == 9 * 60] == ["work"]
    assert day[-1].start == 22 * 60 and day[-1].end == 22 * 60 + 30


def test_items_before_waking_start_at_waking_and_items_after_bedtime_are_dropped() -> None:
    day = blocks(
        plan("08:00", "21:00", ("06:00", "jog"), ("10:00", "shop"), ("11:00", "a"), ("12:00", "b"), ("22:00", "party"))
    )
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
        (600, 605, "quick"),
        (605, 620, "long"),
        (620, 625, "quick"),
        (625, 640, "long"),
    ]


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


# -- what a call's schema offers ------------------------------------------------------------------


def _town_and(name: str):  # noqa: ANN202  (a scenario and one person's known places)
    from agents.generative.identity import known_places
    from sim.worldfile.scenario import load_scenario
    from tests.conftest import WORLDS

    town = load_scenario(WORLDS / "smallville.yaml")
    spec = next(p for p in town.people if p.name == name)
    return town, spec, known_places(town, spec)[0]


def test_a_blocks_schema_offers_its_own_sectors_not_the_whole_town() -> None:
    from agents.generative.planning import block_places, minutes

    town, hendrik, known = _town_and("Hendrik Achterberg")
    home = town.resolve_place(hendrik.home)
    # 08:00-09:00: his routine has him at the pharmacy; he is at home now
    offered = block_places(
        town, known, "fills prescriptions", minutes("08:00"), minutes("09:00"), hendrik.routine, home, home
    )
    assert {a.split(":")[0] for a in offered} == {"Achterberg House", "Wrenfield Pharmacy"}
    assert len(offered) < len(known) and set(offered) <= set(known)
    # a plan naming a place by its kind (a park) or an area (the stacks) offers that sector too
    walk = block_places(
        town,
        known,
        "walks to the park, then the library stacks",
        minutes("08:00"),
        minutes("09:00"),
        hendrik.routine,
        home,
        home,
    )
    assert {"Canal Green", "Wrenfield Library"} <= {a.split(":")[0] for a in walk}
    # before his routine's first item, a block with no place named may go anywhere he knows
    assert (
        block_places(
            town,
            known,
            "whatever seems best right now",
            minutes("05:00"),
            minutes("05:30"),
            hendrik.routine,
            home,
            home,
        )
        == known
    )


def test_the_decomposition_schema_lists_only_the_offered_places_and_their_objects() -> None:
    from agents.generative.planning import decomposition_model
    from sim.llm.prefix import schema_tokens

    town, hendrik, known = _town_and("Hendrik Achterberg")
    every = decomposition_model(known, ("bed", "stove", "medicine cabinet", "tables"))
    some = decomposition_model(tuple(a for a in known if a.startswith("Wrenfield Pharmacy")), ("medicine cabinet",))
    places = some.model_json_schema()["$defs"]["Step"]["properties"]["place"]["enum"]
    assert places == ["Wrenfield Pharmacy:dispensary", "Wrenfield Pharmacy:consultation room"]
    assert schema_tokens(some.model_json_schema()) < schema_tokens(every.model_json_schema()) * 0.7


def test_hour_plans_and_replans_offer_only_the_hours_they_can_start() -> None:
    from agents.generative.planning import HourPlan, Replan, hour_plan_model, replan_model

    hours = hour_plan_model(("07:00", "08:00", "09:00"))
    assert issubclass(hours, HourPlan)
    assert hours.model_validate({"hours": [{"start": "08:00", "activity": "opens the shop"}] * 3})
    with pytest.raises(ValidationError):
        hours.model_validate({"hours": [{"start": "05:00", "activity": "opens the shop"}] * 3})
    late = replan_model(("22:00",))
    assert issubclass(late, Replan)
    assert late.model_validate({"items": [{"start": "now", "activity": "goes home"}], "importance": 2})
    with pytest.raises(ValidationError):
        late.model_validate({"items": [{"start": "09:00", "activity": "goes home"}], "importance": 2})
