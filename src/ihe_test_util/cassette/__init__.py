"""The cassette store: vcrpy-compatible YAML that is readable in review, safe and atomic.

Modules, each with one job: :mod:`.serializer` (YAML text: safe composing, deterministic
emitting), :mod:`.format` (the layout: which key holds what), :mod:`.views` (readable views of
binary bodies), :mod:`.store` (files: atomic and incremental writes), :mod:`.redact` (secrets
to placeholders and back) and :mod:`._vcr` (the only vcrpy importer; load it explicitly).
"""

from __future__ import annotations

from ihe_test_util.cassette.redact import (
    DEFAULT_SECRET_HEADERS,
    Redactor,
    fill_placeholders,
    fill_request,
    find_placeholders,
    placeholder,
    placeholders_in_request,
    secret_values,
)
from ihe_test_util.cassette.store import (
    CassetteWriter,
    atomic_write,
    find_cassettes,
    load_cassette,
    save_cassette,
)

__all__ = [
    "DEFAULT_SECRET_HEADERS",
    "CassetteWriter",
    "Redactor",
    "atomic_write",
    "fill_placeholders",
    "fill_request",
    "find_cassettes",
    "find_placeholders",
    "load_cassette",
    "placeholder",
    "placeholders_in_request",
    "save_cassette",
    "secret_values",
]
