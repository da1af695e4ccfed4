"""ihe-test-utility: record, replay and diff IHE exchanges to catch regressions after an upgrade.

The package is layered; dependencies point inward::

    cli  ->  report  ->  record / replay / sim  ->  transport, cassette, ihe, compare
         ->  model, results, errors, config, safexml

Nothing below ``cli`` imports click or rich. See ``ARCHITECTURE.md`` in the repository.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
