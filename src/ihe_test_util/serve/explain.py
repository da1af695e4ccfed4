"""Why a request matched nothing: the closest recorded request and what differs from it.

vcrpy's "no match" error lists recorded requests and which matcher failed for each; a client
developer then has to diff two SOAP envelopes by eye. Here the closest recorded request is
chosen by what matters most (same transaction and action, same path, same method, then the
share of equal values in the canonical bodies) and the differences are named value by value,
with the noise already blanked: ``.../patientIdentifier/value/@extension: recorded
'IHEDEMO-0001', received 'IHEDEMO-0002'``.

Explaining costs a pass over the recorded requests of the best tier; it happens only on a
miss, never on the lookup path.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.safexml import xml_safe
from ihe_test_util.serve.index import RecordedEntry
from ihe_test_util.serve.shape import RequestShape

#: Namespace of the machine-readable ``soap:Detail`` of ihe serve's faults.
SERVE_NS = "urn:ihe-test-utility:serve"
#: Differences named in a fault reason (all of them go into the fault detail, up to DETAIL).
SHOWN = 5
DETAIL = 50
_PATH_STEPS = 5
_VALUE_CHARS = 100


@dataclass(frozen=True)
class ValueDifference:
    """One value that differs; ``recorded`` / ``received`` None when only one side has it."""

    location: str
    recorded: str | None
    received: str | None

    def __str__(self) -> str:
        where = _short(self.location)
        if self.received is None:
            return f"{where}: recorded {_quote(self.recorded)}, missing from the request"
        if self.recorded is None:
            return f"{where}: not in the recording, received {_quote(self.received)}"
        return f"{where}: recorded {_quote(self.recorded)}, received {_quote(self.received)}"


@dataclass(frozen=True)
class Mismatch:
    """A request nothing matched, its closest recorded request and why that one differs."""

    request: RequestShape
    closest: RecordedEntry | None
    similarity: float
    reasons: tuple[str, ...]
    differences: tuple[ValueDifference, ...]

    def reason_text(self) -> str:
        what = self.request.transaction or "request"
        head = (f"no recorded interaction matches this {what} ({self.request.method} "
                f"{self.request.path}"
                + (f", action {self.request.action}" if self.request.action else "") + ")")
        if self.closest is None:
            return head + "; nothing is recorded"
        why = list(self.reasons) + [str(d) for d in self.differences[:SHOWN]]
        more = len(self.differences) - SHOWN
        if more > 0:
            why.append(f"and {more} more difference{'s' if more > 1 else ''}")
        return f"{head}. Closest: {self.closest.label}: {'; '.join(why)}"

    def detail(self) -> etree._Element:
        """The same, as XML for programs: ``serve:NoMatch`` in the fault's ``soap:Detail``."""
        root = etree.Element(f"{{{SERVE_NS}}}NoMatch", nsmap={"serve": SERVE_NS})
        etree.SubElement(root, f"{{{SERVE_NS}}}Request", _shape_attributes(self.request))
        if self.closest is not None:
            closest = etree.SubElement(root, f"{{{SERVE_NS}}}Closest", {
                "cassette": str(self.closest.cassette), "interaction": str(self.closest.number),
                **({"step": self.closest.interaction.meta.step}
                   if self.closest.interaction.meta.step else {}),
                "similarity": f"{self.similarity:.2f}",
                **_shape_attributes(self.closest.shape),
            })
            for reason in self.reasons:
                etree.SubElement(closest, f"{{{SERVE_NS}}}Reason").text = xml_safe(reason)
            for difference in self.differences[:DETAIL]:
                attributes = {"location": difference.location}
                if difference.recorded is not None:
                    attributes["recorded"] = difference.recorded
                if difference.received is not None:
                    attributes["received"] = difference.received
                etree.SubElement(closest, f"{{{SERVE_NS}}}Difference",
                                 {k: xml_safe(v) for k, v in attributes.items()})
        return root


