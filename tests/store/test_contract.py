"""The one contract every store backend keeps (``chatguard.store.base.Store``),
run against SQLite, Redis and PostgreSQL over real connections."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest

from chatguard.clock import ManualClock
from chatguard.errors import StoreError
from chatguard.store.base import Store
from chatguard.store.records import (
    NOTHING_AWAITED,
    AuditEntry,
    Author,
    ConsentRecord,
    Conversation,
    Delivery,
    DialogueChange,
    Direction,
    EventKind,
    Identity,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultRequest,
)
from tests.store.backends import conversation_writes_failing
from tests.store.conftest import Backend

Record = TypeVar("Record", ConsentRecord, AuditEntry)

DAY = timedelta(days=1)
RETENTION = 30 * DAY


# --- records ---------------------------------------------------------------------------


def conversation(
    clock: ManualClock,
    session: str = "guest-aaaa",
    user: str | None = None,
    *,
    offset: timedelta = timedelta(0),
    keep: timedelta = RETENTION,
) -> Conversation:
    start = clock.now() + offset
    return Conversation(
        session=session,
        channel="web",
        user=user,
        created_at=start,
        last_activity=start,
        expires_at=clock.now() + keep,
    )


def event(
    clock: ManualClock,
    session: str = "guest-aaaa",
    text: str = "hello <PERSON_1>",
    *,
    at: datetime | None = None,
    keep: timedelta = RETENTION,
) -> TranscriptEvent:
    return TranscriptEvent(
        session=session,
        at=at or clock.now(),
        direction=Direction.INBOUND,
        author=Author.USER,
        text=text,
        expires_at=clock.now() + keep,
    )


def delivery(clock: ManualClock, key: str = "d" * 64, *, keep: timedelta = 7 * DAY) -> Delivery:
    return Delivery(key=key, expires_at=clock.now() + keep)


def request(digest: str, entity_type: str = "PERSON") -> VaultRequest:
    return VaultRequest(
        entity_type=entity_type, digest=digest, sealed_value=b"sealed:" + digest.encode()
    )


def identity(clock: ManualClock, user: str = "user-1", *, keep: timedelta = RETENTION) -> Identity:
    return Identity(
        user=user, sealed_identity=b"\x00sealed-psid\xff", expires_at=clock.now() + keep
    )


def consent(
    clock: ManualClock,
    subject: str = "guest-aaaa",
    decision: str = "granted",
    *,
    offset: timedelta = timedelta(0),
    keep: timedelta = RETENTION,
) -> ConsentRecord:
    return ConsentRecord(
        subject=subject,
        purpose="quality_sampling",
        decision=decision,
        at=clock.now() + offset,
        source="chat",
        text_id="consent.quality",
        text_version="3",
        language="pt",
        expires_at=clock.now() + keep,
    )


def sample(
    clock: ManualClock,
    session: str = "guest-aaaa",
    *,
    offset: timedelta = timedelta(0),
    keep: timedelta = RETENTION,
) -> Sample:
    return Sample(session=session, sampled_at=clock.now() + offset, expires_at=clock.now() + keep)


def audit(
    clock: ManualClock,
    action: str = "sweep",
    *,
    offset: timedelta = timedelta(0),
    keep: timedelta = RETENTION,
) -> AuditEntry:
    return AuditEntry(
        at=clock.now() + offset,
        action=action,
        expires_at=clock.now() + keep,
        counts={"transcripts": 3, "vault": 1},
        subject="guest-aaaa",
        actor="operator",
        reason="ticket 42",
    )


def with_dialogue_state(
    saved: Conversation,
    clock: ManualClock,
    *,
    reference: str | None = "ref-digest-a",
    due: timedelta = timedelta(minutes=2),
) -> Conversation:
    """``saved`` with every field of the dialogue's state set."""
    now = clock.now()
    return dataclasses.replace(
        saved,
        language="pt",
        handed_over_at=now,
        awaiting="consent_answer",
        awaiting_since=now,
        awaiting_until=now + due,
        reference=reference,
    )


def nonzero(counts: dict[RecordKind, int]) -> dict[RecordKind, int]:
    """Counts without the kinds of which nothing was deleted (they may be absent)."""
    return {kind: count for kind, count in counts.items() if count}


async def write_one_of_each(
    store: Store, clock: ManualClock, session: str, user: str, keep: timedelta
) -> None:
    """A conversation with the dialogue's state (reference ``{session}-reference``,
    awaiting an answer) and two events (the second recorded with a delivery keyed
    ``{session}-delivery``), two vault entries, a sample, a consent each for the
    session and the user, the user's identity and an audit entry."""
    held = with_dialogue_state(
        conversation(clock, session, user, keep=keep), clock, reference=f"{session}-reference"
    )
    await store.save_conversation(held)
    await store.append_event(event(clock, session, keep=keep))
    await store.record_event(
        event(clock, session, "thanks", keep=keep),
        held,
        delivery=delivery(clock, f"{session}-delivery", keep=keep),
    )
    await store.assign_placeholders(
        session,
        [request(f"{session}-p"), request(f"{session}-e", "EMAIL_ADDRESS")],
        clock.now() + keep,
    )
    await store.save_sample(sample(clock, session, keep=keep))
    await store.append_consent(consent(clock, session, keep=keep))
    await store.append_consent(consent(clock, user, keep=keep))
    await store.save_identity(identity(clock, user, keep=keep))
    await store.append_audit(audit(clock, keep=keep))


# --- lifecycle -------------------------------------------------------------------------


async def test_open_is_idempotent_and_ping_answers(store: Store) -> None:
    await store.open()
    await store.ping()


# --- conversations ---------------------------------------------------------------------


async def test_saved_conversation_is_read_back_unchanged(store: Store, clock: ManualClock) -> None:
    saved = conversation(clock, user="user-1")
    await store.save_conversation(saved)
    assert await store.get_conversation(saved.session) == saved


