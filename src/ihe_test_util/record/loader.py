"""Loading a scenario file, and every check that can be made before anything is sent.

:func:`load_scenario` checks the shape against the JSON Schema (:mod:`.schema`), then what the
schema cannot see: references to endpoints and variables (defined? captured by an *earlier*
step?), CSV columns, files, XPath syntax, and every step whose values are known before the run
(a bad gender, an unknown stored query). All problems of a file are reported together, each
with its line, as :class:`~ihe_test_util.errors.ScenarioError` (exit 2, nothing sent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from ihe_test_util.ihe.er7 import is_field_reference
from ihe_test_util.ihe.jsonpath import JsonPath, JsonPathError
from ihe_test_util.ihe.namespaces import PREFIXES
from ihe_test_util.ihe.xpath import compile_xpath
from ihe_test_util.record.data import (
    DataFileError,
    DataTable,
    control_character_problem,
    not_a_regular_file,
    read_table,
)
from ihe_test_util.record.problems import Problems
from ihe_test_util.record.responses import (
    Capturer,
    FieldCapture,
    HeaderCapture,
    JsonCapture,
)
from ihe_test_util.record.scenario import (
    ROW_PREFIX,
    SECRET_PREFIX,
    Scenario,
    Step,
    evaluate_variables,
    read_problem,
    step_id_of,
)
from ihe_test_util.record.schema import check_structure
from ihe_test_util.record.steps import STEP_KINDS, file_references
from ihe_test_util.record.variables import (
    MissingVariable,
    Value,
    VariableError,
    references,
    walk_strings,
)
from ihe_test_util.record.variables import Path as TreePath
from ihe_test_util.record.yaml_lines import Located, load_located, load_located_file


def load_scenario(path: Path, *, variables: Mapping[str, str] | None = None) -> Scenario:
    """Read and check a scenario file; ``variables`` override declared variables (``--var``)."""
    path = Path(path)
    return build_scenario(load_located_file(path), base=path.parent, overrides=variables)


def parse_scenario(text: str, *, source: str = "<scenario>", base: Path | None = None,
                   variables: Mapping[str, str] | None = None) -> Scenario:
    return build_scenario(load_located(text, source=source), base=base or Path.cwd(),
                          overrides=variables)


def build_scenario(located: Located, *, base: Path,
                   overrides: Mapping[str, str] | None = None) -> Scenario:
    problems = Problems(located)
    data = located.data
    if not isinstance(data, dict):
        problems.add((), "a scenario is a mapping with version, name, endpoints and steps",
                     line=1)
        problems.raise_if_any()
        raise AssertionError  # pragma: no cover - raise_if_any raised
    check_structure(data, problems)
    shape_broken = {p.path[1] for p in problems.items
                    if len(p.path) > 1 and p.path[0] == "steps" and isinstance(p.path[1], int)}
    checker = _Checker(located, problems, base, data, overrides or {})
    scenario = checker.run(shape_broken)
    problems.raise_if_any()
    assert scenario is not None
    return scenario


class _Checker:
    """The checks beyond the schema, run on whatever parts of the file are well-formed."""

    def __init__(self, located: Located, problems: Problems, base: Path, data: dict[str, Any],
                 overrides: Mapping[str, str]) -> None:
        self.located = located
        self.problems = problems
        self.base = base
        self.data = data
        self.overrides = overrides

    def run(self, shape_broken: set[int]) -> Scenario | None:
        variables = self._variables()
        self._control_characters(variables)
        table = self._data_table()
        row_variables = self._row_dependent(variables)
        endpoints = self._mapping("endpoints")
        headers = self._mapping("headers")
        self._check_variable_references(variables, table)
        static = self._static_values(variables)
        for name, url in endpoints.items():
            self._references(("endpoints", name), url, lambda ref: self._static_ref(
                ref, variables, row_variables, what="an endpoint"))
        for name, value in headers.items():
            self._references(("headers", name), value, lambda ref: self._header_ref(
                ref, variables, row_variables))
        steps = self._steps(endpoints, variables, row_variables, table, static, shape_broken)
        if self.problems or steps is None:
            return None
        return Scenario(
            name=str(self.data["name"]), source=self.located.source, base=self.base,
            endpoints=endpoints, variables=variables, steps=steps, located=self.located,
            description=self.data.get("description"), cassette=self.data.get("cassette"),
            data=table, headers=headers,
        )

    # -- sections --------------------------------------------------------------------------

    def _control_characters(self, variables: Mapping[str, Any]) -> None:
        """Control characters (and line breaks in endpoints and headers) are refused before
        anything is sent: XML, HTTP header fields and URLs cannot carry them."""
        tree = {**self.data, "variables": dict(variables)}
        for path, text in walk_strings(tree):
            problem = control_character_problem(text)
            if not problem and path[:1] in (("endpoints",), ("headers",)) and (
                    "\r" in text or "\n" in text):
                problem = "holds a line break, which an endpoint or header cannot carry"
            if problem:
                self.problems.add(path, problem)

    def _mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        return dict(value) if isinstance(value, dict) else {}

    def _variables(self) -> dict[str, Any]:
        declared = self._mapping("variables")
        for name, value in self.overrides.items():
            if name not in declared:
                known = ", ".join(declared) or "none"
                self.problems.add((), f"--var {name}: the scenario declares no variable "
                                  f"{name!r} (declared: {known})", line=1)
            else:
                declared[name] = value
        return declared

    def _data_table(self) -> DataTable | None:
        spec = self.data.get("data")
        if not isinstance(spec, dict) or not isinstance(spec.get("csv"), str):
            return None
        delimiter = spec.get("delimiter", ",")
        try:
            table = read_table(self.base / spec["csv"], delimiter if isinstance(delimiter, str)
                               and len(delimiter) == 1 else ",")
        except DataFileError as exc:
            self.problems.add(("data", "csv"), exc.message)
            return None
        if not table.rows and not table.problems:
            self.problems.add(("data", "csv"), f"{table.name} has a header but no rows",
                              hint="add one line per run of the steps")
        return table

    def _row_dependent(self, variables: Mapping[str, Any]) -> set[str]:
        """Variables whose value depends on the CSV row (directly or through another)."""
        dependent: set[str] = set()
        for name, value in variables.items():
            for _, text in walk_strings(value):
                try:
                    refs = references(text)
                except VariableError:
                    continue
                if any(r.startswith(ROW_PREFIX) or r in dependent for r in refs):
                    dependent.add(name)
        return dependent

    def _check_variable_references(self, variables: Mapping[str, Any],
                                   table: DataTable | None) -> None:
        earlier: list[str] = []
        for name, value in variables.items():
            for path, text in walk_strings(value, ("variables", name)):
                def allowed(ref: str, before: tuple[str, ...] = tuple(earlier)) -> str | None:
                    if ref.startswith(ROW_PREFIX):
                        return self._row_ref(ref, table)
                    if ref.startswith(SECRET_PREFIX):
                        return "secrets can only be used in headers"
                    if ref in before:
                        return None
                    if ref in variables:
                        return f"variable {ref!r} is declared later; variables can only use " \
                               "the ones above them"
                    return f"unknown variable {ref!r}"
                self._references(path, text, allowed)
            earlier.append(name)

    def _static_values(self, variables: Mapping[str, Any]) -> dict[str, Value]:
        try:
            return evaluate_variables(variables, row=None)
        except MissingVariable:
            return {}  # reported by _check_variable_references
        except VariableError as exc:  # a list inside text, or an expansion past the bound
            self.problems.add(("variables",), str(exc))
            return {}

    # -- references ------------------------------------------------------------------------

    def _references(self, path: TreePath, text: Any, allowed: Callable[[str], str | None]) -> (
            list[str]):
        if not isinstance(text, str) or "${" not in text:
            return []
        try:
            names = references(text)
        except VariableError as exc:
            self.problems.add(path, str(exc))
            return []
        for name in names:
            message = allowed(name)
            if message is not None:
                self.problems.add(path, message)
        return names

    def _row_ref(self, ref: str, table: DataTable | None) -> str | None:
        column = ref[len(ROW_PREFIX):]
        if "data" not in self.data:
            return f"${{{ref}}} needs a CSV: add data: {{csv: FILE}}"
        if table is None:
            return None  # the data file itself is reported
        if column not in table.columns:
            return f"{table.name} has no column {column!r} (columns: {', '.join(table.columns)})"
        return None

    def _static_ref(self, ref: str, variables: Mapping[str, Any], row_variables: set[str], *,
                    what: str) -> str | None:
        if ref.startswith(SECRET_PREFIX):
            return "secrets can only be used in headers"
        if ref.startswith(ROW_PREFIX) or ref in row_variables:
            return f"{what} cannot depend on the CSV row"
        if ref in variables:
            return None
        return f"unknown variable {ref!r} ({what} can use declared variables only)"

    def _header_ref(self, ref: str, variables: Mapping[str, Any],
                    row_variables: set[str]) -> str | None:
        if ref.startswith(SECRET_PREFIX):
            return None
        return self._static_ref(ref, variables, row_variables, what="a header")

    # -- steps -----------------------------------------------------------------------------

    def _steps(self, endpoints: Mapping[str, Any], variables: Mapping[str, Any],
               row_variables: set[str], table: DataTable | None, static: Mapping[str, Value],
               shape_broken: set[int]) -> tuple[Step, ...] | None:
        raw_steps = self.data.get("steps")
        if not isinstance(raw_steps, list):
            return None
        ids: dict[str, int] = {}
        captures: dict[str, int] = {}  # first step capturing each name
        for index, raw in enumerate(raw_steps):
            if isinstance(raw, dict) and isinstance(raw.get("name"), str):
                given = raw.get("id")
                step_id = given if isinstance(given, str) else step_id_of(raw["name"])
                if step_id in ids:
                    self.problems.add(("steps", index, "id" if "id" in raw else "name"),
                                      f"step id {step_id!r} is also the id of "
                                      f"steps[{ids[step_id]}]; give one of them its own id:")
                ids.setdefault(step_id, index)
                for name in raw.get("capture", {}) if isinstance(raw.get("capture"), dict) \
                        else ():
                    captures.setdefault(name, index)
        steps: list[Step] = []
        for index, raw in enumerate(raw_steps):
            if not isinstance(raw, dict):
                continue
            before = len(self.problems.items)
            step = self._step(index, raw, endpoints, variables, row_variables, table, ids,
                              captures, raw_steps)
            steps.append(step)
            clean = len(self.problems.items) == before and index not in shape_broken
            if clean and not step.uses_row and not step.uses_runtime:
                self._read_static(step, static)
        return tuple(steps)

    def _step(self, index: int, raw: dict[str, Any], endpoints: Mapping[str, Any],
              variables: Mapping[str, Any], row_variables: set[str], table: DataTable | None,
              ids: Mapping[str, int], captures: Mapping[str, int],
              raw_steps: list[Any]) -> Step:
        path: TreePath = ("steps", index)
        endpoint = str(raw.get("endpoint", ""))
        if "endpoint" in raw and endpoint not in endpoints:
            known = ", ".join(endpoints) or "none"
            self.problems.add((*path, "endpoint"), f"unknown endpoint {endpoint!r} (endpoints: "
                              f"{known})", hint="add it under endpoints:")
        transaction = str(raw.get("transaction", ""))
        uses = {"row": False, "runtime": False}

        def allowed(ref: str) -> str | None:
            if ref.startswith(SECRET_PREFIX):
                return "secrets can only be used in headers (never in a message)"
            if ref.startswith(ROW_PREFIX):
                uses["row"] = True
                return self._row_ref(ref, table)
            first = captures.get(ref)
            if first is not None and first < index:
                uses["runtime"] = True
                return None
            if ref in variables:
                uses["row"] = uses["row"] or ref in row_variables
                return None
            if first is not None:
                return f"{ref!r} is captured by steps[{first}], which runs after this step"
            if "." in ref:
                return self._step_value_ref(ref, index, ids, raw_steps, uses)
            return f"unknown variable {ref!r} (declare it under variables: or capture it in " \
                   "an earlier step)"

        params = raw["with"] if isinstance(raw.get("with"), dict) else {}
        for leaf_path, text in walk_strings(params, (*path, "with")):
            self._references(leaf_path, text, allowed)
        if STEP_KINDS.get(transaction) is not None and STEP_KINDS[transaction].detected and \
                isinstance(params.get("file"), str) and \
                "${" not in params["file"]:
            location = self.base / params["file"]
            problem = not_a_regular_file(location)
            try:
                if problem is not None:
                    self.problems.add((*path, "with", "file"), problem)
                for name in file_references(location) if problem is None else []:
                    message = allowed(name)
                    if message is not None:
                        self.problems.add((*path, "with", "file"),
                                          f"in {params['file']}: {message}")
            except VariableError as exc:
                self.problems.add((*path, "with", "file"), f"in {params['file']}: {exc}")
        compiled = self._captures(path, raw.get("capture", {}))
        return Step(
            index=index, name=str(raw.get("name", "")),
            id=str(raw.get("id") or step_id_of(str(raw.get("name", "")))),
            transaction=transaction, endpoint=endpoint, params=params, capture=compiled,
            uses_row=uses["row"], uses_runtime=uses["runtime"],
        )

    def _step_value_ref(self, ref: str, index: int, ids: Mapping[str, int],
                        raw_steps: list[Any], uses: dict[str, bool]) -> str | None:
        step_id, _, value = ref.partition(".")
        source = ids.get(step_id)
        if source is None:
            return f"unknown variable {ref!r} (no step has the id {step_id!r})"
        if source >= index:
            return f"{ref!r} comes from steps[{source}], which does not run before this step"
        transaction = raw_steps[source].get("transaction")
        kind = STEP_KINDS.get(transaction) if isinstance(transaction, str) else None
        if kind is not None and not kind.has_value(value):
            offered = ", ".join(kind.values) or "none"
            return f"step {step_id!r} ({transaction}) generates no value {value!r} " \
                   f"(it generates: {offered})"
        uses["runtime"] = True
        return None

    def _captures(self, path: TreePath, raw: Any) -> dict[str, Capturer]:
        compiled: dict[str, Capturer] = {}
        if not isinstance(raw, dict):
            return compiled
        probe = etree.Element("probe")
        for name, expression in raw.items():
            where = (*path, "capture", name)
            if isinstance(expression, dict):
                selector = _selector_capture(expression, where, self.problems)
                if selector is not None:
                    compiled[name] = selector
                continue
            if not isinstance(expression, str):
                continue  # reported by the schema
            if is_field_reference(expression):  # HL7 v2: PID-3[1].1, MSA-1
                compiled[name] = FieldCapture(expression)
                continue
            try:
                xpath = compile_xpath(expression)
                xpath(probe)  # undefined prefixes only show when evaluated
            except etree.XPathError as exc:
                self.problems.add(where, f"invalid XPath {expression!r}: {exc}",
                                  hint="prefixes: " + ", ".join(sorted(PREFIXES)))
                continue
            compiled[name] = xpath
        return compiled

    def _read_static(self, step: Step, static: Mapping[str, Value]) -> None:
        """Read a step whose values are all known now, so a bad value stops the run early."""
        problem = read_problem(step, static, self.base)
        if problem is not None:
            path, message, hint = problem
            self.problems.add(path, message, hint)


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _selector_capture(spec: Mapping[str, Any], where: TreePath, problems: Problems) -> (
        Capturer | None):
    """``{json: PATH}`` or ``{header: NAME}``, with an optional ``pattern`` (the keys and
    meaning of replay's ``[[correlate]]`` rules); problems added, None when unusable."""
    pattern = None
    raw_pattern = spec.get("pattern")
    if isinstance(raw_pattern, str):
        try:
            pattern = re.compile(raw_pattern)
        except re.error as exc:
            problems.add((*where, "pattern"), f"invalid regular expression: {exc}")
            return None
        if pattern.groups > 1:
            problems.add((*where, "pattern"), "the pattern has more than one group: which is "
                         "the value?", hint="use (?:...) for the other groups")
            return None
    if isinstance(spec.get("json"), str):
        try:
            return JsonCapture(JsonPath.parse(spec["json"]), pattern)
        except JsonPathError as exc:
            problems.add((*where, "json"), f"invalid JSON path {spec['json']!r}: {exc}",
                         hint="a JSON pointer (/entry/0/id) or a FHIRPath subset "
                              "(Bundle.entry.response.location)")
            return None
    if isinstance(spec.get("header"), str):
        name = spec["header"].strip()
        if not _HEADER_NAME.fullmatch(name):
            problems.add((*where, "header"), f"{name!r} is not a header name")
            return None
        return HeaderCapture(name, pattern)
    return None  # the schema reports a mapping without json or header
