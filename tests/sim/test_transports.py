"""Whichever transport answers, a run writes the same file: the scripted model over HTTP or in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import crash
from tests.conftest import WORLDS, hamlet_process

pytestmark = pytest.mark.slow


def run_file(path: Path) -> dict[str, list[tuple]]:
    """Every table of the run file (wall-clock columns left out), the backend's name left out of the options."""
    log = crash.dump(path)
    log["run"] = [tuple(_without_backend(v) for v in row) for row in log["run"]]
    return log


def _without_backend(value: object) -> object:
    if isinstance(value, str) and value.startswith("{") and '"backend"' in value:
        data = json.loads(value)
        return json.dumps({k: v for k, v in data.items() if k not in ("llm", "backend")}, sort_keys=True)
    return value


@pytest.mark.parametrize(
    ("world", "extra"),
    [
        ("mixed", []),
        ("team", []),
        ("faults", ["--hours", "1", "--llm-fault-rate", "0.5", "--concurrency", "1"]),
    ],
)
def test_a_run_writes_the_same_tables_over_http_and_in_process(world: str, extra: list[str], tmp_path: Path) -> None:
    # Faults are drawn by the model's request count, so they land on the same calls only when the
    # calls arrive in one order: one at a time.
    path, args = (WORLDS / "smallville.yaml", extra) if world == "faults" else crash.WORLDS[world](tmp_path)
    logs = {}
    for llm in ("scripted", "scripted-inprocess"):
        out = tmp_path / f"{llm}.db"
        result = hamlet_process("run", path, *args, "--llm", llm, "--out", out, "--quiet")
        assert result.code == 0, result.err
        logs[llm] = run_file(out)
    assert logs["scripted"]["event"] and logs["scripted"]["llm_call"]
    assert crash.differences(logs["scripted"], logs["scripted-inprocess"]) == []
    if world == "faults":
        errors = {row[13].split(" ")[0] for row in logs["scripted"]["llm_call"] if row[7] == "error"}
        assert errors == {"APITimeoutError:", "InternalServerError", "RateLimitError"}, errors
