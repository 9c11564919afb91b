"""The async API a chat backend calls per message: redact going out, restore coming back."""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Final

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from chatguard.errors import ChatguardError, MessageTooLargeError, UnknownDestinationError
from chatguard.model import Entity, EntityType, RedactedText, RedactionResult, RestoredText
from chatguard.redact.detection import Detection, DetectionPool, DetectionRequest
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
        self.detection = DetectionPool(self.settings.redaction, engine)
        self.vault = vault or InMemoryVault()
        self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
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

    @property
    def engine(self) -> RedactionEngine | None:
        """The engine detection threads share; ``None`` when worker processes detect."""
        return self.detection.engine

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
        [result] = await self.redact_for(
            text, conversation=conversation, destinations=(destination,), lang=lang
        )
        return result

    async def redact_for(
        self,
        text: str,
        *,
        conversation: str,
        destinations: Sequence[str],
        lang: str | None = None,
    ) -> list[RedactionResult]:
        """``redact`` for several destinations at once, in order: detection runs once
        per distinct policy threshold, placeholders are assigned in one call."""
        policies = [self.policy(destination) for destination in destinations]
        if len(text) > self.settings.redaction.max_message_chars:
            raise MessageTooLargeError(
                f"message of {len(text)} characters exceeds the limit of "
                f"{self.settings.redaction.max_message_chars}"
            )
        held = await self.vault.held(conversation)
        detections: dict[float, Detection] = {}
        for threshold in sorted({policy.threshold for policy in policies}):
            detection = await self.detection.detect(
                DetectionRequest(text, lang or None, threshold, tuple(held.values()))
            )
            lang = detection.language
            detections[threshold] = Detection(
                detection.language, _outside_own_placeholders(text, detection.entities, held)
            )
        wanted = {
            (e.type, canonical_value(e.type, text[e.start : e.end])): text[e.start : e.end]
            for policy in policies
            for e in detections[policy.threshold].entities
            if policy.action_for(e.type) is Action.REPLACE
        }
        keys = list(wanted)
        assigned = await self.vault.assign(
            conversation, [VaultEntry(kind, key, wanted[kind, key]) for kind, key in keys]
        )
        placeholder_of = dict(zip(keys, assigned, strict=True))
        results = []
        for policy in policies:
            detection = detections[policy.threshold]
            entities = [
                Entity(
                    e.type,
                    e.start,
                    e.end,
                    e.score,
                    placeholder_of[e.type, canonical_value(e.type, text[e.start : e.end])]
                    if policy.action_for(e.type) is Action.REPLACE
                    else None,
                )
                for e in detection.entities
            ]
            redacted = self._apply(text, entities, policy)
            results.append(
                RedactionResult(RedactedText(redacted), tuple(entities), detection.language)
            )
        return results

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

    async def start(self) -> None:
        """Start detection (worker processes load their engines); otherwise on first use."""
        await self.detection.start()

    def close(self) -> None:
        """Stop detection's threads or worker processes."""
        self.detection.close()

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


def _outside_own_placeholders(
    text: str, found: Sequence[Entity], held: Mapping[str, tuple[str, str]]
) -> tuple[Entity, ...]:
    """Drop what was found inside the conversation's own placeholders.

    A reply written with placeholders ("Hello <PERSON_1>") is redacted again before
    it is stored; "PERSON" must not turn into a booking code there. Only placeholders
    the vault assigned count: a user cannot hide a value by typing it in angle
    brackets.
    """
    protected = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text) if m.group() in held]
    if not protected:
        return tuple(found)
    return tuple(
        e for e in found if not any(e.start < end and start < e.end for start, end in protected)
    )
