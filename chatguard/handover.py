"""The live-chat hand-over gate: the quality-sampling consent asked before the
hand-over, withdrawals asked for during the session, and the deadlines of both.

The notice ("Função do live chat"): samples of live-chat sessions are evaluated for
quality only with the user's consent, asked *before* the hand-over to the agents; it
can be withdrawn at any time during the session (by telling the agent) or after it;
without it the user is helped all the same. And ("Notificações push"): push
notifications are withdrawn by typing "Withdraw" ("Retirar") and confirming.

chatguard asks these questions itself and keeps what is asked in the conversation's
dialogue state (``Conversation.awaiting``, changed only by compare-and-set through
``Store.update_dialogue``), so it survives restarts and is shared by instances:

==================================  ===========================================================
``awaiting``                        what happens next
==================================  ===========================================================
``None``                            a whole-message withdrawal phrase asks its confirmation
                                    (or answers that nothing is granted); a bot's hand-over
                                    asks the quality-sampling question once per conversation
                                    (later hand-overs reuse the decision); anything else goes
                                    to the bot, or to the agents after the hand-over
``"consent_answer"``                the next turn answers: yes (typed in any of the six
                                    languages, a button's label, or ``YES_PAYLOAD``) grants;
                                    no, a withdrawal phrase, or anything else declines
                                    (consent is a clear act), and anything else is sent to the
                                    agents as the first live-chat message; the deadline
                                    (``consent.answer_timeout``) declines. Then the
                                    conversation is handed over, whatever the answer
``"withdrawal:<purpose>"``          yes withdraws at once (the sample deleted); anything else
                                    cancels; the deadline (``consent.withdrawal_timeout``)
                                    drops the question silently
==================================  ===========================================================

Promises:

* Exactly one of the user's answer and the deadline resolves a question, also across
  processes: each resolves only after winning the compare-and-set on the question's
  ``awaiting_since``; the loser does nothing with it.
* chatguard's exchange (its questions, the user's answers, its confirmations) is
  stored in the transcript as events of kind ``consent`` (the user's answer redacted
  like every user message) and never forwarded to the bot or the agents; the
  hand-over context sent to the agents stops before the exchange that decided it.
* A decision is a :class:`~chatguard.store.records.ConsentRecord` (source ``chat``)
  naming the text the person was shown: the question for an answer, the
  ``quality_sampling_timed_out`` notice for a timeout. A yes issues a privacy
  reference (its digest stored on the conversation, the code shown once and stored
  in the transcript masked as ``REFERENCE_NOT_KEPT``) and asks the sampler once.
* The agents are told on every message whether the session may be sampled
  (:class:`~chatguard.vendors.base.QualitySampling`): allowed only while the consent
  is granted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from chatguard.consent import (
    NO_PAYLOAD,
    YES_PAYLOAD,
    ConsentSubject,
    ConsentText,
    Decision,
    Purpose,
    Source,
    TextKind,
)
from chatguard.errors import VendorError
from chatguard.guard import ChatGuard
from chatguard.outputs import ShownOutput, vendor_down
from chatguard.store.records import (
    NOTHING_AWAITED,
    Conversation,
    DialogueChange,
    EventKind,
)
from chatguard.vendors.base import LiveAgentVendor, QualitySampling

logger = logging.getLogger(__name__)

__all__ = [
    "AWAITING_CONSENT",
    "AWAITING_WITHDRAWAL",
    "HANDED_OVER",
    "REFERENCE_NOT_KEPT",
    "AnswerDeadlines",
    "HandOverGate",
    "OutputDelivery",
    "UserReading",
    "quick_reply_payload",
]

#: ``Conversation.awaiting`` while the quality-sampling question waits for its answer.
AWAITING_CONSENT: Final = "consent_answer"
#: ``Conversation.awaiting`` while a withdrawal waits for its confirmation (+ purpose).
AWAITING_WITHDRAWAL: Final = "withdrawal:"
#: The system transcript event that marks a conversation handed over to live agents.
HANDED_OVER: Final = "handed over to a live agent"
#: What the transcript's copy of the privacy reference notice shows instead of the code.
REFERENCE_NOT_KEPT: Final = "****-****-****"


@dataclass(frozen=True, slots=True)
class UserReading:
    """What chatguard reads in a user's message for its own questions (no text).

    ``answer``: a clear yes (``True``), a clear no (``False``), else ``None``;
    ``withdrawal``: the purpose whose withdrawal the whole message asks for;
    ``kind``: how the message is stored, ``consent`` when it belongs to chatguard's
    own exchange (then it is never forwarded to a vendor); ``phrase_languages``: the
    languages whose withdrawal phrase the message is.
    """

    answer: bool | None
    withdrawal: str | None
    kind: EventKind = EventKind.MESSAGE
    phrase_languages: tuple[str, ...] = ()

    def language_for(self, detected: str) -> str:
        """The language to confirm this message's withdrawal in: ``detected`` when the
        phrase is one of that language's, else the phrase's own first language (a
        one-word request such as "Retirar" is too short to detect, so ``detected``
        is then the fallback)."""
        if not self.phrase_languages or detected in self.phrase_languages:
            return detected
        return self.phrase_languages[0]


def quick_reply_payload(data: Mapping[str, Any] | None) -> str | None:
    """The payload of a quick reply or postback in a turn's ``data``, if any."""
    for key in ("quick_reply", "postback"):
        item = (data or {}).get(key)
        if isinstance(item, dict) and isinstance(item.get("payload"), str):
            return str(item["payload"])
    return None