class Explainer:
    """Finds the closest recorded request; caches the recorded side's values (thread-safe)."""

    def __init__(self, entries: Sequence[RecordedEntry]) -> None:
        self.entries = tuple(entries)
        self._lock = threading.Lock()
        self._counts: dict[int, Counter[str]] = {}

    def explain(self, request: RequestShape) -> Mismatch:
        if not self.entries:
            return Mismatch(request, None, 0.0, (), ())
        tiers = [(_tier(entry.shape, request), entry) for entry in self.entries]
        best_tier = max(tier for tier, _ in tiers)
        received = Counter(request.facts())
        best: RecordedEntry | None = None
        best_score = -1.0
        for tier, entry in tiers:
            if tier != best_tier:
                continue
            score = _similarity(self._recorded(entry), received)
            if score > best_score:
                best, best_score = entry, score
        assert best is not None
        return Mismatch(request, best, best_score, _reasons(best.shape, request),
                        value_differences(best.shape.facts(), request.facts()))

    def _recorded(self, entry: RecordedEntry) -> Counter[str]:
        with self._lock:
            found = self._counts.get(id(entry))
            if found is None:
                found = self._counts[id(entry)] = Counter(entry.shape.facts())
            return found


def _tier(recorded: RequestShape, request: RequestShape) -> tuple[bool, ...]:
    return (recorded.transaction == request.transaction, recorded.action == request.action,
            recorded.path == request.path, recorded.method == request.method,
            recorded.format == request.format)


def _similarity(recorded: Counter[str], received: Counter[str]) -> float:
    size = max(sum(recorded.values()), sum(received.values()))
    return sum((recorded & received).values()) / size if size else 1.0


def _reasons(recorded: RequestShape, request: RequestShape) -> tuple[str, ...]:
    reasons = []
    if recorded.method != request.method:
        reasons.append(f"method: recorded {recorded.method}, received {request.method}")
    if recorded.path != request.path:
        reasons.append(f"path: recorded {recorded.path}, received {request.path}")
    if recorded.action != request.action:
        reasons.append(f"action: recorded {recorded.action or '(none)'}, received "
                       f"{request.action or '(none)'}")
    if recorded.format != request.format:
        reasons.append(f"format (Accept / _format): recorded {recorded.format or '(any)'}, "
                       f"received {request.format or '(any)'}")
    if request.opaque and not recorded.opaque:
        reasons.append(f"the request body could not be read as XML ({request.opaque})")
    if recorded.digest != request.digest and recorded.facts() == request.facts():
        reasons.append("the body holds the same values in another order")
    elif recorded.digest != request.digest and Counter(recorded.facts()) == Counter(
            request.facts()):
        reasons.append("the body holds the same values, but grouped differently")
    return tuple(reasons)


def value_differences(recorded: Sequence[str],
                      received: Sequence[str]) -> tuple[ValueDifference, ...]:
    """Values only one side has, paired by location where both have one (in document order)."""
    only_recorded = _surplus(recorded, Counter(recorded) - Counter(received))
    only_received = _surplus(received, Counter(received) - Counter(recorded))
    differences = []
    for location, values in only_recorded.items():
        others = only_received.pop(location, [])
        for index, value in enumerate(values):
            differences.append(ValueDifference(location, value,
                                               others[index] if index < len(others) else None))
        differences.extend(ValueDifference(location, None, value)
                           for value in others[len(values):])
    for location, values in only_received.items():
        differences.extend(ValueDifference(location, None, value) for value in values)
    return tuple(differences)


def _surplus(facts: Sequence[str], surplus: Counter[str]) -> dict[str, list[str]]:
    """Location -> values of the ``surplus`` facts, in the order ``facts`` has them."""
    found: dict[str, list[str]] = {}
    for fact in facts:
        if surplus[fact] > 0:
            surplus[fact] -= 1
            location, _, value = fact.partition(" = ")
            found.setdefault(location, []).append(value)
    return found


def _short(location: str) -> str:
    steps = location.split("/")
    return location if len(steps) <= _PATH_STEPS else ".../" + "/".join(steps[-_PATH_STEPS:])


def _quote(value: str | None) -> str:
    text = value or ""
    if len(text) > _VALUE_CHARS:
        text = text[:_VALUE_CHARS] + "..."
    return repr(text)


def _shape_attributes(shape: RequestShape) -> dict[str, str]:
    """The request's method, path, action and transaction as attributes (a received action or
    path may hold characters XML cannot carry: written as \\uXXXX)."""
    attributes = {"method": shape.method, "path": shape.path}
    if shape.action:
        attributes["action"] = shape.action
    if shape.transaction:
        attributes["transaction"] = shape.transaction
    return {name: xml_safe(value) for name, value in attributes.items()}
