"""Secrets used while recording never reach the cassette; replay can fill them back by name."""

from __future__ import annotations

import pytest

from ihe_test_util.config import Settings
from ihe_test_util.errors import ConfigError
from ihe_test_util.model import Headers, Interaction, Request, Response
from ihe_test_util.record.secrets import RecordingRedactor, SecretResolver

TOKEN = "s3cr3t-t0ken-value"


def settings() -> Settings:
    return Settings(secrets={"api_token": "IHE_TEST_TOKEN", "pin": "IHE_TEST_PIN",
                             "unset": "IHE_TEST_UNSET"})


ENV = {"IHE_TEST_TOKEN": TOKEN, "IHE_TEST_PIN": "1234"}


def test_the_resolver_fills_secrets_from_the_environment_and_remembers_them() -> None:
    resolver = SecretResolver(settings(), {"realm": "ihe"}, ENV)
    assert resolver.fill("Bearer ${secret.api_token} ${realm}") == f"Bearer {TOKEN} ihe"
    assert resolver.used == {"api_token": TOKEN}
    assert resolver.configured() == {"api_token": TOKEN, "pin": "1234"}  # unset is skipped
    with pytest.raises(ConfigError, match="secret 'nope' is not configured"):
        resolver.fill("${secret.nope}")


def test_header_secrets_become_named_placeholders_inside_the_value() -> None:
    redactor = RecordingRedactor.for_settings(
        settings(), {"api_token": TOKEN, "pin": "1234"}, secret_headers=("X-Pin",))
    interaction = redactor.interaction(Interaction(
        Request("POST", f"http://h/x?key={TOKEN}", Headers([
            ("Authorization", f"Bearer {TOKEN}"), ("X-Pin", "1234"),
            ("Cookie", "session=abc"), ("Content-Type", "text/xml")]),
            f"<a>{TOKEN}</a>".encode()),
        Response(200, "OK", Headers([("X-Echo", TOKEN), ("Content-Length", "40")]),
                 f"<echo>{TOKEN} and 1234</echo>".encode()),
    ))
    request, response = interaction.request, interaction.response
    assert request.uri == "http://h/x?key=[[ihe-secret:api_token]]"
    assert request.headers.get("Authorization") == "Bearer [[ihe-secret:api_token]]"
    assert request.headers.get("X-Pin") == "[[ihe-secret:pin]]"  # short: headers only
    assert request.headers.get("Cookie") == "[[ihe-secret:cookie]]"  # the store's own rule
    assert request.body == b"<a>[[ihe-secret:api_token]]</a>"
    assert response.headers.get("X-Echo") == "[[ihe-secret:api_token]]"
    assert response.body == b"<echo>[[ihe-secret:api_token]] and 1234</echo>"
    assert response.headers.get("Content-Length") == str(len(response.body))
    everything = repr(interaction).encode() + request.body + response.body
    assert TOKEN.encode() not in everything


def test_a_header_listed_for_redaction_without_a_placeholder_is_replaced_whole() -> None:
    redactor = RecordingRedactor({}, ("X-Api-Key",))
    request = redactor.request(Request("GET", "http://h/", Headers([("X-Api-Key", "abc")])))
    assert request.headers.get("X-Api-Key") == "[[ihe-secret:x_api_key]]"
