"""``hamlet show`` tells a run's story from its log: facts, gatherings, conversations, re-plans, interventions.

The scripted model's lines are noise; these tests check that what the story says is in the file
(the people of a conversation, the line quoted, the reasons, the times), never what the lines say.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sim.research.metrics import RunMetrics
from sim.research.story import read_story
from tests.conftest import ROOT, WORLDS, hamlet_process
from tests.sim.research.handmade import HandRun, town_run


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The research guide's run: the town of worlds/smallville.yaml for 38 hours, the party included."""
    run = tmp_path_factory.mktemp("story") / "town.db"
    done = hamlet_process(
        "run", WORLDS / "smallville.yaml", "--llm", "scripted", "--hours", "38", "--seed", "7", "--out", run, "--quiet"
    )
    assert done.code == 0, done.err
    return run


def events(run: Path, kind: str) -> list[tuple[int, int, str, str, str, dict[str, Any]]]:
    """(seq, t, time, person, place, data) of every event of ``kind``."""
    with sqlite3.connect(run) as db:
        rows = db.execute("SELECT seq, t, time, person, place, data FROM event WHERE kind = ? ORDER BY seq", (kind,))
        return [(*row[:5], json.loads(row[5])) for row in rows]


@pytest.mark.slow
def test_show_tells_the_story_in_at_most_40_lines_and_full_tells_all_of_it(hamlet, town: Path) -> None:
    short = hamlet("show", town)
    assert short.code == 0, short.err
    lines = short.out.splitlines()
    assert len(lines) <= 40, short.out
    assert all(len(line) <= 100 for line in lines), short.out
    for heading in ("People", "Facts", "Conversations", "Reactions", "Interventions"):
        assert any(line.startswith(heading) for line in lines), heading
    talks = len(events(town, "talk"))
    pairs = len({frozenset((e[3], e[5]["with"])) for e in events(town, "talk")})
    assert f"Conversations {talks} between {pairs} pairs of people (the first" in short.out
    assert "hamlet show --full for all" in short.out
    full = hamlet("show", town, "--full").out
    assert len(full.splitlines()) > 40
    assert f"Conversations {talks} between {pairs} pairs of people\n" in full and "(the first" not in full
    assert len(re.findall(r"^  \w\w\w \d\d \d\d:\d\d  .* with .* at .*, \d+ lines$", full, flags=re.M)) == talks


def test_the_people_table_has_a_header(hamlet, town: Path) -> None:
    lines = hamlet("show", town).out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("People"))
    assert lines[at] == "People     9"
    assert lines[at + 1].split() == ["name", "age", "home", "mind", "occupation"]
    assert lines[at + 2].split()[:3] == ["Hendrik", "Achterberg", "47"]


def test_each_conversation_names_its_people_and_quotes_a_line_they_said_in_it(hamlet, town: Path) -> None:
    story = json.loads(hamlet("show", town, "--full", "--json").out)["story"]
    talks = events(town, "talk")
    says = events(town, "say")
    assert story["conversations"]["total"] == len(talks) > 0
    assert len(story["conversations"]["items"]) == len(talks)
    for item, (seq, _, time, person, place, data) in zip(story["conversations"]["items"], talks, strict=True):
        assert (item["time"], item["people"], item["place"]) == (time, [person, data["with"]], place)
        said = [
            (s[3], s[5]["text"])
            for s in says
            if s[0] > seq and s[5].get("turn") is not None and {s[3], s[5]["to"]} == {person, data["with"]}
        ][: item["lines"]]
        assert len(said) == item["lines"] > 0
        assert (item["quote"]["person"], item["quote"]["text"]) in said
    text = hamlet("show", town, "--full").out
    for item in story["conversations"]["items"]:
        a, b = item["people"]
        assert f"{a} with {b} at {item['place']}" in text
        assert f"{item['quote']['person']}: “{' '.join(item['quote']['text'].split())}”" in text


def test_the_text_quotes_lines_of_the_file_even_when_cut_to_fit(hamlet, town: Path) -> None:
    said = {" ".join(s[5]["text"].split()) for s in events(town, "say")}
    quoted = re.findall(r"^ {16}[^:]+: “(.*?)(?:”|…)$", hamlet("show", town).out, flags=re.M)
    assert quoted
    for line in quoted:
        assert any(text.startswith(line) for text in said), line


