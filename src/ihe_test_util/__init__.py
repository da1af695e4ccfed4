"""ihe-test-utility: record, replay and diff IHE exchanges to catch regressions after an upgrade.

The names in ``__all__`` are the public API (docs/api.md): load and save cassettes, compare two
responses, replay cassettes from Python. They are imported on first use, so ``import
ihe_test_util`` (and ``ihe --help``) stays cheap. Everything else is internal and may change.

The package is layered, dependencies pointing inward (ARCHITECTURE.md, enforced by
``tests/unit/test_architecture.py``); only ``cli`` and ``report`` use click or rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    # values
    "Headers": "ihe_test_util.model",
    "Request": "ihe_test_util.model",
    "Response": "ihe_test_util.model",
    "Interaction": "ihe_test_util.model",
    "InteractionMeta": "ihe_test_util.model",
    "Cassette": "ihe_test_util.model",
    "CassetteMeta": "ihe_test_util.model",
    "Outcome": "ihe_test_util.results",
    "Comparison": "ihe_test_util.results",
    "ExchangeResult": "ihe_test_util.results",
    "RunSummary": "ihe_test_util.results",
    "IheTestError": "ihe_test_util.errors",
    # settings
    "Settings": "ihe_test_util.config",
    "load_settings": "ihe_test_util.config",
    # cassettes
    "load_cassette": "ihe_test_util.cassette.store",
    "save_cassette": "ihe_test_util.cassette.store",
    "find_cassettes": "ihe_test_util.cassette.store",
    "Redactor": "ihe_test_util.cassette.redact",
    # comparing
    "compare_responses": "ihe_test_util.compare.comparer",
    # replaying
    "TargetMap": "ihe_test_util.replay.targets",
    "TransportOptions": "ihe_test_util.transport.http",
    "plan_replay": "ihe_test_util.replay.runner",
    "run_replay": "ihe_test_util.replay.runner",
    "production_engine": "ihe_test_util.replay.session",
}

__all__ = [
    "Cassette",
    "CassetteMeta",
    "Comparison",
    "ExchangeResult",
    "Headers",
    "IheTestError",
    "Interaction",
    "InteractionMeta",
    "Outcome",
    "Redactor",
    "Request",
    "Response",
    "RunSummary",
    "Settings",
    "TargetMap",
    "TransportOptions",
    "__version__",
    "compare_responses",
    "find_cassettes",
    "load_cassette",
    "load_settings",
    "plan_replay",
    "production_engine",
    "run_replay",
    "save_cassette",
]

if TYPE_CHECKING:
    from ihe_test_util.cassette.redact import Redactor
    from ihe_test_util.cassette.store import find_cassettes, load_cassette, save_cassette
    from ihe_test_util.compare.comparer import compare_responses
    from ihe_test_util.config import Settings, load_settings
    from ihe_test_util.errors import IheTestError
    from ihe_test_util.model import (
        Cassette,
        CassetteMeta,
        Headers,
        Interaction,
        InteractionMeta,
        Request,
        Response,
    )
    from ihe_test_util.replay.runner import plan_replay, run_replay
    from ihe_test_util.replay.session import production_engine
    from ihe_test_util.replay.targets import TargetMap
    from ihe_test_util.results import Comparison, ExchangeResult, Outcome, RunSummary
    from ihe_test_util.transport.http import TransportOptions


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ihe_test_util' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
