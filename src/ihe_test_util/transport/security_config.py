"""WS-Security headers from the ``[saml]`` configuration (replay and record re-issue them)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from ihe_test_util.config import SamlSettings
from ihe_test_util.errors import ConfigError
from ihe_test_util.transport.wssecurity import SamlIssuer, SecurityHeader, XuaAttributes


def security_header(
    saml: SamlSettings | None, *, environ: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> SecurityHeader | None:
    """A header issuing a fresh signed assertion per request, or None without ``[saml]``.

    The private key is read from the environment variable ``saml.key`` names: its value is
    the PEM text itself (CI secret stores) or the path of a PEM file.
    """
    if saml is None:
        return None
    environ = os.environ if environ is None else environ
    value = environ.get(saml.key_env)
    if not value:
        raise ConfigError(f"environment variable {saml.key_env} is not set", key="saml.key",
                          hint="export the SAML signing key (PEM text or a file path) there")
    key_pem = value.encode() if value.lstrip().startswith("-----BEGIN") else _read(
        _resolve(value, base), "saml.key")
    cert_pem = _read(_resolve(saml.certificate, base), "saml.certificate")
    xua = XuaAttributes(
        subject_id=saml.subject_id, organization=saml.organization,
        organization_id=saml.organization_id, home_community_id=saml.home_community_id,
    )
    issuer = SamlIssuer(
        key_pem=key_pem, cert_pem=cert_pem, issuer=saml.issuer, subject=saml.subject,
        audience=saml.audience, lifetime=dt.timedelta(minutes=saml.lifetime_minutes),
        xua=xua if xua.items() else None,
    )
    return SecurityHeader(issuer=issuer)


def _resolve(path: str, base: Path | None) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() or base is None else base / candidate


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", key=key) from None