def test_json_carries_what_the_text_tells(hamlet, town: Path) -> None:
    text = hamlet("show", town).out
    story = json.loads(hamlet("show", town, "--json").out)["story"]
    shown = re.findall(r"^  (\w\w\w \d\d \d\d:\d\d)  (.+) with (.+) at ", text, flags=re.M)
    assert len(shown) == len(story["conversations"]["items"]) > 0
    for (_, a, b), item in zip(shown, story["conversations"]["items"], strict=True):
        assert [a, b] == item["people"]
    changes = re.findall(r"^  \w\w\w \d\d \d\d:\d\d  (.+?) changes plans: ", text, flags=re.M)
    assert changes == [r["person"] for r in story["reactions"]["items"]]
    assert f"Reactions  {story['reactions']['total']} re-plans by {story['reacting_people']} people" in text
    full = json.loads(hamlet("show", town, "--json", "--full").out)["story"]
    assert full["conversations"]["total"] == story["conversations"]["total"]
    assert len(full["conversations"]["items"]) > len(story["conversations"]["items"])


def test_reactions_are_the_re_plans_of_the_file_with_their_reasons(hamlet, town: Path) -> None:
    story = json.loads(hamlet("show", town, "--json", "--full").out)["story"]
    replans = [e for e in events(town, "plan") if e[5].get("scope") == "replan"]
    assert story["reactions"]["total"] == len(replans) > 0
    assert story["reacting_people"] == len({e[3] for e in replans})
    assert [(r["time"], r["person"], r["reason"]) for r in story["reactions"]["items"]] == [
        (e[2], e[3], e[5]["reason"]) for e in replans
    ]


def test_interventions_are_told_with_what_was_done(hamlet, town: Path) -> None:
    story = json.loads(hamlet("show", town, "--json").out)["story"]
    poster = events(town, "intervene")[0]
    told = story["interventions"]["items"][0]
    assert (told["time"], told["kind"], told["place"], told["text"]) == (
        poster[2],
        "inject",
        poster[4],
        poster[5]["text"],
    )
    assert any(i["kind"] == "set_object" for i in story["interventions"]["items"])  # the notice board
    assert f"inject at {poster[4]}: “{poster[5]['text'][:40]}" in hamlet("show", town).out


@pytest.mark.parametrize("run_name", ["town", "handmade"])
def test_the_story_of_facts_and_gatherings_is_the_metrics_answer(run_name: str, town: Path, tmp_path: Path) -> None:
    run = town if run_name == "town" else town_run(tmp_path / "hand.db")
    with RunMetrics(run) as metrics:
        story = read_story(metrics)
        assert [s.fact for s in story.facts] == [f.name for f in metrics.facts()]
        for fact, spread in zip(metrics.facts(), story.facts, strict=True):
            table = metrics.diffusion(fact)
            assert sorted((k["person"], k["t"], k["how"]) for k in spread.knew) == sorted(
                (r.person, int(r.t), r.how) for r in table.itertuples() if r.knows
            )
            assert spread.people == len(table)
            plans = metrics.plans(fact)
            assert sorted((p["person"], p["t"]) for p in spread.planned) == sorted(
                zip(plans["person"], plans["t"], strict=True)
            )
            window = metrics.gathering(fact)
            assert window is not None and spread.gathering is not None
            came = metrics.attendance(window)
            assert sorted(
                (c["person"], c["arrived"], c["left"], c["minutes"]) for c in spread.gathering["came"]
            ) == sorted(came.itertuples(index=False, name=None))


def test_a_memory_in_letters_that_fold_to_the_news_still_counts(tmp_path: Path) -> None:
    run = HandRun(tmp_path / "wide.db")
    for person in ("Ann Reed", "Bo Lane", "Cy Moss"):
        run.event(0, "spawn", person, "Home:room", home="Home:room")
    run.memory("Bo Lane", 60, "Ｔｈｅ ｓｐｒｉｎｇ ＦＥＳＴＩＶＡＬ is on Sunday.")  # fullwidth: no plain "festival"
    run.memory("Cy Moss", 60, "The Fest is on.")
    run.event(
        120,
        "plan",
        "Cy Moss",
        "Home:room",
        scope="replan",
        reason="to go to the ﬁesta, then the ＦＥＳＴＩＶＡＬ",
        items=[],
    )
    with RunMetrics(run.close()) as metrics:
        spread = read_story(metrics).facts[0]
        fact = metrics.facts()[0]
        assert [k["person"] for k in spread.knew] == ["Ann Reed", "Bo Lane"] == sorted(metrics.knowing(fact))
        assert [p["person"] for p in spread.planned] == ["Cy Moss"] == list(metrics.plans(fact)["person"])


