"""Sweeps: a grid of seeds and settings runs in parallel processes and aggregates into one table, the same every time."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.research.sweep import aggregate, parse_grid, parse_seeds
from tests.conftest import WORLDS, assert_one_line_error, hamlet_process

THREE_GENERATIVE = ("sweep", WORLDS / "two_rooms.yaml", "--seeds", "1-3", "--set", "mind=generative")
"""Three seeds of the two rooms' pair on the generative mind."""
SWEEP = (
    *THREE_GENERATIVE,
    "--set",
    "reflection=on,off",
    "--hours",
    "3",
    "--parallel",
    "2",
    "--llm",
    "scripted-inprocess",
)
# Slowed so that a run is still going when a test interrupts it: 4 simulated hours with a snapshot
# each hour, 200 ms a call, about 6 s a run.
SLOW_SWEEP = (*THREE_GENERATIVE, "--hours", "4", "--llm", "scripted-inprocess", "--llm-latency-ms", "200")


@pytest.mark.slow
def test_three_seeds_by_reflection_on_off_make_six_runs_and_one_table_the_same_twice(tmp_path: Path) -> None:
    first = hamlet_process(*SWEEP, "--out", tmp_path / "a")
    assert first.code == 0, first.err
    second = hamlet_process(*SWEEP, "--out", tmp_path / "b")
    assert second.code == 0, second.err
    runs = sorted(p.name for p in (tmp_path / "a").glob("*.db"))
    assert runs == [f"mind-generative_reflection-{r}_seed{s}.db" for r in ("off", "on") for s in (1, 2, 3)]
    table = pd.read_csv(tmp_path / "a" / "sweep.csv")
    assert sorted(table["reflection"].unique()) == ["off", "on"]
    assert set(table["n"]) == {3}
    assert {"conversations_per_person", "knows_density", "llm_calls", "bench_fixed.share"} <= set(table["metric"])
    assert (tmp_path / "a" / "sweep.csv").read_bytes() == (tmp_path / "b" / "sweep.csv").read_bytes()
    assert json.loads((tmp_path / "a" / "sweep.json").read_text())["grid"] == [
        "mind=generative reflection=on",
        "mind=generative reflection=off",
    ]
    assert "mind=generative reflection=off" in first.out and "95 % confidence interval" in first.out
    assert first.out == second.out
    again = hamlet_process(*SWEEP, "--out", tmp_path / "a")
    assert again.code == 0 and again.out == first.out, "finished runs in the folder are reused"


def test_a_setting_no_mind_takes_is_one_line_and_nothing_runs(tmp_path: Path) -> None:
    result = hamlet_process(
        "sweep",
        WORLDS / "two_rooms.yaml",
        "--seeds",
        "1-2",
        "--set",
        "reflexion=on,off",
        "--out",
        tmp_path / "s",
        "--llm",
        "scripted-inprocess",
    )
    assert_one_line_error(result, "reflexion", "no mind takes")
    assert not (tmp_path / "s").exists()


def test_seeds_and_grids_are_read_as_written() -> None:
    assert parse_seeds("1-3,7") == [1, 2, 3, 7] and parse_seeds("5") == [5]
    keys, grid = parse_grid(["reflection=on,off", "top_k=4,8"])
    assert keys == ["reflection", "top_k"]
    assert grid == [
        {"reflection": "on", "top_k": "4"},
        {"reflection": "on", "top_k": "8"},
        {"reflection": "off", "top_k": "4"},
        {"reflection": "off", "top_k": "8"},
    ]


def test_a_bad_seed_list_is_one_line(tmp_path: Path) -> None:
    result = hamlet_process("sweep", WORLDS / "two_rooms.yaml", "--seeds", "3-1", "--out", tmp_path / "s")
    assert_one_line_error(result, "--seeds '3-1'", "1-10")


