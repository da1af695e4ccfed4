"""The scenario JSON Schema (shipped in the package) and its errors as located problems.

One schema serves two readers: editors (``# yaml-language-server: $schema=...``) complete and
check scenario files with it, and :func:`check_structure` validates every file with it before
the finer checks of :mod:`.scenario`, so editor and tool cannot disagree about the shape.
Draft-07: what the YAML and JSON language servers support best. ``errorMessage`` (an extension
editors understand) and ``title`` make the messages read like the rest of the tool's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

from ihe_test_util.record.fields import describe
from ihe_test_util.record.problems import Problems

SCHEMA_RESOURCE = "scenario.schema.json"
_TYPE_WORDS = {"string": "a text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list",
               "null": "nothing"}


def schema_text() -> str:
    """The schema file as shipped (for ``ihe record --print-schema``)."""
    return resources.files("ihe_test_util.record").joinpath(SCHEMA_RESOURCE).read_text("utf-8")


@functools.cache
def scenario_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def _validator() -> Draft7Validator:
    return Draft7Validator(scenario_schema())


def check_structure(data: Any, problems: Problems) -> None:
    """Add a problem for every place where ``data`` breaks the schema."""
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path)):
        for path, message in _explain(error):
            problems.add(path, message)


def _explain(error: ValidationError) -> Iterable[tuple[tuple[str | int, ...], str]]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    value = error.instance
    if "propertyNames" in error.schema_path:
        yield (*path, str(value)), _own_message(error) or "not a valid name"
        return
    if error.validator == "additionalProperties" and isinstance(value, Mapping):
        allowed = sorted(schema.get("properties", {}))
        for key in value:
            if key not in allowed:
                yield (*path, key), f"unknown key {key!r}" + (
                    f"; allowed here: {', '.join(allowed)}" if allowed else "")
        return
    if error.validator == "required" and isinstance(value, Mapping):
        for key in _listed(error.validator_value):
            if key not in value:
                yield path, f"missing required key {key!r}"
        return
    title = schema.get("title")
    own = schema.get("errorMessage")
    if error.validator in ("anyOf", "oneOf", "enum") and title and isinstance(value, str):
        choices = _enum_of(schema)
        advice = own or (f"use one of {', '.join(choices)}" if choices else "")
        yield path, f"unknown {title} {value!r}" + (f"; {advice}" if advice else "")
        return
    if own:
        scalar = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        yield path, f"{value!r}: {own}" if scalar else own
        return
    if error.validator in ("anyOf", "oneOf") and error.context:
        yield from _explain(best_match(error.context))
        return
    yield path, _generic(error)


def _generic(error: ValidationError) -> str:
    value = error.instance
    kind = error.validator
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else \
            [error.validator_value]
        return f"expected {' or '.join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted)}, " \
               f"got {describe(value)}"
    if kind == "enum":
        return f"{value!r} is not one of {', '.join(map(str, _listed(error.validator_value)))}"
    if kind == "const":
        return f"must be {error.validator_value!r}, got {describe(value)}"
    if kind == "minItems":
        return f"needs at least {error.validator_value} item(s)"
    if kind == "minProperties":
        return "needs at least one entry"
    if kind == "pattern":
        return f"{value!r} is not valid here"
    return error.message


def _listed(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _own_message(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    message = schema.get("errorMessage")
    return str(message) if message else None


def _enum_of(schema: Mapping[str, Any]) -> list[str]:
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(branch, Mapping) and "enum" in branch:
            return [str(v) for v in branch["enum"]]
    return []
