"""Reflection fires exactly when the importance since the last one passes the threshold."""

from __future__ import annotations

from agents.generative.reflection import due


def test_reflection_fires_only_once_the_threshold_is_passed() -> None:
    threshold = 150.0
    total = 0.0
    fired_at = None
    for count, importance in enumerate([9, 8, 10, 7] * 10, 1):
        total += importance
        if due(total, threshold):
            fired_at = (count, total)
            break
    # 9+8+10+7 = 34 a round: after 16 scores 136, 17th (9) → 145, 18th (8) → 153 > 150
    assert fired_at == (18, 153)


def test_reaching_the_threshold_exactly_is_not_passing_it() -> None:
    assert not due(150.0, 150.0) and due(150.5, 150.0)
