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

import enum
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ihe_test_util import __version__
from ihe_test_util.cassette.store import CassetteWriter, now_utc
from ihe_test_util.config import Settings, TlsSettings
from ihe_test_util.errors import (
    CassetteError,
    EndpointUnreachable,
    IheTestError,
    TlsError,
    TransportError,
    UsageError,
)
from ihe_test_util.model import CassetteMeta, Headers, Interaction, InteractionMeta, Request
from ihe_test_util.record.data import Row, RowProblem
from ihe_test_util.record.fields import FieldError
from ihe_test_util.record.problems import Problems
from ihe_test_util.record.responses import capture, flatten, read_response
from ihe_test_util.record.scenario import (
    ROW_PREFIX,
    Scenario,
    Step,
    evaluate_variables,
    load_scenario,
    secrets_in,
)
from ihe_test_util.record.secrets import RecordingRedactor, SecretResolver
from ihe_test_util.record.steps import ReadContext
from ihe_test_util.record.variables import (
    MissingVariable,
    Value,
    VariableError,
    fill_tree,
    render_path,
)
from ihe_test_util.transport.http import HttpTransport, TransportOptions
from ihe_test_util.transport.security_config import security_header
from ihe_test_util.transport.wssecurity import SecurityHeader


class StepStatus(enum.Enum):
    RECORDED = "recorded"  # an answer was obtained and written to the cassette
    FAILED = "failed"  # no answer (transport error): nothing written
    NOT_SENT = "not-sent"  # the request could not be built (missing variable, bad value)


@dataclass(frozen=True)
class StepResult:
    step: int
    name: str
    transaction: str
    endpoint: str
    status: StepStatus
    url: str | None = None
    row: int | None = None  # line of the CSV row
    http_status: int | None = None
    ihe_status: str | None = None
    duration_ms: float | None = None
    message: str | None = None
    hint: str | None = None
    captured: Mapping[str, Value] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "name": self.name, "transaction": self.transaction,
            "endpoint": self.endpoint, "url": self.url, "row": self.row,
            "status": self.status.value, "http_status": self.http_status,
            "ihe_status": self.ihe_status,
            "duration_ms": round(self.duration_ms, 1) if self.duration_ms is not None
            else None,
            "message": self.message, "hint": self.hint, "captured": dict(self.captured),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class RowRejected:
    """A CSV row that did not run, with every problem found in it."""

    data: str
    line: int
    problems: tuple[RowProblem, ...]
    steps: int  # steps that were planned for it

    def messages(self) -> list[str]:
        return [problem.render(self.data) for problem in self.problems]


@dataclass(frozen=True)
class RecordStarted:
    scenario: str
    cassette: Path
    total: int  # steps to run (steps x rows)
    endpoints: Mapping[str, str]


@dataclass(frozen=True)
class StepFinished:
    result: StepResult


RecordEvent = RecordStarted | StepFinished | RowRejected
EventHandler = Callable[[RecordEvent], None]


@dataclass
class RecordResult:
    scenario: str
    cassette: Path
    total: int = 0
    steps: list[StepResult] = field(default_factory=list)
    rejected_rows: list[RowRejected] = field(default_factory=list)
    interrupted: bool = False
    exchanges: int = 0  # interactions in the cassette file (0: not written, the old one kept)

    def count(self, status: StepStatus) -> int:
        return sum(1 for result in self.steps if result.status is status)

    @property
    def recorded(self) -> int:
        return self.count(StepStatus.RECORDED)

    @property
    def written(self) -> bool:
        """Whether the cassette file was (re)written."""
        return self.exchanges > 0

    @property
    def exit_code(self) -> int:
        """0 all recorded; 3 some step failed, was not sent, or a row was rejected; 130 Ctrl-C."""
        if self.interrupted:
            return 130
        if self.rejected_rows or any(r.status is not StepStatus.RECORDED for r in self.steps):
            return 3
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "cassette": str(self.cassette),
            "written": self.written, "exchanges": self.exchanges, "total": self.total,
            "recorded": self.recorded,
            "failed": self.count(StepStatus.FAILED),
            "not_sent": self.count(StepStatus.NOT_SENT),
            "rejected_rows": [{"line": r.line, "problems": r.messages()}
                              for r in self.rejected_rows],
            "interrupted": self.interrupted, "exit_code": self.exit_code,
            "steps": [result.as_dict() for result in self.steps],
        }


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
    plan = _Plan.make(scenario, settings, env=env, overrides=endpoints_override or {},
                      cassette=cassette, timeout=timeout, insecure=insecure, environ=environ)
    return _Run(plan, on_event or (lambda event: None)).execute()


