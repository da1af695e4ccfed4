"""Explicit correlation rules: ``[[correlate]]`` tables in ``ihe.toml``.

Automatic correlation (:mod:`.correlate`) finds server-assigned values that reappear verbatim
in later requests. When a later request carries such a value in another form, or a value
should be tracked regardless, a rule names where servers put it, in one of three ways::

    [[correlate]]
    name = "XCPD remote patient id"         # optional, for messages
    transaction = "ITI-55"                  # optional: only responses of this transaction
    response = "//hl7:subject1/hl7:patient/hl7:id/@extension"     # XPath (XML, FHIR as XML)

    [[correlate]]
    transaction = "ITI-65"
    json = "Bundle.entry.response.location" # a JSON path: FHIRPath subset or JSON pointer
    pattern = "^([A-Za-z]+/[^/]+)"          # optional: the part of the value (group 1)

    [[correlate]]
    header = "Location"                     # a response header
    pattern = "/Patient/([^/]+)"

``json`` is either a JSON pointer (RFC 6901: ``/entry/0/response/location``) or a FHIRPath
subset: dot-separated member names, an optional leading resource type that the body's
``resourceType`` must equal, ``[n]`` to pick one item of a list (lists are flattened
otherwise), and ``resource`` descending into a nested resource as usual in FHIR JSON.
The FHIRPath subset also reads FHIR XML responses (``application/fhir+xml``): the same
elements, values in ``@value``. ``pattern`` is a regular expression searched in each selected
value: the value kept is its
group 1 (or the whole match without a group).

On replay, the n-th value the rule selects in the recorded response maps to the n-th value it
selects in the replayed one; later requests carrying the recorded value (in their body, URL or
headers) get the new one, and exchanges that need a value the replayed response no longer has
are skipped with the reason. A rule that cannot apply is a configuration error when loaded,
never silently ignored: a bad XPath, JSON path or pattern, an unknown transaction, or a JSON
rule for a transaction whose responses are never JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.catalogue import known_ids, spec_for, transaction_id
from ihe_test_util.ihe.jsonpath import JsonPath, JsonPathError, cut, json_document
from ihe_test_util.ihe.message import Message
from ihe_test_util.ihe.namespaces import PREFIXES
from ihe_test_util.ihe.xpath import compile_xpath, compiled_xpath, values_of
from ihe_test_util.model import Headers

RULE_KEYS = {"name", "transaction", "response", "json", "header", "pattern"}
SELECTORS = ("response", "json", "header")
#: Transaction families whose responses are JSON (or may be): where a ``json`` rule applies.
JSON_FAMILIES = frozenset({"fhir", "json"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class CaptureRule:
    index: int
    response: str | None = None
    transaction: str | None = None
    name: str | None = None
    json_path: JsonPath | None = None
    header: str | None = None
    pattern: re.Pattern[str] | None = None

    @property
    def label(self) -> str:
        return f"correlate[{self.index}]" + (f" {self.name}" if self.name else "")

    @property
    def selector(self) -> str:
        """What the rule selects, as configured (for messages)."""
        if self.json_path is not None:
            return f"json {self.json_path.text}"
        if self.header is not None:
            return f"header {self.header}"
        return self.response or ""

    def values(self, root: etree._Element | None, *, message: Message | None = None,
               headers: Headers | None = None) -> list[str]:
        """The selected values, in document order: XPath values read as ``ihe record``
        captures read them (:func:`ihe_test_util.ihe.xpath.node_value`), JSON values from the
        body (``message``), header values from ``headers``; each cut by ``pattern``."""
        found: list[str]
        if self.json_path is not None:
            document = json_document(message)
            if document is not None:
                found = self.json_path.values(document)
            else:  # FHIR XML: the same path on the tree
                found = self.json_path.tree_values(root) if root is not None else []
        elif self.header is not None:
            found = [value.strip() for value in headers.get_all(self.header)] \
                if headers is not None else []
        else:
            found = values_of(compiled_xpath(self.response or "")(root)) \
                if root is not None else []
        return cut(found, self.pattern)


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
        for key in ("transaction", "name", *SELECTORS, "pattern"):
            value = table.get(key)
            if value is not None and not isinstance(value, str):
                raise ConfigError("expected a string", source=source, key=f"{where}.{key}")
        chosen = [key for key in SELECTORS if key in table]
        if len(chosen) != 1:
            raise ConfigError(
                "needs exactly one of response (an XPath), json (a JSON path) or header "
                "(a response header name)" + (f"; got {', '.join(chosen)}" if chosen else ""),
                source=source, key=f"{where}.{chosen[1] if len(chosen) > 1 else 'response'}")
        selector = chosen[0]
        text = str(table[selector])
        if not text.strip():
            raise ConfigError("expected a non-empty string", source=source,
                              key=f"{where}.{selector}")
        transaction = table.get("transaction")
        if transaction is not None:
            ident = transaction_id(transaction)
            if ident is None:
                raise ConfigError(f"unknown transaction {transaction!r}", source=source,
                                  key=f"{where}.transaction",
                                  hint=f"known: {', '.join(known_ids())}")
            transaction = ident
        response = json_path = header = None
        if selector == "response":
            try:
                compile_xpath(text)
            except etree.XPathSyntaxError as exc:
                raise ConfigError(f"invalid XPath: {exc}", source=source,
                                  key=f"{where}.response",
                                  hint="prefixes: " + ", ".join(sorted(PREFIXES))) from None
            response = text
        elif selector == "json":
            try:
                json_path = JsonPath.parse(text)
            except JsonPathError as exc:
                raise ConfigError(f"invalid JSON path {text!r}: {exc}", source=source,
                                  key=f"{where}.json",
                                  hint="a JSON pointer (/entry/0/id) or a FHIRPath subset "
                                       "(Bundle.entry.response.location)") from None
            family = spec_for(transaction).family if transaction is not None else None
            if family is not None and family not in JSON_FAMILIES:
                raise ConfigError(f"{transaction} responses are {family}, never JSON: a json "
                                  "path cannot apply", source=source, key=f"{where}.json",
                                  hint="use response = an XPath")
        else:
            if not _HEADER_NAME.fullmatch(text.strip()):
                raise ConfigError(f"{text!r} is not a header name", source=source,
                                  key=f"{where}.header")
            header = text.strip()
        pattern = None
        if table.get("pattern") is not None:
            try:
                pattern = re.compile(str(table["pattern"]))
            except re.error as exc:
                raise ConfigError(f"invalid regular expression: {exc}", source=source,
                                  key=f"{where}.pattern") from None
            if pattern.groups > 1:
                raise ConfigError("the pattern has more than one group: which is the value?",
                                  source=source, key=f"{where}.pattern",
                                  hint="use (?:...) for the other groups")
        rules.append(CaptureRule(index, response, transaction, table.get("name"), json_path,
                                 header, pattern))
    return tuple(rules)


def applicable(rules: Iterable[CaptureRule], transaction: str | None) -> list[CaptureRule]:
    return [r for r in rules if r.transaction is None or r.transaction == transaction]
