"""A conversation as the hand-over leaves it when the person said yes to quality
sampling: consent granted, sampled, and a privacy reference held as its digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chatguard.consent import Decision, Purpose, Source
from chatguard.guard import ChatGuard
from chatguard.store.records import Sample


async def consented_and_sampled(guard: ChatGuard, session: str) -> str:
    """The session's user said yes to quality sampling, it was sampled, and it holds a
    privacy reference (issued by ``guard.references``, its digest stored on the
    conversation); the reference's code."""
    await guard.consents.record(
        session, Purpose.QUALITY_SAMPLING, Decision.GRANTED, Source.CHAT, None, "en"
    )
    now = guard.clock.now()
    await guard.store.save_sample(Sample(session, now, now + timedelta(days=30)))
    issued = await guard.references.issue()
    held = await guard.conversation(session)
    await guard.store.save_conversation(replace(held, reference=issued.digest))
    return issued.code


async def consented_web_chat(guard: ChatGuard, typed: str) -> tuple[str, str]:
    """A web chat in which the person typed ``typed``, then consented to quality
    sampling, was sampled and got a privacy reference: its session and the code."""
    session = (await guard.start_conversation("web")).session
    await guard.user_message(session, typed)
    return session, await consented_and_sampled(guard, session)
