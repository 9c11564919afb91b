"""The person's rights (GDPR Art. 15-21) over a real SQLite store: access and
portability, erasure, troubleshooting access with a reason, anonymised analytics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.consent import PrivacyReferences
from chatguard.crypto import KeyRing, random_key
from chatguard.errors import ReasonRequiredError, SubjectNotFoundError
from chatguard.pseudonym import IdentityMap, UserPseudonyms, new_session_pseudonym
from chatguard.redact.vault import VaultEntry
from chatguard.retention import RetentionPolicy
from chatguard.settings import RetentionSettings
from chatguard.store.records import (
    Author,
    ConsentRecord,
    Conversation,
    Direction,
    EventKind,
    RecordKind,
    Sample,
    TranscriptEvent,
)
from chatguard.store.sqlite import SqliteStore
from chatguard.store.vault import StoreVault
from chatguard.subject import SubjectRights, coarsen

START = datetime(2026, 1, 10, 10, 17, 42, tzinfo=UTC)
PSID = "7390115562048811"  # a synthetic Messenger page-scoped id
OTHER_PSID = "7390115562049999"
NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"
OTHER_NAME = "Jonas Becker"


@dataclass
class State:
    """Everything the rights operate on, over one SQLite file."""

    store: SqliteStore
    clock: ManualClock
    keyring: KeyRing
    identities: IdentityMap
    vault: StoreVault
    policy: RetentionPolicy
    rights: SubjectRights


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[State]:
    clock = ManualClock(START)
    store = SqliteStore(f"sqlite:///{tmp_path / 'state.db'}", clock)
    await store.open()
    keyring = KeyRing(random_key())
    identities = IdentityMap(store, keyring, UserPseudonyms([random_key()]))
    policy = RetentionPolicy(RetentionSettings(), clock)
    vault = StoreVault(store, keyring, clock, policy.retention(RecordKind.VAULT))
    rights = SubjectRights(store, keyring, identities, clock, policy)
    try:
        yield State(store, clock, keyring, identities, vault, policy, rights)
    finally:
        await store.close()


async def _conversation(
    state: State, channel: str, user: str | None, values: list[tuple[str, str]]
) -> str:
    """A conversation as the pipeline leaves it: redacted transcript, sealed vault."""
    session = new_session_pseudonym()
    now = state.clock.now()
    policy = state.policy
    await state.store.save_conversation(
        Conversation(session, channel, user, now, now, policy.expires_at(RecordKind.CONVERSATIONS))
    )
    placeholders = await state.vault.assign(
        session, [VaultEntry(kind, value.lower(), value) for kind, value in values]
    )
    expires = policy.expires_at(RecordKind.TRANSCRIPTS)
    texts = [
        (Direction.INBOUND, Author.USER, "I am " + " and ".join(placeholders)),
        (Direction.OUTBOUND, Author.BOT, f"Thank you {placeholders[0]}, how can I help?"),
    ]
    for direction, author, text in texts:
        await state.store.append_event(
            TranscriptEvent(session, now, direction, author, text, expires)
        )
    await state.store.append_event(
        TranscriptEvent(
            session,
            now + timedelta(minutes=1),
            Direction.INBOUND,
            Author.USER,
            "",
            expires,
            EventKind.FEEDBACK,
            "down",
        )
    )
    return session


async def _messenger_user(state: State, psid: str, name: str) -> tuple[str, list[str]]:
    """A Messenger user with two conversations, a quality sample and a consent."""
    user = await state.identities.remember(
        "messenger", psid, state.policy.expires_at(RecordKind.IDENTITIES)
    )
    first = await _conversation(state, "messenger", user, [("PERSON", name)])
    state.clock.advance(timedelta(days=2))
    second = await _conversation(
        state, "messenger", user, [("PERSON", name), ("EMAIL_ADDRESS", EMAIL)]
    )
    await state.store.save_sample(
        Sample(second, state.clock.now(), state.policy.expires_at(RecordKind.SAMPLES))
    )
    await state.store.append_consent(
        ConsentRecord(
            subject=user,
            purpose="quality_sampling",
            decision="granted",
            at=state.clock.now(),
            source="chat",
            text_id="quality-v1",
            text_version="1",
            language="en",
            expires_at=state.policy.expires_at(RecordKind.CONSENTS),
        )
    )
    return user, [first, second]


# --- access and portability ------------------------------------------------------------


async def test_export_by_channel_identity_holds_everything_decrypted(state: State) -> None:
    user, sessions = await _messenger_user(state, PSID, NAME)

    document = await state.rights.export(channel="messenger", user_id=PSID)

    json.dumps(document)  # one JSON document
    assert document["identity"] == {"channel": "messenger", "user_id": PSID}
    assert document["subject"] == user
    assert [c["session"] for c in document["conversations"]] == sessions
    first, second = document["conversations"]
    assert first["values"]["<PERSON_1>"]["value"] == NAME
    assert second["values"]["<EMAIL_ADDRESS_1>"] == {
        "type": "EMAIL_ADDRESS",
        "value": EMAIL,
        "expires_at": (START + timedelta(days=32)).isoformat(),
    }
    assert [e["text"] for e in first["events"]][:2] == [
        "I am <PERSON_1>",
        "Thank you <PERSON_1>, how can I help?",
    ]
    assert first["events"][2]["kind"] == "feedback" and first["events"][2]["feedback"] == "down"
    assert first["quality_sample"] is None and second["quality_sample"] is not None
    [consent] = document["consents"]
    assert (consent["purpose"], consent["decision"]) == ("quality_sampling", "granted")


async def test_export_is_audited_with_the_pseudonym_and_counts_only(state: State) -> None:
    user, _ = await _messenger_user(state, PSID, NAME)
    await state.rights.export(channel="messenger", user_id=PSID)

    [entry] = await state.store.audit_entries()
    assert (entry.action, entry.subject) == ("export", user)
    assert entry.counts == {
        "conversations": 2,
        "transcripts": 6,
        "vault": 3,
        "samples": 1,
        "consents": 1,
        "identities": 1,
    }
    assert PSID not in repr(entry) and NAME not in repr(entry)


async def test_export_by_session_holds_that_web_conversation(state: State) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    await _messenger_user(state, OTHER_PSID, OTHER_NAME)

    document = await state.rights.export(session=session)

    assert document["identity"] is None
    [conversation] = document["conversations"]
    assert conversation["session"] == session and conversation["channel"] == "web"
    assert conversation["values"]["<PERSON_1>"]["value"] == NAME
    assert OTHER_NAME not in json.dumps(document)


async def test_unknown_subject_is_not_found_without_naming_it(state: State) -> None:
    with pytest.raises(SubjectNotFoundError) as raised:
        await state.rights.export(channel="messenger", user_id=PSID)
    assert PSID not in str(raised.value)
    with pytest.raises(SubjectNotFoundError):
        await state.rights.erase(session="guest-aaaaaaaaaaaa")
    with pytest.raises(SubjectNotFoundError):
        await state.rights.transcript_show("guest-aaaaaaaaaaaa", reason="ticket 12")


async def test_a_subject_is_named_one_way(state: State) -> None:
    with pytest.raises(ValueError, match="channel and user_id, or by session"):
        await state.rights.export(channel="messenger", session="guest-aaaaaaaaaaaa")
    with pytest.raises(ValueError, match="channel and user_id, or by session"):
        await state.rights.export(channel="messenger")


async def _in_dialogue(state: State, session: str) -> Conversation:
    """The conversation as the dialogue leaves it after the consent question: its
    language, hand-over, the answer it awaits, a privacy reference (the digest), the
    session's consent and quality sample."""
    held = await state.store.get_conversation(session)
    assert held is not None
    now = state.clock.now()
    references = PrivacyReferences(state.store, state.keyring)
    issued = await references.issue()
    stateful = replace(
        held,
        language="pt",
        handed_over_at=now,
        awaiting="withdrawal:quality_sampling",
        awaiting_since=now,
        awaiting_until=now + timedelta(minutes=2),
        reference=issued.digest,
    )
    await state.store.save_conversation(stateful)
    await state.store.append_consent(
        ConsentRecord(
            session,
            "quality_sampling",
            "granted",
            now,
            "chat",
            "quality_sampling_question",
            "2026-12-01",
            "pt",
            state.policy.expires_at(RecordKind.CONSENTS),
        )
    )
    await state.store.save_sample(Sample(session, now, state.policy.expires_at(RecordKind.SAMPLES)))
    assert await references.find(issued.code) == stateful
    return stateful


