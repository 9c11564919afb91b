"""chatguard's configuration: one pydantic-settings model, validated at start-up.

Values come from (highest first) keyword arguments, environment variables
``CHATGUARD_...`` with ``__`` for nesting (``CHATGUARD_REDACTION__TIMEOUT=1.5``),
a TOML file, and the defaults below. Every key is documented in
``docs/configuration.md``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from chatguard.errors import ConfigurationError
from chatguard.redact.languages import SUPPORTED_LANGUAGES
from chatguard.redact.nlp import DEFAULT_MODEL


class Action(StrEnum):
    """What a destination's policy does with one type of personal data."""

    REPLACE = "replace"  # a stable placeholder such as <PERSON_1>, restored on the way back
    MASK = "mask"  # every character replaced by the mask character
    HASH = "hash"  # SHA-256 of the value salted with the secret hash key
    KEEP = "keep"  # left as typed: the destination is allowed to see it


class DestinationPolicy(BaseModel):
    """What one destination (``nlp``, ``agent``, ...) may see of each type of personal data."""

    model_config = {"extra": "forbid"}

    default_action: Action = Action.REPLACE
    actions: dict[str, Action] = Field(default_factory=dict)
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    mask_char: str = Field(default="*", min_length=1, max_length=1)

    def action_for(self, entity_type: str) -> Action:
        """The action for ``entity_type``: its own entry, else the default."""
        return self.actions.get(entity_type, self.default_action)

    def serves(self, needed: DestinationPolicy) -> bool:
        """Whether text redacted by this policy is fit for a destination whose policy is
        ``needed``: this one replaces every type, from a score no higher than ``needed``'s."""
        return (
            self.default_action is Action.REPLACE
            and all(action is Action.REPLACE for action in self.actions.values())
            and self.threshold <= needed.threshold
        )


def default_policies() -> dict[str, DestinationPolicy]:
    """Bot, translation and analytics vendors see placeholders only; live agents see
    what they need to help (names, contact details, booking data) but no secrets,
    payment data or identity documents."""
    agent_sees = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "BOOKING_REFERENCE",
                  "TICKET_NUMBER", "FREQUENT_FLYER_NUMBER", "URL"]  # fmt: skip
    return {
        "nlp": DestinationPolicy(),
        "translation": DestinationPolicy(),
        "analytics": DestinationPolicy(),
        "transcript": DestinationPolicy(),  # what chatguard itself stores
        "agent": DestinationPolicy(
            actions={
                **dict.fromkeys(agent_sees, Action.KEEP),
                "CREDIT_CARD": Action.MASK,
                "CREDENTIAL": Action.MASK,
            }
        ),
    }


class RedactionSettings(BaseModel):
    """How detection runs: models, languages, limits."""

    model_config = {"extra": "forbid"}

    models: dict[str, str] = Field(
        default_factory=lambda: dict.fromkeys(SUPPORTED_LANGUAGES, DEFAULT_MODEL),
        description="spaCy model per language: an installed package name or a path.",
    )
    ner_on_other_languages: bool = Field(
        default=False,
        description="Run a model's NER also on languages it was not trained on.",
    )
    fallback_language: str = "en"
    timeout: float = Field(default=2.0, gt=0, description="Seconds before detection fails closed.")
    max_message_chars: int = Field(default=20_000, gt=0)
    executor: Literal["thread", "process"] = Field(
        default="thread",
        description="Where detection runs: threads of this process, or worker processes.",
    )
    workers: int = Field(default=1, ge=1, description="Threads or processes that run detection.")
    hash_key: SecretStr | None = Field(
        default=None, description="Secret salt of the hash action, at least 16 bytes."
    )

    @field_validator("models")
    @classmethod
    def _only_supported_languages(cls, models: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(models) - set(SUPPORTED_LANGUAGES))
        if unknown:
            raise ValueError(f"no recognisers for languages {unknown}")
        return {**dict.fromkeys(SUPPORTED_LANGUAGES, DEFAULT_MODEL), **models}

    @field_validator("fallback_language")
    @classmethod
    def _supported_fallback(cls, language: str) -> str:
        if language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {list(SUPPORTED_LANGUAGES)}")
        return language


