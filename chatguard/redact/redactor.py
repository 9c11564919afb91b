"""The async API a chat backend calls per message: redact going out, restore coming back."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, ParamSpec, TypeVar

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from chatguard.errors import (
    ChatguardError,
    MessageTooLargeError,
    RedactionError,
    RedactionTimeoutError,
    UnknownDestinationError,
)
from chatguard.model import Entity, EntityType, RedactedText, RedactionResult, RestoredText
from chatguard.redact.engine import RedactionEngine
from chatguard.redact.normalize import normalise
from chatguard.redact.restore import (
    PLACEHOLDER,
    StreamRestorer,
    find_placeholders,
    substitute,
)
from chatguard.redact.vault import InMemoryVault, PlaceholderVault, VaultEntry
from chatguard.settings import Action, DestinationPolicy, Settings

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Types whose identity does not depend on separators or case: "+49 151-234" is "+49151234".
_SEPARATOR_BLIND: Final = frozenset(
    {
        EntityType.PHONE_NUMBER,
        EntityType.CREDIT_CARD,
        EntityType.IBAN_CODE,
        EntityType.TICKET_NUMBER,
        EntityType.FREQUENT_FLYER_NUMBER,
        EntityType.PASSPORT_NUMBER,
        EntityType.NATIONAL_ID,
        EntityType.BOOKING_REFERENCE,
    }
)


def canonical_value(entity_type: str, value: str) -> str:
    """The form of a value that decides whether two mentions are the same value.

    What normalisation removes (zero-width characters, full-width forms, spelled-out
    e-mail addresses), case and runs of spaces never matter; for numbers and codes,
    separators do not either.
    """
    folded = unicodedata.normalize("NFKC", normalise(value).text).casefold()
    if entity_type in _SEPARATOR_BLIND:
        return "".join(ch for ch in folded if ch.isalnum() or ch == "+")
    if entity_type == EntityType.CREDENTIAL:
        return value  # a password's case is part of it
    return " ".join(folded.split())


class Redactor:
    """Redacts chat messages for a destination and restores replies for the user.

    ``redact`` finds personal data (off the event loop, within ``redaction.timeout``
    seconds) and applies the destination's policy: replaced values get placeholders
    that are stable for the whole conversation. If detection fails or times out,
    it raises :class:`~chatguard.errors.RedactionError`: raw text is never returned
    as if it were redacted. ``restore`` only ever serves text going to the user.

    Example::

        redactor = Redactor()
        out = await redactor.redact("I am Anna Müller", conversation="c1")
        out.text                                  # 'I am <PERSON_1>'
        await redactor.restore("Hello <PERSON_1>", conversation="c1")  # 'Hello Anna Müller'
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: RedactionEngine | None = None,
        vault: PlaceholderVault | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.engine = engine or RedactionEngine(self.settings.redaction)
        self.vault = vault or InMemoryVault()
        self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
        self._executor = ThreadPoolExecutor(
            max_workers=self.settings.redaction.workers, thread_name_prefix="chatguard-detect"
        )
        key = self.settings.redaction.hash_key
        if key is None:
            if any(
                Action.HASH in (p.default_action, *p.actions.values())
                for p in self.settings.policy.values()
            ):
                logger.warning("redaction.hash_key is not set: hashes change at every restart")
            self._hash_salt = secrets.token_hex(32)
        else:
            self._hash_salt = key.get_secret_value()
            if len(self._hash_salt.encode()) < 16:
                raise ChatguardError("redaction.hash_key must be at least 16 bytes")

    def policy(self, destination: str) -> DestinationPolicy:
        """The policy of ``destination``, or ``UnknownDestinationError``."""
        try:
            return self.settings.policy[destination]
        except KeyError:
            raise UnknownDestinationError(
                f"no redaction policy for destination {destination!r}"
            ) from None

    async def redact(
        self,
        text: str,
        *,
        conversation: str,
        lang: str | None = None,
        destination: str = "nlp",
    ) -> RedactionResult:
        """Return ``text`` as ``destination`` may see it, and the entities found in it.

        Entity offsets refer to ``text``; ``placeholder`` is set on replaced ones.
        """
        policy = self.policy(destination)
        if len(text) > self.settings.redaction.max_message_chars:
            raise MessageTooLargeError(
                f"message of {len(text)} characters exceeds the limit of "
                f"{self.settings.redaction.max_message_chars}"
            )
        language: str = lang if lang else await self._run(self.engine.detect_language, text)
        known = await self.vault.known_values(conversation)
        found = await self._run(self.engine.analyze, text, language, policy.threshold, known)
        found = await self._outside_own_placeholders(text, found, conversation)
        entities = await self._placeholders(text, found, conversation, policy)
        redacted = self._apply(text, entities, policy)
        return RedactionResult(RedactedText(redacted), tuple(entities), language)

    async def restore(self, text: str, *, conversation: str) -> RestoredText:
        """Put the conversation's values back into ``text`` (a reply going to the user).

        Placeholders of other conversations, and strings that merely look like
        placeholders, are left untouched.
        """
        wanted = find_placeholders(text)
        if not wanted:
            return RestoredText(text)
        return RestoredText(substitute(text, await self.vault.lookup(conversation, wanted)))

    def stream_restorer(self, conversation: str) -> StreamRestorer:
        """A restorer for a reply that arrives in chunks, for this conversation."""

        async def lookup(placeholders: object) -> dict[str, str]:
            return await self.vault.lookup(conversation, placeholders)  # type: ignore[arg-type]

        return StreamRestorer(lookup)

    def close(self) -> None:
        """Stop the detection threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.settings.redaction.timeout):
                return await loop.run_in_executor(
                    self._executor, functools.partial(function, *args, **kwargs)
                )
        except TimeoutError:
            raise RedactionTimeoutError("detection timed out; the text was not forwarded") from None
        except ChatguardError:
            raise
        except Exception as exc:
            # The exception's text may quote the message: log its type only.
            logger.error("detection failed with %s", type(exc).__name__)
            raise RedactionError("detection failed; the text was not forwarded") from None

    async def _outside_own_placeholders(
        self, text: str, found: list[Entity], conversation: str
    ) -> list[Entity]:
        """Drop what was found inside the conversation's own placeholders.

        A reply written with placeholders ("Hello <PERSON_1>") is redacted again
        before it is stored; "PERSON" must not turn into a booking code there. Only
        placeholders the vault assigned count: a user cannot hide a value by typing
        it in angle brackets.
        """
        spans = [(m.start(), m.end(), m.group()) for m in PLACEHOLDER.finditer(text)]
        if not spans or not found:
            return found
        own = await self.vault.lookup(conversation, {p for _, _, p in spans})
        protected = [(start, end) for start, end, p in spans if p in own]
        return [
            e for e in found if not any(e.start < end and start < e.end for start, end in protected)
        ]

    async def _placeholders(
        self, text: str, found: list[Entity], conversation: str, policy: DestinationPolicy
    ) -> list[Entity]:
        replaced = [e for e in found if policy.action_for(e.type) is Action.REPLACE]
        placeholders = await self.vault.assign(
            conversation,
            [
                VaultEntry(
                    e.type, canonical_value(e.type, text[e.start : e.end]), text[e.start : e.end]
                )
                for e in replaced
            ],
        )
        by_span = {(e.start, e.end): p for e, p in zip(replaced, placeholders, strict=True)}
        return [
            Entity(e.type, e.start, e.end, e.score, by_span.get((e.start, e.end))) for e in found
        ]

    def _apply(self, text: str, entities: list[Entity], policy: DestinationPolicy) -> str:
        changed = [e for e in entities if policy.action_for(e.type) is not Action.KEEP]
        if not changed:
            return text
        placeholder_of: dict[str, dict[str, str]] = {}
        for e in changed:
            if e.placeholder is not None:
                placeholder_of.setdefault(e.type, {})[text[e.start : e.end]] = e.placeholder
        operators: dict[str, OperatorConfig] = {}
        for entity_type in {e.type for e in changed}:
            action = policy.action_for(entity_type)
            if action is Action.REPLACE:
                operators[entity_type] = OperatorConfig(
                    "custom", {"lambda": placeholder_of[entity_type].__getitem__}
                )
            elif action is Action.MASK:
                operators[entity_type] = OperatorConfig(
                    "mask",
                    {
                        "masking_char": policy.mask_char,
                        "chars_to_mask": len(text),
                        "from_end": False,
                    },
                )
            else:
                operators[entity_type] = OperatorConfig(
                    "hash", {"hash_type": "sha256", "salt": self._hash_salt}
                )
        result = self._anonymizer.anonymize(
            text,
            [RecognizerResult(e.type, e.start, e.end, e.score) for e in changed],
            operators,
            merge_entities_with_spaces=False,  # the spans are final: one placeholder each
        )
        return str(result.text)
