"""``compare_responses``: decide pass / changed / regression for one recorded-replayed pair.

Steps: read both bodies (any wire format) -> pick the catalogue entry (given, else detected) ->
compile its rules with the user's -> read the verdict fields of both sides -> replace documents
by digests -> check echo fields against the requests -> walk the trees -> turn findings into
differences: a differing verdict field makes the exchange a regression and claims the
structural differences it explains (an added RegistryError, a removed ExtrinsicObject when the
result count changed); everything else is drift (``changed``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ihe_test_util.compare.attachments import (
    Documents,
    carries_documents,
    document_findings,
    extract_documents,
    unreferenced_findings,
)
from ihe_test_util.compare.describe import PathNamer, element_path, to_difference
from ihe_test_util.compare.echoes import check_echoes
from ihe_test_util.compare.findings import Finding
from ihe_test_util.compare.foreign import aside_note, has_foreign, isolation_note, set_aside
from ihe_test_util.compare.identifiers import Renaming, ValueMap
from ihe_test_util.compare.rules import CompiledRules, RuleSet, compile_rules
from ihe_test_util.compare.walk import TreeComparer
from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.catalogue import GENERIC_XML, detect, normalise_id, spec_for
from ihe_test_util.ihe.er7 import Er7Locator
from ihe_test_util.ihe.fhirrefs import identity_of, reference_identity
from ihe_test_util.ihe.idmap import ValueRoles
from ihe_test_util.ihe.jsonxml import JsonDocument
from ihe_test_util.ihe.message import Message, Reader, media_type_of, read_uncached
from ihe_test_util.ihe.namespaces import FHIR
from ihe_test_util.ihe.specs import TransactionSpec
from ihe_test_util.ihe.verdicts import Reading, read_verdict
from ihe_test_util.model import Request, Response
from ihe_test_util.results import Comparison, Difference, DifferenceKind, Outcome, Severity
from ihe_test_util.safexml import parse_xml

#: How reports name the verdict fields.
VERDICT_LABELS = {
    "http_status": "HTTP status",
    "parseable": "response parses",
    "soap_fault": "SOAP Fault",
    "registry_status": "registry status",
    "error_codes": "RegistryErrors",
    "result_count": "result count",
    "ack_code": "acknowledgement",
    "query_response_code": "queryResponseCode",
    "msa_code": "MSA-1",
    "bundle_total": "Bundle.total",
    "outcome_severity": "OperationOutcome severity",
    "match_count": "search matches",
    "target_identifiers": "PIXm targetIdentifiers",
}
#: A verdict field that repeats another when both change alike (a searchset's matches and its
#: total): reported once, as the other.
_SAME_FACT = {"match_count": "bundle_total"}
#: FHIR response headers that name the resource the body is (compared up to renaming).
_IDENTITY_HEADERS = ("Location", "Content-Location")
_ABBREVIATED = re.compile(rb">\s*\.{4,}\s*<|\$[A-Za-z][A-Za-z0-9_]*\$")


def compare_responses(
    recorded: Response,
    replayed: Response,
    *,
    transaction: str | None = None,
    recorded_request: Request | None = None,
    replayed_request: Request | None = None,
    rules: RuleSet | None = None,
    cassette: str | None = None,
    value_map: Mapping[str, str] | None = None,
    read: Reader = read_uncached,
) -> Comparison:
    """Compare a replayed response with the recorded one under the IHE rules of its transaction.

    ``transaction`` (``ITI-18``) skips detection; the requests let echo fields be checked and
    help detection; ``rules`` and ``cassette`` select the user's rules; ``value_map`` lists
    values the replay regenerated (recorded -> replayed), which are equal under the map; a
    :class:`ValueRoles` also carries the run's marker (results of other runs are set aside).
    ``read`` parses a message (a replay passes its per-cassette cache: each message is
    parsed once per run).
    """
    notes: list[str] = []
    rec_body = read(recorded, "recorded response")
    rep_body = read(replayed, "replayed response")
    rec_request = read(recorded_request, "recorded request") if recorded_request else None
    rep_request = read(replayed_request, "replayed request") if replayed_request else None
    spec = _choose_spec(transaction, recorded_request, rec_body, rep_body, rec_request, notes)
    user_rules = rules.for_exchange(spec.id, cassette) if rules is not None else ()
    compiled = compile_rules(spec, user_rules)
    # Documents are replaced by digests in the tree before the walk: on a private copy,
    # taken before the verdicts are read so both see the same elements.
    if rec_body.root is not None and rep_body.root is not None:
        rec_body = rec_body.private() if carries_documents(rec_body, compiled) else rec_body
        rep_body = rep_body.private() if carries_documents(rep_body, compiled) else rep_body
    # Results of earlier replays and of the recording are set aside: this run's are judged.
    marker = value_map.marker if isinstance(value_map, ValueRoles) else None
    if marker is not None and rep_body.root is not None and isinstance(value_map, ValueRoles):
        replaced = frozenset(key for key in value_map if key not in value_map.roles)
        if has_foreign(rep_body.root, marker, replaced):
            if rep_body.root is read(replayed, "replayed response").root:
                rep_body = rep_body.private()
            assert rep_body.root is not None
            note = aside_note(set_aside(rep_body.root, marker, replaced))
            if note:
                notes.append(note)
    fhir = _is_fhir(rec_body) or _is_fhir(rep_body)
    params = _query(recorded_request.uri) if recorded_request is not None else {}
    session = _Session(compiled, value_map or {}, fhir=fhir, request_params=params)
    verdict_rec = session.verdicts(recorded, rec_body)
    verdict_rep = session.verdicts(replayed, rep_body)
    isolation = isolation_note(rec_request.root if rec_request is not None else None,
                               rep_request.root if rep_request is not None else None,
                               verdict_rec, verdict_rep)
    if isolation is not None:
        notes.append(isolation)
    session.compare_http(recorded, replayed, verdict_rec, verdict_rep,
                         both_parsed=rec_body.parsed and rep_body.parsed)
    if rec_body.root is not None and rep_body.root is not None:
        session.compare_bodies(rec_body, rep_body, rec_request, rep_request)
    else:
        session.compare_unparsed(rec_body, rep_body, notes)
    for label, body in (("recorded", rec_body), ("replayed", rep_body)):
        note = _abbreviation_note(label, body)
        if note:
            notes.append(note)
    return session.result(spec, verdict_rec, verdict_rep, notes,
                          _syntaxes(rec_body) + _syntaxes(rep_body))


def _is_fhir(body: Message) -> bool:
    return body.root is not None and str(body.root.tag).startswith(f"{{{FHIR}}}")


def _query(uri: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(uri).query, keep_blank_values=True))


def _syntaxes(body: Message) -> tuple[JsonDocument | Er7Locator, ...]:
    """How reports show the elements of ``body``: in its own syntax when it is not XML."""
    if body.root is None:
        return ()
    if body.kind == "json":
        return (JsonDocument(body.raw, body.root),)
    if body.kind == "hl7v2":
        return (Er7Locator(body.root),)
    return ()


def _choose_spec(transaction: str | None, recorded_request: Request | None, rec_body: Message,
                 rep_body: Message, rec_request: Message | None,
                 notes: list[str]) -> TransactionSpec:
    if transaction:
        try:
            return spec_for(transaction)
        except KeyError:
            notes.append(f"transaction {normalise_id(transaction)!r} is not in the catalogue; "
                         "detected from the messages instead")
    body = rec_body if rec_body.parsed else rep_body
    if recorded_request is None:
        return detect(body, rec_request)
    url = urlsplit(recorded_request.uri)
    return detect(body, rec_request, path=url.path, method=recorded_request.method,
                  query=url.query)


def _abbreviation_note(label: str, body: Message) -> str | None:
    if not body.parsed or (b"...." not in body.raw and b"$" not in body.raw):
        return None
    match = _ABBREVIATED.search(body.raw)
    if match is None:
        return None
    line = body.raw.count(b"\n", 0, match.start()) + 1
    sample = match.group(0).decode("utf-8", "replace").strip("<> \t\r\n")
    return (f"the {label} response looks abbreviated or templated ({sample!r} at line {line}):"
            " values there are placeholders, not real data")


def _display(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def _media(response: Response) -> str | None:
    """The effective media type: a multipart's root type counts, not the MIME packaging."""
    content_type = response.content_type
    if not content_type:
        return None
    media, params = media_type_of(content_type)
    if media.startswith("multipart/"):
        media = params.get("start-info") or params.get("type") or media
    elif media == "application/xop+xml":
        media = params.get("type") or media
    return media.lower()


