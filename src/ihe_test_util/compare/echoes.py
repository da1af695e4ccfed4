"""Echo fields: response values that copy the request (RelatesTo, targetMessage id, queryId).

They differ on every replay because the request was regenerated, so comparing recorded with
replayed says nothing. What matters is whether the replayed response still echoes the replayed
request wherever the recorded response echoed the recorded request. Without the requests the
values are plain noise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.compare.findings import Finding
from ihe_test_util.compare.rules import EchoRule
from ihe_test_util.ihe.patterns import Pattern, local_name
from ihe_test_util.results import DifferenceKind


@dataclass(frozen=True)
class EchoOutcome:
    """Either a finding (the echo broke) or the name of the rule that explained a change."""

    finding: Finding | None = None
    suppressed: str | None = None


def check_echoes(echoes: tuple[EchoRule, ...], rule_prefix: str,
                 recorded: etree._Element, replayed: etree._Element,
                 recorded_request: etree._Element | None,
                 replayed_request: etree._Element | None) -> Iterator[EchoOutcome]:
    for echo in echoes:
        rec_node, rec_value = _select(echo.response, recorded)
        _, rep_value = _select(echo.response, replayed)
        if rec_value is None and rep_value is None:
            continue
        # The replayed request is only looked at when the recorded response did echo.
        if recorded_request is not None and replayed_request is not None and \
                rec_value is not None and rec_value == _select(echo.request, recorded_request)[1]:
            _, asked_now = _select(echo.request, replayed_request)
            if rep_value is None or rep_value != asked_now:
                yield EchoOutcome(Finding(
                    DifferenceKind.VALUE, rec_node, None, recorded=rec_value, replayed=rep_value,
                    description=(f"{echo.label} no longer echoes the request: expected "
                                 f"{asked_now}, got {rep_value}"),
                ))
                continue
        if rec_value != rep_value:
            yield EchoOutcome(suppressed=f"{rule_prefix} echo {echo.label}")


def _select(patterns: tuple[Pattern, ...], root: etree._Element) -> (
    tuple[etree._Element | None, str | None]
):
    for pattern in patterns:
        for node in pattern.select(root):
            if isinstance(node, etree._Element):
                if pattern.target == "text":
                    return node, _identifier(str(node.text or ""))
                return node, content(node)
            parent = getattr(node, "getparent", lambda: None)()
            return (parent if isinstance(parent, etree._Element) else None), _identifier(
                str(node))
    return None, None


def _identifier(value: str) -> str:
    """Message ids are compared the way systems mangle them: case, ``urn:uuid:`` prefix."""
    text = value.strip().lower()
    return text.removeprefix("urn:uuid:")


def content(element: etree._Element) -> str:
    """What an element says, not what it is called: attributes, text and children rendered
    independently of prefixes, attribute order and whitespace (RelatesTo vs MessageID).

    One pass over the subtree (``<local>head children</>`` per child, comments skipped), with
    an explicit stack (no recursion limit, however deep the nesting); an echoed
    ``queryByParameter`` is rendered four times per exchange, so names are memoised.
    """
    parts: list[str] = [_head(element)]
    append = parts.append
    names = _LOCAL
    stack = [iter(element)]
    while stack:
        for child in stack[-1]:
            tag: object = child.tag  # a function for comments and processing instructions
            if not isinstance(tag, str):
                continue
            append(f"<{names.get(tag) or _local(tag)}>")
            append(_head(child))
            if len(child):
                stack.append(iter(child))
                break
            append("</>")
        else:
            stack.pop()
            if stack:
                append("</>")
    return "".join(parts)


def _head(element: etree._Element) -> str:
    text = element.text
    text = _identifier(text) if text else ""
    items = element.items()
    if not items:
        return text
    rendered = " ".join(
        f"{name}={_identifier(str(value))!r}"
        for name, value in ((_local(str(key)), value) for key, value in sorted(items))
        if name != "type")
    return f"[{rendered}]{text}" if rendered else text


_LOCAL: dict[str, str] = {}


def _local(tag: str) -> str:
    """:func:`local_name` memoised (bounded): the same few names recur in every exchange."""
    local = _LOCAL.get(tag)
    if local is None:
        local = local_name(tag)
        if len(_LOCAL) < 10_000:
            _LOCAL[tag] = local
    return local