async def test_saving_a_conversation_again_replaces_it(store: Store, clock: ManualClock) -> None:
    await store.save_conversation(conversation(clock))
    later = dataclasses.replace(
        conversation(clock, user="user-1", keep=RETENTION + DAY),
        last_activity=clock.now() + timedelta(minutes=5),
    )
    await store.save_conversation(later)
    assert await store.get_conversation(later.session) == later


async def test_an_unknown_conversation_is_none(store: Store) -> None:
    assert await store.get_conversation("guest-none") is None
    assert await store.conversations_of("user-none") == []


async def test_conversations_of_a_user_are_theirs_only_and_oldest_first(
    store: Store, clock: ManualClock
) -> None:
    second = conversation(clock, "guest-2", "user-1", offset=timedelta(hours=2))
    first = conversation(clock, "guest-1", "user-1", offset=timedelta(hours=1))
    await store.save_conversation(second)
    await store.save_conversation(first)
    await store.save_conversation(conversation(clock, "guest-3", "user-2"))
    await store.save_conversation(conversation(clock, "guest-4", None))
    assert await store.conversations_of("user-1") == [first, second]


# --- the dialogue's state of a conversation -------------------------------------------


async def test_the_dialogues_state_is_saved_and_read_back_with_the_conversation(
    store: Store, clock: ManualClock
) -> None:
    bare = conversation(clock, "guest-a", "user-1")
    await store.save_conversation(bare)
    assert await store.get_conversation("guest-a") == bare
    assert (bare.language, bare.handed_over_at, bare.awaiting, bare.reference) == (None,) * 4

    stateful = with_dialogue_state(bare, clock)
    await store.save_conversation(stateful)
    assert await store.get_conversation("guest-a") == stateful
    assert await store.conversations_of("user-1") == [stateful]

    cleared = dataclasses.replace(
        stateful, awaiting=None, awaiting_since=None, awaiting_until=None, reference=None
    )
    await store.save_conversation(cleared)
    assert await store.get_conversation("guest-a") == cleared


async def test_record_event_inserts_a_new_conversation_whole_with_its_dialogue_state(
    store: Store, clock: ManualClock
) -> None:
    stateful = with_dialogue_state(conversation(clock, "guest-a"), clock)
    assert await store.record_event(event(clock, "guest-a"), stateful) == 1
    assert await store.get_conversation("guest-a") == stateful
    assert await store.conversation_by_reference("ref-digest-a") == stateful
    assert await store.conversations_awaiting(clock.now() + DAY, 10) == [stateful]


async def test_record_event_with_a_stale_copy_moves_only_activity_and_expiry_and_loses_no_state(
    store: Store, clock: ManualClock
) -> None:
    read_before = conversation(clock, "guest-a", "user-1")
    await store.save_conversation(read_before)
    asked = with_dialogue_state(read_before, clock)  # changed while a turn was redacting
    assert await store.update_dialogue("guest-a", _dialogue_of(asked))

    clock.advance(timedelta(minutes=1))
    stale = dataclasses.replace(
        read_before, last_activity=clock.now(), expires_at=clock.now() + RETENTION
    )
    assert await store.record_event(event(clock, "guest-a"), stale) == 1

    moved = dataclasses.replace(
        asked, last_activity=stale.last_activity, expires_at=stale.expires_at
    )
    assert await store.get_conversation("guest-a") == moved
    assert await store.conversation_by_reference("ref-digest-a") == moved
    assert await store.conversations_awaiting(clock.now() + DAY, 10) == [moved]

    older = dataclasses.replace(  # a write that read the clock earlier never moves it back
        stale,
        last_activity=stale.last_activity - timedelta(seconds=1),
        expires_at=stale.expires_at - timedelta(seconds=1),
        user="user-2",
    )
    assert await store.record_event(event(clock, "guest-a"), older) == 2
    assert await store.get_conversation("guest-a") == moved
    assert await store.conversations_of("user-2") == []


async def test_a_conversation_moved_by_record_event_expires_at_its_new_expiry(
    store: Store, clock: ManualClock
) -> None:
    await store.save_conversation(
        with_dialogue_state(conversation(clock, "guest-a", "user-1", keep=DAY), clock)
    )
    clock.advance(DAY / 2)
    later = conversation(clock, "guest-a", "user-1", keep=DAY)
    await store.record_event(event(clock, "guest-a"), later)

    clock.advance(DAY / 2)  # past the first expiry, before the new one
    held = await store.get_conversation("guest-a")
    assert held is not None and held.expires_at == later.expires_at
    assert await store.conversations_of("user-1") == [held]
    assert await store.conversation_by_reference("ref-digest-a") == held
    assert RecordKind.CONVERSATIONS not in nonzero(await store.sweep(clock.now()))
    assert await store.get_conversation("guest-a") == held


def _dialogue_of(conversation: Conversation) -> DialogueChange:
    """The change that gives a conversation ``conversation``'s dialogue state."""
    return DialogueChange(
        language=conversation.language,
        handed_over_at=conversation.handed_over_at,
        awaiting=conversation.awaiting,
        awaiting_since=conversation.awaiting_since,
        awaiting_until=conversation.awaiting_until,
        reference=conversation.reference,
    )


