"""Passwords and API keys are found, and only the secret itself is redacted.

Every key and token here is a made-up value of the right shape, not a live secret.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from chatguard.redact.recognizers.credentials import CredentialRecognizer
from tests.recognizers.spans import redacted_as

ENTITY = "CREDENTIAL"

FAKE_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJleGFtcGxlIn0.ZmFrZS1zaWduYXR1cmUtZXhhbXBsZQ"
FAKE_PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAexampleexampleexample\n"
    "-----END RSA PRIVATE KEY-----"
)


def recognised(text: str) -> list[str]:
    results = CredentialRecognizer(supported_language="en").analyze(
        text, entities=[ENTITY], nlp_artifacts=None
    )
    return [text[r.start : r.end] for r in results if r.score >= 0.5]


redacted = partial(redacted_as, ENTITY)


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("my password is hunter2!", "hunter2!"),
        ("password: Blau#Himmel7", "Blau#Himmel7"),
        ("Mein Passwort lautet S0nne!2025", "S0nne!2025"),
        ("Passwort: geheim12", "geheim12"),
        ("mot de passe : Tr3sS3cret", "Tr3sS3cret"),
        ("la password è Pizza2024", "Pizza2024"),
        ("a minha senha é abc123.", "abc123."),
        ("mi contraseña es Gato#99 gracias", "Gato#99"),
        ("pwd=Xy7zzz", "Xy7zzz"),
    ],
)
def test_password_after_context_word_is_redacted_without_the_word(text: str, password: str) -> None:
    assert recognised(text) == [password]


@pytest.mark.parametrize(
    "key",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "EXAMPLEtoken0123456789abcdefghijklmn",
        "github_pat_11EXAMPLE0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-000000000000-EXAMPLEexample",
        "sk_live_EXAMPLE0123456789abcdef",
        "rk_live_EXAMPLE0123456789abcdef",
        "sk-proj-EXAMPLE_0123456789abcdefghij",
        "AIzaSyEXAMPLE0123456789abcdefghijklmnop",
        FAKE_JWT,
        FAKE_PEM,
    ],
)
def test_api_key_of_known_format_is_found_without_context(key: str) -> None:
    assert recognised(f"here it is: {key} thanks") == [key]


def test_only_the_bearer_token_is_redacted_not_the_scheme() -> None:
    assert recognised("Authorization: Bearer abcDEF0123456789xyz") == ["abcDEF0123456789xyz"]


@pytest.mark.parametrize(
    "text",
    [
        "my password is wrong",
        "my password is not working",
        "Mein Passwort ist falsch",
        "a senha não funciona",
        "password reset please",
        "I forgot my password",
        "the bearer of this passport",
        "ask-me anything, task-force",
        "flight LH1173 booking X7KQ2P on 12.05.2025",
        "EUR 129,99, seat 23A, 23 kg, THANKS",
    ],
)
def test_words_about_passwords_and_travel_details_are_not_credentials(text: str) -> None:
    assert recognised(text) == []


def test_password_in_a_full_message_is_redacted_through_the_engine(engine: Any) -> None:
    assert redacted(engine, "Hi, I cannot log in, my password is hunter2!") == ["hunter2!"]


def test_password_complaint_is_not_redacted_through_the_engine(engine: Any) -> None:
    assert redacted(engine, "my password is wrong, can you reset it?") == []
