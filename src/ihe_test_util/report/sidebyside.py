"""A recorded and a replayed response side by side, the way a reviewer reads a pull-request diff.

Both bodies are pretty-printed the same way (XML indented, JSON indented with sorted keys,
HL7 v2 one segment per line), aligned line by line (difflib), and each row is classified:

* ``equal``: the same on both sides; long runs are collapsed to ``context`` lines around the
  changes (``collapsed`` rows say how many lines were left out);
* ``difference``: a changed line that carries a reported difference (its recorded or replayed
  value, or the name its location ends in);
* ``noise``: a changed line the comparer explained away (a message id, a timestamp, what the
  rules or the reference call noise): shown dimmed.

The HTML report and ``ihe review`` both render these rows.
"""

from __future__ import annotations

import difflib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ihe_test_util.cassette import Redactor, load_cassette
from ihe_test_util.errors import CassetteError
from ihe_test_util.ihe.message import read_uncached
from ihe_test_util.model import Cassette, Request, Response
from ihe_test_util.results import Difference, ExchangeResult, Outcome

#: Longest body (characters, per side) laid out; longer ones are cut, saying so.
MAX_CHARS = 200_000
#: Lines shown around each change; longer equal runs collapse.
CONTEXT = 3


@dataclass(frozen=True)
class Row:
    kind: str  # equal | difference | noise | collapsed
    left: str | None = None
    right: str | None = None
    left_number: int | None = None
    right_number: int | None = None
    skipped: int = 0  # collapsed rows: how many equal lines are not shown


def pretty_lines(response: Response) -> list[str]:
    """The body of ``response`` as lines, pretty-printed by its format."""
    message = read_uncached(response, "response")
    text: str
    if message.kind == "json":
        try:
            text = json.dumps(json.loads(message.raw or response.body), indent=2,
                              sort_keys=True, ensure_ascii=False)
        except (ValueError, UnicodeDecodeError):
            text = (message.raw or response.body).decode("utf-8", "replace")
    elif message.kind == "hl7v2":
        raw = (message.raw or response.body).decode("utf-8", "replace")
        text = "\n".join(s for s in raw.replace("\r\n", "\r").replace("\n", "\r").split("\r")
                         if s)
    elif message.kind == "xml" and message.root is not None:
        root = deepcopy(message.root)
        for element in root.iter():
            if element.text is not None and not element.text.strip() and len(element):
                element.text = None
            if element.tail is not None and not element.tail.strip():
                element.tail = None
        etree.indent(root, space="  ")
        text = etree.tostring(root, encoding="unicode")
    elif message.kind in ("binary",):
        text = f"({len(response.body):,} bytes of {message.media_type or 'binary data'})"
    else:
        text = (message.raw or response.body).decode("utf-8", "replace")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + f"\n… ({len(text) - MAX_CHARS:,} more characters)"
    return text.splitlines()


def _markers(differences: Iterable[Difference]) -> tuple[list[str], list[str]]:
    """What makes a changed line a reported difference: values on each side, and names."""
    left: list[str] = []
    right: list[str] = []
    for difference in differences:
        if difference.recorded and len(difference.recorded) < 500:
            left.append(difference.recorded.strip())
        if difference.replayed and len(difference.replayed) < 500:
            right.append(difference.replayed.strip())
        name = _last_name(difference.path)
        if name and not difference.path.startswith(("http:", "part:")):
            left.append(name)
            right.append(name)
    return [m for m in left if m], [m for m in right if m]


def _last_name(path: str) -> str:
    """The name a location ends in, whatever its syntax: XPath-like (``/r/s/@value`` -> s),
    FHIR-style (``Bundle.entry[2].resource.gender`` -> gender) or HL7 v2 (``PID[2]-5`` ->
    PID, the segment its line starts with)."""
    if not path.startswith("/"):
        if "-" in path and path[:3].isalnum() and path[:3].isupper():
            return path[:3]  # an HL7 v2 field reference
        last = path.rsplit(".", 1)[-1].split("[", 1)[0]
        return f'"{last}"' if last and not last.startswith(("$", '"')) else ""
    steps = path.rstrip("/").split("/")
    last = steps[-1] if steps[-1] != "@value" or len(steps) < 2 else steps[-2]
    return last.lstrip("@").split("[", 1)[0]


