"""chatguard's own recognisers, one small class a file, in Presidio's style.

Each recogniser is a Presidio ``PatternRecognizer`` (or ``LocalRecognizer``) with
its patterns and scores, context words in all six supported languages
(see :mod:`.context`), and a validator where the format has a checksum.
``build_recognizers`` instantiates every one of them for one language.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer


def build_recognizers(language: str) -> list[EntityRecognizer]:
    """Return a fresh instance of every chatguard recogniser for ``language``."""
    # Imported here so that importing one recogniser module does not load them all.
    from chatguard.redact.recognizers.booking_reference import BookingReferenceRecognizer
    from chatguard.redact.recognizers.credentials import CredentialRecognizer
    from chatguard.redact.recognizers.date_of_birth import DateOfBirthRecognizer
    from chatguard.redact.recognizers.frequent_flyer import FrequentFlyerRecognizer
    from chatguard.redact.recognizers.national_id import NationalIdRecognizer
    from chatguard.redact.recognizers.passport import PassportRecognizer
    from chatguard.redact.recognizers.person_name import PersonNameRecognizer
    from chatguard.redact.recognizers.street_address import StreetAddressRecognizer
    from chatguard.redact.recognizers.ticket_number import TicketNumberRecognizer

    return [
        BookingReferenceRecognizer(supported_language=language),
        TicketNumberRecognizer(supported_language=language),
        FrequentFlyerRecognizer(supported_language=language),
        PassportRecognizer(supported_language=language),
        NationalIdRecognizer(supported_language=language),
        StreetAddressRecognizer(supported_language=language),
        DateOfBirthRecognizer(supported_language=language),
        CredentialRecognizer(supported_language=language),
        PersonNameRecognizer(supported_language=language),
    ]
