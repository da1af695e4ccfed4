"""Record: scenario files and a recording proxy -> cassettes. Yields results, prints nothing.

Modules: :mod:`.scenario` (loading and checking scenario files, with :mod:`.schema`,
:mod:`.variables`, :mod:`.data` for CSV loops), :mod:`.steps` and :mod:`.fields` (``with``
parameters -> message builders), :mod:`.runner` (:func:`record_scenario`), :mod:`.proxy`
(:class:`RecordingProxy`), :mod:`.responses` (status words, captures), :mod:`.secrets`
(secret values kept out of cassettes), :mod:`.yaml_lines` (line-aware safe YAML).
"""

from __future__ import annotations

from ihe_test_util.record.proxy import ProxyExchange, ProxyFailure, RecordingProxy, Routes, Upstream
from ihe_test_util.record.runner import (
    RecordEvent,
    RecordResult,
    RecordStarted,
    RowRejected,
    StepFinished,
    StepResult,
    StepStatus,
    record_scenario,
)
from ihe_test_util.record.scenario import Scenario, load_scenario, parse_scenario
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
