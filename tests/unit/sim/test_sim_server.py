"""The Simulator object: addresses, lifecycle, and the port it frees."""

from __future__ import annotations

import socket

import pytest
import requests

from ihe_test_util.errors import UsageError
from ihe_test_util.sim import Simulator


def test_addresses_and_lifecycle() -> None:
    sim = Simulator(port=0).start()  # start-up time: benchmarks/bench_deadlines.py
    try:
        assert sim.start() is sim  # idempotent
        port = sim.port
        assert sim.base_url == f"http://127.0.0.1:{port}"
        assert sim.url_for("registry") == f"http://127.0.0.1:{port}/xds/registry"
        assert sim.url_for("ITI-41") == sim.url_for("repository")
        assert sim.url_for("iti-55") == f"http://127.0.0.1:{port}/xcpd"
        assert set(sim.urls()) == {"pix", "pdq", "registry", "repository", "xcpd",
                                   "mhd-recipient", "mhd-responder", "pdqm", "pixm",
                                   "pix-v2", "pdq-v2"}
        assert sim.transactions["pix"] == ["ITI-44", "ITI-45"]
        assert sim.transactions["pixm"] == ["ITI-83", "ITI-104"]
        assert sim.url_for("fhir") == sim.url_for("ITI-78") == f"http://127.0.0.1:{port}/fhir"
        with pytest.raises(UsageError, match="unknown actor"):
            sim.url_for("hl7v2")
        assert requests.get(sim.base_url, timeout=5).status_code == 200
    finally:
        sim.stop()
    sim.stop()  # stopping twice is harmless
    with pytest.raises(UsageError):
        _ = sim.store
    with socket.socket() as again:  # the port is free again
        again.bind(("127.0.0.1", port))


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="compatible"):
        Simulator(profile="upgraded")