async def test_the_export_shows_the_dialogues_state_the_sample_and_the_reference_digest_only(
    state: State,
) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    held = await _in_dialogue(state, session)

    document = await state.rights.export(session=session)

    [conversation] = document["conversations"]
    assert conversation["language"] == "pt"
    assert conversation["handed_over_at"] == START.isoformat()
    assert conversation["awaiting"] == {
        "what": "withdrawal:quality_sampling",
        "since": START.isoformat(),
        "until": (START + timedelta(minutes=2)).isoformat(),
    }
    assert conversation["privacy_reference_digest"] == held.reference
    assert conversation["quality_sample"] == {
        "sampled_at": START.isoformat(),
        "expires_at": (START + timedelta(days=30)).isoformat(),
    }
    [consent] = document["consents"]
    assert (consent["subject"], consent["text_id"], consent["language"]) == (
        session,
        "quality_sampling_question",
        "pt",
    )


async def test_a_conversation_without_dialogue_state_exports_it_as_empty(state: State) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    [conversation] = (await state.rights.export(session=session))["conversations"]
    assert (
        conversation["language"],
        conversation["handed_over_at"],
        conversation["awaiting"],
        conversation["privacy_reference_digest"],
    ) == (None, None, None, None)


async def test_erasing_a_session_removes_its_sample_consent_and_reference(state: State) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    held = await _in_dialogue(state, session)
    assert held.reference is not None

    counts = await state.rights.erase(session=session)

    assert counts[RecordKind.SAMPLES] == 1 and counts[RecordKind.CONSENTS] == 1
    assert await state.store.conversation_by_reference(held.reference) is None
    assert await state.store.conversations_awaiting(START + timedelta(days=1), 10) == []
    assert await state.store.samples() == []
    assert await state.store.consents(session) == []


