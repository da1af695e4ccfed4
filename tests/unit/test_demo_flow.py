"""One XDS round trip: the bundled demo scenario and its copy under examples/ cannot drift."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLED = Path(str(resources.files("ihe_test_util.demo").joinpath("xds-roundtrip.yaml")))
EXAMPLE = REPO / "examples" / "scenarios" / "xds-roundtrip.yaml"


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_the_example_is_the_bundled_flow_with_its_own_endpoints() -> None:
    bundled, example = _load(BUNDLED), _load(EXAMPLE)
    assert set(example) == set(bundled)
    for key in set(bundled) - {"endpoints", "variables"}:
        assert example[key] == bundled[key], key
    assert {k: v for k, v in example["variables"].items() if k != "base"} == bundled["variables"]
    assert set(example["endpoints"]) == set(bundled["endpoints"])
    assert all(url.startswith("${base}/") for url in example["endpoints"].values())


def test_the_bundled_flow_takes_its_endpoints_from_the_environment() -> None:
    # ``ihe demo`` overrides them with the simulator's; a user's --env names the actors.
    assert all(url.startswith("env:") for url in _load(BUNDLED)["endpoints"].values())


def test_no_other_example_reuses_the_flow_name() -> None:
    names = {path.name: _load(path).get("name")
             for path in (REPO / "examples" / "scenarios").glob("*.yaml")}
    assert [file for file, name in names.items() if name == "xds-roundtrip"] == [EXAMPLE.name]


FHIR_BUNDLED = Path(str(resources.files("ihe_test_util.demo").joinpath("mhd-pdqm-pixm.yaml")))
FHIR_EXAMPLE = REPO / "examples" / "scenarios" / "mhd-pdqm-pixm.yaml"


def test_the_fhir_example_is_the_bundled_fhir_flow_with_its_own_endpoint() -> None:
    bundled, example = _load(FHIR_BUNDLED), _load(FHIR_EXAMPLE)
    assert set(example) == set(bundled)
    for key in set(bundled) - {"endpoints", "variables"}:
        assert example[key] == bundled[key], key
    assert {k: v for k, v in example["variables"].items() if k != "fhir"} == \
        bundled["variables"]
    assert example["endpoints"] == {"fhir": "${fhir}"}
    assert bundled["endpoints"] == {"fhir": "env:fhir"}
    for step in bundled["steps"]:
        for document in step["with"].get("documents", []):
            shipped = FHIR_BUNDLED.parent / document["file"]
            assert shipped.read_bytes() == (FHIR_EXAMPLE.parent / document["file"]).read_bytes()
