"""Consent, as the notice promises it: asked with a versioned text, recorded, never
edited, withdrawn at once (the session's quality sample deleted with it), and found
again after the chat by a privacy reference the store holds only as a keyed digest."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatguard.clock import ManualClock
from chatguard.consent import (
    REFERENCE_ALPHABET,
    ConsentLedger,
    ConsentSubject,
    ConsentTexts,
    Decision,
    PrivacyReferences,
    Purpose,
    Source,
    TextKind,
    new_privacy_reference,
    normalise_reference,
)
from chatguard.crypto import KeyRing, random_key
from chatguard.errors import ConfigurationError, UnknownPurposeError
from chatguard.redact.languages import SUPPORTED_LANGUAGES
from chatguard.retention import RetentionPolicy
from chatguard.settings import RetentionSettings
from chatguard.store.records import Conversation, RecordKind, Sample
from chatguard.store.sqlite import SqliteStore
from tests.on_disk import bytes_on_disk

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SESSION = "guest-aaaabbbbcccc"
USER = "user-aaaabbbbccccddddeeee"
QUALITY, PUSH = Purpose.QUALITY_SAMPLING, Purpose.PUSH_NOTIFICATIONS


@dataclass
class Consents:
    store: SqliteStore
    clock: ManualClock
    policy: RetentionPolicy
    ledger: ConsentLedger
    texts: ConsentTexts


@pytest.fixture
async def consents(tmp_path: Path) -> AsyncIterator[Consents]:
    clock = ManualClock(START)
    store = SqliteStore(f"sqlite:///{tmp_path / 'consent.db'}", clock)
    await store.open()
    policy = RetentionPolicy(RetentionSettings(), clock)
    ledger = ConsentLedger(store, policy, clock, purposes=["newsletter"])
    try:
        yield Consents(store, clock, policy, ledger, ConsentTexts.load())
    finally:
        await store.close()


async def _granted(consents: Consents, subject: str = SESSION, purpose: str = QUALITY) -> None:
    question = consents.texts.get(TextKind.QUALITY_SAMPLING_QUESTION, "pt")
    await consents.ledger.record(subject, purpose, Decision.GRANTED, Source.CHAT, question, "pt")


async def _sampled(consents: Consents, session: str = SESSION) -> None:
    now = consents.clock.now()
    await consents.store.save_sample(
        Sample(session, now, consents.policy.expires_at(RecordKind.SAMPLES))
    )


# --- the ledger ------------------------------------------------------------------------


async def test_a_consent_is_recorded_with_the_text_version_and_language_shown(
    consents: Consents,
) -> None:
    question = consents.texts.get(TextKind.QUALITY_SAMPLING_QUESTION, "pt-PT")
    record = await consents.ledger.record(
        SESSION, QUALITY, Decision.GRANTED, Source.CHAT, question, "pt-PT"
    )

    assert record.id > 0
    assert (record.subject, record.purpose, record.decision, record.source) == (
        SESSION,
        "quality_sampling",
        "granted",
        "chat",
    )
    assert (record.text_id, record.text_version, record.language) == (
        "quality_sampling_question",
        "2026-12-01",
        "pt",
    )
    assert record.at == START
    assert await consents.ledger.history(SESSION) == [record]


async def test_the_proof_of_consent_is_kept_a_year_beyond_the_data_it_covers(
    consents: Consents,
) -> None:
    await _granted(consents)
    [record] = await consents.ledger.history(SESSION)
    assert record.expires_at == START + timedelta(days=30 + 365)


async def test_a_consent_without_an_answer_is_no_consent(consents: Consents) -> None:
    assert await consents.ledger.state(SESSION, QUALITY) is None
    assert await consents.ledger.allows(SESSION, QUALITY) is False


async def test_the_newest_decision_counts_and_older_ones_stay_as_proof(consents: Consents) -> None:
    ledger = consents.ledger
    await _granted(consents)
    consents.clock.advance(timedelta(minutes=1))
    await ledger.record(SESSION, QUALITY, Decision.DECLINED, Source.CHAT, None, "en")

    assert await ledger.state(SESSION, QUALITY) is Decision.DECLINED
    assert not await ledger.allows(SESSION, QUALITY)
    assert [r.decision for r in await ledger.history(SESSION)] == ["granted", "declined"]


async def test_a_decision_for_one_purpose_says_nothing_about_another(consents: Consents) -> None:
    await _granted(consents, USER, PUSH)
    assert await consents.ledger.allows(USER, PUSH)
    assert await consents.ledger.state(USER, QUALITY) is None
    assert await consents.ledger.state(SESSION, PUSH) is None


async def test_an_unknown_purpose_is_refused_and_a_configured_one_is_recorded(
    consents: Consents,
) -> None:
    with pytest.raises(UnknownPurposeError):
        await consents.ledger.record(SESSION, "marketing", Decision.GRANTED, Source.API, None, "en")
    with pytest.raises(UnknownPurposeError):
        await consents.ledger.allows(SESSION, "marketing")
    await consents.ledger.record(USER, "newsletter", Decision.GRANTED, Source.FORM, None, "de")
    assert await consents.ledger.allows(USER, "newsletter")
    assert consents.ledger.purposes == ("quality_sampling", "push_notifications", "newsletter")


class SettableClock:
    """A clock set to any time, also an earlier one: records made out of time order."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(
        st.tuples(st.sampled_from(list(Decision)), st.integers(min_value=-3, max_value=3)),
        max_size=8,
    )
)
def test_consent_allows_exactly_when_the_newest_record_is_granted(
    tmp_path_factory: pytest.TempPathFactory, history: list[tuple[Decision, int]]
) -> None:
    """For any history of decisions, some at the same instant, ``allows`` is true iff
    the newest record (by time, ties by order of recording) is ``granted``."""

    async def check() -> None:
        clock = SettableClock(START)
        path = tmp_path_factory.mktemp("ledger") / "ledger.db"
        store = SqliteStore(f"sqlite:///{path}", clock)
        await store.open()
        try:
            ledger = ConsentLedger(store, RetentionPolicy(RetentionSettings(), clock), clock)
            recorded: list[tuple[datetime, int, Decision]] = []
            for order, (decision, minutes) in enumerate(history):
                clock.moment = START + timedelta(minutes=minutes)  # each at its own time
                await ledger.record(SESSION, QUALITY, decision, Source.CHAT, None, "en")
                recorded.append((clock.moment, order, decision))
            newest = max(recorded, default=None, key=lambda item: (item[0], item[1]))
            expected = newest is not None and newest[2] is Decision.GRANTED
            assert await ledger.allows(SESSION, QUALITY) is expected
        finally:
            await store.close()

    asyncio.run(check())


