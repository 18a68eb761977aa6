"""``hamlet schema``: every field of a world file says what it is, so an editor shows it beside the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sim.worldfile.scenario import scenario_json_schema


def fields(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every property of every object the schema describes, with its path (``$defs/PersonSpec.age``)."""
    if isinstance(node, dict):
        for name, spec in (node.get("properties") or {}).items():
            yield f"{where}.{name}", spec
        for key, value in node.items():
            yield from fields(value, f"{where}/{key}" if where else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from fields(value, f"{where}[{index}]")


def test_every_field_of_the_world_schema_has_a_description(hamlet) -> None:
    result = hamlet("schema")
    assert result.code == 0, result.err
    found = list(fields(json.loads(result.out)))
    assert len(found) > 80, "the walk reached the nested definitions"
    bare = [where for where, spec in found if not (isinstance(spec, dict) and str(spec.get("description", "")).strip())]
    assert not bare, f"{len(bare)} fields without a description: {', '.join(bare)}"


def test_the_schema_walk_notices_a_field_without_one() -> None:
    schema = scenario_json_schema()
    schema["$defs"]["PersonSpec"]["properties"]["age"].pop("description")
    assert [where for where, spec in fields(schema) if "description" not in spec] == ["$defs/PersonSpec.age"]
