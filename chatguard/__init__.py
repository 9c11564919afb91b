"""chatguard keeps a chat assistant's privacy promises in code.

The public API is what this module exports; everything else is internal.
"""

from chatguard.errors import (
    ChatguardError,
    ConfigurationError,
    MessageTooLargeError,
    ModelNotInstalledError,
    RedactionError,
    RedactionTimeoutError,
    UnknownDestinationError,
    UnsupportedLanguageError,
)
from chatguard.model import Entity, EntityType, RedactedText, RedactionResult, RestoredText
from chatguard.redact.engine import RedactionEngine
from chatguard.redact.redactor import Redactor
from chatguard.redact.restore import StreamRestorer
from chatguard.redact.vault import InMemoryVault, PlaceholderVault, VaultEntry
from chatguard.settings import (
    Action,
    DestinationPolicy,
    RedactionSettings,
    Settings,
    load_settings,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ChatguardError",
    "ConfigurationError",
    "DestinationPolicy",
    "Entity",
    "EntityType",
    "InMemoryVault",
    "MessageTooLargeError",
    "ModelNotInstalledError",
    "PlaceholderVault",
    "RedactedText",
    "RedactionEngine",
    "RedactionError",
    "RedactionResult",
    "RedactionSettings",
    "RedactionTimeoutError",
    "Redactor",
    "RestoredText",
    "Settings",
    "StreamRestorer",
    "UnknownDestinationError",
    "UnsupportedLanguageError",
    "VaultEntry",
    "__version__",
    "load_settings",
]
