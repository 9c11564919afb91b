"""The pipeline over a real SQLite store: pseudonyms, redacted transcripts, restored
replies, 30-day expiry, failing closed when the store is gone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from chatguard.clock import ManualClock
from chatguard.consent import (
    ConsentSubject,
    Decision,
    Purpose,
    Source,
    TextKind,
    new_privacy_reference,
)
from chatguard.crypto import KeyRing, random_key
from chatguard.errors import ConfigurationError, StoreError, SubjectNotFoundError
from chatguard.guard import ChatGuard
from chatguard.pseudonym import Keys, UserPseudonyms
from chatguard.redact.engine import RedactionEngine
from chatguard.settings import ConsentSettings, Settings
from chatguard.store.records import Author, EventKind, RecordKind
from chatguard.store.sqlite import SqliteStore
from tests.on_disk import bytes_on_disk

NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"


async def test_web_user_gets_a_session_name_and_the_conversation_is_stored_under_it(
    guard: ChatGuard,
) -> None:
    conversation = await guard.start_conversation("web")
    assert conversation.session.startswith("guest-") and conversation.user is None
    assert await guard.conversation(conversation.session) == conversation
    other = await guard.start_conversation("web")
    assert other.session != conversation.session


async def test_messenger_user_is_recognised_again_in_a_later_conversation(
    guard: ChatGuard, clock: ManualClock
) -> None:
    first = await guard.start_conversation("messenger", user_id="psid-1234567890")
    clock.advance(timedelta(hours=2))
    later = await guard.start_conversation("messenger", user_id="psid-1234567890")
    assert first.session != later.session
    assert first.user is not None and first.user == later.user
    assert "psid" not in first.user
    sessions = [c.session for c in await guard.store.conversations_of(first.user)]
    assert sessions == [first.session, later.session]
    assert await guard.identities.resolve(first.user) == ("messenger", "psid-1234567890")


async def test_what_the_user_types_leaves_and_is_stored_redacted(
    guard: ChatGuard, tmp_path: Path
) -> None:
    session = (await guard.start_conversation("web")).session
    out = await guard.user_message(session, f"I am {NAME}, mail {EMAIL}")
    assert out.text == "I am <PERSON_1>, mail <EMAIL_ADDRESS_1>"
    [event] = await guard.store.events(session)
    assert event.text == out.text and event.author is Author.USER
    on_disk = bytes_on_disk(tmp_path / "chatguard.db")
    assert NAME.encode() not in on_disk and EMAIL.encode() not in on_disk


async def test_reply_is_restored_for_the_user_and_stored_with_placeholders(
    guard: ChatGuard,
) -> None:
    session = (await guard.start_conversation("web")).session
    await guard.user_message(session, f"I am {NAME}")
    shown = await guard.reply(session, "Hello <PERSON_1>, how can I help?")
    assert shown == f"Hello {NAME}, how can I help?"
    events = await guard.store.events(session)
    assert [e.text for e in events] == ["I am <PERSON_1>", "Hello <PERSON_1>, how can I help?"]


async def test_agent_sees_the_name_but_the_transcript_does_not_keep_it(guard: ChatGuard) -> None:
    session = (await guard.start_conversation("web")).session
    out = await guard.user_message(session, f"I am {NAME}", destination="agent")
    assert NAME in out.text
    typed_by_agent = await guard.reply(session, f"Hi {NAME}, I'm Tom", author=Author.AGENT)
    assert NAME in typed_by_agent
    texts = [e.text for e in await guard.store.events(session)]
    assert all(NAME not in text for text in texts)
    assert texts[0] == "I am <PERSON_1>"


async def test_thumbs_up_and_down_are_stored_as_part_of_the_chat_flow(guard: ChatGuard) -> None:
    session = (await guard.start_conversation("web")).session
    await guard.feedback(session, positive=True)
    await guard.feedback(session, positive=False)
    events = await guard.store.events(session)
    assert [(e.kind, e.feedback) for e in events] == [
        (EventKind.FEEDBACK, "up"),
        (EventKind.FEEDBACK, "down"),
    ]


async def test_everything_submitted_is_gone_after_thirty_days(
    guard: ChatGuard, clock: ManualClock
) -> None:
    session = (await guard.start_conversation("messenger", user_id="psid-42")).session
    await guard.user_message(session, f"I am {NAME}")
    clock.advance(timedelta(days=29))
    assert await guard.store.events(session)
    assert await guard.redactor.restore("<PERSON_1>", conversation=session) == NAME
    clock.advance(timedelta(days=2))
    counts = await guard.sweeper.sweep_once()
    assert counts  # transcripts, vault, conversation and identity went
    assert await guard.store.events(session) == []
    assert await guard.store.get_conversation(session) is None
    assert await guard.redactor.restore("<PERSON_1>", conversation=session) == "<PERSON_1>"


async def test_a_message_delivered_twice_is_stored_once_and_the_second_time_nothing_is_sent(
    guard: ChatGuard, clock: ManualClock, tmp_path: Path
) -> None:
    session = (await guard.start_conversation("messenger", user_id="psid-42")).session
    mid = "m_AbC123-mid-of-the-message"
    key = guard.delivery_key("messenger", mid)
    first = await guard.user_message(session, f"I am {NAME}", delivery=key)
    assert first is not None and first.text == "I am <PERSON_1>"
    clock.advance(timedelta(minutes=1))

    assert await guard.user_message(session, f"I am {NAME}", delivery=key) is None
    assert await guard.reply(session, "Hello <PERSON_1>", delivery=key) is None

    [event] = await guard.store.events(session)
    assert event.text == first.text
    conversation = await guard.conversation(session)
    assert conversation.last_activity == event.at
    assert mid.encode() not in bytes_on_disk(tmp_path / "chatguard.db")


async def test_a_delivery_key_names_the_channel_and_the_message_and_hides_the_id(
    guard: ChatGuard,
) -> None:
    key = guard.delivery_key("messenger", "m.1")
    assert key == guard.delivery_key("messenger", "m.1")
    assert key != guard.delivery_key("genesys", "m.1")
    assert key != guard.delivery_key("messenger", "m.2")
    assert "m.1" not in key


GuardWith = Callable[[KeyRing], ChatGuard]


@pytest.fixture
def guard_with(tmp_path: Path, engine: RedactionEngine, clock: ManualClock) -> GuardWith:
    """Makes pipelines over one store (never opened: for what needs only the keys),
    each with the given store key ring, to compare them across a key rotation."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'guard.db'}", clock)
    pseudonyms = UserPseudonyms([random_key()])

    def make(ring: KeyRing) -> ChatGuard:
        keys = Keys(store=ring, pseudonyms=pseudonyms)
        return ChatGuard(Settings(), store=store, keys=keys, engine=engine, clock=clock)

    return make