class HandOverGate:
    """The hand-over to live agents behind the quality-sampling question, and
    withdrawals during the session (see the module's table and promises).

    Stateless: everything it waits for is in the store, so any number of gates (one
    per channel's dialogue, one for the deadlines) over one store agree.

    Example (what :class:`~chatguard.dialogue.Dialogue` does)::

        reading = gate.read(conversation, text, data)     # before storing the message
        ...                                               # stored with reading.kind
        outputs = await gate.answer(conversation, reading, redacted, language)
        outputs = await gate.request_hand_over(conversation, language)  # bot asked
    """

    def __init__(self, guard: ChatGuard, agents: LiveAgentVendor | None) -> None:
        self.guard = guard
        self.agents = agents

    # -- reading the user ----------------------------------------------------------

    def read(
        self, conversation: Conversation, text: str, data: Mapping[str, Any] | None = None
    ) -> UserReading:
        """How chatguard reads ``text`` (and a quick reply's payload in ``data``) in
        ``conversation`` as it stands: part of its own exchange, or a message for the
        bot or the agents."""
        guard = self.guard
        answer = guard.answers.answer(text, quick_reply_payload(data))
        withdrawal = guard.withdrawals.match(text)
        awaiting = conversation.awaiting
        if awaiting == AWAITING_CONSENT:
            exchange = answer is not None or withdrawal is not None
        elif awaiting is not None and awaiting.startswith(AWAITING_WITHDRAWAL):
            exchange = True  # every reply to a confirmation question stays with chatguard
        else:
            exchange = withdrawal is not None
        kind = EventKind.CONSENT if exchange else EventKind.MESSAGE
        if withdrawal is None:
            return UserReading(answer, None, kind)
        return UserReading(answer, str(withdrawal), kind, guard.withdrawals.languages(text))

    # -- the hand-over ---------------------------------------------------------------

    async def request_hand_over(
        self, conversation: Conversation, language: str
    ) -> list[ShownOutput]:
        """The bot asked for a human: ask the quality-sampling question (once per
        conversation), or, when it was answered before, hand over with that answer.
        Without live agents, nothing (the channel shows the bot's hand-over itself)."""
        if self.agents is None:
            return []
        guard = self.guard
        session = conversation.session
        if await guard.consents.state(session, Purpose.QUALITY_SAMPLING) is not None:
            handed_over = await self._hand_over(conversation)
            return [] if handed_over else [vendor_down(conversation.language or language)]
        question = guard.texts.get(TextKind.QUALITY_SAMPLING_QUESTION, language)
        now = guard.clock.now()
        asked = DialogueChange(
            awaiting=AWAITING_CONSENT,
            awaiting_since=now,
            awaiting_until=now + guard.settings.consent.answer_timeout,
            language=question.language,
        )
        if not await guard.store.update_dialogue(session, asked, expect_awaiting_since=None):
            return []  # another question is open; the user answers that one first
        await self._say(conversation, question.text)
        return [self._question(question.text, question.language)]

    async def answer(
        self,
        conversation: Conversation,
        reading: UserReading,
        redacted: str,
        language: str,
    ) -> list[ShownOutput] | None:
        """The user's turn while ``conversation`` awaits an answer: the question
        resolved by it and what the user is shown. ``None`` when the question was
        resolved elsewhere first (its deadline, another turn): the turn then goes on
        as any other. ``redacted`` is the turn as the ``nlp`` policy redacted it."""
        guard = self.guard
        awaiting = conversation.awaiting
        if awaiting is None or not await guard.store.update_dialogue(
            conversation.session, NOTHING_AWAITED, expect_awaiting_since=conversation.awaiting_since
        ):
            return None
        shown_in = conversation.language or language
        if awaiting == AWAITING_CONSENT:
            question = guard.texts.get(TextKind.QUALITY_SAMPLING_QUESTION, shown_in)
            if reading.answer is True and reading.withdrawal is None:
                return await self._decided(conversation, Decision.GRANTED, question)
            pending = redacted if reading.kind is EventKind.MESSAGE else None
            return await self._decided(
                conversation, Decision.DECLINED, question, pending=pending, language=language
            )
        if awaiting.startswith(AWAITING_WITHDRAWAL):
            purpose = awaiting.removeprefix(AWAITING_WITHDRAWAL)
            if reading.answer is True:
                await guard.consents.withdraw_subject(
                    await self._subject(conversation),
                    purpose,
                    Source.CHAT,
                    shown_in,
                    guard.texts.withdrawal_question(purpose, shown_in),
                )
                return [await self._say_text(conversation, TextKind.WITHDRAWAL_DONE, shown_in)]
            return [await self._say_text(conversation, TextKind.WITHDRAWAL_CANCELLED, shown_in)]
        return None  # a wait this version does not know: ended, the turn goes on

    async def expire(self, conversation: Conversation) -> list[ShownOutput] | None:
        """``conversation``'s question is past its deadline: the quality-sampling
        question counts as no (recorded with the ``quality_sampling_timed_out`` text)
        and the conversation is handed over; a withdrawal's confirmation is dropped
        silently. What the user is to be told, or ``None`` when the question was
        resolved elsewhere first."""
        guard = self.guard
        if conversation.awaiting is None or not await guard.store.update_dialogue(
            conversation.session, NOTHING_AWAITED, expect_awaiting_since=conversation.awaiting_since
        ):
            return None
        if conversation.awaiting != AWAITING_CONSENT:
            return []
        notice = guard.texts.get(TextKind.QUALITY_SAMPLING_TIMED_OUT, conversation.language)
        return await self._decided(conversation, Decision.DECLINED, notice)

    async def to_agents(
        self, conversation: Conversation, redacted: str, language: str
    ) -> list[ShownOutput]:
        """One user turn of a conversation handed over, to the agents with the current
        quality-sampling flag; the vendor-down message when they cannot be reached."""
        assert self.agents is not None, "to_agents needs live agents"
        flag = await self.quality_sampling(conversation.session)
        try:
            await self.agents.send_turn(conversation, redacted, language, quality_sampling=flag)
        except VendorError:  # counted by the client; the message is stored
            return [vendor_down(language)]
        return []

    async def quality_sampling(self, session: str) -> QualitySampling:
        """What the agents are told: ``allowed`` only while the session's consent is
        granted."""
        allowed = await self.guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
        return QualitySampling.ALLOWED if allowed else QualitySampling.DECLINED

    # -- withdrawal during the session -----------------------------------------------

    async def ask_withdrawal(
        self, conversation: Conversation, purpose: str, language: str
    ) -> list[ShownOutput]:
        """The user asked to withdraw ``purpose``'s consent: ask them to confirm (the
        answer waits ``consent.withdrawal_timeout``), or say that nothing is granted.
        The consent is the person's: for ``quality_sampling`` this session's and, for a
        user with a stable id (Messenger, a logged-in web user), every earlier session's
        of theirs still held; for ``push_notifications`` the user pseudonym's."""
        guard = self.guard
        session = conversation.session
        subject = await self._subject(conversation)
        granted = [
            pseudonym
            for pseudonym in subject.pseudonyms(purpose)
            if await guard.consents.allows(pseudonym, purpose)
        ]
        if not granted:
            return [await self._say_text(conversation, TextKind.NOTHING_TO_WITHDRAW, language)]
        question = guard.texts.withdrawal_question(purpose, language)
        now = guard.clock.now()
        asked = DialogueChange(
            awaiting=f"{AWAITING_WITHDRAWAL}{purpose}",
            awaiting_since=now,
            awaiting_until=now + guard.settings.consent.withdrawal_timeout,
            language=question.language,
        )
        if not await guard.store.update_dialogue(session, asked, expect_awaiting_since=None):
            return []
        await self._say(conversation, question.text)
        return [self._question(question.text, question.language)]

    # -- inside ---------------------------------------------------------------------

    async def _decided(
        self,
        conversation: Conversation,
        decision: Decision,
        shown: ConsentText,
        *,
        pending: str | None = None,
        language: str | None = None,
    ) -> list[ShownOutput]:
        """Record the quality-sampling ``decision`` (with the text ``shown``), tell the
        user, and hand over; ``pending`` (a turn that was not an answer) goes to the
        agents after the hand-over as the first live-chat message."""
        guard = self.guard
        session = conversation.session
        before = await self._exchange_start(session)
        await guard.consents.record(
            session, Purpose.QUALITY_SAMPLING, decision, Source.CHAT, shown, shown.language
        )
        outputs: list[ShownOutput] = []
        if decision is Decision.GRANTED:
            issued = await guard.references.issue()
            await guard.store.update_dialogue(session, DialogueChange(reference=issued.digest))
            await guard.sampler.maybe_sample(session)
            granted = guard.texts.get(TextKind.QUALITY_SAMPLING_GRANTED, shown.language)
            notice = guard.texts.get(TextKind.PRIVACY_REFERENCE, shown.language)
            page = guard.settings.privacy.address
            await self._say(conversation, granted.text)
            kept = notice.format(reference=REFERENCE_NOT_KEPT, privacy_page=page)
            await self._say(conversation, kept)
            outputs += [
                ShownOutput(granted.text, consent=True),
                ShownOutput(notice.format(reference=issued.code, privacy_page=page), consent=True),
            ]
        elif shown.id == TextKind.QUALITY_SAMPLING_TIMED_OUT:
            await self._say(conversation, shown.text)
            outputs.append(ShownOutput(shown.text, consent=True))
        else:
            kind = TextKind.QUALITY_SAMPLING_DECLINED
            outputs.append(await self._say_text(conversation, kind, shown.language))
        if not await self._hand_over(conversation, before=before):
            return [*outputs, vendor_down(shown.language)]
        if pending is not None:
            held = await guard.conversation(session)
            outputs += await self.to_agents(held, pending, language or shown.language)
        return outputs

    async def _hand_over(self, conversation: Conversation, *, before: int | None = None) -> bool:
        """Open the live-agent conversation with the current flag and mark the
        conversation handed over; ``False`` (nothing marked) when the agents failed."""
        assert self.agents is not None
        guard = self.guard
        session = conversation.session
        flag = await self.quality_sampling(session)
        try:
            await self.agents.hand_over(session, quality_sampling=flag, before=before)
        except VendorError:  # counted by the client; the conversation stays with the bot
            return False
        now = guard.clock.now()
        await guard.store.update_dialogue(session, DialogueChange(handed_over_at=now))
        await guard.record_notice(conversation, HANDED_OVER, kind=EventKind.MESSAGE)
        return True

    async def _exchange_start(self, session: str) -> int | None:
        """The seq of the latest consent-exchange event: the hand-over context stops
        before it (the question, or the answer to it)."""
        seqs = [
            e.seq for e in await self.guard.store.events(session) if e.kind is EventKind.CONSENT
        ]
        return max(seqs, default=None)

    async def _subject(self, conversation: Conversation) -> ConsentSubject:
        """Whom a withdrawal asked for in ``conversation`` is about: its session and
        the user's other sessions, and the user pseudonym (when there is one)."""
        if conversation.user is None:
            return ConsentSubject(sessions=(conversation.session,))
        held = await self.guard.store.conversations_of(conversation.user)
        sessions = dict.fromkeys([conversation.session, *(c.session for c in held)])
        return ConsentSubject(tuple(sessions), (conversation.user,))

    def _question(self, text: str, language: str) -> ShownOutput:
        """A question with the two answer buttons in ``language``."""
        texts = self.guard.texts
        yes = texts.get(TextKind.ANSWER_YES, language).text
        no = texts.get(TextKind.ANSWER_NO, language).text
        return ShownOutput(text, (yes, no), payloads=(YES_PAYLOAD, NO_PAYLOAD), consent=True)

    async def _say_text(
        self, conversation: Conversation, kind: TextKind, language: str
    ) -> ShownOutput:
        """Store and show the consent text ``kind`` in ``language``."""
        text = self.guard.texts.get(kind, language).text
        await self._say(conversation, text)
        return ShownOutput(text, consent=True)

    async def _say(self, conversation: Conversation, text: str) -> None:
        """Store one of chatguard's own texts in the transcript (kind ``consent``)."""
        await self.guard.record_notice(conversation, text)


