"""The errors chatguard raises.

Every error is a type, carries no personal data in its message or attributes,
and maps to one HTTP status (``http_status``) so that the server layer translates
it in one place.
"""

from __future__ import annotations

from typing import ClassVar


class ChatguardError(Exception):
    """Base class of every error chatguard raises on purpose."""

    http_status: ClassVar[int] = 500


class ConfigurationError(ChatguardError):
    """The configuration is invalid; the message names the bad key."""


class ModelNotInstalledError(ConfigurationError):
    """A configured spaCy model is not installed; chatguard never downloads one."""


class RedactionError(ChatguardError):
    """Detection failed, so the text was not redacted and must not leave.

    Raised instead of ever returning raw text as if it were redacted (fail closed).
    """

    http_status = 503


class RedactionTimeoutError(RedactionError):
    """Detection did not finish within its time limit; the text must not leave."""

    http_status = 504


class UnsupportedLanguageError(ChatguardError):
    """A caller asked for a language chatguard has no recognisers for."""

    http_status = 400


class UnknownDestinationError(ChatguardError):
    """A caller named a destination that has no redaction policy."""

    http_status = 400


class MessageTooLargeError(ChatguardError):
    """A message is longer than the configured maximum."""

    http_status = 413


class OverloadedError(ChatguardError):
    """Too many requests are being handled; this one was refused before any work."""

    http_status = 503


class StoreError(ChatguardError):
    """The store failed; nothing of the operation was written."""

    http_status = 503


class StoreUnavailableError(StoreError):
    """The store cannot be reached; the message pipeline fails closed."""


class DecryptionError(ChatguardError):
    """A sealed record could not be opened: altered, sealed in another context, or
    sealed with a key that is no longer configured. Nothing of it is returned."""


class SubjectNotFoundError(ChatguardError):
    """No data is held for the given pseudonym or channel identity."""

    http_status = 404


class ReasonRequiredError(ChatguardError):
    """Troubleshooting access to a transcript needs a stated reason."""

    http_status = 400


class UnknownPurposeError(ChatguardError):
    """A consent purpose that is neither built in nor configured (``consent.purposes``)."""

    http_status = 400


class InvalidRequestError(ChatguardError):
    """A client's request is malformed (not JSON, or missing what the API requires)."""

    http_status = 400


class FormTokenError(ChatguardError):
    """A form was posted without a valid anti-forgery token (missing, expired, or not
    the one issued to this browser); it was refused before anything was done."""

    http_status = 403


class TooManyAttemptsError(ChatguardError):
    """Too many look-ups that matched nothing, from one client or from all together;
    refused before any look-up. ``retry_after`` is the number of seconds until the
    next attempt is allowed (the ``Retry-After`` header)."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class VendorError(ChatguardError):
    """A vendor answered with an error; the message names the vendor and its status only.

    ``status`` is the HTTP status the vendor answered, when it answered one.
    """

    http_status = 502

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VendorUnavailableError(VendorError):
    """A vendor could not be reached, or is not configured."""


class VendorCircuitOpenError(VendorUnavailableError):
    """A vendor failed repeatedly, so its circuit breaker is open: the call was refused
    at once, without reaching the vendor. The message names the vendor only."""

    http_status = 503


class VendorTimeoutError(VendorError):
    """A vendor did not answer within its time limit."""

    http_status = 504


class TranslationError(VendorError):
    """A translation lost, repeated or invented a placeholder: it is not used."""
