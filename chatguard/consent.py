"""Consent: the purposes, the ledger of decisions, the texts shown, the phrases that
ask to withdraw, and privacy references.

The notice promises (``Função do live chat`` and ``Notificações "push"``):

* Samples of live-chat sessions are evaluated for quality only with the user's
  consent, asked before the hand-over to the agents; it can be withdrawn at any time,
  during the session (by telling the agent) or after it (a form); without it the user
  is helped all the same.
* Push notifications through Messenger need consent, withdrawn by typing the word
  "Withdraw" ("Retirar") and confirming.

So each decision is a :class:`~chatguard.store.records.ConsentRecord` appended by
the :class:`ConsentLedger` (never edited): who (a pseudonym), for what purpose,
granted, declined or withdrawn, when, through which channel of the person's
(:class:`Source`), and which text in which version and language they were shown
(:class:`ConsentTexts`). The current state is derived from the newest record. A
withdrawal takes effect at once: the quality sample of the session is deleted in the
same call. :class:`WithdrawalMatcher` and :class:`ConfirmationMatcher` read what the
user types; :class:`PrivacyReferences` gives each conversation a short random code by
which the person finds it again after the chat, kept only as a keyed digest.
"""

from __future__ import annotations

import re
import secrets
import string
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from chatguard.clock import Clock
from chatguard.crypto import KeyRing
from chatguard.errors import ConfigurationError, UnknownPurposeError
from chatguard.redact.languages import SUPPORTED_LANGUAGES
from chatguard.retention import RetentionPolicy
from chatguard.store.base import Store
from chatguard.store.records import ConsentRecord, Conversation, RecordKind

__all__ = [
    "BUILT_IN_PURPOSES",
    "NO_PAYLOAD",
    "YES_PAYLOAD",
    "ConfirmationMatcher",
    "ConsentLedger",
    "ConsentSubject",
    "ConsentText",
    "ConsentTexts",
    "Decision",
    "IssuedReference",
    "PrivacyReferences",
    "Purpose",
    "Source",
    "TextKind",
    "Withdrawal",
    "WithdrawalMatcher",
    "new_privacy_reference",
    "normalise_phrase",
    "normalise_reference",
]


# --- purposes, decisions, sources ------------------------------------------------------


class Purpose(StrEnum):
    """The purposes chatguard knows; ``consent.purposes`` adds more by name.

    Whose pseudonym a purpose's consent is recorded under:

    * ``quality_sampling``: the **session** pseudonym (``guest-...``). The consent
      covers that one live-chat session, asked before its hand-over.
    * ``push_notifications``: the **channel-user** pseudonym (``user-...``): the
      Messenger user receives notifications across sessions.
    * configured purposes: whichever pseudonym the caller records them under.
    """

    QUALITY_SAMPLING = "quality_sampling"
    PUSH_NOTIFICATIONS = "push_notifications"


#: The purposes every deployment has.
BUILT_IN_PURPOSES: Final = tuple(Purpose)


class Decision(StrEnum):
    """What a consent record says."""

    GRANTED = "granted"
    DECLINED = "declined"  # asked, and the answer was no (a timeout counts as no)
    WITHDRAWN = "withdrawn"  # granted before, taken back


class Source(StrEnum):
    """Through what the person gave or withdrew a consent."""

    CHAT = "chat"  # answered in the conversation
    API = "api"  # an operator, through the admin API
    FORM = "form"  # the person, on the /privacy page
    MESSENGER_OPTIN = "messenger_optin"  # Messenger's notification opt-in


# --- consent texts ---------------------------------------------------------------------


class TextKind(StrEnum):
    """The consent texts chatguard shows, each one table of ``consent_texts.toml``."""

    QUALITY_SAMPLING_QUESTION = "quality_sampling_question"
    ANSWER_YES = "answer_yes"
    ANSWER_NO = "answer_no"
    QUALITY_SAMPLING_GRANTED = "quality_sampling_granted"
    QUALITY_SAMPLING_DECLINED = "quality_sampling_declined"  # says nothing changes for support
    QUALITY_SAMPLING_TIMED_OUT = "quality_sampling_timed_out"  # no answer in time: counts as no
    PRIVACY_REFERENCE = "privacy_reference"  # {reference}, {privacy_page}
    WITHDRAW_QUALITY_SAMPLING_QUESTION = "withdraw_quality_sampling_question"
    WITHDRAW_PUSH_NOTIFICATIONS_QUESTION = "withdraw_push_notifications_question"
    WITHDRAWAL_DONE = "withdrawal_done"
    WITHDRAWAL_CANCELLED = "withdrawal_cancelled"
    NOTHING_TO_WITHDRAW = "nothing_to_withdraw"
    PUSH_NOTIFICATIONS_GRANTED = "push_notifications_granted"