def test_handmade_conversation_gathering_and_knowing_read_as_written(hamlet, tmp_path: Path) -> None:
    run = town_run(tmp_path / "hand.db")
    story = json.loads(hamlet("show", run, "--json").out)["story"]
    talk = story["conversations"]["items"][0]
    assert talk["people"] == ["Ann Reed", "Bo Lane"] and talk["lines"] == 2 and talk["ended"] == "ended"
    assert talk["quote"] == {"person": "Ann Reed", "text": "Have you heard?"}  # the first of the longest
    spread = story["facts"][0]
    assert [(k["person"], k["how"]) for k in spread["knew"]] == [("Ann Reed", "seeded"), ("Bo Lane", "dialogue")]
    assert spread["gathering"]["reached"] == "past"
    assert [(c["person"], c["minutes"]) for c in spread["gathering"]["came"]] == [("Ann Reed", 30.0), ("Bo Lane", 46.7)]
    text = hamlet("show", run).out
    assert "  festival: 2 of 3 knew it by the end, 0 made a plan for it" in text
    assert "    came      2: Ann Reed (10:00, 30 min), Bo Lane (10:13, 46.7 min)" in text


def test_a_run_that_ends_before_a_gathering_says_nobody_could_have_come_yet(hamlet, tmp_path: Path) -> None:
    run = HandRun(tmp_path / "early.db", hours=1)  # the festival is from +2h to +3h
    for person in ("Ann Reed", "Bo Lane", "Cy Moss"):
        run.event(0, "spawn", person, "Home:room", home="Home:room")
    run.close()
    gathering = json.loads(hamlet("show", run.path, "--json").out)["story"]["facts"][0]["gathering"]
    assert gathering["reached"] == "ahead" and gathering["came"] == []
    assert (
        "    came      nobody could have come yet: it starts after this run ends (Mon 02 09:00)"
        in hamlet("show", run.path).out
    )
    metrics = hamlet("metrics", run.path)
    assert metrics.code == 0, metrics.err
    assert (
        "  the gathering at Cafe starts at 2026-03-02T10:00:00, after this run ends at 2026-03-02T09:00:00; "
        "nobody could have come yet"
    ) in metrics.out
    assert " came" not in metrics.out.split("Coordination")[1].split("\n\n")[0].replace("could have come", "")
    coordination = json.loads(hamlet("metrics", run.path, "--json").out)["coordination"]
    assert coordination["reached"] == "ahead" and coordination["run_end"] == "2026-03-02T09:00:00"


def test_a_run_that_ends_during_a_window_says_it_counted_until_then(hamlet, tmp_path: Path) -> None:
    run = town_run(tmp_path / "hand.db")
    text = hamlet("metrics", run, "--place", "Cafe", "--window", "+3h..+5h").out
    assert "  1 came by 2026-03-02T12:00:00, when this run ends, before the window does" in text


def test_a_lost_run_is_listed_with_how_to_resume_it(hamlet, tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    run = town_run(tmp_path / "runs" / "a.db")
    with sqlite3.connect(run) as db:  # as a run whose process was killed: still running, nobody writing
        db.execute("UPDATE run SET status = 'running'")
        db.execute("DELETE FROM meta WHERE key = 'writer'")
    listed = hamlet("runs", tmp_path / "runs").out
    assert " lost " in listed and f"continue it with hamlet resume {run}" in listed
    shown = hamlet("show", run).out
    assert "(lost: the process writing it died; continue it with hamlet resume" in " ".join(shown.split())


def test_show_tells_the_story_without_pandas(town: Path) -> None:
    code = (
        "import sys; sys.modules['pandas'] = None  # as if pandas were missing: show never needs it\n"
        "from sim.cli import main; raise SystemExit(main(['show', sys.argv[1]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(town)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "valentines_party: " in done.stdout and "Conversations " in done.stdout


def test_show_into_a_pipe_nobody_reads_ends_quietly(town: Path) -> None:
    # ``true`` exits at once: the show finds the pipe closed (hamlet show RUN.db | head, on a long story)
    done = subprocess.run(
        f"'{sys.executable}' -m sim show '{town}' | true",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr == ""
