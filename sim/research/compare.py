"""Runs side by side: each run's headline metrics, and how far each is from the first run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.research.metrics import RunMetrics, pandas


def compare(paths: list[Path]) -> Any:
    """A table with one row per metric, one column per run and one ``Δ`` column per run after the first."""
    if len(paths) < 2:
        raise UserError("RUN.db: give at least two runs to compare")
    summaries = []
    for path in paths:
        with RunMetrics(path) as metrics:
            summaries.append(metrics.summary())
    names = _labels(paths)
    keys = list(dict.fromkeys(key for summary in summaries for key in summary))
    rows = []
    for key in keys:
        row: dict[str, Any] = {"metric": key}
        base = summaries[0].get(key)
        for name, summary in zip(names, summaries, strict=True):
            row[name] = summary.get(key)
        for name, summary in zip(names[1:], summaries[1:], strict=True):
            value = summary.get(key)
            row[f"Δ {name}"] = None if value is None or base is None else round(value - base, 6)
        rows.append(row)
    return pandas().DataFrame(rows, columns=["metric", *names, *(f"Δ {n}" for n in names[1:])])


def _labels(paths: list[Path]) -> list[str]:
    """Short unique column names: file names, or whole paths where two file names are the same."""
    stems = [p.stem for p in paths]
    return stems if len(set(stems)) == len(stems) else [str(p) for p in paths]


def compare_text(table: Any) -> str:
    """The comparison for a terminal: numbers as written, blanks where a run lacks a metric, and what cache rows mean."""
    text = str(table.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.6g}"))
    cached = table[table["metric"] == "llm_calls_cached"]
    runs = [c for c in table.columns if c != "metric" and not c.startswith("Δ ")]
    if len(cached) and any((cached[run].fillna(0) > 0).any() for run in runs):
        text += (
            "\nCalls answered from the reply cache (a fork's parent's replies) sent nothing: tokens_sent and "
            "cost_usd\ncount what went to the model, *_cached what those answers took when first made (- if "
            "their first run is not at hand)."
        )
    return text
