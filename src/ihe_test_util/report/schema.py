"""The run-report JSON Schema shipped with the package, and validators built from it.

The package carries its own copy of ``run-report.schema.json`` so that ``ihe report merge`` and
``render`` can check reports written by other machines (a shard from another CI job) before
trusting them. Header and exchanges are validated separately so that a report can be checked
one exchange at a time, and so that an error names the exchange it is in.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ihe_test_util.report.labels import shorten

SCHEMA_RESOURCE = "run-report.schema.json"


@functools.cache
def report_schema() -> dict[str, Any]:
    text = resources.files("ihe_test_util.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _header_validator() -> Draft202012Validator:
    return Draft202012Validator(report_schema())


@functools.cache
def _exchange_validator() -> Draft202012Validator:
    schema = report_schema()
    item = dict(schema["properties"]["exchanges"]["items"])
    item["$schema"] = schema["$schema"]
    return Draft202012Validator(item)


def header_problem(header: Mapping[str, Any]) -> str | None:
    """Why a report's top level (``exchanges`` set aside) breaks the schema, or ``None``."""
    return _problem(_header_validator(), {**header, "exchanges": []}, "")


def exchange_problem(item: Any, position: int) -> str | None:
    """Why item ``position`` of ``exchanges`` breaks the schema, or ``None``."""
    return _problem(_exchange_validator(), item, f"exchanges[{position}]")


def _problem(validator: Draft202012Validator, instance: Any, prefix: str) -> str | None:
    if validator.is_valid(instance):
        return None
    error = best_match(validator.iter_errors(instance))
    return f"{_location(prefix, error)}: {shorten(error.message, 300)}"


def _location(prefix: str, error: ValidationError) -> str:
    where = prefix
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    return where or "(top level)"