@dataclass
class _Plan:
    """Everything resolved before the first request: URLs, transport, security, redaction."""

    scenario: Scenario
    urls: dict[str, str]
    options: TransportOptions
    headers: tuple[tuple[str, str], ...]
    security: SecurityHeader | None
    redactor: RecordingRedactor
    cassette: Path

    @classmethod
    def make(cls, scenario: Scenario, settings: Settings, *, env: str | None,
             overrides: Mapping[str, str], cassette: Path | None, timeout: float | None,
             insecure: bool, environ: Mapping[str, str] | None) -> _Plan:
        environment = settings.environment(env) if env is not None else None
        static = scenario.static_variables()
        urls = _endpoint_urls(scenario, static, environment.actors if environment else None,
                              env, overrides)
        resolver = SecretResolver(settings, static, environ)
        headers = [(name, value) for name, value in (environment.headers.items()
                                                     if environment else ())]
        headers += [(name, resolver.fill(value)) for name, value in scenario.headers.items()]
        secret_headers = tuple(name for name, value in scenario.headers.items()
                               if secrets_in(value))
        security = security_header(settings.saml, environ=environ,
                                   base=Path(settings.source).parent if settings.source else None)
        tls = environment.tls if environment else TlsSettings()
        options = TransportOptions(
            timeout=timeout or settings.timeout, verify=False if insecure else tls.verify,
            cert=tls.cert, key=tls.key,
        )
        target = cassette or (Path(scenario.cassette) if scenario.cassette else
                              Path(settings.cassette_dir) / f"{scenario.name}.yaml")
        _check_writable(target)
        redactor = RecordingRedactor.for_settings(settings, resolver.configured(), secret_headers)
        return cls(scenario, urls, options, tuple(headers), security, redactor, target)


def _check_writable(path: Path) -> None:
    """Fail before the first request when the cassette could not be written afterwards."""
    if path.is_dir():
        raise CassetteError("is a folder, not a cassette file", path=path,
                            hint="give a file name such as cassettes/name.yaml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CassetteError(f"cannot create the folder: {exc.strerror or exc}",
                            path=path) from None
    if not os.access(path.parent, os.W_OK):
        raise CassetteError("the folder is not writable", path=path)


def check_endpoint_names(scenario: Scenario, names: Iterable[str]) -> None:
    """Overrides given by a person must name endpoints of the scenario (typos are errors);
    :func:`record_scenario` itself ignores extra names (``ihe demo`` passes every actor)."""
    unknown = sorted(set(names) - set(scenario.endpoints))
    if unknown:
        raise UsageError(
            f"--endpoint {unknown[0]}: the scenario has no endpoint {unknown[0]!r}",
            hint=f"its endpoints are: {', '.join(scenario.endpoints)}")


def _endpoint_urls(scenario: Scenario, static: Mapping[str, Value],
                   actors: Mapping[str, str] | None, env: str | None,
                   overrides: Mapping[str, str]) -> dict[str, str]:
    problems = Problems(scenario.located)
    used = {step.endpoint for step in scenario.steps}
    urls: dict[str, str] = {}
    for name, raw in scenario.endpoints.items():
        if name not in used:
            continue
        path = ("endpoints", name)
        if name in overrides:
            url = overrides[name]
        else:
            try:
                url = SecretResolver(Settings(), static).fill(str(raw))
            except (MissingVariable, VariableError) as exc:
                problems.add(path, f"cannot fill in {raw!r}: {exc}")
                continue
            if url.startswith("env:"):
                actor = url[len("env:"):]
                if actors is None:
                    problems.add(path, f"{url} takes the URL of actor {actor!r} from an "
                                 "environment, but no --env was given",
                                 hint=f"use --env NAME or --endpoint {name}=URL")
                    continue
                if actor not in actors:
                    known = ", ".join(sorted(actors)) or "none"
                    problems.add(path, f"environment {env!r} has no actor {actor!r} "
                                 f"(actors: {known})",
                                 hint=f"add {actor} = \"https://...\" to [env.{env}.actors]")
                    continue
                url = actors[actor]
        if not url.lower().startswith(("http://", "https://")):
            problems.add(path, f"{url!r} is not an http(s) URL")
            continue
        urls[name] = url
    problems.raise_if_any()
    return urls


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
    def __init__(self, plan: _Plan, emit: EventHandler) -> None:
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
            with HttpTransport(plan.options) as transport:
                for row in self.rows:
                    self._run_row(row, transport, writer)
        except KeyboardInterrupt:
            self.result.interrupted = True
        self.result.exchanges = writer.count
        return self.result

    def _run_row(self, row: Row | None, transport: HttpTransport,
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

    def _run_step(self, step: Step, scope: _Scope, transport: HttpTransport,
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
                                None if step.transaction == "raw" else step.transaction)
        captured = capture(reading.body, step.capture)
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
        if self.plan.headers:
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
