"""Running a scenario: each step built, sent, read and appended to the cassette as it completes.

:func:`record_scenario` is the engine behind ``ihe record SCENARIO`` and ``ihe demo``. It
prints nothing: progress goes to ``on_event`` (:class:`RecordStarted`, :class:`StepFinished`,
:class:`RowRejected`) and the outcome is a :class:`RecordResult`.

What happens to a step:

* built (fresh ids) and sent; any answer -- a SOAP Fault, an IHE error, an HTTP 500 -- is what
  the system did and is **recorded**;
* no answer (unreachable, TLS, timeout): **failed**, reported, nothing written; later steps to
  an endpoint that refused the connection or the TLS handshake are not tried again;
* cannot be built (a capture it needs is missing, a CSV value is invalid): **not sent**, with
  the variable or field named.

The run goes on with the next step and row; Ctrl-C stops it and keeps every completed exchange
(the cassette is rewritten atomically after each one). Nothing recorded: the previous cassette
file is left as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ihe_test_util import __version__
from ihe_test_util.cassette.store import CassetteWriter, now_utc
from ihe_test_util.config import Settings
from ihe_test_util.errors import (
    EndpointUnreachable,
    IheTestError,
    TlsError,
    TransportError,
    UsageError,
)
from ihe_test_util.model import CassetteMeta, Headers, Interaction, InteractionMeta, Request
from ihe_test_util.record.data import Row, RowProblem
from ihe_test_util.record.fields import FieldError
from ihe_test_util.record.loader import load_scenario
from ihe_test_util.record.plan import RecordPlan
from ihe_test_util.record.responses import capture, flatten, read_response
from ihe_test_util.record.results import (
    EventHandler,
    RecordResult,
    RecordStarted,
    RowRejected,
    StepFinished,
    StepResult,
    StepStatus,
)
from ihe_test_util.record.scenario import ROW_PREFIX, Scenario, Step, evaluate_variables
from ihe_test_util.record.steps import ReadContext
from ihe_test_util.record.variables import (
    MissingVariable,
    Value,
    VariableError,
    fill_tree,
    render_path,
)
from ihe_test_util.transport.mllp import MLLP_METHOD
from ihe_test_util.transport.senders import SchemeSender


def record_scenario(
    scenario: Scenario | Path | str,
    *,
    settings: Settings | None = None,
    env: str | None = None,
    endpoints_override: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    cassette: Path | None = None,
    timeout: float | None = None,
    insecure: bool = False,
    on_event: EventHandler | None = None,
    environ: Mapping[str, str] | None = None,
) -> RecordResult:
    """Record ``scenario`` (a file or a loaded :class:`Scenario`) into its cassette.

    ``env`` names an ``[env.NAME]`` of the configuration (actor URLs for ``env:ACTOR``
    endpoints, TLS, headers); ``endpoints_override`` gives URLs by endpoint name and wins;
    ``variables`` override declared variables (only with a file). Invalid scenarios and
    configuration raise before anything is sent (exit code 2).
    """
    settings = settings or Settings()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(Path(scenario), variables=variables)
    elif variables:
        raise UsageError("variables can be overridden only when the scenario is given as a file")
    plan = RecordPlan.make(scenario, settings, env=env, overrides=endpoints_override or {},
                      cassette=cassette, timeout=timeout, insecure=insecure, environ=environ)
    return _Run(plan, on_event or (lambda event: None)).execute()


class _Scope:
    """The values one run of the steps (one CSV row) sees, and why missing ones are missing."""

    def __init__(self, values: Mapping[str, Value], row: Row | None) -> None:
        self.values: dict[str, Value] = dict(values)
        self.row = row
        self.step_values: dict[str, Mapping[str, str]] = {}
        self.missing: dict[str, str] = {}

    def lookup(self, name: str) -> Value:
        if name.startswith(ROW_PREFIX) and self.row is not None:
            column = name[len(ROW_PREFIX):]
            if column in self.row.values:
                return self.row.values[column]
        if name in self.values:
            return self.values[name]
        step_id, _, value = name.partition(".")
        if value and value in self.step_values.get(step_id, {}):
            return self.step_values[step_id][value]
        raise MissingVariable(name)

    def explain(self, name: str) -> str:
        reason = self.missing.get(name) or self.missing.get(name.partition(".")[0] + ".*")
        return f"needs ${{{name}}}, which has no value" + (f": {reason}" if reason else "")


class _Run:
    def __init__(self, plan: RecordPlan, emit: EventHandler) -> None:
        self.plan = plan
        self.emit = emit
        scenario = plan.scenario
        self.table = scenario.data
        self.rows: list[Row | None] = list(self.table.rows) if self.table else [None]
        self.result = RecordResult(scenario.name, plan.cassette,
                                   total=len(scenario.steps) * len(self.rows))
        self.dead: dict[str, str] = {}  # endpoint name -> why it is not tried again

    def execute(self) -> RecordResult:
        plan = self.plan
        self.emit(RecordStarted(plan.scenario.name, plan.cassette, self.result.total,
                                dict(plan.urls)))
        if self.table is not None:
            for problem in self.table.problems:
                self._reject(problem.line, (problem,), counted=False)
        meta = CassetteMeta(tool_version=__version__, name=plan.scenario.name)
        writer = CassetteWriter(plan.cassette, meta, plan.redactor)
        try:
            with SchemeSender(plan.options) as transport:
                for row in self.rows:
                    self._run_row(row, transport, writer)
        except KeyboardInterrupt:
            self.result.interrupted = True
        finally:
            writer.close()
        self.result.exchanges = writer.count
        return self.result

    def _run_row(self, row: Row | None, transport: SchemeSender,
                 writer: CassetteWriter) -> None:
        scenario = self.plan.scenario
        try:
            values = evaluate_variables(scenario.variables, row.values if row else None)
        except (MissingVariable, VariableError) as exc:
            assert row is not None  # without a row, variables were checked when loading
            self._reject(row.line, (RowProblem(row.line, None, f"variables: {exc}"),))
            return
        scope = _Scope(values, row)
        if row is not None:
            problems = _merged([problem for step in scenario.steps
                                if step.uses_row and not step.uses_runtime
                                for problem in self._row_problems(step, scope, row)])
            if problems:
                self._reject(row.line, problems)
                return
        for step in scenario.steps:
            result = self._run_step(step, scope, transport, writer)
            self.result.steps.append(result)
            self.emit(StepFinished(result))

    def _reject(self, line: int, problems: tuple[RowProblem, ...], *,
                counted: bool = True) -> None:
        assert self.table is not None
        rejected = RowRejected(self.table.name, line, problems,
                               len(self.plan.scenario.steps) if counted else 0)
        self.result.rejected_rows.append(rejected)
        self.emit(rejected)

    def _row_problems(self, step: Step, scope: _Scope, row: Row) -> list[RowProblem]:
        filled = None
        try:
            filled = fill_tree(step.params, scope.lookup)
            step.kind.read(filled.value, ReadContext(self.plan.scenario.base, scope.lookup))
        except FieldError as exc:
            where = render_path((*step.path, "with", *exc.path))
            columns = _columns(filled.used.get(exc.path, set())) if filled else []
            message = exc.message + (f" ({exc.hint})" if exc.hint else "")
            if not columns:
                return [RowProblem(row.line, None, message, where)]
            return [RowProblem(row.line, column, message, where) for column in columns]
        except (MissingVariable, VariableError) as exc:
            return [RowProblem(row.line, None, str(exc), render_path((*step.path, "with")))]
        return []

    def _run_step(self, step: Step, scope: _Scope, transport: SchemeSender,
                  writer: CassetteWriter) -> StepResult:
        url = self.plan.urls[step.endpoint]
        base = StepResult(step.index, step.name, step.transaction, step.endpoint,
                          StepStatus.NOT_SENT, url=url,
                          row=scope.row.line if scope.row else None)
        if step.endpoint in self.dead:
            return self._lost(step, scope, replace(
                base, status=StepStatus.FAILED,
                message=f"not sent: {self.dead[step.endpoint]}"))
        try:
            request, message = self._build(step, scope, url)
        except _NotBuilt as exc:
            return self._lost(step, scope, replace(base, message=exc.message, hint=exc.hint))
        try:
            response, elapsed = transport.send(request)
        except TransportError as exc:
            if isinstance(exc, (EndpointUnreachable, TlsError)):
                self.dead[step.endpoint] = f"endpoint {step.endpoint!r} failed earlier " \
                                           f"({exc.message})"
            return self._lost(step, scope, replace(base, status=StepStatus.FAILED,
                                                   message=exc.message, hint=exc.hint))
        reading = read_response(request, response,
                                None if step.kind.detected else step.transaction)
        captured = capture(reading.body, step.capture, headers=response.headers)
        scope.values.update(captured.values)
        for name, reason in captured.missed.items():
            scope.values.pop(name, None)
            scope.missing[name] = f"steps[{step.index}] ({step.name}) did not capture it: " \
                                  f"{reason}"
        scope.step_values[step.id] = message.values
        writer.append(Interaction(request, response, InteractionMeta(
            transaction=reading.transaction or message.transaction, step=self._label(step, scope),
            endpoint=step.endpoint, duration_ms=round(elapsed, 3), recorded_at=now_utc(),
            captured=flatten(captured.values),
        )))
        warnings = tuple(f"capture {name}: {reason}" for name, reason in captured.missed.items())
        return replace(base, status=StepStatus.RECORDED, http_status=response.status,
                       transaction=reading.transaction or step.transaction,
                       ihe_status=reading.status, duration_ms=elapsed,
                       captured=captured.values, warnings=warnings)

    def _build(self, step: Step, scope: _Scope, url: str) -> tuple[Request, Any]:
        filled = None
        try:
            filled = fill_tree(step.params, scope.lookup)
            build = step.kind.read(filled.value, ReadContext(self.plan.scenario.base,
                                                             scope.lookup))
            message = build()
            request = message.to_request(url, security=self.plan.security)
        except MissingVariable as exc:
            raise _NotBuilt(f"{render_path((*step.path, 'with'))}: {scope.explain(exc.name)}",
                            "a step it depends on failed or captured nothing") from None
        except VariableError as exc:
            raise _NotBuilt(f"{render_path((*step.path, 'with'))}: {exc}") from None
        except FieldError as exc:
            where = render_path((*step.path, "with", *exc.path))
            columns = _columns(filled.used.get(exc.path, set())) if filled else []
            source = f" (from column {', '.join(map(repr, columns))})" if columns else ""
            raise _NotBuilt(f"{where}: {exc.message}{source}", exc.hint) from None
        except IheTestError as exc:
            raise _NotBuilt(f"{render_path(step.path)}: {exc.message}", exc.hint) from None
        if self.plan.headers and request.method != MLLP_METHOD:  # MLLP has no headers
            request = request.evolve(headers=Headers([*request.headers, *self.plan.headers]))
        return request, message

    def _lost(self, step: Step, scope: _Scope, result: StepResult) -> StepResult:
        """A step that produced no answer: what later steps would have read is missing."""
        reason = f"steps[{step.index}] ({step.name}) was not recorded"
        for name in step.capture:
            scope.values.pop(name, None)
            scope.missing[name] = reason
        scope.missing[f"{step.id}.*"] = reason
        return result

    def _label(self, step: Step, scope: _Scope) -> str:
        return f"{step.name} [row {scope.row.line}]" if scope.row is not None else step.name


class _NotBuilt(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _merged(problems: list[RowProblem]) -> tuple[RowProblem, ...]:
    """One problem per column and message, naming every field the value went into."""
    merged: dict[tuple[str | None, str], RowProblem] = {}
    for problem in problems:
        key = (problem.column, problem.message)
        if key in merged:
            known = merged[key]
            merged[key] = replace(known, field=f"{known.field}, {problem.field}")
        else:
            merged[key] = problem
    return tuple(merged.values())


def _columns(names: set[str]) -> list[str]:
    return sorted(name[len(ROW_PREFIX):] for name in names if name.startswith(ROW_PREFIX))