_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: object) -> timedelta:
    """``"30d"``, ``"12h"``, ``"15m"``, ``"90s"`` (or a timedelta, or seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError('a duration is a number and a unit d, h, m or s, like "30d" or "90s"')
    duration = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if duration <= timedelta(0):
        raise ValueError("a duration must be longer than zero")
    return duration


#: A period of time, written in configuration as "30d", "12h", "15m" or "90s".
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class RetentionSettings(BaseModel):
    """How long each kind of record is kept. The notice promises 30 days for
    everything submitted through the chat assistant, quality samples included."""

    model_config = {"extra": "forbid"}

    conversations: Duration = timedelta(days=30)
    transcripts: Duration = timedelta(days=30)
    vault: Duration = timedelta(days=30)
    identities: Duration = timedelta(days=30)
    samples: Duration = timedelta(days=30)
    consents: Duration = Field(
        default=timedelta(days=30 + 365),
        description="Proof of consent: as long as the data it covers, plus a year.",
    )
    deliveries: Duration = Field(
        default=timedelta(days=7),
        description="How long a channel's message id is remembered, to drop its redeliveries.",
    )
    audit: Duration = timedelta(days=365)
    sweep_interval: Duration = Field(
        default=timedelta(hours=1), description="How often the service sweeps."
    )


class StoreSettings(BaseModel):
    """Where state lives and the key that seals what must not be stored in clear."""

    model_config = {"extra": "forbid"}

    url: str = "sqlite:///./chatguard.db"
    encryption_key: SecretStr | None = Field(
        default=None,
        description="At least 32 bytes, hex or base64; from the environment, never the file.",
    )
    encryption_key_file: Path | None = None
    previous_encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Older keys, for reading records sealed before a rotation.",
    )


class PseudonymSettings(BaseModel):
    """The key of channel-user pseudonyms (HMAC-SHA256), and demo mode."""

    model_config = {"extra": "forbid"}

    key: SecretStr | None = Field(
        default=None,
        description="At least 32 bytes, hex or base64; from the environment, never the file.",
    )
    key_file: Path | None = None
    previous_keys: list[SecretStr] = Field(
        default_factory=list, description="Older keys, for looking up earlier pseudonyms."
    )
    demo: bool = Field(
        default=False, description="Make ephemeral keys when none is configured (demo only)."
    )


#: Secrets that come from the environment (or a ``..._file``), never in clear from the file.
_SECRETS_NOT_IN_FILE: tuple[tuple[str, ...], ...] = (
    ("store", "encryption_key"),
    ("store", "previous_encryption_keys"),
    ("pseudonym", "key"),
    ("pseudonym", "previous_keys"),
    ("redaction", "hash_key"),
    ("vendors", "openai", "api_key"),
    ("vendors", "genesys", "client_secret"),
    ("vendors", "genesys", "webhook_secret"),
    ("vendors", "translator", "key"),
    ("channels", "messenger", "app_secret"),
    ("channels", "messenger", "verify_token"),
    ("channels", "messenger", "page_token"),
    ("channels", "openai", "client_key"),
    ("admin", "token"),
)


class _TomlWithoutSecrets(TomlConfigSettingsSource):
    """The TOML file, refused when it holds a key: keys are set in the environment or
    in a key file, so that the configuration file can be shared and versioned."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path) -> None:
        super().__init__(settings_cls, toml_file=toml_file)
        for path in _SECRETS_NOT_IN_FILE:
            *sections, key = path
            table: object = self.toml_data
            for section in sections:
                table = table.get(section) if isinstance(table, dict) else None
            if isinstance(table, dict) and key in table:
                dotted = ".".join(path)
                instead = f"CHATGUARD_{'__'.join(path).upper()} in the environment"
                if path in (("store", "encryption_key"), ("pseudonym", "key")):
                    instead += f" or {dotted}_file"
                raise ConfigurationError(
                    f"{dotted}: a key never goes in the configuration file {toml_file}; "
                    f"set {instead}"
                )