# --- erasure ---------------------------------------------------------------------------


async def test_erase_removes_everything_incl_identity_and_vault(state: State) -> None:
    user, sessions = await _messenger_user(state, PSID, NAME)
    _, other_sessions = await _messenger_user(state, OTHER_PSID, OTHER_NAME)

    counts = await state.rights.erase(channel="messenger", user_id=PSID)

    assert counts == {
        RecordKind.CONVERSATIONS: 2,
        RecordKind.TRANSCRIPTS: 6,
        RecordKind.VAULT: 3,
        RecordKind.SAMPLES: 1,
        RecordKind.CONSENTS: 1,
        RecordKind.IDENTITIES: 1,
    }
    assert await state.identities.find("messenger", PSID) is None
    assert await state.store.get_identity(user) is None
    assert await state.store.consents(user) == []
    for session in sessions:
        assert await state.store.get_conversation(session) is None
        assert await state.store.events(session) == []
        assert await state.store.vault_entries(session) == []
    assert [s.session for s in await state.store.samples()] == [other_sessions[1]]
    with pytest.raises(SubjectNotFoundError):
        await state.rights.export(channel="messenger", user_id=PSID)

    # The other person is untouched.
    other = await state.rights.export(channel="messenger", user_id=OTHER_PSID)
    assert len(other["conversations"]) == 2
    assert other["conversations"][0]["values"]["<PERSON_1>"]["value"] == OTHER_NAME


async def test_erase_is_audited_with_counts_and_the_pseudonym(state: State) -> None:
    user, _ = await _messenger_user(state, PSID, NAME)
    await state.rights.erase(channel="messenger", user_id=PSID)

    [entry] = await state.store.audit_entries()
    assert (entry.action, entry.subject) == ("erase", user)
    assert entry.counts["vault"] == 3 and entry.counts["identities"] == 1
    assert PSID not in repr(entry) and NAME not in repr(entry)


async def test_export_and_erase_name_who_asked_in_the_audit_log(state: State) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    await state.rights.export(session=session, actor="privacy-page")
    await state.rights.erase(session=session, actor="privacy-page")
    other = await _conversation(state, "web", None, [("PERSON", OTHER_NAME)])
    await state.rights.erase(session=other)

    entries = await state.store.audit_entries()
    assert [(e.action, e.subject, e.actor) for e in entries] == [
        ("export", session, "privacy-page"),
        ("erase", session, "privacy-page"),
        ("erase", other, None),
    ]


async def test_erase_of_a_session_leaves_the_users_other_conversations(state: State) -> None:
    user, (first, second) = await _messenger_user(state, PSID, NAME)

    counts = await state.rights.erase(session=first)

    assert counts == {RecordKind.CONVERSATIONS: 1, RecordKind.TRANSCRIPTS: 3, RecordKind.VAULT: 1}
    assert await state.store.get_conversation(first) is None
    assert await state.store.get_conversation(second) is not None
    assert await state.identities.find("messenger", PSID) == user
    [entry] = await state.store.audit_entries()
    assert (entry.action, entry.subject) == ("erase", first)