# --- withdrawal ------------------------------------------------------------------------


async def test_consent_withdrawn_after_session_removes_sample(consents: Consents) -> None:
    await _granted(consents)
    await _sampled(consents)
    await _sampled(consents, "guest-someoneelse")
    consents.clock.advance(timedelta(days=3))  # the chat is long over

    assert await consents.ledger.withdraw(SESSION, QUALITY, Source.FORM, "pt") is True

    assert not await consents.ledger.allows(SESSION, QUALITY)
    assert [s.session for s in await consents.store.samples()] == ["guest-someoneelse"]
    [granted, withdrawn] = await consents.ledger.history(SESSION)
    assert (withdrawn.decision, withdrawn.source, withdrawn.text_id) == ("withdrawn", "form", "")
    assert granted.decision == "granted"  # the proof of the earlier consent stays


async def test_a_withdrawal_is_audited_with_the_pseudonym_and_counts_only(
    consents: Consents,
) -> None:
    await _granted(consents)
    await _sampled(consents)
    question = consents.texts.withdrawal_question(QUALITY, "de")

    await consents.ledger.withdraw(SESSION, QUALITY, Source.CHAT, "de", question)

    [entry] = await consents.store.audit_entries()
    assert (entry.action, entry.subject, entry.counts) == (
        "consent_withdrawn",
        SESSION,
        {"samples": 1},
    )
    assert (entry.actor, entry.reason) == (None, None)
    record = (await consents.ledger.history(SESSION))[-1]
    assert (record.text_id, record.language) == ("withdraw_quality_sampling_question", "de")