class ServerSettings(BaseModel):
    """Where ``chatguard serve`` listens and what it accepts."""

    model_config = {"extra": "forbid"}

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="Larger request bodies are refused (413)."
    )
    max_in_flight: int = Field(
        default=64,
        gt=0,
        description="Requests handled at once; more are refused at once (503, Retry-After).",
    )
    shutdown_timeout: float = Field(
        default=10.0, gt=0, description="Seconds in-flight requests get to finish at shutdown."
    )


class VendorCallSettings(BaseModel):
    """How calls to one vendor are limited: a time limit per call, retries where a
    repeat is safe, and the vendor's circuit breaker (see ``docs/vendors.md``)."""

    model_config = {"extra": "forbid"}

    timeout: float = Field(default=10.0, gt=0, description="Seconds one call may take.")
    retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Further tries of a call that failed where repeating it is safe.",
    )
    retry_backoff: float = Field(
        default=0.2,
        gt=0,
        description="Seconds before the first retry (jittered, doubling for each next one).",
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failed calls that open the vendor's circuit."
    )
    breaker_reset: Duration = Field(
        default=timedelta(seconds=30),
        description="How long an open circuit refuses calls before one probe is let through.",
    )


class OpenAISettings(VendorCallSettings):
    """An OpenAI-compatible chat completions API that the ``openai`` channel forwards to."""

    base_url: str | None = Field(
        default=None, description="Up to and including the version, e.g. https://api.openai.com/v1."
    )
    api_key: SecretStr | None = Field(
        default=None, description="Sent as the bearer token; from the environment."
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds a vendor call may take.")


class CognigySettings(VendorCallSettings):
    """A Cognigy.AI REST endpoint that web chat turns are forwarded to (``bot = "cognigy"``)."""

    endpoint_url: str | None = Field(
        default=None,
        description="The REST endpoint's full URL, e.g. https://endpoint-trial.cognigy.ai/<token>.",
    )


class GenesysSettings(VendorCallSettings):
    """Genesys Cloud Open Messaging: the live agents a conversation is handed over to."""

    api_base_url: str | None = Field(
        default=None, description="The region's API, e.g. https://api.mypurecloud.de."
    )
    login_base_url: str | None = Field(
        default=None, description="The region's login, e.g. https://login.mypurecloud.de."
    )
    client_id: str | None = Field(default=None, description="OAuth client (client credentials).")
    client_secret: SecretStr | None = Field(
        default=None, description="OAuth client secret; from the environment, never the file."
    )
    integration_id: str | None = Field(
        default=None, description="The Open Messaging integration's id."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="The integration's outbound webhook secret; from the environment.",
    )


#: A language as the translator names it: ``en``, ``de``, ``pt-pt``, ``zh-Hans``.
_LANGUAGE_CODE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class TranslatorSettings(VendorCallSettings):
    """Microsoft Translator v3 on the live-chat path: what the user writes is translated
    into the agents' language and the agents' replies back; off until ``key`` and
    ``agent_language`` are set (and live agents are configured)."""

    endpoint: str = Field(
        default="https://api.cognitive.microsofttranslator.com",
        description="The Translator endpoint (global, a geography, or a custom domain).",
    )
    key: SecretStr | None = Field(
        default=None, description="Ocp-Apim-Subscription-Key; from the environment, never the file."
    )
    region: str | None = Field(
        default=None, description="Ocp-Apim-Subscription-Region of a regional resource."
    )
    agent_language: str | None = Field(
        default=None,
        pattern=_LANGUAGE_CODE,
        description="The language the live agents read, e.g. en; unset: no translation.",
    )
    timeout: float = Field(default=5.0, gt=0, description="Seconds one call may take.")


class VendorsSettings(BaseModel):
    """The vendors chatguard forwards redacted messages to."""

    model_config = {"extra": "forbid"}

    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    cognigy: CognigySettings = Field(default_factory=CognigySettings)
    genesys: GenesysSettings = Field(default_factory=GenesysSettings)
    translator: TranslatorSettings = Field(default_factory=TranslatorSettings)


class WebChannelSettings(BaseModel):
    """The web chat channel (``/chat/...``)."""

    model_config = {"extra": "forbid"}

    bot: Literal["cognigy", "demo"] = Field(
        default="demo", description="The bot vendor web chat turns go to."
    )


class MessengerSettings(VendorCallSettings):
    """The Facebook Messenger channel (``/webhooks/messenger``): unusable (403) until
    the app secret and verify token are set. ``timeout``, ``retries`` and the breaker
    keys are those of its Send API calls."""

    app_secret: SecretStr | None = Field(
        default=None, description="Signs webhook bodies (X-Hub-Signature-256); environment only."
    )
    verify_token: SecretStr | None = Field(
        default=None, description="Answers the webhook verification; environment only."
    )
    page_token: SecretStr | None = Field(
        default=None, description="The page access token of the Send API; environment only."
    )
    graph_base_url: str = Field(
        default="https://graph.facebook.com", description="The Graph API (tests: a local one)."
    )
    graph_version: str = Field(default="v21.0", description="The Graph API version.")
    bot: Literal["cognigy", "demo"] = Field(
        default="demo", description="The bot vendor Messenger turns go to."
    )
    session_idle: Duration = Field(
        default=timedelta(minutes=30),
        description="A user's conversation continues while their last activity is this recent.",
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds one Send API call may take.")


class OpenAIChannelSettings(BaseModel):
    """The OpenAI-compatible channel (``/v1/...``): closed (503) until a client key is
    set; then a request needs it as its bearer token."""

    model_config = {"extra": "forbid"}

    client_key: SecretStr | None = Field(
        default=None,
        description="The key clients send as their API key (Authorization: Bearer); "
        "from the environment, never the file.",
    )


class ChannelsSettings(BaseModel):
    """The inbound channels."""

    model_config = {"extra": "forbid"}

    web: WebChannelSettings = Field(default_factory=WebChannelSettings)
    messenger: MessengerSettings = Field(default_factory=MessengerSettings)
    openai: OpenAIChannelSettings = Field(default_factory=OpenAIChannelSettings)


#: What a purpose added by configuration may be called: a lower-case identifier.
_PURPOSE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ConsentSettings(BaseModel):
    """Consent purposes, quality sampling and the consent texts (see ``docs/consent.md``)."""

    model_config = {"extra": "forbid"}

    purposes: list[str] = Field(
        default_factory=list,
        description="Purposes besides quality_sampling and push_notifications.",
    )
    sampling_rate: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Share of consenting live-chat sessions picked for quality review.",
    )
    sampling_seed: int | None = Field(
        default=None, description="Makes the sampler's draws reproducible (tests only)."
    )
    answer_timeout: Duration = Field(
        default=timedelta(minutes=2),
        description="How long the hand-over question waits for an answer; then it counts as no.",
    )
    withdrawal_timeout: Duration = Field(
        default=timedelta(minutes=1),
        description="How long a withdrawal's confirmation question waits; then it is dropped.",
    )
    deadline_check_interval: Duration = Field(
        default=timedelta(seconds=1),
        description="How often the service looks for questions whose time is up.",
    )
    texts_file: Path | None = Field(
        default=None, description="A TOML file of consent texts that replace shipped ones."
    )

    @field_validator("purposes")
    @classmethod
    def _purpose_names(cls, purposes: list[str]) -> list[str]:
        for name in purposes:
            if not _PURPOSE_NAME.match(name):
                raise ValueError(
                    f"{name!r} is not a purpose name (lower-case letters, digits, underscores)"
                )
        return list(dict.fromkeys(purposes))


class AdminSettings(BaseModel):
    """The admin API under ``/admin/``: disabled (503) until a bearer token is set."""

    model_config = {"extra": "forbid"}

    token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the admin API; from the environment, never the file.",
    )


