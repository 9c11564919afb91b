"""Passwords typed into the chat, and API keys and tokens pasted into it."""

from __future__ import annotations

from typing import Final

from presidio_analyzer import Pattern, PatternRecognizer

from chatguard.redact.recognizers.context import context_words

CONTEXT_BY_LANGUAGE: Final[dict[str, list[str]]] = {
    "en": ["password", "passcode", "token", "apikey", "secret"],
    "de": ["passwort", "kennwort", "zugangsdaten", "token"],
    "fr": ["passe", "mdp", "jeton", "secret"],
    "it": ["password", "parola", "chiave"],
    "pt": ["senha", "palavra-passe", "chave"],
    "es": ["contraseña", "contrasena", "clave"],
}

_PASSWORD_WORD: Final = (
    r"(?:password|passwort|passwd|pwd|kennwort|passcode|senha|palavra[- ]passe"
    r"|mot de passe|mdp|contrase[ñn]a|clave|parola d'ordine)"
)
# "is", ":" or "=" between the word and the password, in the six languages.
_IS: Final = r"(?:\s*[:=]|\s+(?:is|was|ist|lautet|war|est|était|é|era|es|è)\b\s*:?)\s*"
# Words that describe the password rather than being it ("my password is wrong").
_NOT_A_PASSWORD: Final = (
    r"(?!(?:not|wrong|incorrect|invalid|expired|correct|right|too|the|my|a|an|still|being"
    r"|nicht|falsch|ungültig|abgelaufen|richtig|zu|kein|pas|faux|invalide|expiré|trop"
    r"|não|errada|incorreta|inválida|expirada|muito|no|incorrecta|caducada|errónea"
    r"|non|sbagliata|errata|scaduta|troppo)\b)"
)


class CredentialRecognizer(PatternRecognizer):
    """Finds secrets: a password after a word that announces it, and API keys and tokens.

    In "my password is hunter2!" or "Passwort: geheim12" only the password itself
    is reported, never the word before it, and words that describe a password
    ("my password is wrong") are not taken for one. Keys and tokens of well-known
    formats (AWS, GitHub, Slack, Stripe, OpenAI, Google, JWT, PEM private keys,
    ``Bearer`` tokens) are reported wherever they appear.
    """

    PATTERNS: Final[list[Pattern]] = [
        Pattern(
            "Password after a context word",
            r"\b" + _PASSWORD_WORD + _IS + r"\K" + _NOT_A_PASSWORD + r"\S+",
            0.85,
        ),
        Pattern("AWS access key id", r"\b(?-i:(?:AKIA|ASIA)[A-Z0-9]{16})\b", 0.9),
        Pattern("GitHub token", r"\b(?-i:gh[pousr]_[A-Za-z0-9]{36,255})\b", 0.95),
        Pattern("GitHub fine-grained token", r"\b(?-i:github_pat_\w{22,255})\b", 0.95),
        Pattern("Slack token", r"\b(?-i:xox[abposr]-[A-Za-z0-9-]{10,250})", 0.95),
        Pattern("Stripe key", r"\b(?-i:[rs]k_(?:live|test)_[A-Za-z0-9]{16,250})\b", 0.95),
        Pattern(
            "OpenAI-style key",
            r"\b(?-i:sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,250})",
            0.85,
        ),
        Pattern("Google API key", r"\b(?-i:AIza[0-9A-Za-z_\-]{35,250})", 0.9),
        Pattern(
            "JSON web token",
            r"\b(?-i:eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*)",
            0.9,
        ),
        Pattern(
            "PEM private key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)",
            0.95,
        ),
        Pattern("Bearer token", r"\bBearer\s+\K[A-Za-z0-9\-._~+/]{16,}=*", 0.8),
    ]

    CONTEXT: Final[list[str]] = context_words(CONTEXT_BY_LANGUAGE)

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="CREDENTIAL",
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            supported_language=supported_language,
        )
