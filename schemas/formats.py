"""The JSON Schemas of what sinks write, and the Parquet (Arrow) schemas derived from them:
one definition of each sink record."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from newsbeam.schemas.times import parse_time


@functools.cache
def load_json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a sink record: 'story' or 'dead_letter'."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def arrow_schema(name: str) -> Any:
    """The pyarrow schema of a sink record, derived from its JSON Schema: times (format
    date-time) are UTC timestamps to the second."""
    import pyarrow as pa

    def field_type(spec: dict[str, Any]) -> Any:
        kinds = spec.get("type", "string")
        kinds = [k for k in (kinds if isinstance(kinds, list) else [kinds]) if k != "null"] or ["string"]
        kind = kinds[0] if "enum" not in spec else "string"
        if kind == "array":
            return pa.list_(field_type(spec["items"]))
        if kind == "object":
            return pa.struct([pa.field(k, field_type(v)) for k, v in spec["properties"].items()])
        if spec.get("format") == "date-time":
            return pa.timestamp("s", tz="UTC")
        return {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}[kind]

    schema = load_json_schema(name)
    return pa.schema([pa.field(k, field_type(v)) for k, v in schema["properties"].items()])


def arrow_row(record: dict[str, Any], name: str) -> dict[str, Any]:
    """A sink record with its times (format date-time) as datetimes, for its arrow_schema."""
    def convert(value: Any, spec: dict[str, Any]) -> Any:
        if value is None:
            return None
        if spec.get("format") == "date-time":
            return parse_time(value)
        if spec.get("type") == "array" and isinstance(value, list | tuple):
            return [convert(item, spec["items"]) for item in value]
        if spec.get("type") == "object" and isinstance(value, dict):
            return {k: convert(v, spec["properties"].get(k, {})) for k, v in value.items()}
        return value

    return convert(record, load_json_schema(name))