# --- troubleshooting access ------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
async def test_transcript_show_is_refused_without_a_reason(state: State, reason: str) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    with pytest.raises(ReasonRequiredError):
        await state.rights.transcript_show(session, reason=reason, actor="ops")
    assert await state.store.audit_entries() == []


async def test_transcript_show_is_audited_with_the_reason(state: State) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])

    events = await state.rights.transcript_show(
        session, reason="  INC-4711 bot loops on rebooking  ", actor="ops-maria"
    )

    assert [e.seq for e in events] == [1, 2, 3]
    assert NAME not in " ".join(e.text for e in events)  # the transcript is redacted
    [entry] = await state.store.audit_entries()
    assert entry.action == "transcript_show"
    assert (entry.subject, entry.actor) == (session, "ops-maria")
    assert entry.reason == "INC-4711 bot loops on rebooking"
    assert entry.counts == {"transcripts": 3}


# --- anonymised analytics --------------------------------------------------------------


async def _analytics(state: State) -> list[dict[str, object]]:
    rows = await state.rights.analytics_export(START - timedelta(days=1), START + timedelta(days=5))
    return list(rows)


async def test_analytics_ids_cannot_be_linked_across_exports(state: State) -> None:
    await _messenger_user(state, PSID, NAME)

    first, second = await _analytics(state), await _analytics(state)

    assert len(first) == len(second) == 6
    first_ids = {row["conversation"] for row in first}
    second_ids = {row["conversation"] for row in second}
    assert len(first_ids) == 2  # stable within one export
    assert first_ids.isdisjoint(second_ids)
    assert {row["user"] for row in first}.isdisjoint({row["user"] for row in second})
    assert len({row["user"] for row in first}) == 1  # one person's conversations stay together


async def test_analytics_holds_no_value_identity_or_pseudonym(state: State) -> None:
    user, sessions = await _messenger_user(state, PSID, NAME)
    web = await _conversation(state, "web", None, [("PERSON", OTHER_NAME)])

    dumped = "\n".join(json.dumps(row) for row in await _analytics(state))

    for personal in (NAME, NAME.lower(), EMAIL, OTHER_NAME, PSID, user, web, *sessions):
        assert personal not in dumped
    assert "<PERSON_1>" in dumped and "<EMAIL_ADDRESS_1>" in dumped


async def test_analytics_times_are_coarsened_to_the_hour(state: State) -> None:
    await _messenger_user(state, PSID, NAME)

    rows = await _analytics(state)

    hours = {row["hour"] for row in rows}
    assert hours == {"2026-01-10T10:00:00+00:00", "2026-01-12T10:00:00+00:00"}
    assert coarsen(START) == datetime(2026, 1, 10, 10, tzinfo=UTC)


async def test_analytics_includes_feedback_events(state: State) -> None:
    await _messenger_user(state, PSID, NAME)

    rows = await _analytics(state)

    feedback = [row for row in rows if row["kind"] == "feedback"]
    assert len(feedback) == 2 and {row["feedback"] for row in feedback} == {"down"}


async def test_analytics_replaces_a_vault_value_left_in_a_stored_text(state: State) -> None:
    session = await _conversation(state, "web", None, [("PERSON", NAME)])
    await state.store.append_event(  # should never be stored, but must never leave either
        TranscriptEvent(
            session,
            state.clock.now(),
            Direction.INBOUND,
            Author.USER,
            f"again: {NAME} ({NAME.lower()})",
            state.policy.expires_at(RecordKind.TRANSCRIPTS),
        )
    )

    rows = await _analytics(state)

    [row] = [row for row in rows if row["seq"] == 4]
    assert row["text"] == "again: <PERSON_1> (<PERSON_1>)"
    [entry] = await state.store.audit_entries()
    assert entry.counts["values_replaced"] == 2


async def test_analytics_export_is_audited_with_counts(state: State) -> None:
    await _messenger_user(state, PSID, NAME)
    await _analytics(state)

    [entry] = await state.store.audit_entries()
    assert entry.action == "analytics_export"
    assert entry.subject is None
    assert entry.counts == {"transcripts": 6, "conversations": 2}


async def test_analytics_export_respects_the_time_range(state: State) -> None:
    await _messenger_user(state, PSID, NAME)  # days 0 and 2

    rows = list(
        await state.rights.analytics_export(START + timedelta(days=1), START + timedelta(days=3))
    )

    assert len(rows) == 3 and {row["hour"] for row in rows} == {"2026-01-12T10:00:00+00:00"}
