"""Explicit correlation rules: ``[[correlate]]`` tables in ``ihe.toml``.

Automatic correlation (:mod:`.correlate`) finds server-assigned values that reappear verbatim
in later requests. When a later request carries such a value in another form, or a value
should be tracked regardless, a rule names where servers put it::

    [[correlate]]
    name = "XCPD remote patient id"         # optional, for messages
    transaction = "ITI-55"                  # optional: only responses of this transaction
    response = "//hl7:subject1/hl7:patient/hl7:id/@extension"

On replay, the n-th value the XPath selects in the recorded response maps to the n-th value it
selects in the replayed one; later requests carrying the recorded value get the new one, and
exchanges that need a value the replayed response no longer has are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.catalogue import known_ids, transaction_id
from ihe_test_util.ihe.namespaces import PREFIXES
from ihe_test_util.ihe.xpath import compile_xpath, compiled_xpath, values_of

RULE_KEYS = {"name", "transaction", "response"}


@dataclass(frozen=True)
class CaptureRule:
    index: int
    response: str
    transaction: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return f"correlate[{self.index}]" + (f" {self.name}" if self.name else "")

    def values(self, root: etree._Element) -> list[str]:
        """The selected values, in document order, read as ``ihe record`` captures read them
        (:func:`ihe_test_util.ihe.xpath.node_value`)."""
        return values_of(compiled_xpath(self.response)(root))


def load_capture_rules(tables: Sequence[Mapping[str, Any]], source: str | None = None) -> (
    tuple[CaptureRule, ...]
):
    """Validate ``[[correlate]]`` tables; ConfigError names ``correlate[i].key``."""
    rules = []
    for index, table in enumerate(tables):
        where = f"correlate[{index}]"
        for key in table:
            if key not in RULE_KEYS:
                raise ConfigError("unknown key", source=source, key=f"{where}.{key}",
                                  hint="allowed: " + ", ".join(sorted(RULE_KEYS)))
        response = table.get("response")
        if not isinstance(response, str) or not response.strip():
            raise ConfigError("needs an XPath selecting the values in responses",
                              source=source, key=f"{where}.response")
        try:
            compile_xpath(response)
        except etree.XPathSyntaxError as exc:
            raise ConfigError(f"invalid XPath: {exc}", source=source, key=f"{where}.response",
                              hint="prefixes: " + ", ".join(sorted(PREFIXES))) from None
        transaction = table.get("transaction")
        name = table.get("name")
        for key, value in (("transaction", transaction), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise ConfigError("expected a string", source=source, key=f"{where}.{key}")
        if transaction is not None:
            ident = transaction_id(transaction)
            if ident is None:
                raise ConfigError(f"unknown transaction {transaction!r}", source=source,
                                  key=f"{where}.transaction",
                                  hint=f"known: {', '.join(known_ids())}")
            transaction = ident
        rules.append(CaptureRule(index, response, transaction, name))
    return tuple(rules)


def applicable(rules: Iterable[CaptureRule], transaction: str | None) -> list[CaptureRule]:
    return [r for r in rules if r.transaction is None or r.transaction == transaction]
