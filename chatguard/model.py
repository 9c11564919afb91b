"""The types every layer of chatguard shares."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NewType


class EntityType(StrEnum):
    """The kinds of personal data chatguard detects (Presidio entity names)."""

    PERSON = "PERSON"
    EMAIL_ADDRESS = "EMAIL_ADDRESS"
    PHONE_NUMBER = "PHONE_NUMBER"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN_CODE = "IBAN_CODE"
    IP_ADDRESS = "IP_ADDRESS"
    URL = "URL"
    BOOKING_REFERENCE = "BOOKING_REFERENCE"
    TICKET_NUMBER = "TICKET_NUMBER"
    FREQUENT_FLYER_NUMBER = "FREQUENT_FLYER_NUMBER"
    PASSPORT_NUMBER = "PASSPORT_NUMBER"
    NATIONAL_ID = "NATIONAL_ID"
    STREET_ADDRESS = "STREET_ADDRESS"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"
    CREDENTIAL = "CREDENTIAL"


@dataclass(frozen=True, slots=True)
class Entity:
    """One piece of personal data found in a text.

    ``start`` and ``end`` are offsets into the text as the caller gave it
    (half-open). ``placeholder`` is set once the entity has been replaced, and
    is ``None`` for entities the destination's policy keeps or masks.
    """

    type: str
    start: int
    end: int
    score: float
    placeholder: str | None = None


#: Text that has been through redaction for a destination: the only kind a vendor client accepts.
RedactedText = NewType("RedactedText", str)

#: Text whose placeholders were put back for the user: never to be sent to a vendor.
RestoredText = NewType("RestoredText", str)


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """A redacted text, the entities found in the original, and its language."""

    text: RedactedText
    entities: tuple[Entity, ...]
    language: str