async def test_update_dialogue_changes_the_given_fields_only_with_their_look_ups(
    store: Store, clock: ManualClock
) -> None:
    bare = conversation(clock, "guest-a", "user-1")
    await store.save_conversation(bare)
    now = clock.now()

    assert await store.update_dialogue("guest-a", DialogueChange(language="de"))
    assert await store.get_conversation("guest-a") == dataclasses.replace(bare, language="de")

    asked = DialogueChange(
        awaiting="consent_answer", awaiting_since=now, awaiting_until=now + timedelta(minutes=2)
    )
    assert await store.update_dialogue("guest-a", asked)
    with_question = asked.applied_to(dataclasses.replace(bare, language="de"))
    assert await store.get_conversation("guest-a") == with_question
    assert await store.conversations_awaiting(now + DAY, 10) == [with_question]

    assert await store.update_dialogue("guest-a", DialogueChange(reference="ref-digest-a"))
    assert await store.update_dialogue("guest-a", DialogueChange(reference="ref-digest-b"))
    assert await store.conversation_by_reference("ref-digest-a") is None
    referenced = dataclasses.replace(with_question, reference="ref-digest-b")
    assert await store.conversation_by_reference("ref-digest-b") == referenced

    answered = dataclasses.replace(NOTHING_AWAITED, handed_over_at=now, reference=None)
    assert await store.update_dialogue("guest-a", answered)
    final = answered.applied_to(referenced)
    assert final.awaiting is None and final.reference is None and final.language == "de"
    assert await store.get_conversation("guest-a") == final
    assert await store.conversations_awaiting(now + DAY, 10) == []
    assert await store.conversation_by_reference("ref-digest-b") is None
    assert await store.conversations_of("user-1") == [final]

    with pytest.raises(ValueError, match="change"):
        await store.update_dialogue("guest-a", DialogueChange())


async def test_update_dialogue_of_an_unknown_or_expired_conversation_changes_nothing(
    store: Store, clock: ManualClock
) -> None:
    assert not await store.update_dialogue("guest-none", DialogueChange(language="pt"))
    assert await store.get_conversation("guest-none") is None

    await store.save_conversation(conversation(clock, "guest-a", keep=DAY))
    clock.advance(DAY)
    assert not await store.update_dialogue("guest-a", DialogueChange(language="pt"))
    assert await store.conversations_awaiting(clock.now() + DAY, 10) == []


async def test_update_dialogue_compares_what_is_awaited_before_it_sets(
    store: Store, clock: ManualClock
) -> None:
    await store.save_conversation(conversation(clock, "guest-a"))
    asked_at = clock.now()
    question = DialogueChange(
        awaiting="consent_answer",
        awaiting_since=asked_at,
        awaiting_until=asked_at + timedelta(minutes=2),
    )
    other = dataclasses.replace(question, awaiting="withdrawal:quality_sampling")

    assert await store.update_dialogue("guest-a", question, expect_awaiting_since=None)
    assert not await store.update_dialogue("guest-a", other, expect_awaiting_since=None)
    wrong_time = asked_at - timedelta(microseconds=1)
    assert not await store.update_dialogue(
        "guest-a", NOTHING_AWAITED, expect_awaiting_since=wrong_time
    )
    held = await store.get_conversation("guest-a")
    assert held is not None and held.awaiting == "consent_answer"

    assert await store.update_dialogue("guest-a", NOTHING_AWAITED, expect_awaiting_since=asked_at)
    assert not await store.update_dialogue(
        "guest-a", NOTHING_AWAITED, expect_awaiting_since=asked_at
    )
    assert await store.update_dialogue("guest-a", other, expect_awaiting_since=None)
    held = await store.get_conversation("guest-a")
    assert held is not None and held.awaiting == "withdrawal:quality_sampling"


async def test_of_concurrent_compare_and_sets_on_one_question_exactly_one_wins(
    store: Store, clock: ManualClock
) -> None:
    await store.save_conversation(conversation(clock, "guest-a"))
    asked_at = clock.now()
    await store.update_dialogue(
        "guest-a",
        DialogueChange(
            awaiting="consent_answer",
            awaiting_since=asked_at,
            awaiting_until=asked_at + timedelta(minutes=2),
        ),
    )
    languages = ["de", "en", "es", "fr", "it", "pt", "nl", "pl", "sv", "da"]
    results = await asyncio.gather(
        *(
            store.update_dialogue(
                "guest-a",
                dataclasses.replace(NOTHING_AWAITED, language=language),
                expect_awaiting_since=asked_at,
            )
            for language in languages
        )
    )
    assert results.count(True) == 1
    held = await store.get_conversation("guest-a")
    assert held is not None and held.awaiting is None
    assert held.language == languages[results.index(True)]


async def test_a_conversation_is_found_by_its_reference_while_it_holds_it_and_is_held(
    store: Store, clock: ManualClock
) -> None:
    mine = with_dialogue_state(conversation(clock, "guest-a", keep=DAY), clock)
    theirs = with_dialogue_state(conversation(clock, "guest-b"), clock, reference="ref-digest-b")
    await store.save_conversation(mine)
    await store.save_conversation(theirs)

    assert await store.conversation_by_reference("ref-digest-a") == mine
    assert await store.conversation_by_reference("ref-digest-b") == theirs
    assert await store.conversation_by_reference("ref-digest-c") is None

    renamed = dataclasses.replace(theirs, reference="ref-digest-c")
    await store.save_conversation(renamed)
    assert await store.conversation_by_reference("ref-digest-b") is None
    assert await store.conversation_by_reference("ref-digest-c") == renamed

    clock.advance(DAY)
    assert await store.conversation_by_reference("ref-digest-a") is None


async def test_a_reference_two_conversations_hold_finds_neither(
    store: Store, clock: ManualClock
) -> None:
    for session in ("guest-a", "guest-b"):
        await store.save_conversation(with_dialogue_state(conversation(clock, session), clock))
    assert await store.conversation_by_reference("ref-digest-a") is None

    await store.erase_session("guest-b")
    found = await store.conversation_by_reference("ref-digest-a")
    assert found is not None and found.session == "guest-a"