async def test_nothing_to_withdraw_changes_nothing_and_audits_nothing(consents: Consents) -> None:
    assert await consents.ledger.withdraw(SESSION, QUALITY, Source.CHAT, "en") is False
    await consents.ledger.record(SESSION, QUALITY, Decision.DECLINED, Source.CHAT, None, "en")
    assert await consents.ledger.withdraw(SESSION, QUALITY, Source.CHAT, "en") is False
    await _granted(consents)
    assert await consents.ledger.withdraw(SESSION, QUALITY, Source.CHAT, "en") is True
    assert await consents.ledger.withdraw(SESSION, QUALITY, Source.CHAT, "en") is False

    assert [r.decision for r in await consents.ledger.history(SESSION)] == [
        "declined",
        "granted",
        "withdrawn",
    ]
    assert [e.action for e in await consents.store.audit_entries()] == ["consent_withdrawn"]


async def test_a_sample_left_behind_is_deleted_by_a_later_withdrawal(consents: Consents) -> None:
    await _granted(consents)
    await consents.ledger.withdraw(SESSION, QUALITY, Source.CHAT, "en")
    await _sampled(consents)  # as if a sampler raced the withdrawal and lost

    assert await consents.ledger.withdraw(SESSION, QUALITY, Source.API, "en") is True

    assert await consents.store.samples() == []
    assert [r.decision for r in await consents.ledger.history(SESSION)] == ["granted", "withdrawn"]


async def test_withdrawing_push_notifications_keeps_the_quality_sample(consents: Consents) -> None:
    await _granted(consents, USER, PUSH)
    await _granted(consents, SESSION, QUALITY)
    await _sampled(consents)
    subject = ConsentSubject(sessions=(SESSION,), users=(USER,))

    withdrawal = await consents.ledger.withdraw_subject(subject, PUSH, Source.CHAT, "pt")

    assert (withdrawal.withdrawn, withdrawal.samples_deleted) == ((USER,), 0)
    assert not await consents.ledger.allows(USER, PUSH)
    assert await consents.ledger.allows(SESSION, QUALITY)
    assert [s.session for s in await consents.store.samples()] == [SESSION]


async def test_a_person_withdraws_quality_sampling_of_all_their_sessions_at_once(
    consents: Consents,
) -> None:
    sessions = ("guest-one", "guest-two", "guest-three")
    for session in sessions[:2]:
        await _granted(consents, session)
        await _sampled(consents, session)
    subject = ConsentSubject(sessions=sessions, users=(USER,))

    withdrawal = await consents.ledger.withdraw_subject(subject, QUALITY, Source.API, "und")

    assert withdrawal.withdrawn == sessions[:2]
    assert withdrawal.samples_deleted == 2
    assert await consents.store.samples() == []
    shown = await consents.ledger.show(subject)
    assert {p: ConsentLedger.current(r) for p, r in shown.items()} == {
        "guest-one": {"quality_sampling": Decision.WITHDRAWN},
        "guest-two": {"quality_sampling": Decision.WITHDRAWN},
        "guest-three": {},
        USER: {},
    }
    assert (await consents.store.audit_entries())[-1].action == "consent_show"


