"""chatguard keeps a chat assistant's privacy promises in code.

The public API is what this module exports; everything else is internal. Names are
loaded on first use, so that ``import chatguard`` (and every ``chatguard`` command)
starts without loading the redaction engine until it is needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that owns it.
_EXPORTS: dict[str, str] = {
    # errors
    "ChatguardError": "chatguard.errors",
    "ConfigurationError": "chatguard.errors",
    "DecryptionError": "chatguard.errors",
    "MessageTooLargeError": "chatguard.errors",
    "ModelNotInstalledError": "chatguard.errors",
    "ReasonRequiredError": "chatguard.errors",
    "RedactionError": "chatguard.errors",
    "RedactionTimeoutError": "chatguard.errors",
    "StoreError": "chatguard.errors",
    "StoreUnavailableError": "chatguard.errors",
    "SubjectNotFoundError": "chatguard.errors",
    "UnknownDestinationError": "chatguard.errors",
    "UnsupportedLanguageError": "chatguard.errors",
    "OverloadedError": "chatguard.errors",
    "VendorUnavailableError": "chatguard.errors",
    "VendorTimeoutError": "chatguard.errors",
    "VendorError": "chatguard.errors",
    "VendorCircuitOpenError": "chatguard.errors",
    "TranslationError": "chatguard.errors",
    "InvalidRequestError": "chatguard.errors",
    "UnknownPurposeError": "chatguard.errors",
    # shared types
    "Entity": "chatguard.model",
    "EntityType": "chatguard.model",
    "RedactedText": "chatguard.model",
    "RedactionResult": "chatguard.model",
    "RestoredText": "chatguard.model",
    # configuration and time
    "Action": "chatguard.settings",
    "ConsentSettings": "chatguard.settings",
    "DestinationPolicy": "chatguard.settings",
    "RedactionSettings": "chatguard.settings",
    "RetentionSettings": "chatguard.settings",
    "Settings": "chatguard.settings",
    "StoreSettings": "chatguard.settings",
    "PseudonymSettings": "chatguard.settings",
    "load_settings": "chatguard.settings",
    "Clock": "chatguard.clock",
    "ManualClock": "chatguard.clock",
    "SystemClock": "chatguard.clock",
    # the pipeline
    "ChatGuard": "chatguard.guard",
    # redaction
    "RedactionEngine": "chatguard.redact.engine",
    "Redactor": "chatguard.redact.redactor",
    "StreamRestorer": "chatguard.redact.restore",
    "InMemoryVault": "chatguard.redact.vault",
    "PlaceholderVault": "chatguard.redact.vault",
    "VaultEntry": "chatguard.redact.vault",
    # state, keys and pseudonyms
    "Store": "chatguard.store.base",
    "make_store": "chatguard.store",
    "open_store": "chatguard.store",
    "StoreVault": "chatguard.store.vault",
    "KeyRing": "chatguard.crypto",
    "IdentityMap": "chatguard.pseudonym",
    "Keys": "chatguard.pseudonym",
    "UserPseudonyms": "chatguard.pseudonym",
    "load_keys": "chatguard.pseudonym",
    "new_session_pseudonym": "chatguard.pseudonym",
    # retention and the person's rights
    "RetentionPolicy": "chatguard.retention",
    "RetentionSweeper": "chatguard.retention",
    "SubjectRights": "chatguard.subject",
    # consent and quality sampling
    "ConfirmationMatcher": "chatguard.consent",
    "ConsentLedger": "chatguard.consent",
    "ConsentSubject": "chatguard.consent",
    "ConsentText": "chatguard.consent",
    "ConsentTexts": "chatguard.consent",
    "Decision": "chatguard.consent",
    "PrivacyReferences": "chatguard.consent",
    "Purpose": "chatguard.consent",
    "Source": "chatguard.consent",
    "TextKind": "chatguard.consent",
    "WithdrawalMatcher": "chatguard.consent",
    "new_privacy_reference": "chatguard.consent",
    "QualitySampler": "chatguard.sampling",
    # the dialogue and the live-chat hand-over gate
    "Dialogue": "chatguard.dialogue",
    "ShownOutput": "chatguard.outputs",
    "HandOverGate": "chatguard.handover",
    "AnswerDeadlines": "chatguard.handover",
    "DialogueChange": "chatguard.store.records",
    "BotVendor": "chatguard.vendors.base",
    "LiveAgentVendor": "chatguard.vendors.base",
    "QualitySampling": "chatguard.vendors.base",
}

__all__ = [
    "Action",
    "AnswerDeadlines",
    "BotVendor",
    "ChatGuard",
    "ChatguardError",
    "Clock",
    "ConfigurationError",
    "ConfirmationMatcher",
    "ConsentLedger",
    "ConsentSettings",
    "ConsentSubject",
    "ConsentText",
    "ConsentTexts",
    "Decision",
    "DecryptionError",
    "DestinationPolicy",
    "Dialogue",
    "DialogueChange",
    "Entity",
    "EntityType",
    "HandOverGate",
    "IdentityMap",
    "InMemoryVault",
    "InvalidRequestError",
    "KeyRing",
    "Keys",
    "LiveAgentVendor",
    "ManualClock",
    "MessageTooLargeError",
    "ModelNotInstalledError",
    "OverloadedError",
    "PlaceholderVault",
    "PrivacyReferences",
    "PseudonymSettings",
    "Purpose",
    "QualitySampler",
    "QualitySampling",
    "ReasonRequiredError",
    "RedactedText",
    "RedactionEngine",
    "RedactionError",
    "RedactionResult",
    "RedactionSettings",
    "RedactionTimeoutError",
    "Redactor",
    "RestoredText",
    "RetentionPolicy",
    "RetentionSettings",
    "RetentionSweeper",
    "Settings",
    "ShownOutput",
    "Source",
    "Store",
    "StoreError",
    "StoreSettings",
    "StoreUnavailableError",
    "StoreVault",
    "StreamRestorer",
    "SubjectNotFoundError",
    "SubjectRights",
    "SystemClock",
    "TextKind",
    "TranslationError",
    "UnknownDestinationError",
    "UnknownPurposeError",
    "UnsupportedLanguageError",
    "UserPseudonyms",
    "VaultEntry",
    "VendorCircuitOpenError",
    "VendorError",
    "VendorTimeoutError",
    "VendorUnavailableError",
    "WithdrawalMatcher",
    "__version__",
    "load_keys",
    "load_settings",
    "make_store",
    "new_privacy_reference",
    "new_session_pseudonym",
    "open_store",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chatguard' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from chatguard.clock import Clock, ManualClock, SystemClock
    from chatguard.consent import (
        ConfirmationMatcher,
        ConsentLedger,
        ConsentSubject,
        ConsentText,
        ConsentTexts,
        Decision,
        PrivacyReferences,
        Purpose,
        Source,
        TextKind,
        WithdrawalMatcher,
        new_privacy_reference,
    )
    from chatguard.crypto import KeyRing
    from chatguard.dialogue import Dialogue
    from chatguard.errors import (
        ChatguardError,
        ConfigurationError,
        DecryptionError,
        InvalidRequestError,
        MessageTooLargeError,
        ModelNotInstalledError,
        OverloadedError,
        ReasonRequiredError,
        RedactionError,
        RedactionTimeoutError,
        StoreError,
        StoreUnavailableError,
        SubjectNotFoundError,
        TranslationError,
        UnknownDestinationError,
        UnknownPurposeError,
        UnsupportedLanguageError,
        VendorCircuitOpenError,
        VendorError,
        VendorTimeoutError,
        VendorUnavailableError,
    )
    from chatguard.guard import ChatGuard
    from chatguard.handover import AnswerDeadlines, HandOverGate
    from chatguard.model import Entity, EntityType, RedactedText, RedactionResult, RestoredText
    from chatguard.outputs import ShownOutput
    from chatguard.pseudonym import (
        IdentityMap,
        Keys,
        UserPseudonyms,
        load_keys,
        new_session_pseudonym,
    )
    from chatguard.redact.engine import RedactionEngine
    from chatguard.redact.redactor import Redactor
    from chatguard.redact.restore import StreamRestorer
    from chatguard.redact.vault import InMemoryVault, PlaceholderVault, VaultEntry
    from chatguard.retention import RetentionPolicy, RetentionSweeper
    from chatguard.sampling import QualitySampler
    from chatguard.settings import (
        Action,
        ConsentSettings,
        DestinationPolicy,
        PseudonymSettings,
        RedactionSettings,
        RetentionSettings,
        Settings,
        StoreSettings,
        load_settings,
    )
    from chatguard.store import make_store, open_store
    from chatguard.store.base import Store
    from chatguard.store.records import DialogueChange
    from chatguard.store.vault import StoreVault
    from chatguard.subject import SubjectRights
    from chatguard.vendors.base import BotVendor, LiveAgentVendor, QualitySampling