def _carries(line: str | None, markers: Sequence[str]) -> bool:
    return line is not None and any(marker in line for marker in markers)


def side_by_side(recorded: Sequence[str], replayed: Sequence[str],
                 differences: Sequence[Difference], *, context: int = CONTEXT) -> list[Row]:
    """The aligned rows of two pretty-printed bodies (see the module docstring)."""
    left_marks, right_marks = _markers(differences)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, list(recorded), list(replayed), autojunk=False)
    opcodes = matcher.get_opcodes()
    for number, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            size = i2 - i1
            head = context if number > 0 else 0
            tail = context if number < len(opcodes) - 1 else 0
            if size > head + tail + 1:
                for k in range(head):
                    rows.append(Row("equal", recorded[i1 + k], replayed[j1 + k], i1 + k + 1,
                                    j1 + k + 1))
                rows.append(Row("collapsed", skipped=size - head - tail))
                for k in range(size - tail, size):
                    rows.append(Row("equal", recorded[i1 + k], replayed[j1 + k], i1 + k + 1,
                                    j1 + k + 1))
            else:
                for k in range(size):
                    rows.append(Row("equal", recorded[i1 + k], replayed[j1 + k], i1 + k + 1,
                                    j1 + k + 1))
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            left = recorded[i1 + k] if i1 + k < i2 else None
            right = replayed[j1 + k] if j1 + k < j2 else None
            reported = _carries(left, left_marks) or _carries(right, right_marks)
            rows.append(Row("difference" if reported else "noise", left, right,
                            i1 + k + 1 if left is not None else None,
                            j1 + k + 1 if right is not None else None))
    return rows


def compare_bodies(recorded: Response, replayed: Response,
                   differences: Sequence[Difference], *, context: int = CONTEXT) -> list[Row]:
    """:func:`side_by_side` of two responses."""
    return side_by_side(pretty_lines(recorded), pretty_lines(replayed), differences,
                        context=context)


class ResponsePairs:
    """The recorded and replayed response of each non-pass exchange of a running replay, for
    the HTML report's side-by-side view.

    :meth:`keep` is an engine sink (called from worker threads with the replayed exchange
    before its result is reported); calling the object with the result hands the pair out
    once (the replayed response is dropped then, so memory holds only exchanges not yet
    reported). Recorded responses are read from the cassettes (``paths``: cassette id ->
    file), the last few kept loaded. Both are handed out redacted.
    """

    def __init__(self, paths: Mapping[str, Path], cached: int = 4,
                 redactor: Redactor | None = None) -> None:
        self.paths = dict(paths)
        #: Both responses are shown redacted, as the comparer sees them: no secret a server
        #: echoed or handed out reaches the page.
        self.redactor = redactor or Redactor()
        self._replayed: dict[str, Response] = {}
        self._lock = threading.Lock()
        self._cassettes: OrderedDict[str, Cassette] = OrderedDict()
        self._cached = cached

    def keep(self, result: ExchangeResult, request: Request, response: Response) -> None:
        if result.differences:
            with self._lock:
                self._replayed[result.id] = response

    def __call__(self, result: ExchangeResult) -> tuple[Response, Response] | None:
        with self._lock:
            replayed = self._replayed.pop(result.id, None)
        if replayed is None or result.outcome not in (Outcome.CHANGED, Outcome.REGRESSION):
            return None
        cassette = self._cassettes.get(result.cassette)
        if cassette is None:
            path = self.paths.get(result.cassette)
            if path is None:
                return None
            try:
                cassette = load_cassette(path)
            except CassetteError:
                return None
            self._cassettes[result.cassette] = cassette
            while len(self._cassettes) > self._cached:
                self._cassettes.popitem(last=False)
        if result.index >= len(cassette.interactions):
            return None
        return (self.redactor.response(cassette.interactions[result.index].response),
                self.redactor.response(replayed))


__all__ = ["ResponsePairs", "Row", "compare_bodies", "pretty_lines", "side_by_side"]