def test_the_confidence_interval_is_students_t_over_the_seeds() -> None:
    runs = pd.DataFrame({"k": ["a", "a", "a", "b"], "seed": [1, 2, 3, 1], "run": ["r"] * 4, "x": [1.0, 2.0, 3.0, 5.0]})
    table = aggregate(runs, ["k"]).set_index("k")
    # mean 2, sample sd 1, n 3: 2 ± 4.303 / sqrt(3)
    assert table.loc["a", "mean"] == 2.0
    assert table.loc["a", "ci95_low"] == round(2 - 4.303 / 3**0.5, 6)
    assert table.loc["a", "ci95_high"] == round(2 + 4.303 / 3**0.5, 6)
    assert table.loc["b", "n"] == 1 and pd.isna(table.loc["b", "ci95_low"])


def test_an_interval_never_leaves_the_range_its_metric_lies_in() -> None:
    # Few seeds and a count near zero: Student's t alone would say -3.3 to 5.3 people knew it.
    runs = pd.DataFrame(
        {
            "seed": [1, 2, 3],
            "run": ["r"] * 3,
            "party.knowing": [0.0, 0.0, 3.0],
            "party.share": [0.9, 1.0, 1.0],
            "x": [0.0, 0.0, 3.0],
        }
    )
    table = aggregate(runs, []).set_index("metric")
    assert table.loc["party.knowing", "ci95_low"] == 0.0 and table.loc["party.knowing", "ci95_high"] > 3
    assert table.loc["party.share", "ci95_high"] == 1.0 and table.loc["party.share", "ci95_low"] < 0.9
    assert table.loc["x", "ci95_low"] < 0, "a metric the registry does not know is not cut"


TWO = (
    "sweep",
    WORLDS / "two_rooms.yaml",
    "--seeds",
    "1-2",
    "--hours",
    "1",
    "--parallel",
    "1",
    "--llm",
    "scripted-inprocess",
)


@pytest.mark.slow
def test_a_piped_sweep_says_each_run_as_it_finishes_and_quiet_says_nothing(tmp_path: Path) -> None:
    result = hamlet_process(*TWO, "--set", "top_k=4,8", "--out", tmp_path / "s")
    assert result.code == 0, result.err
    done = [line for line in result.err.splitlines() if line.startswith("run ")]
    assert [line.split(":")[0] for line in done] == [f"run {i}/4 done" for i in range(1, 5)]
    assert {line.split(": ", 1)[1].rsplit(" (", 1)[0] for line in done} == {
        f"seed={s} top_k={k}" for s in (1, 2) for k in (4, 8)
    }
    assert all(line.endswith(" s)") for line in done), done
    again = hamlet_process(*TWO, "--set", "top_k=4,8", "--out", tmp_path / "s", "--quiet")
    assert again.code == 0 and not [line for line in again.err.splitlines() if line.startswith("run ")]
    reused = hamlet_process(*TWO, "--set", "top_k=4,8", "--out", tmp_path / "s")
    assert reused.err.count("(finished earlier, reused)") == 4


@pytest.mark.slow
def test_a_sweep_on_a_terminal_draws_a_live_line(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import ROOT, read_terminal

    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *map(str, TWO), "--out", str(tmp_path / "s")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    os.close(follower)
    text = read_terminal(leader)
    assert proc.returncode == 0
    assert "sweep" in text and "2/2 runs" in text and "run 2/2 done" in text


def test_the_api_key_reaches_each_run_through_its_environment_not_its_command_line() -> None:
    import sys

    from sim.llm.options import LLMOptions
    from sim.research.sweep import _child_env, _run

    check = [sys.executable, "-c", "import os, sys; sys.exit(os.environ.get('OPENAI_API_KEY') != 'sk-test')"]
    assert _run(check, _child_env(LLMOptions(api_key="sk-test"))) == ""
    assert _child_env(LLMOptions()) is None, "without --api-key the runs inherit this environment as it is"


@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_and_starts_none_of_the_runs_still_waiting(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import ROOT, hamlet_command

    out = tmp_path / "s"
    sweep = subprocess.Popen(
        hamlet_command(*SLOW_SWEEP, "--parallel", "1", "--out", out),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not list(out.glob("*.db")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(sweep.pid, signal.SIGINT)  # a terminal's Ctrl-C: the sweep and its runs
    _, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, err
    assert [p.name for p in out.glob("*.db")] == ["mind-generative_seed1.db"], "the waiting runs never started"