#: Shows chatguard's outputs to the user of ``conversation`` outside a request (after a
#: deadline): Messenger sends them through the Send API; web chat needs none (the
#: stored transcript events are what the widget polls).
OutputDelivery = Callable[[Conversation, list[ShownOutput]], Awaitable[None]]


class AnswerDeadlines:
    """Resolves chatguard's questions whose time is up, in one task the application
    owns, and shows the user what came of it through their channel's delivery.

    Every ``interval`` it asks the store for conversations whose ``awaiting_until``
    has passed (``Store.conversations_awaiting``, indexed) and lets the gate expire
    each (:meth:`HandOverGate.expire`): the compare-and-set there means that of
    several instances, and of the deadline and a late answer, exactly one resolves a
    question. The state is in the store, so a restart loses nothing: questions whose
    time ran out while no instance ran are resolved at the first check.

    Example::

        deadlines = AnswerDeadlines()
        deadlines.register("messenger", send_outputs)
        await deadlines.run(HandOverGate(guard, agents), timedelta(seconds=1))
    """

    def __init__(self, *, batch: int = 100) -> None:
        self._batch = batch
        self._deliveries: dict[str, OutputDelivery] = {}

    def register(self, channel: str, deliver: OutputDelivery) -> None:
        """Outputs for ``channel``'s users go to ``deliver``."""
        self._deliveries[channel] = deliver

    async def check(self, gate: HandOverGate) -> int:
        """Resolve the questions due now (at most ``batch``); how many this call
        resolved. One that fails is logged by error type and left to the next check
        if it is still open."""
        guard = gate.guard
        resolved = 0
        for conversation in await guard.store.conversations_awaiting(
            guard.clock.now(), self._batch
        ):
            try:
                outputs = await gate.expire(conversation)
                if outputs is None:
                    continue
                resolved += 1
                deliver = self._deliveries.get(conversation.channel)
                if outputs and deliver is not None:
                    await deliver(conversation, outputs)
            except Exception as error:
                logger.error(
                    "resolving a question past its deadline failed: %s", type(error).__name__
                )
        return resolved

    async def run(self, gate: HandOverGate, interval: float) -> None:
        """``check`` every ``interval`` seconds until cancelled; a failing check (the
        store unreachable) is logged by error type and tried again."""
        while True:
            try:
                await self.check(gate)
            except Exception as error:
                logger.error("checking answer deadlines failed: %s", type(error).__name__)
            await asyncio.sleep(interval)