async def test_keyed_digests_are_separated_by_use_and_survive_a_key_rotation(
    guard_with: GuardWith,
) -> None:
    old, new = random_key(), random_key()
    before = guard_with(KeyRing(old))
    [digest] = before.keyed_digests("form token", b"secret")
    assert before.keyed_digests("form token", b"secret") == [digest]
    assert before.keyed_digests("another use", b"secret") != [digest]
    assert digest != before.delivery_key("form token", "secret")
    current, previous = guard_with(KeyRing(new, previous=[old])).keyed_digests(
        "form token", b"secret"
    )
    assert previous == digest and current != digest


async def test_an_agents_message_delivered_twice_is_shown_once(guard: ChatGuard) -> None:
    session = (await guard.start_conversation("web")).session
    key = guard.delivery_key("genesys", "g-1")
    assert await guard.reply(session, f"Hi {NAME}", author=Author.AGENT, delivery=key) == (
        f"Hi {NAME}"
    )
    assert await guard.reply(session, f"Hi {NAME}", author=Author.AGENT, delivery=key) is None
    assert [e.author for e in await guard.store.events(session)] == [Author.AGENT]


async def test_unknown_session_is_refused(guard: ChatGuard) -> None:
    with pytest.raises(SubjectNotFoundError):
        await guard.user_message("guest-doesnotexist", "hello")