class PrivacyPageSettings(BaseModel):
    """The person's self-service page ``/privacy`` (see ``docs/privacy-page.md``):
    its public address and how many look-ups of privacy references may fail."""

    model_config = {"extra": "forbid"}

    page_url: str | None = Field(
        default=None,
        description="The page's public address (https://.../privacy), told to the person "
        "in the chat; an https address also marks the page's cookie Secure.",
    )
    failed_lookups: int = Field(
        default=5,
        ge=1,
        description="Look-ups that match nothing one client address may make per window.",
    )
    failed_lookups_overall: int = Field(
        default=500,
        ge=1,
        description="Look-ups that match nothing all clients together may make per window.",
    )
    lookup_window: Duration = Field(
        default=timedelta(minutes=15), description="The window the look-up limits count in."
    )
    trusted_proxies: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Reverse proxies in front of chatguard that append X-Forwarded-For; "
        "0: the client address is the connection's peer.",
    )

    @property
    def address(self) -> str:
        """What the chat's privacy-reference notice names: ``page_url``, else the path
        the service serves the page at (enough for web chat on the same host)."""
        return self.page_url or "/privacy"

    @field_validator("page_url")
    @classmethod
    def _absolute_url(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^/\s]+/\S*$", url):
            raise ValueError("must be an absolute http(s) address such as https://host/privacy")
        return url