async def test_conversations_awaiting_are_those_due_earliest_deadline_first_up_to_the_limit(
    store: Store, clock: ManualClock
) -> None:
    minute = timedelta(minutes=1)
    for session, due in (("guest-c", 2), ("guest-a", 3), ("guest-b", 2), ("guest-d", 9)):
        await store.save_conversation(
            with_dialogue_state(
                conversation(clock, session), clock, reference=None, due=due * minute
            )
        )
    await store.save_conversation(conversation(clock, "guest-idle"))

    due_by_3 = await store.conversations_awaiting(clock.now() + 3 * minute, 10)
    assert [c.session for c in due_by_3] == ["guest-b", "guest-c", "guest-a"]
    assert [c.session for c in await store.conversations_awaiting(clock.now() + 3 * minute, 2)] == [
        "guest-b",
        "guest-c",
    ]
    assert await store.conversations_awaiting(clock.now() + minute, 10) == []

    answered = await store.get_conversation("guest-b")
    assert answered is not None
    await store.save_conversation(
        dataclasses.replace(answered, awaiting=None, awaiting_since=None, awaiting_until=None)
    )
    assert [c.session for c in await store.conversations_awaiting(clock.now() + DAY, 10)] == [
        "guest-c",
        "guest-a",
        "guest-d",
    ]
    with pytest.raises(ValueError, match="limit"):
        await store.conversations_awaiting(clock.now(), 0)


async def test_an_expired_conversation_awaits_nothing_and_the_limit_counts_only_held_ones(
    store: Store, clock: ManualClock
) -> None:
    minute = timedelta(minutes=1)
    for number in range(3):
        gone = conversation(clock, f"guest-old{number}", keep=timedelta(hours=1))
        await store.save_conversation(with_dialogue_state(gone, clock, reference=None, due=minute))
    held = with_dialogue_state(conversation(clock, "guest-new"), clock, reference=None, due=minute)
    await store.save_conversation(held)

    clock.advance(timedelta(hours=2))
    assert await store.conversations_awaiting(clock.now(), 1) == [held]
    await store.sweep(clock.now())
    assert await store.conversations_awaiting(clock.now(), 10) == [held]


async def test_an_erased_conversation_is_found_neither_by_reference_nor_as_awaiting(
    store: Store, clock: ManualClock
) -> None:
    for session, user, reference in (
        ("guest-a", None, "ref-digest-a"),
        ("guest-b", "user-1", "ref-digest-b"),
        ("guest-c", "user-2", "ref-digest-c"),
    ):
        saved = conversation(clock, session, user)
        await store.save_conversation(with_dialogue_state(saved, clock, reference=reference))

    await store.erase_session("guest-a")
    await store.erase_user("user-1")

    assert await store.conversation_by_reference("ref-digest-a") is None
    assert await store.conversation_by_reference("ref-digest-b") is None
    assert await store.conversation_by_reference("ref-digest-c") is not None
    due = await store.conversations_awaiting(clock.now() + DAY, 10)
    assert [c.session for c in due] == ["guest-c"]


# --- transcripts -----------------------------------------------------------------------


async def test_append_event_numbers_each_conversation_from_one(
    store: Store, clock: ManualClock
) -> None:
    assert [await store.append_event(event(clock, "guest-a")) for _ in range(3)] == [1, 2, 3]
    assert await store.append_event(event(clock, "guest-b")) == 1
    assert await store.append_event(event(clock, "guest-a")) == 4


async def test_events_come_back_in_seq_order_with_every_field(
    store: Store, clock: ManualClock
) -> None:
    first = event(clock, text="I need to change <BOOKING_REFERENCE_1>")
    reply = TranscriptEvent(
        session=first.session,
        at=clock.now() + timedelta(seconds=1),
        direction=Direction.OUTBOUND,
        author=Author.AGENT,
        text="Done, <PERSON_1>.",
        expires_at=first.expires_at,
        seq=99,  # ignored: the store assigns seq
    )
    thumbs = TranscriptEvent(
        session=first.session,
        at=clock.now() + timedelta(seconds=2),
        direction=Direction.INBOUND,
        author=Author.USER,
        text="",
        expires_at=first.expires_at,
        kind=EventKind.FEEDBACK,
        feedback="up",
    )
    for appended in (first, reply, thumbs):
        await store.append_event(appended)
    assert await store.events(first.session) == [
        _with_seq(first, 1),
        _with_seq(reply, 2),
        _with_seq(thumbs, 3),
    ]
    assert await store.events("guest-other") == []


async def test_events_between_spans_sessions_since_inclusive_until_exclusive_by_time_session_seq(
    store: Store, clock: ManualClock
) -> None:
    t0 = clock.now()
    minute = timedelta(minutes=1)
    await store.append_event(event(clock, "guest-b", "b1", at=t0 + minute))
    await store.append_event(event(clock, "guest-a", "a1", at=t0 + 2 * minute))
    await store.append_event(event(clock, "guest-b", "b2", at=t0 + minute))
    await store.append_event(event(clock, "guest-a", "a2", at=t0 + minute))
    await store.append_event(event(clock, "guest-a", "before", at=t0))
    await store.append_event(event(clock, "guest-b", "at-until", at=t0 + 3 * minute))

    found = await store.events_between(t0 + minute, t0 + 3 * minute)

    assert [(e.session, e.seq, e.text) for e in found] == [
        ("guest-a", 2, "a2"),
        ("guest-b", 1, "b1"),
        ("guest-b", 2, "b2"),
        ("guest-a", 1, "a1"),
    ]


# --- one message, recorded once ------------------------------------------------------------


async def record(
    store: Store,
    clock: ManualClock,
    session: str = "guest-a",
    key: str | None = "d" * 64,
    *,
    user: str | None = None,
    text: str = "hello",
    keep: timedelta = 7 * DAY,
) -> int | None:
    """``record_event`` of a message in ``session``, its conversation saved, with the
    delivery ``key`` (none when ``None``) kept for ``keep``."""
    once = None if key is None else delivery(clock, key, keep=keep)
    saved = conversation(clock, session, user)
    return await store.record_event(event(clock, session, text), saved, delivery=once)


