"""State shared by every command: global options and lazily loaded settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import rich_click as click

if TYPE_CHECKING:
    from rich.console import Console

    from ihe_test_util.config import Settings


@dataclass
class CliContext:
    verbosity: int = 0
    color: bool = True
    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Load (once) and return the settings; raises ConfigError on a bad file. From then on
        log messages are redacted with the configured secrets too."""
        if self._settings is None:
            from ihe_test_util.cassette.redact import Redactor, redact_log_records
            from ihe_test_util.config import load_settings

            self._settings = load_settings(self.config_path)
            redact_log_records(Redactor.from_settings(self._settings))
        return self._settings

    def console(self, *, stderr: bool = False) -> Console:
        from rich.console import Console

        return Console(
            stderr=stderr, no_color=not self.color, highlight=False,
            quiet=self.verbosity < 0 and not stderr,
        )


pass_cli = click.make_pass_decorator(CliContext, ensure=True)
