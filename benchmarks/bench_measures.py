"""Measures that mean what they say: the knowing rule's precision and recall on its labelled set.

The set is tests/sim/research/knowing_cases.py: memory sentences (judged as a memory of their
kind: someone else's activity must carry a paraphrase) and probe answers (the "what" of a
structured answer, judged as text), each labelled knows / does not know by reading it. Prints
the confusion counts per hard case and in all, the precision and recall, and the cases the rule
gets wrong. Target: precision and recall >= 0.95 on each set. A third set, plan items and
reasons labelled whether each is a plan for the fact (``plans_for``, the coordination measure's
"made a plan for it"), is reported without a target, and so is a fourth: texts people wrote,
labelled whether they read as written by a person (``sim.research.readable.well_formed``, the
sentence share of issue #18; tests/sim/research/sentence_cases.py).

Run: python benchmarks/bench_measures.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sim.research.knowing_cases import MEMORIES, PLANS, PROBES, Case, Confusion, score  # noqa: E402
from tests.sim.research.sentence_cases import CASES as SENTENCES  # noqa: E402
from tests.sim.research.sentence_cases import score as score_sentences  # noqa: E402

TARGET = 0.95


def _row(name: str, c: Confusion) -> str:
    return f"  {name:<16} {c.tp:>4} {c.fp:>4} {c.fn:>4} {c.tn:>4}   {c.precision:>9.3f} {c.recall:>6.3f}"


def table(heading: str, total: Confusion, per: dict[str, Confusion]) -> None:
    """Print the confusion counts per hard case and in all."""
    print(f"  {heading:<16} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4}   precision recall")
    for name in sorted(per):
        print(_row(name, per[name]))
    print(_row("all", total))


def report(title: str, cases: list[Case], target: float | None = TARGET) -> bool:
    """Print one set's table; whether it meets the target (None: no target, figures only)."""
    total, per, wrong = score(cases)
    print(f"{title}: {len(cases)} labelled ({sum(c.knows for c in cases)} knows)")
    table("hard case", total, per)
    if target is None:
        ok = True
        print("  no target: the plan measure is reported, with the cases it gets wrong")
    else:
        ok = total.precision >= target and total.recall >= target
        print(f"  target precision and recall >= {target}: {'PASS' if ok else 'FAIL'}")
    for case in wrong:
        print(f"  wrong ({'knows' if case.knows else 'does not know'}, said the opposite): [{case.kind}] {case.text}")
    print()
    return ok


def main(argv: list[str] | None = None) -> int:
    """Print both sets' figures; exit 1 if either misses the target."""
    argparse.ArgumentParser(
        description="The knowing rule's precision and recall on its labelled sets (target 0.95 each); "
        "the plan and sentence checks' tables beside them. Takes no options."
    ).parse_args(argv)
    ok = report("Memories", MEMORIES)
    ok = report("Probe answers", PROBES) and ok
    report("Plans (is a plan for the fact)", PLANS, None)
    sentences()
    return 0 if ok else 1


def sentences() -> None:
    """Print the sentence check's table (no target: it bounds the readable share from above)."""
    total, per, wrong = score_sentences(SENTENCES)
    print(f"Sentences (reads as written by a person): {len(SENTENCES)} labelled ({sum(c.good for c in SENTENCES)} do)")
    table("failure", total, per)
    print("  no target: nonsense made of real words passes, so a run's share is an upper bound")
    for case in wrong:
        print(f"  wrong ({'reads' if case.good else 'does not read'} as a person's, said the opposite): {case.text!r}")


if __name__ == "__main__":
    sys.exit(main())