# --- texts -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(TextKind))
def test_every_text_is_shipped_in_six_languages_under_one_version(kind: TextKind) -> None:
    texts = ConsentTexts.load()
    shown = [texts.get(kind, language) for language in SUPPORTED_LANGUAGES]
    assert [text.language for text in shown] == list(SUPPORTED_LANGUAGES)
    assert {text.version for text in shown} == {"2026-12-01"}
    assert {text.id for text in shown} == {kind.value}
    assert len({text.text for text in shown}) == len(SUPPORTED_LANGUAGES)  # translated
    assert all(text.text.strip() for text in shown)


def test_an_unknown_language_gets_the_english_text_and_says_so() -> None:
    texts = ConsentTexts.load()
    for language in ("nl", None, ""):
        text = texts.get(TextKind.ANSWER_YES, language)
        assert (text.language, text.text) == ("en", "Yes, I agree")
    assert texts.get(TextKind.ANSWER_YES, "DE-at").language == "de"


def test_the_declined_confirmation_says_nothing_changes_for_the_users_support() -> None:
    texts = ConsentTexts.load()
    assert (
        "Nothing changes for your support"
        in texts.get(TextKind.QUALITY_SAMPLING_DECLINED, "en").text
    )
    # The notice's own words: "a equipa do centro de serviços irá certamente continuar a ajudá-lo"
    assert (
        "irá certamente continuar a ajudá-lo"
        in texts.get(TextKind.QUALITY_SAMPLING_DECLINED, "pt").text
    )


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_privacy_reference_notice_names_the_code_and_the_privacy_page(language: str) -> None:
    notice = ConsentTexts.load().get(TextKind.PRIVACY_REFERENCE, language)
    shown = notice.format(reference="K7QX-3MZD-R9HT", privacy_page="https://example.org/privacy")
    assert "K7QX-3MZD-R9HT" in shown and "https://example.org/privacy" in shown


def test_an_operator_replaces_a_text_with_a_version_of_its_own(tmp_path: Path) -> None:
    override = tmp_path / "texts.toml"
    override.write_text(
        '[quality_sampling_question]\nversion = "acme-2027-01"\n'
        'en = "May ACME review this chat for quality?"\n'
        'de = "Darf ACME diesen Chat zur Qualitätssicherung auswerten?"\n'
        '[withdraw_newsletter_question]\nversion = "acme-1"\nen = "Stop the newsletter?"\n'
    )
    texts = ConsentTexts.load(override)

    german = texts.get(TextKind.QUALITY_SAMPLING_QUESTION, "de")
    assert (german.version, german.text) == (
        "acme-2027-01",
        "Darf ACME diesen Chat zur Qualitätssicherung auswerten?",
    )
    # The whole set is replaced: a language it leaves out gets its English.
    french = texts.get(TextKind.QUALITY_SAMPLING_QUESTION, "fr")
    assert (french.language, french.version) == ("en", "acme-2027-01")
    assert texts.get(TextKind.ANSWER_YES, "fr").text == "Oui, j'accepte"  # others stay shipped
    assert texts.withdrawal_question("newsletter", "it").text == "Stop the newsletter?"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[answer_yes]\nen = "Yes!"\n', "answer_yes.version"),
        ('[answer_yes]\nversion = "2026-12-01"\nen = "Yes!"\n', "answer_yes.version"),
        ('[answer_yes]\nversion = "mine"\nde = "Ja!"\n', "answer_yes.en"),
        (
            '[privacy_reference]\nversion = "mine"\nen = "Your code: {reference}"\n',
            "privacy_reference.en",
        ),
        ("answer_yes = 3\n", "answer_yes"),
    ],
)
def test_an_override_without_its_own_version_english_or_placeholders_names_the_key(
    tmp_path: Path, toml: str, key: str
) -> None:
    override = tmp_path / "texts.toml"
    override.write_text(toml)
    with pytest.raises(ConfigurationError, match=key.replace(".", r"\.")):
        ConsentTexts.load(override)


