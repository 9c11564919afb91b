"""The async API: placeholders stable per conversation, policies per destination, fail closed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import pytest

from chatguard.errors import (
    MessageTooLargeError,
    RedactionError,
    RedactionTimeoutError,
    UnknownDestinationError,
    UnsupportedLanguageError,
)
from chatguard.model import Entity
from chatguard.redact.engine import RedactionEngine, resolve_overlaps
from chatguard.redact.redactor import Redactor, _outside_own_placeholders, canonical_value
from chatguard.settings import RedactionSettings, Settings

EMAIL = "anna.keller@example.org"
PHONE = "+49 151 23456789"
CARD = "4111 1111 1111 1111"


async def test_email_is_replaced_by_a_placeholder_before_it_leaves(redactor: Redactor) -> None:
    result = await redactor.redact(f"write to {EMAIL} please", conversation="c1")
    assert result.text == "write to <EMAIL_ADDRESS_1> please"
    [entity] = result.entities
    assert (entity.type, entity.start, entity.end) == ("EMAIL_ADDRESS", 9, 9 + len(EMAIL))
    assert entity.placeholder == "<EMAIL_ADDRESS_1>"


async def test_same_value_keeps_its_placeholder_in_every_turn(redactor: Redactor) -> None:
    first = await redactor.redact(f"my mail is {EMAIL}", conversation="c1")
    second = await redactor.redact(f"did you get {EMAIL.upper()}?", conversation="c1")
    assert "<EMAIL_ADDRESS_1>" in first.text
    assert "<EMAIL_ADDRESS_1>" in second.text


async def test_new_value_gets_the_next_number(redactor: Redactor) -> None:
    await redactor.redact(f"my mail is {EMAIL}", conversation="c1")
    second = await redactor.redact("or use other.box@example.net", conversation="c1")
    assert second.text == "or use <EMAIL_ADDRESS_2>"


async def test_separators_do_not_make_a_number_a_new_value(redactor: Redactor) -> None:
    await redactor.redact(f"call {PHONE}", conversation="c1")
    again = await redactor.redact("call +4915123456789", conversation="c1")
    assert again.text == "call <PHONE_NUMBER_1>"


async def test_conversations_do_not_share_placeholders(redactor: Redactor) -> None:
    await redactor.redact("mail other.box@example.net", conversation="c1")
    other = await redactor.redact(f"mail {EMAIL}", conversation="c2")
    assert other.text == "mail <EMAIL_ADDRESS_1>"
    assert await redactor.restore("hi <EMAIL_ADDRESS_1>", conversation="c2") == f"hi {EMAIL}"


async def test_restore_puts_the_values_back_for_the_user(redactor: Redactor) -> None:
    text = f"mail {EMAIL}, phone {PHONE}, card {CARD}"
    result = await redactor.redact(text, conversation="c1")
    assert EMAIL not in result.text and CARD not in result.text and PHONE not in result.text
    assert await redactor.restore(result.text, conversation="c1") == text


async def test_restore_leaves_unknown_and_foreign_placeholders_untouched(
    redactor: Redactor,
) -> None:
    await redactor.redact(f"mail {EMAIL}", conversation="c1")
    reply = "<EMAIL_ADDRESS_1> <EMAIL_ADDRESS_7> <PERSON_1> <not a placeholder>"
    restored = await redactor.restore(reply, conversation="c1")
    assert restored == f"{EMAIL} <EMAIL_ADDRESS_7> <PERSON_1> <not a placeholder>"
    assert await redactor.restore(reply, conversation="elsewhere") == reply


async def test_redact_never_restores_placeholders_typed_into_outgoing_text(
    redactor: Redactor,
) -> None:
    await redactor.redact(f"mail {EMAIL}", conversation="c1")
    outgoing = await redactor.redact("what is <EMAIL_ADDRESS_1>?", conversation="c1")
    assert EMAIL not in outgoing.text


async def test_streamed_reply_is_restored_when_a_placeholder_is_split(
    redactor: Redactor,
) -> None:
    await redactor.redact(f"mail {EMAIL}", conversation="c1")
    restorer = redactor.stream_restorer("c1")
    pieces = [await restorer.feed(chunk) for chunk in ["Sent to <EMAIL_", "ADDRESS_1", ">. Bye <"]]
    pieces.append(await restorer.flush())
    assert "".join(pieces) == f"Sent to {EMAIL}. Bye <"
    assert pieces[0] == "Sent to "


async def test_stream_emits_text_before_the_reply_ends(redactor: Redactor) -> None:
    restorer = redactor.stream_restorer("c1")
    assert await restorer.feed("Hello there, ") == "Hello there, "


async def test_agent_policy_keeps_contact_details_and_masks_the_card(redactor: Redactor) -> None:
    text = f"mail {EMAIL}, card {CARD}"
    result = await redactor.redact(text, conversation="c1", destination="agent")
    assert EMAIL in result.text
    assert CARD not in result.text and "*" * len(CARD) in result.text
    assert all(e.placeholder is None for e in result.entities)


async def test_hash_policy_gives_the_same_digest_for_the_same_value(
    engine: RedactionEngine,
) -> None:
    settings = Settings(
        redaction=RedactionSettings(hash_key="k" * 32),
        policy={"analytics": {"default_action": "hash"}},
    )
    redactor = Redactor(settings, engine=engine)
    first = await redactor.redact(f"mail {EMAIL}", conversation="a", destination="analytics")
    second = await redactor.redact(f"mail {EMAIL}", conversation="b", destination="analytics")
    assert first.text == second.text and EMAIL not in first.text
    redactor.close()


async def test_unknown_destination_is_refused(redactor: Redactor) -> None:
    with pytest.raises(UnknownDestinationError):
        await redactor.redact("hello", conversation="c1", destination="nowhere")


async def test_unsupported_language_is_refused(redactor: Redactor) -> None:
    with pytest.raises(UnsupportedLanguageError):
        await redactor.redact("hello", conversation="c1", lang="xx")


async def test_oversized_message_is_refused_without_quoting_it(engine: RedactionEngine) -> None:
    redactor = Redactor(Settings(redaction=RedactionSettings(max_message_chars=50)), engine=engine)
    text = f"{EMAIL} " * 10
    with pytest.raises(MessageTooLargeError) as raised:
        await redactor.redact(text, conversation="c1")
    assert EMAIL not in str(raised.value)
    redactor.close()


class _BrokenEngine(RedactionEngine):
    def __init__(self) -> None:  # no models needed
        pass

    def detect_language(self, text: str) -> str:
        return "en"

    def analyze(
        self,
        text: str,
        language: str | None = None,
        threshold: float = 0.5,
        known: Iterable[tuple[str, str]] = (),
    ) -> list[Entity]:
        raise RuntimeError(f"recogniser crashed on {text}")


class _SlowEngine(_BrokenEngine):
    def analyze(
        self,
        text: str,
        language: str | None = None,
        threshold: float = 0.5,
        known: Iterable[tuple[str, str]] = (),
    ) -> list[Entity]:
        time.sleep(0.5)
        return []


async def test_detection_failure_fails_closed_without_quoting_the_text() -> None:
    redactor = Redactor(Settings(), engine=_BrokenEngine())
    with pytest.raises(RedactionError) as raised:
        await redactor.redact(f"my mail is {EMAIL}", conversation="c1")
    assert EMAIL not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    redactor.close()


async def test_detection_timeout_fails_closed() -> None:
    settings = Settings(redaction=RedactionSettings(timeout=0.05))
    redactor = Redactor(settings, engine=_SlowEngine())
    with pytest.raises(RedactionTimeoutError):
        await redactor.redact(f"my mail is {EMAIL}", conversation="c1")
    redactor.close()


async def test_concurrent_turns_never_give_one_value_two_placeholders(redactor: Redactor) -> None:
    texts = [f"turn {i}: {EMAIL}" if i % 2 else f"turn {i}: {PHONE}" for i in range(20)]
    results = await asyncio.gather(*(redactor.redact(t, conversation="c1") for t in texts))
    placeholders = {e.placeholder for r in results for e in r.entities}
    assert placeholders == {"<EMAIL_ADDRESS_1>", "<PHONE_NUMBER_1>"}


def test_overlapping_spans_merge_without_uncovering_a_character() -> None:
    merged = resolve_overlaps(
        [
            Entity("URL", 5, 14, 0.5),
            Entity("EMAIL_ADDRESS", 0, 14, 1.0),
            Entity("PERSON", 12, 20, 0.9),
        ]
    )
    assert merged == [Entity("EMAIL_ADDRESS", 0, 20, 1.0)]


def test_canonical_value_ignores_case_and_separators_of_numbers() -> None:
    assert canonical_value("PHONE_NUMBER", "+49 151-2345") == canonical_value(
        "PHONE_NUMBER", "+491512345"
    )
    assert canonical_value("PERSON", "Anna  Müller") == canonical_value("PERSON", "anna müller")
    assert canonical_value("CREDENTIAL", "Secret1") != canonical_value("CREDENTIAL", "secret1")


async def test_value_redacted_once_is_redacted_again_without_its_context_word(
    redactor: Redactor,
) -> None:
    first = await redactor.redact("mein Buchungscode ist QWERTZ", conversation="c1")
    assert first.text == "mein Buchungscode ist <BOOKING_REFERENCE_1>"
    later = await redactor.redact("ist QWERTZ schon bestätigt?", conversation="c1")
    assert later.text == "ist <BOOKING_REFERENCE_1> schon bestätigt?"
    elsewhere = await redactor.redact("ist QWERTZ schon bestätigt?", conversation="c2")
    assert "QWERTZ" in elsewhere.text  # no context and no earlier turn: not personal


def test_every_occurrence_of_a_found_value_in_a_message_is_found(engine: RedactionEngine) -> None:
    text = "Booking code QWERTZ please. Is QWERTZ confirmed?"
    found = [(e.type, text[e.start : e.end]) for e in engine.analyze(text)]
    assert found == [("BOOKING_REFERENCE", "QWERTZ"), ("BOOKING_REFERENCE", "QWERTZ")]


async def test_the_conversations_own_placeholders_are_never_redacted_again(
    redactor: Redactor,
) -> None:
    await redactor.redact("my booking code is QWERTZ, I am Emma Clarke", conversation="c1")
    reply = "Thanks <PERSON_1>, booking code <BOOKING_REFERENCE_1> is confirmed."
    again = await redactor.redact(reply, conversation="c1")
    assert again.text == reply and again.entities == ()


def test_a_placeholder_the_vault_did_not_assign_protects_nothing() -> None:
    text = "card <CARD_4111111111111111_1> or <PERSON_1>"
    found = [Entity("CREDIT_CARD", 11, 27, 1.0)]
    held = {"<PERSON_1>": ("PERSON", "Emma Clarke")}
    assert _outside_own_placeholders(text, found, held) == tuple(found)
