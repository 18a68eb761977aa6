"""Topic names and the envelope: no name can pose as Hamlet's own level; bad payloads are refused with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.bus.topics import Rejected, envelope, event_topic, matches, opened, run_id, segment


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("Ada Brook", "Ada Brook"),
        ("a/b", "a%2Fb"),
        ("+#", "%2B%23"),
        ("100%", "100%25"),
        ("_", "%5F"),
        ("_x", "%5Fx"),
        ("status", "%73tatus"),
        ("control", "%63ontrol"),
    ],
)
def test_a_name_becomes_one_topic_level_that_cannot_pose_as_hamlets_own(name: str, level: str) -> None:
    assert segment(name) == level


def test_events_of_nobody_go_under_underscore_and_runs_are_named_by_their_file() -> None:
    assert event_topic("r1", "run_start", None) == "hamlet/r1/run_start/_"
    assert event_topic("r1", "say", "_") == "hamlet/r1/say/%5F"
    assert run_id(Path("replays/town-seed7-20260101-120000.db")) == "town-seed7-20260101-120000"


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("hamlet/#", "hamlet/r/act/Ada", True),
        ("hamlet/+/control/#", "hamlet/r/control/pause", True),
        ("hamlet/+/control/#", "hamlet/r/act/Ada", False),
        ("hamlet/r/+/Ada", "hamlet/r/act/Ada", True),
        ("hamlet/r/+/Ada", "hamlet/r/act/Ada/x", False),
        ("hamlet/r/status", "hamlet/r/status", True),
    ],
)
def test_subscription_patterns_match_as_in_mqtt(pattern: str, topic: str, expected: bool) -> None:
    assert matches(pattern, topic) is expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{oops", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"run": "r"}', "envelope version None"),
        (b'{"v": 2, "run": "r"}', "envelope version 2"),
        (b'{"v": 1, "run": "other"}', "run 'other' is not this run ('r')"),
    ],
)
def test_a_payload_that_is_not_a_version_1_envelope_for_this_run_is_rejected_with_the_reason(
    payload: bytes, reason: str
) -> None:
    with pytest.raises(Rejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
        opened(payload, "r")


def test_an_envelope_opens_to_its_fields() -> None:
    assert opened(envelope("r", status="running"), "r") == {"v": 1, "run": "r", "status": "running"}