class Settings(BaseSettings):
    """The single source of chatguard's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CHATGUARD_",
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        extra="forbid",
    )
    toml_path: ClassVar[Path | None] = None

    server: ServerSettings = Field(default_factory=ServerSettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    pseudonym: PseudonymSettings = Field(default_factory=PseudonymSettings)
    vendors: VendorsSettings = Field(default_factory=VendorsSettings)
    channels: ChannelsSettings = Field(default_factory=ChannelsSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    privacy: PrivacyPageSettings = Field(default_factory=PrivacyPageSettings)
    policy: dict[str, DestinationPolicy] = Field(default_factory=default_policies)

    @field_validator("policy")
    @classmethod
    def _keep_default_destinations(
        cls, policy: dict[str, DestinationPolicy]
    ) -> dict[str, DestinationPolicy]:
        return {**default_policies(), **policy}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then files in the secrets directory,
        then the TOML file, then defaults."""
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            NestedSecretsSettingsSource(file_secret_settings),
        ]
        if cls.toml_path is not None:
            sources.append(_TomlWithoutSecrets(settings_cls, cls.toml_path))
        return tuple(sources)


#: The environment variable naming a directory of secret files (see ``load_settings``).
SECRETS_DIR_VARIABLE = "CHATGUARD_SECRETS_DIR"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read and validate the configuration, raising ``ConfigurationError`` naming the bad key.

    When ``CHATGUARD_SECRETS_DIR`` names a directory, each file in it whose name is
    an environment variable of a key (``CHATGUARD_CHANNELS__MESSENGER__APP_SECRET``,
    as Docker and Kubernetes mount secrets) sets that key from its content; the
    environment still wins over a file.
    """
    if config is not None and not config.is_file():
        raise ConfigurationError(f"configuration file not found: {config}")
    secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE)
    if secrets_dir:
        if not Path(secrets_dir).is_dir():
            raise ConfigurationError(f"{SECRETS_DIR_VARIABLE}: not a directory: {secrets_dir}")
        overrides.setdefault("_secrets_dir", secrets_dir)

    class _FromFile(Settings):
        toml_path = config

    try:
        return _FromFile(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None
