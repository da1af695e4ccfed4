"""Third-party FHIR libraries for the simulator's tests: ``fhir.resources`` (pydantic models of
every resource type, JSON and XML: validation) and ``fhirclient`` (a FHIR client), installed by
the test setup into a cache outside the repository (``~/.cache/ihe-test-util/<package>-<version>``,
reused across runs).

MHD 4.2, PDQm and PIXm are FHIR R4; ``fhir.resources`` 8 ships R4B models, whose Patient,
Bundle, List, DocumentReference, Binary, Parameters and OperationOutcome are R4's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .peers import pip_target

FHIR_RESOURCES_VERSION = "8.3.0"
FHIRCLIENT_VERSION = "4.4.0"


def install() -> Path:
    """The folder holding fhir.resources and its dependencies (installed once by
    :mod:`.peers`, the test setup's one installer)."""
    return pip_target("fhir.resources", FHIR_RESOURCES_VERSION)


def fhirclient_folder() -> Path:
    """The folder holding ``fhirclient`` (SMART on FHIR's Python client, FHIR R4 models that
    check what they parse), installed once like fhir.resources; add it to ``sys.path``."""
    return pip_target("fhirclient", FHIRCLIENT_VERSION)


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
