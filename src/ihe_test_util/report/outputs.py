"""The report files a command was asked for (``--report-json``, ``--junit``, ``--markdown``,
``--html``) and the reporters that write them.

Checked before a run starts, so a typo in a folder name is a usage error (exit 2) before a
single request is sent, not a lost report after an hour of replaying.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ihe_test_util.errors import UsageError
from ihe_test_util.report.base import Reporter

if TYPE_CHECKING:
    from ihe_test_util.report.sidebyside import ResponsePairs


@dataclass(frozen=True)
class ReportOutputs:
    json: Path | None = None
    junit: Path | None = None
    markdown: Path | None = None
    html: Path | None = None

    def named(self) -> list[tuple[str, Path]]:
        """(format, path) for every file asked for."""
        pairs = (("json", self.json), ("junit", self.junit), ("markdown", self.markdown),
                 ("html", self.html))
        return [(name, path) for name, path in pairs if path is not None]

    def check(self) -> None:
        """Raise :class:`UsageError` unless every file can be written where it is asked for."""
        seen: dict[Path, str] = {}
        for name, path in self.named():
            resolved = path.resolve()
            if resolved in seen:
                raise UsageError(f"the {seen[resolved]} and {name} reports would both be "
                                 f"written to {path}", hint="give each report its own file")
            seen[resolved] = name
            if path.is_dir():
                raise UsageError(f"{name} report {path} is a directory",
                                 hint=f"name a file, e.g. {path / ('report.' + _SUFFIX[name])}")
            if path.exists() and not path.is_file():  # /dev/stdout, a pipe: written directly
                if not os.access(path, os.W_OK):
                    raise UsageError(f"cannot write the {name} report to {path}")
                continue
            folder = resolved.parent
            if not folder.exists():  # CI scripts name report folders that do not exist yet
                try:
                    folder.mkdir(parents=True)
                except OSError as exc:
                    raise UsageError(f"cannot create folder {folder} for the {name} report: "
                                     f"{exc.strerror}") from None
            if not folder.is_dir():
                raise UsageError(f"cannot write the {name} report {path}: {folder} is not a "
                                 f"folder")
            if not os.access(folder, os.W_OK):
                raise UsageError(f"cannot write the {name} report {path}: folder {folder} is "
                                 f"not writable")

    def reporters(self, bodies: ResponsePairs | None = None) -> list[Reporter]:
        """One reporter per file asked for (imports only the formats in use); ``bodies``
        gives the HTML report its side-by-side view of each non-pass response."""
        reporters: list[Reporter] = []
        if self.json is not None:
            from ihe_test_util.report.json_report import JsonReporter

            reporters.append(JsonReporter(self.json))
        if self.junit is not None:
            from ihe_test_util.report.junit_report import JunitReporter

            reporters.append(JunitReporter(self.junit))
        if self.markdown is not None:
            from ihe_test_util.report.markdown_report import MarkdownReporter

            reporters.append(MarkdownReporter(self.markdown))
        if self.html is not None:
            from ihe_test_util.report.html_report import HtmlReporter

            reporters.append(HtmlReporter(self.html, bodies=bodies))
        return reporters


_SUFFIX = {"json": "json", "junit": "xml", "markdown": "md", "html": "html"}
