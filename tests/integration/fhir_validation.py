"""FHIR R4 structure validation by a third-party library: ``fhir.resources`` (pydantic models of
every resource type, JSON and XML), installed by the test setup into a cache outside the
repository (``~/.cache/ihe-test-util/fhir.resources-<version>``, reused across runs).

MHD 4.2, PDQm and PIXm are FHIR R4; ``fhir.resources`` 8 ships R4B models, whose Patient,
Bundle, List, DocumentReference, Binary, Parameters and OperationOutcome are R4's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FHIR_RESOURCES_VERSION = "8.3.0"


def _cache() -> Path:
    root = Path(os.environ.get("IHE_TEST_CACHE", Path.home() / ".cache" / "ihe-test-util"))
    return root / f"fhir.resources-{FHIR_RESOURCES_VERSION}"


def install() -> Path:
    """The folder holding fhir.resources and its dependencies (installed once)."""
    target = _cache()
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-compile", "--target", str(staging), f"fhir.resources=={FHIR_RESOURCES_VERSION}"],
            check=True, timeout=600, capture_output=True, text=True)
        (staging / ".complete").write_text("ok\n", encoding="utf-8")
        if target.exists() and not (target / ".complete").exists():
            shutil.rmtree(target)  # an install that was interrupted
        try:
            staging.rename(target)
        except OSError:  # another run finished first
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class Validator:
    """Validates FHIR JSON (dicts) and FHIR XML (bytes) against the R4(B) models."""

    def __init__(self) -> None:
        folder = str(install())
        if folder not in sys.path:
            sys.path.insert(0, folder)
        from fhir.resources.R4B import get_fhir_model_class

        self._model = get_fhir_model_class

    def json(self, resource: dict[str, Any]) -> Any:
        return self._model(resource["resourceType"]).model_validate(resource)

    def xml(self, resource_type: str, data: bytes) -> Any:
        return self._model(resource_type).model_validate_xml(data)

    def to_xml(self, resource: dict[str, Any]) -> bytes:
        """``resource`` written as FHIR XML by the library (not by the project's writer)."""
        model = self.json(resource)
        text = model.model_dump_xml()
        return text.encode() if isinstance(text, str) else bytes(text)
