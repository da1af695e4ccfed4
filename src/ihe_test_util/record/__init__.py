"""Record: scenario files and a recording proxy -> cassettes. Yields results, prints nothing.

Modules: :mod:`.scenario` (the loaded scenario), :mod:`.loader` (reading and checking files,
with :mod:`.schema`, :mod:`.variables`, :mod:`.data` for CSV loops, :mod:`.problems`),
:mod:`.steps` and :mod:`.fields` (``with`` parameters -> message builders), :mod:`.plan`
(what is resolved before sending), :mod:`.runner` (:func:`record_scenario`), :mod:`.results`
(outcome and events), :mod:`.proxy` and :mod:`.routes` (:class:`RecordingProxy`),
:mod:`.responses` (status words, captures), :mod:`.secrets` (secret values kept out of
cassettes), :mod:`.yaml_lines` (line-aware safe YAML).
"""

from __future__ import annotations

from ihe_test_util.record.loader import load_scenario, parse_scenario
from ihe_test_util.record.proxy import ProxyExchange, ProxyFailure, RecordingProxy
from ihe_test_util.record.results import (
    RecordEvent,
    RecordResult,
    RecordStarted,
    RowRejected,
    StepFinished,
    StepResult,
    StepStatus,
)
from ihe_test_util.record.routes import Routes, Upstream
from ihe_test_util.record.runner import record_scenario
from ihe_test_util.record.scenario import Scenario
from ihe_test_util.record.schema import scenario_schema, schema_text

__all__ = [
    "ProxyExchange",
    "ProxyFailure",
    "RecordEvent",
    "RecordResult",
    "RecordStarted",
    "RecordingProxy",
    "Routes",
    "RowRejected",
    "Scenario",
    "StepFinished",
    "StepResult",
    "StepStatus",
    "Upstream",
    "load_scenario",
    "parse_scenario",
    "record_scenario",
    "scenario_schema",
    "schema_text",
]