def test_an_unreadable_texts_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"consent\.texts_file"):
        ConsentTexts.load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[answer_yes\n")
    with pytest.raises(ConfigurationError, match="not TOML"):
        ConsentTexts.load(broken)


# --- privacy references ----------------------------------------------------------------


def test_a_privacy_reference_is_twelve_unambiguous_characters_in_three_groups() -> None:
    codes = {new_privacy_reference() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4]
        assert set("".join(groups)) <= set(REFERENCE_ALPHABET)
    assert not set("01ILO") & set(REFERENCE_ALPHABET)
    assert len(REFERENCE_ALPHABET) == 31  # 31**12: about 59 bits


@st.composite
def typed_differently(draw: st.DrawFn) -> tuple[str, str]:
    """A reference and the way someone might type it: any letter case, spaces and
    dashes anywhere."""
    code = "".join(draw(st.lists(st.sampled_from(REFERENCE_ALPHABET), min_size=12, max_size=12)))
    canonical = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    typed = ""
    for ch in code:
        typed += draw(st.sampled_from(["", " ", "-", " - ", "  "]))
        typed += ch.lower() if draw(st.booleans()) else ch
    return canonical, typed + draw(st.sampled_from(["", " ", "\n"]))


@given(typed_differently())
def test_a_reference_survives_any_letter_case_spaces_and_dashes(pair: tuple[str, str]) -> None:
    canonical, typed = pair
    assert normalise_reference(typed) == canonical


@pytest.mark.parametrize(
    "typed", ["", "K7QX-3MZD-R9H", "K7QX-3MZD-R9HTT", "K7QX-3MZD-R9H0", "K7QX-3MZD-R9HI", "ä" * 12]
)
def test_what_cannot_be_a_reference_is_none(typed: str) -> None:
    assert normalise_reference(typed) is None


def _conversation(clock: ManualClock, session: str, reference: str | None) -> Conversation:
    now = clock.now()
    return Conversation(
        session, "web", None, now, now, now + timedelta(days=30), reference=reference
    )


async def test_a_reference_is_stored_only_as_a_keyed_digest_and_finds_its_conversation(
    consents: Consents, tmp_path: Path
) -> None:
    keyring = KeyRing(random_key())
    references = PrivacyReferences(consents.store, keyring)
    issued = await references.issue()
    await consents.store.save_conversation(_conversation(consents.clock, SESSION, issued.digest))
    await consents.store.save_conversation(_conversation(consents.clock, "guest-other", None))

    found = await references.find(issued.code.lower().replace("-", " "))

    assert found is not None and found.session == SESSION
    assert issued.code not in repr(issued)
    assert await references.find(new_privacy_reference()) is None
    assert await references.find("not a reference") is None
    compact = issued.code.replace("-", "").encode()
    on_disk = bytes_on_disk(tmp_path / "consent.db")
    assert compact not in on_disk and issued.code.encode() not in on_disk
    assert issued.digest.encode() in on_disk
    # Someone with a copy of the store but not the key cannot turn a code into it.
    other = PrivacyReferences(consents.store, KeyRing(random_key()))
    assert await other.find(issued.code) is None


async def test_a_reference_made_before_a_key_rotation_is_still_found(consents: Consents) -> None:
    old, new = random_key(), random_key()
    issued = await PrivacyReferences(consents.store, KeyRing(old)).issue()
    await consents.store.save_conversation(_conversation(consents.clock, SESSION, issued.digest))

    rotated = PrivacyReferences(consents.store, KeyRing(new, previous=[old]))
    found = await rotated.find(issued.code)
    assert found is not None and found.session == SESSION


async def test_a_reference_expires_with_its_conversation(consents: Consents) -> None:
    references = PrivacyReferences(consents.store, KeyRing(random_key()))
    issued = await references.issue()
    held = _conversation(consents.clock, f"guest-{uuid.uuid4().hex[:12]}", issued.digest)
    await consents.store.save_conversation(replace(held, expires_at=START + timedelta(days=30)))

    consents.clock.advance(timedelta(days=30))
    assert await references.find(issued.code) is None
