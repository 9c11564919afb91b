"""The hand-over gate through the embedded API: a ``Dialogue`` over a ``ChatGuard``
with the demo bot and a local server playing Genesys Cloud's login and Open
Messaging API. The quality-sampling question comes before the hand-over; the answer,
the timeout, the reuse of the answer, and withdrawals during the session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.clock import ManualClock
from chatguard.consent import (
    NO_PAYLOAD,
    YES_PAYLOAD,
    ConsentTexts,
    Decision,
    Purpose,
    Source,
    TextKind,
)
from chatguard.dialogue import Dialogue
from chatguard.guard import ChatGuard
from chatguard.handover import (
    AWAITING_CONSENT,
    REFERENCE_NOT_KEPT,
    AnswerDeadlines,
    UserReading,
)
from chatguard.outputs import VENDOR_DOWN, ShownOutput
from chatguard.settings import Settings
from chatguard.store.records import Author, ConsentRecord, EventKind
from chatguard.vendors.demo import DemoBot, VendorLog
from chatguard.vendors.genesys import GenesysOpenMessaging
from tests.vendors.genesys_fake import GenesysCloud, genesys_settings

NAME = "Anna Keller"
CARD = "4111 1111 1111 1111"
TEXTS = ConsentTexts.load()
QUESTION = TEXTS.get(TextKind.QUALITY_SAMPLING_QUESTION, "en").text
YES = TEXTS.get(TextKind.ANSWER_YES, "en").text
NO = TEXTS.get(TextKind.ANSWER_NO, "en").text
ANSWER_TIMEOUT = timedelta(minutes=2)
PRIVACY_PAGE = "https://chat.example.com/privacy"
REFERENCE = r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}"


#: Every consenting session sampled (rate 1, seeded), the question waiting 2 minutes.
CONSENT = {"sampling_rate": 1.0, "sampling_seed": 7, "answer_timeout": "2m"}


@pytest.fixture
def guard_settings() -> Settings:
    """The ``guard`` fixture's pipeline with ``CONSENT`` and the page's public address."""
    return Settings(consent=CONSENT, privacy={"page_url": PRIVACY_PAGE})


@pytest_asyncio.fixture(loop_scope="function")
async def cloud() -> AsyncIterator[tuple[GenesysCloud, str]]:
    fake = GenesysCloud()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/"))


@pytest_asyncio.fixture(loop_scope="function")
async def live(
    guard: ChatGuard, cloud: tuple[GenesysCloud, str]
) -> AsyncIterator[tuple[Dialogue, VendorLog, GenesysCloud]]:
    """A dialogue with the demo bot (its turns logged) and Genesys at the fake."""
    log = VendorLog()
    async with aiohttp.ClientSession() as http:
        agents = GenesysOpenMessaging(genesys_settings(cloud[1]), http, guard)
        yield Dialogue(guard, DemoBot(recorder=log), agents=agents), log, cloud[0]


def _flag(message: dict[str, Any]) -> str:
    attributes: dict[str, str] = message["body"]["channel"]["metadata"]["customAttributes"]
    return attributes["qualitySampling"]


async def _asked(dialogue: Dialogue, guard: ChatGuard) -> str:
    """A web conversation whose user told their name and card and asked for a human;
    its session. The question has just been asked."""
    session = (await guard.start_conversation("web")).session
    await dialogue.user_turn(session, f"Hi, I am {NAME}, card {CARD}")
    outputs = await dialogue.user_turn(session, "I want to talk to an agent")
    assert outputs[0].handover
    assert outputs[-1] == ShownOutput(
        QUESTION, (YES, NO), payloads=(YES_PAYLOAD, NO_PAYLOAD), consent=True
    )
    return session


async def _quality_records(guard: ChatGuard, session: str) -> list[ConsentRecord]:
    return [r for r in await guard.consents.history(session) if r.purpose == "quality_sampling"]


async def test_the_question_comes_before_the_hand_over_and_nothing_reaches_the_agents_first(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, _, cloud = live
    session = await _asked(dialogue, guard)

    assert cloud.inbound == []
    held = await guard.conversation(session)
    assert (held.awaiting, held.language, held.handed_over_at) == (AWAITING_CONSENT, "en", None)
    assert held.awaiting_until == guard.clock.now() + ANSWER_TIMEOUT
    [question] = [e for e in await guard.store.events(session) if e.kind is EventKind.CONSENT]
    assert (question.author, question.text) == (Author.SYSTEM, QUESTION)
    assert await _quality_records(guard, session) == []


async def test_yes_grants_shows_the_reference_once_samples_and_hands_over_allowed(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, log, cloud = live
    session = await _asked(dialogue, guard)
    bot_turns = len(log.exchanges(session))

    granted, notice = await dialogue.user_turn(session, YES)

    assert granted == ShownOutput(
        TEXTS.get(TextKind.QUALITY_SAMPLING_GRANTED, "en").text, consent=True
    )
    code = notice.text and notice.text.split("reference is ")[1][:14]
    assert code and await guard.references.find(code) is not None
    assert notice.text and PRIVACY_PAGE in notice.text  # where to use it after the chat
    [record] = await _quality_records(guard, session)
    assert (record.decision, record.source) == ("granted", "chat")
    assert (record.text_id, record.text_version, record.language) == (
        "quality_sampling_question",
        TEXTS.get(TextKind.QUALITY_SAMPLING_QUESTION, "en").version,
        "en",
    )
    [sample] = await guard.store.samples()  # rate 1: sampled, once
    assert sample.session == session
    held = await guard.conversation(session)
    assert held.awaiting is None and held.handed_over_at is not None
    assert held.reference is not None and held.reference != code

    [handover] = cloud.inbound
    assert _flag(handover) == "allowed"
    context = handover["body"]["text"]
    assert f"Customer: Hi, I am {NAME}, card <CREDIT_CARD_1>" in context
    assert "Customer: I want to talk to an agent" in context
    assert YES not in context and QUESTION not in context and CARD not in json.dumps(handover)
    assert len(log.exchanges(session)) == bot_turns  # the bot never saw the answer

    stored = [e.text for e in await guard.store.events(session)]
    assert YES in stored  # the answer is in the transcript
    assert code not in " ".join(stored)  # the code was shown once, never kept
    assert any(REFERENCE_NOT_KEPT in text for text in stored)

    assert await dialogue.user_turn(session, "When does the lounge open?") == []
    assert cloud.texts[1] == "When does the lounge open?" and _flag(cloud.inbound[1]) == "allowed"


async def test_no_declines_says_nothing_changes_and_hands_over_declined(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, _, cloud = live
    session = await _asked(dialogue, guard)

    outputs = await dialogue.user_turn(session, "", {"quick_reply": {"payload": NO_PAYLOAD}})

    declined = TEXTS.get(TextKind.QUALITY_SAMPLING_DECLINED, "en").text
    assert outputs == [ShownOutput(declined, consent=True)]
    assert "Nothing changes for your support" in declined
    [record] = await _quality_records(guard, session)
    assert (record.decision, record.text_id) == ("declined", "quality_sampling_question")
    assert await guard.store.samples() == []
    assert (await guard.conversation(session)).reference is None
    [handover] = cloud.inbound
    assert _flag(handover) == "declined"


async def test_anything_else_counts_as_no_and_reaches_the_agents_as_the_first_live_message(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, log, cloud = live
    session = await _asked(dialogue, guard)
    bot_turns = len(log.exchanges(session))

    outputs = await dialogue.user_turn(session, f"My card {CARD} was charged twice")

    assert [o.text for o in outputs] == [TEXTS.get(TextKind.QUALITY_SAMPLING_DECLINED, "en").text]
    [record] = await _quality_records(guard, session)
    assert record.decision == "declined"
    context, first = cloud.texts
    assert "charged twice" not in context
    assert first == "My card <CREDIT_CARD_1> was charged twice"
    assert [_flag(m) for m in cloud.inbound] == ["declined", "declined"]
    assert len(log.exchanges(session)) == bot_turns


async def test_a_timeout_counts_as_no_after_the_deadline_and_then_hands_over(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard, clock: ManualClock
) -> None:
    dialogue, _, cloud = live
    session = await _asked(dialogue, guard)
    deadlines = AnswerDeadlines()
    told: list[list[ShownOutput]] = []

    async def tell(_: object, outputs: list[ShownOutput]) -> None:
        told.append(outputs)

    deadlines.register("web", tell)

    clock.advance(ANSWER_TIMEOUT - timedelta(microseconds=1))
    assert await deadlines.check(dialogue.gate) == 0
    assert cloud.inbound == [] and await _quality_records(guard, session) == []

    clock.advance(timedelta(microseconds=1))
    assert await deadlines.check(dialogue.gate) == 1

    timed_out = TEXTS.get(TextKind.QUALITY_SAMPLING_TIMED_OUT, "en")
    assert told == [[ShownOutput(timed_out.text, consent=True)]]
    [record] = await _quality_records(guard, session)
    assert (record.decision, record.source) == ("declined", "chat")
    assert (record.text_id, record.text_version) == (timed_out.id, timed_out.version)
    assert record.at == clock.now()
    [handover] = cloud.inbound
    assert _flag(handover) == "declined"
    held = await guard.conversation(session)
    assert held.awaiting is None and held.handed_over_at == clock.now()
    assert (await guard.store.events(session))[-2].text == timed_out.text  # the web user sees it
    assert await deadlines.check(dialogue.gate) == 0


async def test_the_answer_and_the_deadline_racing_resolve_the_question_exactly_once(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard, clock: ManualClock
) -> None:
    dialogue, _, cloud = live
    gate = dialogue.gate
    sessions = [await _asked(dialogue, guard) for _ in range(4)]
    clock.advance(ANSWER_TIMEOUT)
    yes = UserReading(True, None, EventKind.CONSENT)

    for number, session in enumerate(sessions):
        seen = await guard.conversation(session)  # both read the open question
        racers = [gate.answer(seen, yes, YES, "en"), gate.expire(seen)]
        if number % 2:
            racers.reverse()
        results = await asyncio.gather(*racers)

        assert sum(result is not None for result in results) == 1
        [record] = await _quality_records(guard, session)  # one decision, never two
        assert record.decision in ("granted", "declined")
    assert len(cloud.inbound) == len(sessions)  # one hand-over each


async def test_a_second_hand_over_reuses_the_answer_without_asking_again(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, _, cloud = live
    session = await _asked(dialogue, guard)
    cloud.status = 503  # Genesys is down at the first hand-over
    outputs = await dialogue.user_turn(session, YES)
    assert outputs[-1] == ShownOutput(VENDOR_DOWN["en"])
    assert (await guard.conversation(session)).handed_over_at is None

    cloud.status = 202
    again = await dialogue.user_turn(session, "Talk to an agent, please")

    assert [o.consent for o in again] == [False]  # the bot's hand-over, no second question
    [record] = await _quality_records(guard, session)
    assert record.decision == "granted"
    assert [_flag(m) for m in cloud.inbound if m["accepted"]] == ["allowed"]
    assert (await guard.conversation(session)).handed_over_at is not None
    assert len(await guard.store.samples()) == 1  # sampled once, at the answer


async def test_withdrawal_during_the_session_is_confirmed_then_deletes_the_sample(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, _, cloud = live
    session = await _asked(dialogue, guard)
    await dialogue.user_turn(session, YES)
    assert len(await guard.store.samples()) == 1
    sent = len(cloud.inbound)

    [question] = await dialogue.user_turn(session, "I withdraw my consent")
    assert question.text == TEXTS.get(TextKind.WITHDRAW_QUALITY_SAMPLING_QUESTION, "en").text
    assert question.payloads == (YES_PAYLOAD, NO_PAYLOAD)
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)  # not yet

    [done] = await dialogue.user_turn(session, "yes")

    assert done.text == TEXTS.get(TextKind.WITHDRAWAL_DONE, "en").text
    assert await guard.consents.state(session, Purpose.QUALITY_SAMPLING) is Decision.WITHDRAWN
    assert await guard.store.samples() == []
    assert len(cloud.inbound) == sent  # the exchange reached no agent
    assert await dialogue.user_turn(session, "Thanks") == []
    assert _flag(cloud.inbound[-1]) == "declined"  # the agents are told from now on
    kinds = [(e.text, e.kind) for e in await guard.store.events(session) if e.author is Author.USER]
    assert ("I withdraw my consent", EventKind.CONSENT) in kinds and (
        "yes",
        EventKind.CONSENT,
    ) in kinds


async def test_a_withdrawal_in_a_later_session_of_the_same_user_covers_their_earlier_session(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, _, _ = live
    earlier = (await guard.start_conversation("web", user_id="customer-7")).session
    await dialogue.user_turn(earlier, "Talk to an agent")
    await dialogue.user_turn(earlier, YES)
    assert [s.session for s in await guard.store.samples()] == [earlier]

    later = (await guard.start_conversation("web", user_id="customer-7")).session
    [question] = await dialogue.user_turn(later, "I withdraw my consent")
    assert question.payloads == (YES_PAYLOAD, NO_PAYLOAD)
    await dialogue.user_turn(later, YES)

    assert await guard.consents.state(earlier, Purpose.QUALITY_SAMPLING) is Decision.WITHDRAWN
    assert await guard.store.samples() == []


async def test_a_withdrawal_is_cancelled_by_anything_but_yes_and_said_when_nothing_is_granted(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, log, _ = live
    session = (await guard.start_conversation("web")).session
    [nothing] = await dialogue.user_turn(session, "Einwilligung widerrufen")
    assert nothing.text == TEXTS.get(TextKind.NOTHING_TO_WITHDRAW, "de").text
    assert log.exchanges(session) == []

    session = await _asked(dialogue, guard)
    await dialogue.user_turn(session, YES)
    await dialogue.user_turn(session, "withdraw consent")
    [cancelled] = await dialogue.user_turn(session, "What time is my flight?")
    assert cancelled.text == TEXTS.get(TextKind.WITHDRAWAL_CANCELLED, "en").text
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
    assert len(await guard.store.samples()) == 1


async def test_text_that_merely_mentions_withdrawing_goes_to_the_bot_and_withdraws_nothing(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, log, _ = live
    session = (await guard.start_conversation("web")).session
    outputs = await dialogue.user_turn(session, "Can I withdraw money at the airport?")
    assert [o.consent for o in outputs] == [False]
    [exchange] = log.exchanges(session)
    assert exchange.turn.text == "Can I withdraw money at the airport?"
    assert (await guard.conversation(session)).awaiting is None


async def test_an_unanswered_withdrawal_question_is_dropped_silently_at_its_deadline(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard, clock: ManualClock
) -> None:
    dialogue, _, _ = live
    session = await _asked(dialogue, guard)
    await dialogue.user_turn(session, YES)
    await dialogue.user_turn(session, "I withdraw my consent")
    events = len(await guard.store.events(session))

    clock.advance(guard.settings.consent.withdrawal_timeout)
    assert await AnswerDeadlines().check(dialogue.gate) == 1

    assert (await guard.conversation(session)).awaiting is None
    assert len(await guard.store.events(session)) == events  # nothing said
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
    assert await dialogue.user_turn(session, "yes") == []  # no longer an answer: nothing asked
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


async def test_a_question_whose_time_ran_out_while_no_process_ran_is_resolved_after_a_restart(
    live: tuple[Dialogue, VendorLog, GenesysCloud],
    guard: ChatGuard,
    clock: ManualClock,
    another_guard: Callable[[], Awaitable[ChatGuard]],
    cloud: tuple[GenesysCloud, str],
) -> None:
    dialogue, _, fake = live
    session = await _asked(dialogue, guard)
    clock.advance(timedelta(hours=1))  # down meanwhile

    restarted = await another_guard()
    try:
        async with aiohttp.ClientSession() as http:
            agents = GenesysOpenMessaging(genesys_settings(cloud[1]), http, restarted)
            gate = Dialogue(restarted, DemoBot(), agents=agents).gate
            assert await AnswerDeadlines().check(gate) == 1
    finally:
        await restarted.close()
    [record] = await _quality_records(guard, session)
    assert (record.decision, record.text_id) == ("declined", "quality_sampling_timed_out")
    assert [_flag(m) for m in fake.inbound] == ["declined"]


async def test_push_consent_is_withdrawn_by_the_typed_word_and_then_notifications_are_refused(
    live: tuple[Dialogue, VendorLog, GenesysCloud], guard: ChatGuard
) -> None:
    dialogue, log, _ = live
    psid = "6123456789012345"
    conversation = await guard.start_conversation("messenger", user_id=psid)
    assert conversation.user is not None
    assert not await guard.may_notify("messenger", psid)  # nothing granted yet
    await guard.consents.record(
        conversation.user,
        Purpose.PUSH_NOTIFICATIONS,
        Decision.GRANTED,
        Source.MESSENGER_OPTIN,
        TEXTS.get(TextKind.PUSH_NOTIFICATIONS_GRANTED, "pt"),
        "pt",
    )
    assert await guard.may_notify("messenger", psid)

    [question] = await dialogue.user_turn(conversation.session, "Retirar")
    assert question.text == TEXTS.withdrawal_question("push_notifications", "pt").text or (
        question.text == TEXTS.withdrawal_question("push_notifications", "es").text
    )
    assert await guard.may_notify("messenger", psid)
    await dialogue.user_turn(conversation.session, "", {"quick_reply": {"payload": YES_PAYLOAD}})

    assert not await guard.may_notify("messenger", psid)
    assert log.exchanges(conversation.session) == []  # neither message reached the bot