async def test_store_gone_fails_closed_without_quoting_the_message(guard: ChatGuard) -> None:
    session = (await guard.start_conversation("web")).session
    await guard.store.close()
    with pytest.raises(StoreError) as raised:
        await guard.user_message(session, f"I am {NAME}")
    assert NAME not in str(raised.value)


async def test_open_refuses_to_start_without_keys_outside_demo_mode(tmp_path: Path) -> None:
    settings = Settings.model_validate({"store": {"url": f"sqlite:///{tmp_path / 'x.db'}"}})
    with pytest.raises(ConfigurationError, match="CHATGUARD_PSEUDONYM__KEY"):
        await ChatGuard.open(settings)


# --- consent -------------------------------------------------------------------------


async def test_the_guard_builds_consent_and_sampling_from_the_consent_settings(
    tmp_path: Path, engine: RedactionEngine, clock: ManualClock, keys: Keys
) -> None:
    texts = tmp_path / "texts.toml"
    texts.write_text('[answer_yes]\nversion = "ours-1"\nen = "Yes, go ahead"\n')
    settings = Settings(
        consent=ConsentSettings(
            purposes=["newsletter"], sampling_rate=1.0, sampling_seed=3, texts_file=texts
        )
    )
    store = SqliteStore(f"sqlite:///{tmp_path / 'guard.db'}", clock)
    await store.open()
    guard = ChatGuard(settings, store=store, keys=keys, engine=engine, clock=clock)
    try:
        assert guard.consents.purposes == ("quality_sampling", "push_notifications", "newsletter")
        assert guard.texts.get(TextKind.ANSWER_YES, "it").text == "Yes, go ahead"
        assert guard.answers.answer("yes, go ahead") is True
        session = (await guard.start_conversation("web")).session
        await guard.consents.record(
            session, Purpose.QUALITY_SAMPLING, Decision.GRANTED, Source.CHAT, None, "en"
        )
        assert await guard.sampler.maybe_sample(session) is not None  # rate 1.0
    finally:
        await guard.close()


async def test_a_bad_consent_texts_file_stops_the_guard_naming_the_key(
    tmp_path: Path, engine: RedactionEngine, clock: ManualClock, keys: Keys
) -> None:
    texts = tmp_path / "texts.toml"
    texts.write_text('[answer_yes]\nen = "Yes, go ahead"\n')
    store = SqliteStore(f"sqlite:///{tmp_path / 'guard.db'}", clock)
    await store.open()
    try:
        with pytest.raises(ConfigurationError, match=r"answer_yes\.version"):
            ChatGuard(
                Settings(consent=ConsentSettings(texts_file=texts)),
                store=store,
                keys=keys,
                engine=engine,
                clock=clock,
            )
    finally:
        await store.close()


async def test_a_consent_request_finds_its_person_by_reference_session_or_channel_identity(
    guard: ChatGuard, clock: ManualClock
) -> None:
    first = await guard.start_conversation("messenger", user_id="psid-5550001")
    clock.advance(timedelta(hours=1))
    second = await guard.start_conversation("messenger", user_id="psid-5550001")
    issued = await guard.references.issue()
    await guard.store.save_conversation(replace(second, reference=issued.digest))
    web = await guard.start_conversation("web")
    assert second.user is not None

    by_reference = await guard.consent_subject(reference=issued.code.lower())
    by_session = await guard.consent_subject(session=web.session)
    by_identity = await guard.consent_subject(channel="messenger", user_id="psid-5550001")

    assert by_reference == ConsentSubject((second.session,), (second.user,))
    assert by_session == ConsentSubject((web.session,), ())
    assert by_identity == ConsentSubject((first.session, second.session), (second.user,))
    for unknown in (
        {"reference": new_privacy_reference()},
        {"reference": "not a code"},
        {"session": "guest-nobodynobody"},
        {"channel": "messenger", "user_id": "psid-0000000"},
    ):
        with pytest.raises(SubjectNotFoundError) as refused:
            await guard.consent_subject(**unknown)
        assert not any(value in str(refused.value) for value in unknown.values())
    with pytest.raises(ValueError, match="name a subject"):
        await guard.consent_subject(session=web.session, reference=issued.code)
    with pytest.raises(ValueError, match="name a subject"):
        await guard.consent_subject(channel="messenger")