async def test_record_event_appends_the_event_and_saves_the_conversation(
    store: Store, clock: ManualClock
) -> None:
    await store.append_event(event(clock, "guest-a", "first"))
    later = dataclasses.replace(
        conversation(clock, "guest-a", "user-1"), last_activity=clock.now() + timedelta(minutes=1)
    )

    assert await store.record_event(event(clock, "guest-a", "second"), later) == 2
    assert await store.record_event(event(clock, "guest-a", "third"), later) == 3

    assert [(e.seq, e.text) for e in await store.events("guest-a")] == [
        (1, "first"),
        (2, "second"),
        (3, "third"),
    ]
    assert await store.get_conversation("guest-a") == later
    assert await store.conversations_of("user-1") == [later]


async def test_a_record_event_that_fails_leaves_neither_event_nor_conversation_nor_delivery(
    store: Store, backend: Backend, clock: ManualClock
) -> None:
    async with conversation_writes_failing(backend.kind, backend.isolation, "guest-a"):
        with pytest.raises(StoreError):
            await record(store, clock, "guest-a", user="user-1")
        assert await store.events("guest-a") == []
        assert await store.conversations_of("user-1") == []

    assert await store.get_conversation("guest-a") is None
    assert await record(store, clock, "guest-a", user="user-1") == 1
    assert await store.get_conversation("guest-a") == conversation(clock, "guest-a", "user-1")


async def test_an_event_of_another_conversation_is_refused_and_nothing_is_written(
    store: Store, clock: ManualClock
) -> None:
    with pytest.raises(ValueError, match="conversation"):
        await store.record_event(
            event(clock, "guest-a"), conversation(clock, "guest-b"), delivery=delivery(clock)
        )
    assert await store.events("guest-a") == []
    assert await store.get_conversation("guest-b") is None
    assert await record(store, clock, "guest-a") == 1


async def test_a_message_delivered_again_is_not_recorded_again(
    store: Store, clock: ManualClock
) -> None:
    assert await record(store, clock, "guest-a", text="hello") == 1
    first = await store.get_conversation("guest-a")

    clock.advance(timedelta(hours=1))
    assert await record(store, clock, "guest-a", text="hello again") is None

    assert [e.text for e in await store.events("guest-a")] == ["hello"]
    assert await store.get_conversation("guest-a") == first
    assert await record(store, clock, "guest-a", "another key") == 2


async def test_a_delivery_is_recognised_in_any_conversation(
    store: Store, clock: ManualClock
) -> None:
    assert await record(store, clock, "guest-a") == 1
    assert await record(store, clock, "guest-b") is None
    assert await store.events("guest-b") == []
    assert await store.get_conversation("guest-b") is None


async def test_a_message_delivered_again_after_its_delivery_expired_is_recorded_again(
    store: Store, clock: ManualClock
) -> None:
    hour = timedelta(hours=1)
    assert await record(store, clock, keep=hour) == 1
    clock.advance(hour - timedelta(microseconds=1))
    assert await record(store, clock, keep=hour) is None

    clock.advance(timedelta(microseconds=1))
    assert await record(store, clock, keep=hour) == 2
    assert await record(store, clock, keep=hour) is None
    assert [e.seq for e in await store.events("guest-a")] == [1, 2]


async def test_ten_concurrent_records_of_one_delivery_write_exactly_one_event(
    store: Store, clock: ManualClock
) -> None:
    results = await asyncio.gather(
        *(record(store, clock, "guest-a", text=f"copy {i}") for i in range(10))
    )
    assert sorted(results, key=lambda seq: seq is None) == [1] + [None] * 9
    [stored] = await store.events("guest-a")
    assert stored.text == f"copy {results.index(1)}"


async def test_sweep_deletes_and_counts_expired_deliveries_only(
    store: Store, clock: ManualClock
) -> None:
    await record(store, clock, key="old", keep=DAY)
    await record(store, clock, key="new", keep=7 * DAY)
    clock.advance(2 * DAY)

    assert nonzero(await store.sweep(clock.now())) == {RecordKind.DELIVERIES: 1}

    assert await record(store, clock, key="new") is None
    assert await record(store, clock, key="old") == 3


async def test_an_erased_session_forgets_its_deliveries(store: Store, clock: ManualClock) -> None:
    await record(store, clock, "guest-a", "a", user="user-1")
    await record(store, clock, "guest-b", "b", user="user-1")
    await record(store, clock, "guest-c", "c", user="user-2")

    assert nonzero(await store.erase_session("guest-a")).get(RecordKind.DELIVERIES) == 1
    assert nonzero(await store.erase_user("user-1")).get(RecordKind.DELIVERIES) == 1

    assert await record(store, clock, "guest-a", "a") == 1
    assert await record(store, clock, "guest-b", "b") == 1
    assert await record(store, clock, "guest-c", "c") is None


# --- placeholder vault -----------------------------------------------------------------


async def test_a_value_keeps_its_placeholder_in_later_calls(
    store: Store, clock: ManualClock
) -> None:
    expires = clock.now() + RETENTION
    assert await store.assign_placeholders("guest-a", [request("anna")], expires) == ["<PERSON_1>"]
    assert await store.assign_placeholders(
        "guest-a", [request("bob"), request("anna")], expires
    ) == [
        "<PERSON_2>",
        "<PERSON_1>",
    ]


async def test_new_values_are_numbered_per_type(store: Store, clock: ManualClock) -> None:
    expires = clock.now() + RETENTION
    placeholders = await store.assign_placeholders(
        "guest-a",
        [request("anna"), request("anna@example.org", "EMAIL_ADDRESS"), request("bob")],
        expires,
    )
    assert placeholders == ["<PERSON_1>", "<EMAIL_ADDRESS_1>", "<PERSON_2>"]
    assert await store.assign_placeholders("guest-a", [request("carl")], expires) == ["<PERSON_3>"]


