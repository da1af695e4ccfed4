"""A difference as the tree walk finds it: still attached to the elements it is about.

Paths, IHE-term descriptions and severities are worked out later from these elements
(:mod:`ihe_test_util.compare.describe`), once the verdicts are known; the report only ever sees
the finished :class:`ihe_test_util.results.Difference`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ihe_test_util.results import DifferenceKind, Severity


@dataclass
class Finding:
    """One real difference.

    ``recorded_element`` locates it in the recorded response (for an added element: the
    recorded parent it was added to); ``replayed_element`` is its counterpart, if any.
    ``attribute`` is the attribute name (Clark notation) for attribute differences.
    ``membership`` marks an element added or removed as a whole. ``path`` overrides the
    computed location (``http:status``, ``part:<cid>``); ``note`` explains the finding after
    its IHE context; ``description`` replaces the generated description altogether; ``prefix``
    goes before the computed path (``part:<cid>`` for differences inside an attachment).
    """

    kind: DifferenceKind
    recorded_element: etree._Element | None
    replayed_element: etree._Element | None = None
    attribute: str | None = None
    recorded: str | None = None
    replayed: str | None = None
    membership: bool = False
    severity: Severity = Severity.CHANGED
    rule: str | None = None
    path: str | None = None
    note: str | None = None
    description: str | None = None
    prefix: str = ""
