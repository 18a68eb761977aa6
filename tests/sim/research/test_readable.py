"""The readability checks: which texts read as written by a person, plans' spread, households kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.research.readable import check, foreign_uses, households, plan_spread, share, well_formed
from sim.worldfile.scenario import load_scenario
from tests.conftest import WORLDS, hamlet_process
from tests.sim.research.sentence_cases import CASES, score


def test_the_labelled_set_covers_every_failure_the_small_model_showed_and_real_sentences() -> None:
    need = {"json fragment", "identifier", "schema word", "number", "one word", "schema prose", "nonsense words"}
    assert need <= {c.category for c in CASES}
    assert sum(c.good for c in CASES) >= 20 and sum(not c.good for c in CASES) >= 30


def test_the_sentence_check_catches_fragments_schema_words_and_echoes_but_not_nonsense_words() -> None:
    total, per, wrong = score(CASES)
    # What the check is for: no fragment, identifier, number, lone word or schema echo passes.
    for category in ("json fragment", "identifier", "number", "one word"):
        assert per[category].fp == 0, [c.text for c in wrong if c.category == category]
    assert total.recall >= 0.95
    # What it cannot do, kept visible: nonsense made of real words passes, so it bounds readability from above.
    assert per["nonsense words"].fp >= 3 and total.precision < 0.9


def test_share_counts_lines_activities_and_plan_items_but_not_the_minds_own_sleeping() -> None:
    events = [
        ("say", {"text": "Good morning, Sofia!"}),
        ("say", {"text": "]["}),
        ("act", {"activity": "sleeping"}),
        ("act", {"activity": "bakes bread"}),
        (
            "plan",
            {"items": [{"start": "07:00", "activity": "Activity"}, {"start": "09:00", "activity": "opens the shop"}]},
        ),
    ]
    assert share(events) == {"say": (1, 2), "act": (1, 1), "plan": (1, 2), "all": (3, 5)}
    assert not well_formed("sleeping")  # one word: why the mind's own activity is left out, not judged


def test_a_plan_spread_over_the_day_scores_high_and_one_bunched_at_night_low() -> None:
    spread = {
        "wake_up": "07:00",
        "bedtime": "22:00",
        "items": [{"start": f"{h:02d}:00", "activity": "x y"} for h in (7, 9, 12, 15, 19)],
    }
    bunched = {
        "wake_up": "07:00",
        "bedtime": "22:00",
        "items": [{"start": "20:00", "activity": "x y"}, {"start": "21:00", "activity": "z w"}],
    }
    assert plan_spread(spread) == pytest.approx(12 / 15)
    # plan_spans moves the first item to waking: a plan of night items covers the day from waking to them.
    assert plan_spread(bunched) == pytest.approx(14 / 15)
    assert plan_spread({"wake_up": "07:00", "bedtime": "22:00", "items": [{"start": "20:00", "activity": "x"}]}) == 0


def test_a_neighbours_flat_and_another_familys_house_are_foreign_a_shared_lounge_and_ones_own_house_are_not() -> None:
    homes = households(load_scenario(WORLDS / "smallville.yaml"))
    assert homes["Priya Raman"] == "Canal Lofts:Priya's flat" and homes["Jonas Achterberg"] == "Achterberg House"
    acts = [
        ("Sofia Marchetti", "Canal Lofts:Priya's flat"),
        ("Sofia Marchetti", "Canal Lofts:shared lounge"),
        ("Walter Greaves", "Achterberg House:kitchen"),
        ("Jonas Achterberg", "Achterberg House:parents' bedroom"),
        ("Priya Raman", "Canal Lofts:Priya's flat"),
        ("Walter Greaves", "Kettle & Crumb:counter"),
    ]
    assert foreign_uses(acts, homes) == [
        ("Sofia Marchetti", "Canal Lofts:Priya's flat"),
        ("Walter Greaves", "Achterberg House:kitchen"),
    ]


@pytest.mark.slow
def test_generative_people_plan_and_act_only_in_their_own_flat_or_shared_places(tmp_path: Path) -> None:
    run = tmp_path / "run.db"
    hamlet_process(
        "run", WORLDS / "smallville.yaml", "--llm", "scripted-inprocess", "--hours", "6", "--out", run, "--quiet"
    )
    report = check(run)
    assert report["foreign_uses"] == []  # the flats' residents are offered only their own flat and the lounge
    assert report["hour_plans"] == 9 and report["sentences"]["all"]["texts"] > 50