async def test_duplicates_in_one_call_share_a_placeholder(store: Store, clock: ManualClock) -> None:
    placeholders = await store.assign_placeholders(
        "guest-a",
        [request("anna"), request("bob"), request("anna"), request("anna", "LOCATION")],
        clock.now() + RETENTION,
    )
    assert placeholders == ["<PERSON_1>", "<PERSON_2>", "<PERSON_1>", "<LOCATION_1>"]
    assert len(await store.vault_entries("guest-a")) == 3


async def test_placeholders_belong_to_their_conversation(store: Store, clock: ManualClock) -> None:
    expires = clock.now() + RETENTION
    await store.assign_placeholders("guest-a", [request("anna"), request("bob")], expires)
    assert await store.assign_placeholders("guest-b", [request("bob")], expires) == ["<PERSON_1>"]


async def test_no_requests_give_no_placeholders(store: Store, clock: ManualClock) -> None:
    assert await store.assign_placeholders("guest-a", [], clock.now() + RETENTION) == []
    assert await store.vault_entries("guest-a") == []


async def test_assigning_again_extends_an_entrys_expiry_but_never_shortens_it(
    store: Store, clock: ManualClock
) -> None:
    await store.assign_placeholders("guest-a", [request("anna")], clock.now() + DAY)
    await store.assign_placeholders("guest-a", [request("anna")], clock.now() + 2 * DAY)
    await store.assign_placeholders("guest-a", [request("anna")], clock.now() + timedelta(hours=1))
    [entry] = await store.vault_entries("guest-a")
    assert entry.expires_at == clock.now() + 2 * DAY

    clock.advance(DAY + timedelta(hours=1))
    assert [e.placeholder for e in await store.vault_entries("guest-a")] == ["<PERSON_1>"]


async def test_vault_entries_hold_the_sealed_values_all_or_the_ones_asked_for(
    store: Store, clock: ManualClock
) -> None:
    expires = clock.now() + RETENTION
    await store.assign_placeholders(
        "guest-a", [request("anna"), request("bob"), request("a@x.org", "EMAIL_ADDRESS")], expires
    )
    await store.assign_placeholders("guest-b", [request("carl")], expires)

    entries = {entry.placeholder: entry for entry in await store.vault_entries("guest-a")}
    assert set(entries) == {"<PERSON_1>", "<PERSON_2>", "<EMAIL_ADDRESS_1>"}
    email = entries["<EMAIL_ADDRESS_1>"]
    assert (email.session, email.entity_type, email.digest) == (
        "guest-a",
        "EMAIL_ADDRESS",
        "a@x.org",
    )
    assert email.sealed_value == b"sealed:a@x.org"
    assert email.expires_at == expires

    chosen = await store.vault_entries("guest-a", ["<PERSON_2>", "<EMAIL_ADDRESS_1>", "<PERSON_9>"])
    assert sorted(entry.placeholder for entry in chosen) == ["<EMAIL_ADDRESS_1>", "<PERSON_2>"]
    assert await store.vault_entries("guest-a", []) == []


# --- identities ------------------------------------------------------------------------


async def test_identity_is_saved_read_back_and_replaced(store: Store, clock: ManualClock) -> None:
    saved = identity(clock)
    await store.save_identity(saved)
    assert await store.get_identity("user-1") == saved
    replaced = Identity(
        user="user-1", sealed_identity=b"rotated", expires_at=clock.now() + 2 * RETENTION
    )
    await store.save_identity(replaced)
    assert await store.get_identity("user-1") == replaced
    assert await store.get_identity("user-2") is None


# --- consents --------------------------------------------------------------------------


async def test_consents_are_appended_with_ids_and_read_oldest_first(
    store: Store, clock: ManualClock
) -> None:
    later = consent(clock, decision="withdrawn", offset=timedelta(minutes=5))
    granted = consent(clock, decision="granted")
    tie = consent(clock, decision="declined", offset=timedelta(minutes=5))
    later_id = await store.append_consent(later)
    granted_id = await store.append_consent(granted)
    tie_id = await store.append_consent(tie)
    await store.append_consent(consent(clock, subject="guest-other"))

    assert len({later_id, granted_id, tie_id}) == 3
    assert later_id < tie_id
    assert await store.consents("guest-aaaa") == [
        _with_id(granted, granted_id),
        _with_id(later, later_id),
        _with_id(tie, tie_id),
    ]
    assert await store.consents("guest-none") == []


# --- quality samples -------------------------------------------------------------------


async def test_samples_are_saved_listed_oldest_first_replaced_and_deleted(
    store: Store, clock: ManualClock
) -> None:
    newer = sample(clock, "guest-b", offset=timedelta(minutes=1))
    older = sample(clock, "guest-a")
    await store.save_sample(newer)
    await store.save_sample(older)
    assert await store.samples() == [older, newer]

    replaced = sample(clock, "guest-a", offset=timedelta(minutes=2))
    await store.save_sample(replaced)
    assert await store.samples() == [newer, replaced]

    assert await store.delete_sample("guest-a") is True
    assert await store.delete_sample("guest-a") is False
    assert await store.samples() == [newer]


# --- audit -----------------------------------------------------------------------------


async def test_audit_entries_are_appended_and_read_since_a_time(
    store: Store, clock: ManualClock
) -> None:
    first = audit(clock, "sweep")
    second = audit(clock, "erase", offset=timedelta(minutes=1))
    third = AuditEntry(
        at=clock.now() + timedelta(minutes=2), action="export", expires_at=clock.now() + RETENTION
    )
    first_id = await store.append_audit(first)
    second_id = await store.append_audit(second)
    third_id = await store.append_audit(third)
    assert first_id < second_id < third_id

    everything = await store.audit_entries()
    assert everything == [
        _with_id(first, first_id),
        _with_id(second, second_id),
        _with_id(third, third_id),
    ]
    assert await store.audit_entries(since=second.at) == everything[1:]
    assert await store.audit_entries(since=clock.now() + DAY) == []


