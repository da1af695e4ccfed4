"""Notices the commands print on stderr before they start (not part of any run report)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ihe_test_util.transport.http import INSECURE_WARNING


def print_insecure_warning(errors: Console) -> None:
    """Say, loudly and before anything is sent, that TLS certificates are not checked."""
    errors.print(Text(f"WARNING: {INSECURE_WARNING}", style="bold red"))
