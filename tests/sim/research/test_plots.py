"""``hamlet plot`` as a reader sees it: whole people on the diffusion axis, names in the network apart and on the page."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest

from sim.research.metrics import RunMetrics
from sim.research.plots import draw
from tests.conftest import WORLDS, hamlet_process


def close(figure: object) -> None:
    import matplotlib.pyplot as plt  # after draw() chose the Agg backend

    plt.close(figure)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wrenfield's first three hours: one person knows of the party, three have talked, six have not."""
    run = tmp_path_factory.mktemp("plots") / "town.db"
    result = hamlet_process(
        "run",
        WORLDS / "smallville.yaml",
        "--llm",
        "scripted-inprocess",
        "--hours",
        "3",
        "--seed",
        "7",
        "--out",
        run,
        "--quiet",
    )
    assert result.code == 0, result.err
    return run


@pytest.mark.slow
def test_the_diffusion_axis_counts_whole_people_up_to_everyone(town: Path) -> None:
    with RunMetrics(town) as metrics:
        figure = draw(metrics, "diffusion")
        try:
            axes = figure.axes[0]
            low, high = axes.get_ylim()
            ticks = [t for t in axes.get_yticks() if low <= t <= high]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
            assert high >= len(metrics.people()), "the axis reaches everyone there is"
        finally:
            close(figure)


@pytest.mark.parametrize("graph", ["conversations", "knows"])
def test_the_networks_names_neither_overlap_nor_leave_the_picture(town: Path, graph: str) -> None:
    with RunMetrics(town) as metrics:
        figure = draw(metrics, "network", graph=graph)
        try:
            figure.canvas.draw()
            renderer = figure.canvas.get_renderer()
            names = {text.get_text(): text.get_window_extent(renderer) for text in figure.axes[0].texts}
            assert sorted(names) == sorted(metrics.everyone())
            page = figure.bbox
            for name, box in names.items():
                assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, name
            crowded = [(a, b) for (a, one), (b, other) in combinations(names.items(), 2) if one.overlaps(other)]
            assert not crowded
        finally:
            close(figure)