# --- expiry ----------------------------------------------------------------------------


async def test_expired_records_are_invisible_before_any_sweep(
    store: Store, clock: ManualClock
) -> None:
    await write_one_of_each(store, clock, "guest-a", "user-1", keep=timedelta(hours=1))
    clock.advance(timedelta(hours=1, seconds=1))
    await _assert_nothing_visible(store, clock, "guest-a", "user-1")


async def test_a_record_is_expired_from_the_instant_it_expires(
    store: Store, clock: ManualClock
) -> None:
    await write_one_of_each(store, clock, "guest-a", "user-1", keep=timedelta(hours=1))
    clock.advance(timedelta(hours=1) - timedelta(microseconds=1))
    assert await store.get_conversation("guest-a") is not None
    clock.advance(timedelta(microseconds=1))
    await _assert_nothing_visible(store, clock, "guest-a", "user-1")


async def test_an_expired_placeholder_is_not_given_out_again_with_its_old_value(
    store: Store, clock: ManualClock
) -> None:
    await store.assign_placeholders("guest-a", [request("anna")], clock.now() + DAY)
    clock.advance(2 * DAY)
    renewed = VaultRequest(entity_type="PERSON", digest="anna", sealed_value=b"resealed")
    [placeholder] = await store.assign_placeholders("guest-a", [renewed], clock.now() + DAY)
    [entry] = await store.vault_entries("guest-a")
    assert entry.placeholder == placeholder
    assert (entry.sealed_value, entry.expires_at) == (b"resealed", clock.now() + DAY)


async def test_sweep_deletes_exactly_the_expired_records_and_counts_them_per_kind(
    store: Store, clock: ManualClock
) -> None:
    await write_one_of_each(store, clock, "guest-old", "user-old", keep=DAY)
    await write_one_of_each(store, clock, "guest-new", "user-new", keep=RETENTION)
    await store.assign_placeholders("guest-new", [request("late")], clock.now() + DAY)
    clock.advance(2 * DAY)

    counts = nonzero(await store.sweep(clock.now()))

    assert counts == {
        RecordKind.CONVERSATIONS: 1,
        RecordKind.TRANSCRIPTS: 2,
        RecordKind.VAULT: 3,
        RecordKind.IDENTITIES: 1,
        RecordKind.CONSENTS: 2,
        RecordKind.SAMPLES: 1,
        RecordKind.DELIVERIES: 1,
        RecordKind.AUDIT: 1,
    }
    assert await store.get_conversation("guest-new") is not None
    assert len(await store.events("guest-new")) == 2
    assert len(await store.vault_entries("guest-new")) == 2
    assert await store.get_identity("user-new") is not None
    assert len(await store.consents("guest-new")) == 1
    assert len(await store.consents("user-new")) == 1
    assert [s.session for s in await store.samples()] == ["guest-new"]
    assert len(await store.audit_entries()) == 1


async def test_a_second_sweep_deletes_nothing(store: Store, clock: ManualClock) -> None:
    await write_one_of_each(store, clock, "guest-old", "user-old", keep=DAY)
    clock.advance(2 * DAY)
    assert nonzero(await store.sweep(clock.now()))
    assert nonzero(await store.sweep(clock.now())) == {}


async def test_sweep_keeps_what_expires_after_the_time_it_is_given(
    store: Store, clock: ManualClock
) -> None:
    await write_one_of_each(store, clock, "guest-a", "user-1", keep=DAY)
    assert nonzero(await store.sweep(clock.now() + DAY - timedelta(seconds=1))) == {}
    assert await store.get_conversation("guest-a") is not None


async def test_a_conversation_is_all_there_on_day_29_and_gone_on_day_31(
    store: Store, clock: ManualClock
) -> None:
    expires = clock.now() + RETENTION
    await store.save_conversation(conversation(clock, "guest-a", "user-1"))
    await store.append_event(event(clock, "guest-a", "my booking is <BOOKING_REFERENCE_1>"))
    await store.append_event(event(clock, "guest-a", "thanks <PERSON_1>"))
    await store.assign_placeholders(
        "guest-a", [request("anna"), request("X1Y2Z3", "BOOKING_REFERENCE")], expires
    )
    await store.save_sample(sample(clock, "guest-a"))

    clock.advance(29 * DAY)
    assert nonzero(await store.sweep(clock.now())) == {}
    assert await store.get_conversation("guest-a") is not None
    assert [e.text for e in await store.events("guest-a")] == [
        "my booking is <BOOKING_REFERENCE_1>",
        "thanks <PERSON_1>",
    ]
    assert len(await store.vault_entries("guest-a")) == 2
    assert [s.session for s in await store.samples()] == ["guest-a"]

    clock.advance(2 * DAY)
    assert await store.get_conversation("guest-a") is None
    assert await store.conversations_of("user-1") == []
    assert await store.events("guest-a") == []
    assert await store.vault_entries("guest-a") == []
    assert await store.samples() == []
    assert nonzero(await store.sweep(clock.now())) == {
        RecordKind.CONVERSATIONS: 1,
        RecordKind.TRANSCRIPTS: 2,
        RecordKind.VAULT: 2,
        RecordKind.SAMPLES: 1,
    }
    assert await store.events_between(clock.now() - 40 * DAY, clock.now()) == []


# --- erasure ---------------------------------------------------------------------------