async def _consented_session_swept_away(guard: ChatGuard, clock: ManualClock) -> str:
    """A web session whose user said yes to quality sampling, 31 days later: the
    conversation swept away, the consent record (proof for a year longer) still held."""
    session = (await guard.start_conversation("web")).session
    await guard.consents.record(
        session, Purpose.QUALITY_SAMPLING, Decision.GRANTED, Source.CHAT, None, "en"
    )
    clock.advance(timedelta(days=31))
    await guard.sweeper.sweep_once()
    assert await guard.store.get_conversation(session) is None
    return session


async def test_consent_proof_under_an_expired_session_can_still_be_withdrawn(
    guard: ChatGuard, clock: ManualClock
) -> None:
    session = await _consented_session_swept_away(guard, clock)

    subject = await guard.consent_subject(session=session)
    withdrawal = await guard.consents.withdraw_subject(
        subject, Purpose.QUALITY_SAMPLING, Source.API, "und"
    )
    assert withdrawal.withdrawn == (session,)


async def test_a_push_opt_in_outlives_the_identity_record_until_it_is_withdrawn(
    guard: ChatGuard, clock: ManualClock
) -> None:
    # Notifications are how a business reaches a person who has not written for a
    # while: the opt-in holds after the 30-day identity record has gone, and the
    # person can still withdraw it by channel identity (the admin API, the form).
    psid = "psid-5550002"
    user = (await guard.start_conversation("messenger", user_id=psid)).user
    assert user is not None
    await guard.consents.record(
        user, Purpose.PUSH_NOTIFICATIONS, Decision.GRANTED, Source.MESSENGER_OPTIN, None, "en"
    )
    clock.advance(timedelta(days=45))
    await guard.sweeper.sweep_once()
    assert await guard.identities.resolve(user) is None

    assert await guard.may_notify("messenger", psid)
    subject = await guard.consent_subject(channel="messenger", user_id=psid)
    assert subject == ConsentSubject((), (user,))
    withdrawal = await guard.consents.withdraw_subject(
        subject, Purpose.PUSH_NOTIFICATIONS, Source.API, "und"
    )
    assert withdrawal.withdrawn == (user,)
    assert not await guard.may_notify("messenger", psid)

    erased = await guard.rights.erase(channel="messenger", user_id=psid)
    assert erased[RecordKind.CONSENTS] == 2
    assert not await guard.may_notify("messenger", psid)
    with pytest.raises(SubjectNotFoundError):
        await guard.consent_subject(channel="messenger", user_id=psid)


async def test_consent_proof_under_an_expired_session_is_exported_and_erased_by_session(
    guard: ChatGuard, clock: ManualClock
) -> None:
    session = await _consented_session_swept_away(guard, clock)

    document = await guard.rights.export(session=session)
    assert document["conversations"] == []
    assert [record["decision"] for record in document["consents"]] == ["granted"]
    assert await guard.rights.erase(session=session) == {RecordKind.CONSENTS: 1}
    with pytest.raises(SubjectNotFoundError):
        await guard.rights.export(session=session)


async def test_a_session_token_opens_its_session_under_any_store_key_and_nothing_else(
    guard_with: GuardWith,
) -> None:
    old, new = random_key(), random_key()
    before = guard_with(KeyRing(old))
    session, other = "guest-k3x9q2m4va7d", "guest-a2b3c4d5e6f7"
    token = before.session_token(session)

    assert token.startswith(session + ".") and before.session_of_token(token) == session
    check = token.rpartition(".")[2]
    for forged in (
        session,  # the pseudonym that vendors see
        f"{other}.{check}",  # another session with this one's check
        token[:-1] + ("0" if token[-1] != "0" else "1"),
        token + "0",
        f"{session}.",
        f".{check}",
        "",
    ):
        assert before.session_of_token(forged) is None, forged

    after = guard_with(KeyRing(new, previous=[old]))
    assert after.session_of_token(token) == session  # made before the rotation
    assert after.session_token(session) != token  # new ones under the new key
    assert before.session_of_token(after.session_token(session)) is None