_TEXTS_FILE: Final = "consent_texts.toml"
_FALLBACK: Final = "en"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class ConsentText:
    """One text as shown: ``id`` (its kind), ``version``, ``language`` and ``text``.

    ``id``, ``version`` and ``language`` are what a consent record keeps, and name
    exactly these words. ``text`` may hold placeholders (``{reference}``) that
    :meth:`format` fills in.
    """

    id: str
    version: str
    language: str
    text: str

    def format(self, **values: str) -> str:
        """``text`` with its placeholders filled in (``KeyError`` for a missing one)."""
        return self.text.format(**values)


class ConsentTexts:
    """The consent texts in en, de, fr, it, pt and es, each set with its version.

    * ``get(kind, language)`` gives the text of ``kind`` in ``language`` (``"pt-BR"``
      reads as ``"pt"``), in English for a language the set lacks; the returned
      :class:`ConsentText` says which language it is in.
    * The shipped texts (``chatguard/data/consent_texts.toml``) are read once per
      process. An operator's file (``consent.texts_file``) of the same shape replaces
      whole sets: each needs its own ``version`` (not the shipped one) and at least
      ``en``, and keeps the shipped set's placeholders; otherwise loading raises
      :class:`~chatguard.errors.ConfigurationError` naming the key. It may add sets
      (such as ``withdraw_<purpose>_question`` for a configured purpose).

    Example::

        texts = ConsentTexts.load(settings.consent.texts_file)
        question = texts.get(TextKind.QUALITY_SAMPLING_QUESTION, "pt")
        question.id, question.version, question.language   # what the record keeps
    """

    def __init__(self, sets: Mapping[str, Mapping[str, str]]) -> None:
        self._sets = {kind: dict(values) for kind, values in sets.items()}

    @classmethod
    def load(cls, override: Path | None = None) -> ConsentTexts:
        """The shipped texts, with the sets of ``override`` (a TOML file) instead."""
        shipped = _shipped_sets()
        if override is None:
            return cls(shipped)
        try:
            data = tomllib.loads(override.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(
                f"consent.texts_file: cannot read {override} ({type(exc).__name__})"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(
                f"consent.texts_file: {override} is not TOML ({exc})"
            ) from None
        sets = dict(shipped)
        for kind, table in data.items():
            sets[kind] = _override_set(kind, table, shipped.get(kind), override)
        return cls(sets)

    @property
    def kinds(self) -> list[str]:
        """The kinds of text held, shipped and added."""
        return sorted(self._sets)

    def get(self, kind: str, language: str | None) -> ConsentText:
        """The text of ``kind`` in ``language``, else in English (``KeyError`` for a
        kind no set holds)."""
        values = self._sets[kind]
        wanted = _primary_language(language)
        shown = wanted if wanted in values else _FALLBACK
        return ConsentText(id=kind, version=values["version"], language=shown, text=values[shown])

    def withdrawal_question(self, purpose: str, language: str | None) -> ConsentText:
        """The question that confirms a withdrawal of ``purpose``'s consent."""
        return self.get(f"withdraw_{purpose}_question", language)

    def labels(self, kind: str) -> list[str]:
        """The text of ``kind`` in every language it has (the answer buttons' labels)."""
        return [text for language, text in self._sets[kind].items() if language != "version"]


@cache
def _shipped_sets() -> dict[str, dict[str, str]]:
    raw = resources.files("chatguard").joinpath("data", _TEXTS_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    sets: dict[str, dict[str, str]] = {}
    for kind, table in data.items():
        sets[kind] = {str(key): str(value) for key, value in table.items()}
        missing = [lang for lang in (*SUPPORTED_LANGUAGES, "version") if lang not in table]
        if missing:  # a broken package, not an operator's mistake
            raise ConfigurationError(f"{_TEXTS_FILE}: {kind} lacks {', '.join(missing)}")
    return sets


def _override_set(
    kind: str, table: object, shipped: Mapping[str, str] | None, path: Path
) -> dict[str, str]:
    """An operator's set of texts, checked: its own version, English, only strings,
    the shipped set's placeholders."""
    where = f"consent.texts_file ({path}): {kind}"
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigurationError(f"{where}: must be a table of strings")
    version = table.get("version")
    if not version:
        raise ConfigurationError(f"{where}.version: an overridden text needs its own version")
    if shipped is not None and version == shipped["version"]:
        raise ConfigurationError(
            f"{where}.version: {version!r} is the shipped text's version; give yours its own"
        )
    if _FALLBACK not in table:
        raise ConfigurationError(f"{where}.en: every text needs English, the fallback")
    if shipped is not None:
        needed = set(_PLACEHOLDER.findall(shipped[_FALLBACK]))
        for language, text in table.items():
            if language != "version" and set(_PLACEHOLDER.findall(text)) != needed:
                placeholders = ", ".join(f"{{{name}}}" for name in sorted(needed)) or "none"
                raise ConfigurationError(f"{where}.{language}: placeholders must be {placeholders}")
    return dict(table)


def _primary_language(language: str | None) -> str:
    """``"pt-BR"`` -> ``"pt"``; ``None`` or empty -> English."""
    if not language:
        return _FALLBACK
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or _FALLBACK


# --- what the user types ---------------------------------------------------------------


def normalise_phrase(text: str) -> str:
    """``text`` as the matchers compare it: letter case and accents dropped,
    punctuation as spaces, runs of spaces as one, none at either end."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    spaced = "".join(ch if ch.isalnum() else " " for ch in letters)
    return " ".join(spaced.split())


def _phrase_index(phrases: Mapping[str, Iterable[str]]) -> frozenset[str]:
    return frozenset(normalise_phrase(p) for each in phrases.values() for p in each)


class WithdrawalMatcher:
    """Says whether a whole message asks to withdraw a consent, and which.

    Like a Presidio recogniser, it carries its word lists, per language: consent
    phrases ("I withdraw my consent", "Einwilligung widerrufen", "retirar o
    consentimento", ...) withdraw ``quality_sampling``; the single word of the
    notice ("Withdraw", "Retirar", "Widerrufen", "Retirer", "Revoca") and "stop
    notifications" phrases withdraw ``push_notifications``. Only a whole message
    matches (letter case, accents, punctuation and spaces aside): "Can I withdraw
    money at the airport?" is not a request. A match is a request to be confirmed,
    never a withdrawal by itself.
    """

    QUALITY_SAMPLING: Final[Mapping[str, tuple[str, ...]]] = {
        "en": (
            "I withdraw my consent", "withdraw consent", "withdraw my consent",
            "I want to withdraw my consent", "I would like to withdraw my consent",
            "I'd like to withdraw my consent", "revoke consent", "revoke my consent",
            "I revoke my consent", "withdraw consent for quality review",
        ),
        "de": (
            "Einwilligung widerrufen", "ich widerrufe meine Einwilligung",
            "meine Einwilligung widerrufen", "ich möchte meine Einwilligung widerrufen",
            "ich will meine Einwilligung widerrufen", "Zustimmung widerrufen",
            "ich widerrufe meine Zustimmung", "Einwilligung zurückziehen",
            "ich ziehe meine Einwilligung zurück",
        ),
        "fr": (
            "je retire mon consentement", "retirer mon consentement",
            "retirer le consentement", "retrait du consentement",
            "je veux retirer mon consentement", "je souhaite retirer mon consentement",
            "je révoque mon consentement", "révoquer mon consentement",
        ),
        "it": (
            "revoco il consenso", "revoco il mio consenso", "revocare il consenso",
            "revoca il consenso", "revoca consenso", "ritiro il consenso",
            "ritiro il mio consenso", "voglio revocare il consenso",
            "voglio revocare il mio consenso", "vorrei revocare il consenso",
        ),
        "pt": (
            "retirar o consentimento", "retiro o meu consentimento", "retiro o consentimento",
            "retirar o meu consentimento", "retirar consentimento",
            "quero retirar o meu consentimento", "quero retirar o consentimento",
            "revogar o consentimento", "revogo o meu consentimento",
            "remover o consentimento", "quero remover o meu consentimento",
        ),
        "es": (
            "retiro mi consentimiento", "retirar el consentimiento", "retirar mi consentimiento",
            "quiero retirar mi consentimiento", "revoco mi consentimiento",
            "revocar el consentimiento", "revocar mi consentimiento",
        ),
    }  # fmt: skip

    PUSH_NOTIFICATIONS: Final[Mapping[str, tuple[str, ...]]] = {
        "en": ("Withdraw", "stop notifications", "unsubscribe from notifications"),
        "de": ("Widerrufen", "Benachrichtigungen abbestellen", "Benachrichtigungen stoppen"),
        "fr": ("Retirer", "arrêter les notifications", "désactiver les notifications"),
        "it": ("Revoca", "disattiva le notifiche", "basta notifiche"),
        "pt": ("Retirar", "parar as notificações", "desativar as notificações"),
        "es": ("Retirar", "detener las notificaciones", "desactivar las notificaciones"),
    }  # fmt: skip

    def __init__(self) -> None:
        self._purposes: dict[str, Purpose] = {
            **dict.fromkeys(_phrase_index(self.PUSH_NOTIFICATIONS), Purpose.PUSH_NOTIFICATIONS),
            **dict.fromkeys(_phrase_index(self.QUALITY_SAMPLING), Purpose.QUALITY_SAMPLING),
        }
        self._languages: dict[str, tuple[str, ...]] = {}
        for language in SUPPORTED_LANGUAGES:
            phrases = (*self.PUSH_NOTIFICATIONS[language], *self.QUALITY_SAMPLING[language])
            for phrase in {normalise_phrase(p) for p in phrases}:
                self._languages[phrase] = (*self._languages.get(phrase, ()), language)

    def match(self, text: str) -> Purpose | None:
        """The purpose whose withdrawal the whole of ``text`` asks for, else ``None``."""
        return self._purposes.get(normalise_phrase(text))

    def languages(self, text: str) -> tuple[str, ...]:
        """The languages whose withdrawal phrase the whole of ``text`` is ("Retirar":
        Portuguese and Spanish), in ``SUPPORTED_LANGUAGES`` order; empty for any other
        text. A one-word request is too short for language detection: this tells
        which language to confirm it in."""
        return self._languages.get(normalise_phrase(text), ())


#: The quick-reply payloads of the two answers chatguard offers.
YES_PAYLOAD: Final = "CHATGUARD_CONSENT_YES"
NO_PAYLOAD: Final = "CHATGUARD_CONSENT_NO"


class ConfirmationMatcher:
    """Reads a yes or a no to a question chatguard asked, in the six languages.

    ``answer(text, payload)`` is ``True`` for yes, ``False`` for no, ``None`` for
    anything else (not an answer: the question stays open). A quick reply's payload
    (``YES_PAYLOAD``, ``NO_PAYLOAD``) decides alone; otherwise the whole typed text
    must be one of the words below or an answer button's label (from ``texts``),
    letter case, accents and punctuation aside. Only a clear yes counts as yes:
    "ok", "maybe" or "why?" are not answers.
    """

    YES: Final[Mapping[str, tuple[str, ...]]] = {
        "en": ("yes", "y", "yeah", "yep", "sure", "yes please", "I agree", "agree",
               "of course", "yes I agree"),
        "de": ("ja", "j", "ja bitte", "ja gerne", "gerne", "einverstanden",
               "ich bin einverstanden", "ich stimme zu", "klar", "ja klar"),
        "fr": ("oui", "o", "oui merci", "d'accord", "j'accepte", "oui j'accepte",
               "bien sûr", "oui bien sûr"),
        "it": ("sì", "si", "sì certo", "certo", "va bene", "accetto", "acconsento",
               "sì acconsento", "d'accordo"),
        "pt": ("sim", "s", "claro", "sim claro", "aceito", "sim aceito", "concordo",
               "sim concordo", "pode ser"),
        "es": ("sí", "si", "claro", "sí claro", "acepto", "sí acepto", "de acuerdo",
               "vale"),
    }  # fmt: skip

    NO: Final[Mapping[str, tuple[str, ...]]] = {
        "en": ("no", "n", "nope", "no thanks", "no thank you", "I don't agree",
               "I do not agree", "I disagree"),
        "de": ("nein", "n", "nein danke", "lieber nicht", "ich stimme nicht zu",
               "nicht einverstanden", "ich bin nicht einverstanden"),
        "fr": ("non", "non merci", "je refuse", "pas d'accord", "je ne suis pas d'accord"),
        "it": ("no", "no grazie", "non accetto", "rifiuto", "non acconsento",
               "preferisco di no"),
        "pt": ("não", "nao", "não obrigado", "não obrigada", "não aceito", "recuso",
               "não concordo", "prefiro que não", "não prefiro que não"),
        "es": ("no", "no gracias", "no acepto", "rechazo", "prefiero que no"),
    }  # fmt: skip

    def __init__(self, texts: ConsentTexts | None = None) -> None:
        yes, no = set(_phrase_index(self.YES)), set(_phrase_index(self.NO))
        if texts is not None:
            yes.update(normalise_phrase(label) for label in texts.labels(TextKind.ANSWER_YES))
            no.update(normalise_phrase(label) for label in texts.labels(TextKind.ANSWER_NO))
        both = yes & no
        if both:  # an operator's label may not mean yes and no at once
            raise ConfigurationError(f"consent texts: {sorted(both)} read as yes and as no")
        self._yes, self._no = frozenset(yes), frozenset(no)

    def answer(self, text: str | None, payload: str | None = None) -> bool | None:
        """``True`` (yes), ``False`` (no) or ``None`` (not an answer)."""
        if payload == YES_PAYLOAD:
            return True
        if payload == NO_PAYLOAD:
            return False
        typed = normalise_phrase(text or "")
        if typed in self._yes:
            return True
        if typed in self._no:
            return False
        return None


# --- privacy references ----------------------------------------------------------------

#: The characters of a privacy reference: digits and capitals, without 0, 1, I, L, O.
REFERENCE_ALPHABET: Final = "".join(
    ch for ch in string.digits + string.ascii_uppercase if ch not in "01ILO"
)
_REFERENCE_GROUPS: Final = 3
_REFERENCE_GROUP: Final = 4
_REFERENCE_CHARS: Final = _REFERENCE_GROUPS * _REFERENCE_GROUP
_TYPED_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")


def new_privacy_reference() -> str:
    """A fresh privacy reference such as ``K7QX-3MZD-R9HT``: 12 characters drawn with
    ``secrets`` from 31 that cannot be mistaken for one another (about 59 bits),
    derived from nothing about the person."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(_REFERENCE_CHARS))
    return "-".join(
        chars[i : i + _REFERENCE_GROUP] for i in range(0, _REFERENCE_CHARS, _REFERENCE_GROUP)
    )


def normalise_reference(typed: str) -> str | None:
    """The reference ``typed`` names, in its canonical form ``XXXX-XXXX-XXXX``, or
    ``None`` when it cannot be one. Letter case, spaces and dashes are ignored."""
    compact = _TYPED_SEPARATORS.sub("", typed).upper()
    if len(compact) != _REFERENCE_CHARS or any(ch not in REFERENCE_ALPHABET for ch in compact):
        return None
    return "-".join(
        compact[i : i + _REFERENCE_GROUP] for i in range(0, _REFERENCE_CHARS, _REFERENCE_GROUP)
    )


@dataclass(frozen=True, slots=True)
class IssuedReference:
    """A privacy reference just issued: ``code`` to tell the person (never to log or
    store), ``digest`` to store in the conversation (``Conversation.reference``)."""

    code: str = field(repr=False)
    digest: str


class PrivacyReferences:
    """Privacy references: short random codes a person uses to find their conversation
    after the chat (to withdraw consent, or ask for a copy or erasure of their data).

    The store holds only a keyed digest of a reference (HMAC-SHA256 under the store
    key): a copy of the store cannot be used to find anyone's conversation. After a
    key rotation, references made under a previous key are still found.

    Example::

        issued = await references.issue()
        conversation = replace(conversation, reference=issued.digest)  # then save it
        tell_user(issued.code)
        await references.find("k7qx 3mzd r9ht")     # that conversation
    """

    def __init__(self, store: Store, keyring: KeyRing) -> None:
        self._store = store
        self._keyring = keyring

    async def issue(self) -> IssuedReference:
        """A new reference that no unexpired conversation holds yet."""
        while True:
            code = new_privacy_reference()
            digest = self._keyring.digest(_reference_bytes(code))
            if await self._store.conversation_by_reference(digest) is None:
                return IssuedReference(code, digest)

    async def find(self, typed: str) -> Conversation | None:
        """The unexpired conversation the reference ``typed`` names (in any letter
        case, with or without spaces and dashes), else ``None``."""
        code = normalise_reference(typed)
        if code is None:
            return None
        for digest in self._keyring.digests(_reference_bytes(code)):
            conversation = await self._store.conversation_by_reference(digest)
            if conversation is not None:
                return conversation
        return None


def _reference_bytes(code: str) -> bytes:
    return b"chatguard privacy reference\0" + code.replace("-", "").encode()


# --- the ledger ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentSubject:
    """Whom a consent request is about: the person's session pseudonyms and channel-user
    pseudonyms (``ChatGuard.consent_subject`` finds them)."""

    sessions: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    def pseudonyms(self, purpose: str) -> tuple[str, ...]:
        """The pseudonyms ``purpose``'s consent is recorded under (see :class:`Purpose`)."""
        if purpose == Purpose.QUALITY_SAMPLING:
            return self.sessions
        if purpose == Purpose.PUSH_NOTIFICATIONS:
            return self.users
        return (*self.sessions, *self.users)

    @property
    def all(self) -> tuple[str, ...]:
        """Every pseudonym of the subject, sessions first."""
        return (*self.sessions, *self.users)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What a withdrawal changed: the pseudonyms whose consent it withdrew (or whose
    sample it deleted) and how many samples it deleted."""

    purpose: str
    withdrawn: tuple[str, ...] = ()
    samples_deleted: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything changed."""
        return bool(self.withdrawn)


class ConsentLedger:
    """The consent decisions, appended, never edited; the state derived from them.

    Promises:

    * ``record`` appends one record (:class:`~chatguard.store.records.ConsentRecord`)
      with the text shown (its id, version and language), kept for
      ``retention.consents`` (30 days + 1 year by default: the proof of a consent
      outlives the data it covers by the configured period).
    * ``state`` is the decision of the newest record for the subject and purpose (by
      time, ties by id), ``None`` if none; ``allows`` is true only for ``granted``.
    * ``withdraw`` takes effect at once: it records ``withdrawn`` when the consent is
      granted and, for ``quality_sampling``, deletes the session's quality sample in
      the same call; a change is audited as ``consent_withdrawn`` (the pseudonym and
      the number of samples deleted, no content).
    * Subjects are pseudonyms, never channel identities: the session pseudonym for
      ``quality_sampling``, the channel-user pseudonym for ``push_notifications``.
      Unknown purposes raise :class:`~chatguard.errors.UnknownPurposeError`.

    Example::

        ledger = ConsentLedger(store, retention, clock)
        question = texts.get(TextKind.QUALITY_SAMPLING_QUESTION, "pt")
        await ledger.record(session, Purpose.QUALITY_SAMPLING, Decision.GRANTED,
                            Source.CHAT, question, "pt")
        await ledger.allows(session, Purpose.QUALITY_SAMPLING)      # True
        await ledger.withdraw(session, Purpose.QUALITY_SAMPLING, Source.FORM, "pt")
    """

    def __init__(
        self,
        store: Store,
        retention: RetentionPolicy,
        clock: Clock,
        *,
        purposes: Collection[str] = (),
    ) -> None:
        self._store = store
        self._retention = retention
        self._clock = clock
        self.purposes: tuple[str, ...] = tuple(dict.fromkeys([*BUILT_IN_PURPOSES, *purposes]))

    async def record(
        self,
        subject: str,
        purpose: str,
        decision: Decision,
        source: Source,
        text: ConsentText | None,
        language: str,
    ) -> ConsentRecord:
        """Append a decision; return it as stored (with its id).

        The record keeps the id, version and language of ``text`` (what the person
        was shown); without a text (an operator's or a form's withdrawal) the text id
        and version are empty and the language is ``language``.
        """
        self.require_purpose(purpose)
        if not subject:
            raise ValueError("a consent needs a subject pseudonym")
        now = self._clock.now()
        record = ConsentRecord(
            subject=subject,
            purpose=str(purpose),
            decision=Decision(decision).value,
            at=now,
            source=Source(source).value,
            text_id="" if text is None else text.id,
            text_version="" if text is None else text.version,
            language=language if text is None else text.language,
            expires_at=self._retention.expires_at(RecordKind.CONSENTS, now),
        )
        return replace(record, id=await self._store.append_consent(record))

    async def state(self, subject: str, purpose: str) -> Decision | None:
        """The current decision: the newest record's, ``None`` when there is none."""
        self.require_purpose(purpose)
        newest = None
        for record in await self._store.consents(subject):  # oldest first, ties by id
            if record.purpose == purpose:
                newest = record
        return None if newest is None else Decision(newest.decision)

    async def allows(self, subject: str, purpose: str) -> bool:
        """Whether ``purpose`` may go on: only when the current decision is granted."""
        return await self.state(subject, purpose) is Decision.GRANTED

    async def history(self, subject: str) -> list[ConsentRecord]:
        """Every unexpired record of the subject, all purposes, oldest first."""
        return await self._store.consents(subject)

    async def withdraw(
        self,
        subject: str,
        purpose: str,
        source: Source,
        language: str,
        text: ConsentText | None = None,
    ) -> bool:
        """Withdraw ``subject``'s consent to ``purpose``, at once; whether anything
        changed (see the class's promises). ``text`` is the confirmation question the
        person answered, when there was one."""
        withdrawal = await self.withdraw_subject(
            ConsentSubject(sessions=(subject,), users=(subject,)), purpose, source, language, text
        )
        return withdrawal.changed

    async def withdraw_subject(
        self,
        subject: ConsentSubject,
        purpose: str,
        source: Source,
        language: str,
        text: ConsentText | None = None,
    ) -> Withdrawal:
        """``withdraw`` for each of the subject's pseudonyms of ``purpose``."""
        self.require_purpose(purpose)
        withdrawn: list[str] = []
        deleted_total = 0
        for pseudonym in dict.fromkeys(subject.pseudonyms(purpose)):
            recorded = False
            if await self.allows(pseudonym, purpose):
                await self.record(pseudonym, purpose, Decision.WITHDRAWN, source, text, language)
                recorded = True
            # Also when nothing was granted any more: a sample left by an earlier
            # failure, or taken in a race with the withdrawal, goes now.
            deleted = purpose == Purpose.QUALITY_SAMPLING and await self._store.delete_sample(
                pseudonym
            )
            if recorded or deleted:
                withdrawn.append(pseudonym)
                deleted_total += int(deleted)
                await self._audit("consent_withdrawn", pseudonym, {"samples": int(deleted)})
        return Withdrawal(str(purpose), tuple(withdrawn), deleted_total)

    async def show(self, subject: ConsentSubject) -> dict[str, list[ConsentRecord]]:
        """Each of the subject's pseudonyms with its records, oldest first; audited as
        ``consent_show`` with the number of records (no content)."""
        shown = {pseudonym: await self.history(pseudonym) for pseudonym in subject.all}
        if subject.all:
            count = sum(len(records) for records in shown.values())
            await self._audit("consent_show", subject.all[0], {"consents": count})
        return shown

    @staticmethod
    def current(records: Iterable[ConsentRecord]) -> dict[str, Decision]:
        """The current decision per purpose of one subject's records (oldest first)."""
        return {record.purpose: Decision(record.decision) for record in records}

    def require_purpose(self, purpose: str) -> None:
        """:class:`~chatguard.errors.UnknownPurposeError` unless ``purpose`` is known."""
        if purpose not in self.purposes:
            raise UnknownPurposeError(f"unknown consent purpose; known: {', '.join(self.purposes)}")

    async def _audit(self, action: str, subject: str, counts: dict[str, int]) -> None:
        await self._store.append_audit(self._retention.audit_entry(action, counts, subject=subject))