async def test_erase_session_removes_the_conversation_transcript_vault_sample_and_its_consents_only(
    store: Store, clock: ManualClock
) -> None:
    await write_one_of_each(store, clock, "guest-a", "user-1", keep=RETENTION)
    await write_one_of_each(store, clock, "guest-b", "user-1", keep=RETENTION)

    counts = nonzero(await store.erase_session("guest-a"))

    assert counts == {
        RecordKind.CONVERSATIONS: 1,
        RecordKind.TRANSCRIPTS: 2,
        RecordKind.VAULT: 2,
        RecordKind.SAMPLES: 1,
        RecordKind.DELIVERIES: 1,
        RecordKind.CONSENTS: 1,
    }
    assert await store.get_conversation("guest-a") is None
    assert await store.events("guest-a") == []
    assert await store.vault_entries("guest-a") == []
    assert await store.consents("guest-a") == []
    assert [s.session for s in await store.samples()] == ["guest-b"]
    assert [c.session for c in await store.conversations_of("user-1")] == ["guest-b"]
    assert len(await store.events("guest-b")) == 2
    assert len(await store.vault_entries("guest-b")) == 2
    assert await store.get_identity("user-1") is not None
    assert len(await store.consents("user-1")) == 2
    assert await record(store, clock, "guest-b", "guest-b-delivery") is None
    assert nonzero(await store.erase_session("guest-a")) == {}


async def test_erase_user_removes_all_their_conversations_identity_and_consents_and_nobody_elses(
    store: Store, clock: ManualClock
) -> None:
    await write_one_of_each(store, clock, "guest-a", "user-1", keep=RETENTION)
    await write_one_of_each(store, clock, "guest-b", "user-1", keep=RETENTION)
    await write_one_of_each(store, clock, "guest-c", "user-2", keep=RETENTION)

    counts = nonzero(await store.erase_user("user-1"))

    assert counts == {
        RecordKind.CONVERSATIONS: 2,
        RecordKind.TRANSCRIPTS: 4,
        RecordKind.VAULT: 4,
        RecordKind.SAMPLES: 2,
        RecordKind.DELIVERIES: 2,
        RecordKind.CONSENTS: 4,
        RecordKind.IDENTITIES: 1,
    }
    for session in ("guest-a", "guest-b"):
        assert await store.get_conversation(session) is None
        assert await store.events(session) == []
        assert await store.vault_entries(session) == []
        assert await store.consents(session) == []
    assert await store.conversations_of("user-1") == []
    assert await store.get_identity("user-1") is None
    assert await store.consents("user-1") == []

    assert [c.session for c in await store.conversations_of("user-2")] == ["guest-c"]
    assert len(await store.events("guest-c")) == 2
    assert len(await store.vault_entries("guest-c")) == 2
    assert await store.get_identity("user-2") is not None
    assert len(await store.consents("user-2")) == 1
    assert [s.session for s in await store.samples()] == ["guest-c"]
    assert len(await store.audit_entries()) == 3
    assert nonzero(await store.erase_user("user-1")) == {}


# --- datetimes -------------------------------------------------------------------------


async def test_datetimes_come_back_timezone_aware_in_utc_to_the_microsecond(
    store: Store, clock: ManualClock
) -> None:
    lisbon_summer = timezone(timedelta(hours=1))
    created = datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=lisbon_summer)
    saved = Conversation(
        session="guest-a",
        channel="messenger",
        user=None,
        created_at=created,
        last_activity=created + timedelta(microseconds=1),
        expires_at=clock.now() + RETENTION,
    )
    await store.save_conversation(saved)
    read = await store.get_conversation("guest-a")
    assert read == saved
    assert read is not None
    for moment in (read.created_at, read.last_activity, read.expires_at):
        assert moment.utcoffset() == timedelta(0)
    assert read.created_at == datetime(2026, 7, 1, 8, 30, 15, 123456, tzinfo=UTC)


# --- concurrency -----------------------------------------------------------------------


async def test_fifty_concurrent_appends_to_one_conversation_lose_nothing(
    store: Store, clock: ManualClock
) -> None:
    texts = [f"message {i}" for i in range(50)]
    seqs = await asyncio.gather(
        *(store.append_event(event(clock, "guest-a", text)) for text in texts)
    )
    assert sorted(seqs) == list(range(1, 51))
    stored = await store.events("guest-a")
    assert [e.seq for e in stored] == list(range(1, 51))
    assert {e.seq: e.text for e in stored} == dict(zip(seqs, texts, strict=True))


async def test_twenty_concurrent_assignments_of_one_value_give_one_placeholder(
    store: Store, clock: ManualClock
) -> None:
    expires = clock.now() + RETENTION
    results = await asyncio.gather(
        *(store.assign_placeholders("guest-a", [request("anna")], expires) for _ in range(20))
    )
    assert {placeholder for [placeholder] in results} == {"<PERSON_1>"}
    assert len(await store.vault_entries("guest-a")) == 1


async def test_concurrent_assignments_of_different_values_give_distinct_placeholders(
    store: Store, clock: ManualClock
) -> None:
    expires = clock.now() + RETENTION
    results = await asyncio.gather(
        *(
            store.assign_placeholders("guest-a", [request(f"person-{i}")], expires)
            for i in range(20)
        )
    )
    assert sorted(placeholder for [placeholder] in results) == sorted(
        f"<PERSON_{n}>" for n in range(1, 21)
    )


# --- helpers ---------------------------------------------------------------------------


async def _assert_nothing_visible(
    store: Store, clock: ManualClock, session: str, user: str
) -> None:
    assert await store.get_conversation(session) is None
    assert await store.conversations_of(user) == []
    assert await store.conversation_by_reference(f"{session}-reference") is None
    assert await store.conversations_awaiting(clock.now() + DAY, 10) == []
    assert await store.events(session) == []
    assert await store.events_between(clock.now() - DAY, clock.now() + DAY) == []
    assert await store.vault_entries(session) == []
    assert await store.get_identity(user) is None
    assert await store.consents(session) == []
    assert await store.consents(user) == []
    assert await store.samples() == []
    assert await store.audit_entries() == []


def _with_seq(record: TranscriptEvent, seq: int) -> TranscriptEvent:
    return dataclasses.replace(record, seq=seq)


def _with_id(record: Record, record_id: int) -> Record:
    return dataclasses.replace(record, id=record_id)
