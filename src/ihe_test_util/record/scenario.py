"""A scenario as loaded: steps, endpoints, variables, and how variables get their values.

A scenario (YAML, ``version: 1``) names endpoints, variables, optionally a CSV for a
data-driven loop, and ordered steps, each one IHE transaction against one endpoint::

    version: 1
    name: xds-roundtrip
    endpoints: {pix: "env:pix", registry: "http://127.0.0.1:8080/xds/registry"}
    variables: {pid: "IHE-0001^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"}
    steps:
      - name: find documents
        transaction: ITI-18
        endpoint: registry
        with: {query: FindDocuments, parameters: {XDSDocumentEntryPatientId: "${pid}"}}
        capture: {entry_uuids: "//rim:ObjectRef/@id"}

Files are read and checked by :mod:`.loader`; :mod:`.runner` runs them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ihe_test_util.record.data import DataTable
from ihe_test_util.record.fields import FieldError
from ihe_test_util.record.responses import Capturer
from ihe_test_util.record.steps import STEP_KINDS, ReadContext, StepKind
from ihe_test_util.record.variables import (
    MissingVariable,
    Value,
    VariableError,
    fill_tree,
    references,
)
from ihe_test_util.record.variables import Path as TreePath
from ihe_test_util.record.yaml_lines import Located

ROW_PREFIX = "row."
SECRET_PREFIX = "secret."


@dataclass(frozen=True)
class Step:
    """One step as written, with what its values depend on (found while loading)."""

    index: int
    name: str
    id: str
    transaction: str
    endpoint: str
    params: Mapping[str, Any]
    capture: Mapping[str, Capturer] = field(default_factory=dict)
    uses_row: bool = False  # reads CSV columns (directly or through a variable)
    uses_runtime: bool = False  # reads captures or values of earlier steps

    @property
    def kind(self) -> StepKind:
        return STEP_KINDS[self.transaction]

    @property
    def path(self) -> TreePath:
        return ("steps", self.index)


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    base: Path
    endpoints: Mapping[str, str]
    variables: Mapping[str, Any]
    steps: tuple[Step, ...]
    located: Located
    description: str | None = None
    cassette: str | None = None
    data: DataTable | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def line(self, path: TreePath) -> int | None:
        return self.located.line(path)

    def static_variables(self) -> dict[str, Value]:
        """Variables that do not depend on a CSV row, evaluated in order."""
        return evaluate_variables(self.variables, row=None)


def evaluate_variables(declared: Mapping[str, Any], row: Mapping[str, str] | None) -> dict[
        str, Value]:
    """``variables`` in order, each filled from the ones before it (and the row, if any).

    Without a row, variables that need one are left out. Raises MissingVariable/VariableError.
    """
    values: dict[str, Value] = {}

    def lookup(name: str) -> Value:
        if name.startswith(ROW_PREFIX):
            if row is None or name[len(ROW_PREFIX):] not in row:
                raise MissingVariable(name)
            return row[name[len(ROW_PREFIX):]]
        if name not in values:
            raise MissingVariable(name)
        return values[name]

    for name, raw in declared.items():
        try:
            values[name] = _plain(fill_tree(raw, lookup).value)
        except MissingVariable:
            if row is not None:
                raise
    return values


def _plain(value: Any) -> Value:
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def step_id_of(name: str) -> str:
    """The default step id: the name in snake_case (``provide and register`` ->
    ``provide_and_register``)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return slug if slug and not slug[0].isdigit() else f"step_{slug}"


def read_problem(step: Step, values: Mapping[str, Value], base: Path) -> (
        tuple[TreePath, str, str | None] | None):
    """Fill and read ``step`` with ``values``; the problem (path, message, hint) or None."""
    def lookup(name: str) -> Value:
        if name not in values:
            raise MissingVariable(name)
        return values[name]

    where = (*step.path, "with")
    try:
        filled = fill_tree(step.params, lookup)
        step.kind.read(filled.value, ReadContext(base, lookup))
    except FieldError as exc:
        return (*where, *exc.path), exc.message, exc.hint
    except (MissingVariable, VariableError) as exc:
        return where, str(exc), None
    return None


def secrets_in(text: str) -> bool:
    """Whether a (checked) header value uses ``${secret.NAME}``."""
    return "${" in text and any(name.startswith(SECRET_PREFIX) for name in references(text))