class _Session:
    """The state of one comparison: rules, identifier renaming, findings, noise count."""

    def __init__(self, rules: CompiledRules, value_map: Mapping[str, str], *,
                 fhir: bool = False, request_params: Mapping[str, str] | None = None) -> None:
        self.rules = rules
        self.fhir = fhir
        self.request_params = request_params or {}
        self.renaming = Renaming(value_map, identity_of if fhir else None)
        self.values = ValueMap(value_map)
        self.findings: list[Finding] = []
        self.verdict_findings: list[Finding] = []
        self.noise = 0
        self.applied: set[str] = set()
        self.readings: dict[str, tuple[Reading, Reading]] = {}
        self.merged: dict[str, str] = {}  # verdict field -> the one reported for it
        self._pending: dict[str, Reading] = {}

    # --- verdicts ------------------------------------------------------------------------------

    def verdicts(self, response: Response, body: Message) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "http_status": response.status or None,
            "parseable": body.parsed,
        }
        for verdict in self.rules.verdicts:
            reading = read_verdict(body, verdict) if body.parsed else Reading(None)
            fields[verdict.name] = reading.value
            if verdict.name in self._pending:
                self.readings[verdict.name] = (self._pending.pop(verdict.name), reading)
            else:
                self._pending[verdict.name] = reading
        return fields

    def compare_http(self, recorded: Response, replayed: Response, rec: dict[str, Any],
                     rep: dict[str, Any], *, both_parsed: bool) -> None:
        if rec["http_status"] and rep["http_status"] and rec["http_status"] != rep["http_status"]:
            self.verdict_findings.append(Finding(
                DifferenceKind.STATUS, None, path="http:status",
                recorded=str(rec["http_status"]), replayed=str(rep["http_status"]),
                severity=Severity.REGRESSION, rule="http_status",
                description=f"HTTP status {rec['http_status']} -> {rep['http_status']}",
            ))
        before, after = _media(recorded), _media(replayed)
        if before and after and before != after:
            self.findings.append(Finding(
                DifferenceKind.OTHER, None, path="http:content-type", recorded=before,
                replayed=after, description=f"Content-Type {before} -> {after}",
            ))
        elif recorded.content_type != replayed.content_type:
            self.noise += 1  # MIME boundary, start Content-ID, charset spelling
            self.applied.add("noise MIME packaging")
        if self.fhir:
            self._identity_headers(recorded, replayed)
        if not both_parsed:  # "can no longer be parsed" says it all; fields would be noise
            self.readings.clear()
        for name, (r1, r2) in self.readings.items():
            if r1.compared == r2.compared:
                continue
            same = self.readings.get(_SAME_FACT.get(name, ""))
            if same is not None and (same[0].value, same[1].value) == (r1.value, r2.value):
                self.merged[name] = _SAME_FACT[name]
                continue
            label = VERDICT_LABELS.get(name, name)
            if name == "error_codes":
                added = sorted(set(r2.value or []) - set(r1.value or []))
                removed = sorted(set(r1.value or []) - set(r2.value or []))
                change = "; ".join(part for part in (
                    f"added {', '.join(added)}" if added else "",
                    f"removed {', '.join(removed)}" if removed else "") if part)
                description = f"{label}: {change}"
            else:
                description = f"{label} {_display(r1.value)} -> {_display(r2.value)}"
            self.verdict_findings.append(Finding(
                DifferenceKind.STATUS, r1.element, r2.element,
                attribute=r1.attribute if r1.element is not None else r2.attribute,
                recorded=_display(r1.value), replayed=_display(r2.value),
                severity=_direction(r1, r2), rule=self.rules.verdict_rules.get(name, name),
                description=description,
            ))

    def _identity_headers(self, recorded: Response, replayed: Response) -> None:
        """``Location`` / ``Content-Location`` name the resource: equal up to renaming."""
        for header in _IDENTITY_HEADERS:
            before = recorded.headers.get(header)
            after = replayed.headers.get(header)
            if before is None and after is None:
                continue
            path = f"http:{header}"
            if before is None or after is None:
                self.findings.append(Finding(
                    DifferenceKind.OTHER, None, path=path, recorded=before, replayed=after,
                    description=f"{header} header {'added' if before is None else 'removed'}"))
                continue
            key_before, key_after = reference_identity(before), reference_identity(after)
            if key_before is None or key_after is None:
                if before != after:
                    self.findings.append(Finding(
                        DifferenceKind.OTHER, None, path=path, recorded=before, replayed=after,
                        description=f"{header} {before} -> {after}"))
                continue
            conflict = self.renaming.pair(key_before, key_after)
            if conflict is not None:
                self.findings.append(Finding(
                    DifferenceKind.OTHER, None, path=path, recorded=before, replayed=after,
                    description=f"{header} points elsewhere: {conflict}"))
            elif before != after:
                self.noise += 1
                self.applied.add(f"{self.rules.spec.id or self.rules.spec.name} identifiers "
                                 f"{header} header")

    # --- bodies --------------------------------------------------------------------------------

    def compare_bodies(self, rec: Message, rep: Message, rec_request: Message | None,
                       rep_request: Message | None) -> None:
        assert rec.root is not None and rep.root is not None
        rec_docs = extract_documents(rec, self.rules)
        rep_docs = extract_documents(rep, self.rules)
        tag = self.rules.spec.id or self.rules.spec.name
        for outcome in check_echoes(
                self.rules.echoes, tag, rec.root, rep.root,
                rec_request.root if rec_request is not None else None,
                rep_request.root if rep_request is not None else None):
            if outcome.finding is not None:
                self.findings.append(outcome.finding)
            elif outcome.suppressed is not None:
                self.noise += 1
                self.applied.add(outcome.suppressed)
        walker = TreeComparer(self.rules, self.renaming, self.values,
                              request_params=self.request_params)
        walker.compare(rec.root, rep.root)
        self.findings.extend(walker.findings)
        self.noise += walker.noise
        self.applied |= walker.applied
        self._documents(walker.findings, rec_docs, rep_docs)

    @property
    def _inside(self) -> ValueMap:
        """The value map inside documents: equal values under it, but no "still carries the
        old value" finding (the replay never rewrites a document's own ids)."""
        mapping = self.values.mapping
        return ValueMap(mapping, {key: frozenset() for key in mapping})

    def _documents(self, findings: list[Finding], rec: Documents, rep: Documents) -> None:
        explained: list[Finding] = []
        for finding, before, after in list(document_findings(findings, rec, rep)):
            if not (before.is_xml and after.is_xml):
                continue
            assert before.content is not None and after.content is not None
            try:
                left = parse_xml(before.content, source="recorded attachment")
                right = parse_xml(after.content, source="replayed attachment")
            except XmlInputError:  # a document that is not well-formed stays a part difference
                continue
            inner = TreeComparer(compile_rules(GENERIC_XML), Renaming(), self._inside)
            inner.compare(left, right)
            if not inner.findings and self.values and inner.applied == {"value map"}:
                # equal up to values the replay varied on purpose (a patient id in a CDA)
                explained.append(finding)
                self.noise += inner.noise
                self.applied.add("value map")
                continue
            where = finding.path or (element_path(finding.recorded_element)
                                     if finding.recorded_element is not None else "")
            for nested in inner.findings:
                nested.prefix = f"{where}#"
                self.findings.append(nested)
            self.noise += inner.noise
        if explained:
            self.findings = [f for f in self.findings if not any(f is e for e in explained)]
        self.findings.extend(unreferenced_findings(rec, rep))

    def compare_unparsed(self, rec: Message, rep: Message, notes: list[str]) -> None:
        if rec.parsed and not rep.parsed:
            self.verdict_findings.append(Finding(
                DifferenceKind.OTHER, None, path="http:body", recorded=f"parsed ({rec.kind})",
                replayed=rep.error, severity=Severity.REGRESSION, rule="parseable",
                description=f"the response can no longer be parsed: {rep.error}",
            ))
            return
        if rep.parsed and not rec.parsed:
            notes.append(f"the recorded response could not be parsed: {rec.error}")
            self.findings.append(Finding(
                DifferenceKind.OTHER, None, path="http:body", recorded=rec.error,
                replayed=f"parsed ({rep.kind})",
                description="the recorded response could not be parsed; the replayed one can",
            ))
            return
        if rec.kind == "empty" and rep.kind == "empty":
            return
        notes.append(f"neither response could be parsed ({rec.error}); compared as bytes")
        if rec.raw != rep.raw:
            before = hashlib.sha256(rec.raw).hexdigest()[:16]
            after = hashlib.sha256(rep.raw).hexdigest()[:16]
            self.findings.append(Finding(
                DifferenceKind.OTHER, None, path="http:body", recorded=f"sha256:{before}…",
                replayed=f"sha256:{after}…", description="unparseable bodies differ",
            ))

    # --- result --------------------------------------------------------------------------------

    def result(self, spec: TransactionSpec, verdict_rec: dict[str, Any],
               verdict_rep: dict[str, Any], notes: list[str],
               syntaxes: tuple[JsonDocument | Er7Locator, ...] = ()) -> Comparison:
        differing = [(name, r1, r2) for name, (r1, r2) in self.readings.items()
                     if r1.compared != r2.compared]
        kept: list[Finding] = []
        for finding in self.findings:
            claimed = False
            for name, r1, r2 in differing:
                if _covered(finding, r1, r2):
                    if r1.exact or r2.exact:
                        claimed = True
                        break
                    finding.severity = _direction(r1, r2)
                    shown = self.merged.get(name, name)
                    finding.rule = self.rules.verdict_rules.get(shown, shown)
                    break
            if not claimed:
                kept.append(finding)
        ordered = self.verdict_findings + kept
        namer = PathNamer(syntaxes)
        differences: dict[tuple[object, ...], Difference] = {}
        for finding in ordered:
            difference = to_difference(finding, namer)
            key = (difference.shown_path, difference.kind, difference.recorded,
                   difference.replayed)
            if key not in differences:  # each difference once (two components of one field)
                differences[key] = difference
        applied = self.applied | {f.rule for f in self.verdict_findings if f.rule}
        if any(f.severity is Severity.REGRESSION for f in ordered):
            outcome = Outcome.REGRESSION
        elif differences:
            outcome = Outcome.CHANGED
        else:
            outcome = Outcome.PASS
        return Comparison(
            outcome=outcome, transaction=spec.id, verdict_recorded=verdict_rec,
            verdict_replayed=verdict_rep,
            differences=tuple(differences.values()),
            noise_suppressed=self.noise, rules_applied=tuple(sorted(applied)),
            notes=tuple(notes),
        )


def _direction(recorded: Reading, replayed: Reading) -> Severity:
    """A verdict field that changed: a regression unless it has a direction and got better."""
    return Severity.REGRESSION if replayed.worse_than(recorded) else Severity.CHANGED


def _covered(finding: Finding, recorded: Reading, replayed: Reading) -> bool:
    membership = finding.membership
    if finding.kind is DifferenceKind.ADDED:
        element = finding.replayed_element
        return element is not None and replayed.covers(element, None, membership)
    if finding.recorded_element is not None and recorded.covers(
            finding.recorded_element, finding.attribute, membership):
        return True
    return finding.replayed_element is not None and replayed.covers(
        finding.replayed_element, finding.attribute, membership)
