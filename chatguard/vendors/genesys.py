"""Genesys Cloud Open Messaging: the live agents a conversation is handed over to.

Promises:

* Genesys only ever sees the session pseudonym (or the channel-user pseudonym) as
  the customer: ``channel.from.id`` is the pseudonym, ``idType`` is ``Opaque``, the
  nickname is the pseudonym too, and no first or last name is ever sent.
* Texts are those the ``agent`` policy allows: ``send_inbound`` takes text already
  redacted for ``agent`` (``RedactedText``); ``hand_over`` sends the conversation so
  far re-rendered from the stored transcript by :func:`agent_context`, so the agents
  see the types the ``agent`` policy keeps (names, contact details, booking data)
  and placeholders for everything else (cards, credentials, identity documents).
* OAuth2 client credentials: one token, cached until shortly before ``expires_in``;
  one refresh at a time. The token request is safe to repeat and is retried like a
  GET (:mod:`chatguard.vendors.resilience`). A 401 from the API refreshes the token
  once and repeats that one request (same ``messageId``: it was refused, not
  received); otherwise an inbound message is retried only when the connection could
  not be made, because it is not safe to repeat.
* Every call has a timeout (``vendors.genesys.timeout``) and passes Genesys's circuit
  breaker; failures raise :class:`~chatguard.errors.VendorError` subclasses whose
  messages name the vendor and the HTTP status only, and are counted in
  ``vendor_errors{vendor="genesys"}``.
* Every inbound message tells the agents whether the session may be sampled for
  quality review: ``channel.metadata.customAttributes.qualitySampling`` is
  ``"allowed"`` or ``"declined"`` (:class:`~chatguard.vendors.base.QualitySampling`).
* With live-chat translation (``vendors.translator``), the agents read the user's
  turns and the hand-over context in ``agent_language`` and the user reads the
  agents' replies in their own language (:mod:`chatguard.vendors.translator`); the
  translator only sees text redacted by the ``translation`` policy.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp

from chatguard.errors import VendorError, VendorUnavailableError
from chatguard.guard import TRANSCRIPT, ChatGuard
from chatguard.model import RedactedText
from chatguard.redact.restore import PLACEHOLDER, substitute
from chatguard.settings import Action, GenesysSettings
from chatguard.store.records import Author, Conversation, EventKind
from chatguard.vendors.base import LiveAgentVendor, QualitySampling
from chatguard.vendors.resilience import VendorCalls
from chatguard.vendors.translator import LiveChatTranslation

VENDOR: Final = "genesys"

#: The destination policy live agents see.
DESTINATION: Final = "agent"

#: How the context names who said what (the agents read it; no personal data).
_SPEAKERS: Final[Mapping[Author, str]] = {
    Author.USER: "Customer",
    Author.BOT: "Assistant",
    Author.AGENT: "Agent",
}

#: Where the quality-sampling flag goes in an inbound message's ``channel.metadata``.
QUALITY_SAMPLING_ATTRIBUTE: Final = "qualitySampling"

#: The longest context sent at hand-over; older lines are left out beyond it.
MAX_CONTEXT_CHARS: Final = 8000

#: A token is refreshed this many seconds (at most a tenth of its life) before it expires.
_REFRESH_MARGIN: Final = 60.0


def is_configured(settings: GenesysSettings) -> bool:
    """Whether every key the client needs is set (else live agents are off)."""
    return all(
        value is not None
        for value in (
            settings.api_base_url,
            settings.login_base_url,
            settings.client_id,
            settings.client_secret,
            settings.integration_id,
        )
    )


async def for_agents(guard: ChatGuard, session: str, text: str) -> RedactedText:
    """``text`` (with the conversation's placeholders) as live agents may see it.

    A placeholder whose type the ``agent`` policy keeps (names, contact details,
    booking data by default) is replaced by its value; every other placeholder stays.
    ``text`` must already be redacted (a stored transcript text, or what the ``nlp``
    policy produced): nothing else in it is changed.
    """
    policy = guard.redactor.policy(DESTINATION)
    kept = {
        match.group(0)
        for match in PLACEHOLDER.finditer(text)
        if policy.action_for(match.group(1)) is Action.KEEP
    }
    if not kept:
        return RedactedText(text)
    return RedactedText(substitute(text, await guard.vault.lookup(session, kept)))


async def agent_context(
    guard: ChatGuard,
    session: str,
    translation: LiveChatTranslation | None = None,
    *,
    before: int | None = None,
) -> RedactedText:
    """The conversation so far as the ``agent`` policy lets agents see it.

    Built from the stored transcript (placeholders only) through :func:`for_agents`.
    One line per message (``Customer: ...``, ``Assistant: ...``, ``Agent: ...``);
    feedback, system events and chatguard's consent exchanges (kind ``consent``) are
    left out, and with ``before`` every event from that seq on; when longer than
    ``MAX_CONTEXT_CHARS``, the oldest lines are left out. With ``translation``, each
    message is in the agents' language (untranslated when the translator fails).
    """
    messages: list[tuple[str, str]] = []
    size = 0
    for event in reversed(await guard.store.events(session)):
        speaker = _SPEAKERS.get(event.author)
        if event.kind is not EventKind.MESSAGE or speaker is None or not event.text:
            continue
        if before is not None and event.seq >= before:
            continue
        if size > MAX_CONTEXT_CHARS and messages:
            break  # older lines would be left out below anyway: not sent for translation
        messages.append((speaker, event.text))
        size += len(speaker) + len(event.text) + 3
    messages.reverse()
    texts: list[str] = [text for _, text in messages]
    if translation is not None:
        texts = list(await translation.to_agents(session, texts, redacted_for=TRANSCRIPT))
    lines = [f"{speaker}: {text}" for (speaker, _), text in zip(messages, texts, strict=True)]
    rendered = await for_agents(guard, session, "\n".join(lines))
    if len(rendered) <= MAX_CONTEXT_CHARS:
        return rendered
    chosen: list[str] = []
    size = 0
    for line in reversed(rendered.split("\n")):
        size += len(line) + 1
        if size > MAX_CONTEXT_CHARS and chosen:
            break
        chosen.append(line[:MAX_CONTEXT_CHARS])
    return RedactedText("\n".join(reversed(chosen)))


class GenesysOpenMessaging(LiveAgentVendor):
    """An Open Messaging integration of Genesys Cloud (see the module's promises).

    ``calls`` holds the service's circuit breakers and metrics (its own when not
    given); ``translation`` is the live chat's translation, when it is on.

    Example::

        agents = GenesysOpenMessaging(settings.vendors.genesys, http, guard)
        await agents.hand_over(session, quality_sampling=QualitySampling.ALLOWED)
        await agents.send_inbound(session, user, RedactedText("Is there a later flight?"))
    """

    name: str = VENDOR

    def __init__(
        self,
        settings: GenesysSettings,
        http: aiohttp.ClientSession,
        guard: ChatGuard,
        calls: VendorCalls | None = None,
        *,
        translation: LiveChatTranslation | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not is_configured(settings):
            raise VendorUnavailableError("genesys is not configured")
        self.settings = settings
        self.guard = guard
        self.translation = translation
        self._vendor = (calls or VendorCalls()).client(VENDOR, http, settings)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    async def hand_over(
        self, session: str, *, quality_sampling: QualitySampling, before: int | None = None
    ) -> None:
        """Open the live-agent conversation: send the conversation so far (before seq
        ``before`` when given) as context, with the quality-sampling flag."""
        conversation = await self.guard.conversation(session)
        context = await agent_context(self.guard, session, self.translation, before=before)
        await self.send_inbound(
            session, conversation.user, context, quality_sampling=quality_sampling
        )

    async def send_turn(
        self,
        conversation: Conversation,
        redacted: str,
        language: str,
        *,
        quality_sampling: QualitySampling,
    ) -> None:
        """Send one user turn, given as the ``nlp`` policy redacted it (in ``language``),
        as the agents may read it: translated into their language when translation is
        on, with the placeholders of the types the ``agent`` policy keeps restored."""
        session = conversation.session
        text = redacted
        if self.translation is not None:
            [text] = await self.translation.to_agents(
                session, [redacted], redacted_for="nlp", language=language
            )
        await self.send_inbound(
            session,
            conversation.user,
            await for_agents(self.guard, session, text),
            quality_sampling=quality_sampling,
        )

    async def reply_for_user(self, session: str, text: str) -> str:
        """An agent's message as the user should read it: in the user's language when
        translation is on (with placeholders for the values it replaced), else as typed."""
        if self.translation is None:
            return text
        return await self.translation.for_user(session, text)

    async def send_inbound(
        self,
        session: str,
        user: str | None,
        text: RedactedText,
        *,
        quality_sampling: QualitySampling | None = None,
    ) -> None:
        """Send one customer message (redacted for ``agent``) from the user's pseudonym
        (``user``, else the session pseudonym), with the quality-sampling flag in
        ``channel.metadata.customAttributes`` when given."""
        pseudonym = user or session
        channel: dict[str, Any] = {
            "platform": "Open",
            "type": "Private",
            "messageId": uuid.uuid4().hex,
            "to": {"id": self.settings.integration_id},
            "from": {"nickname": pseudonym, "id": pseudonym, "idType": "Opaque"},
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if quality_sampling is not None:
            channel["metadata"] = {
                "customAttributes": {QUALITY_SAMPLING_ATTRIBUTE: quality_sampling.value}
            }
        body = {"channel": channel, "type": "Text", "text": text, "direction": "Inbound"}
        url = (
            f"{_base(self.settings.api_base_url)}/api/v2/conversations/messages/"
            f"{self.settings.integration_id}/inbound/open/message"
        )
        token = await self._access_token()
        status = await self._post_message(url, body, token, accept=(401,))
        if status == 401:
            token = await self._access_token(stale=token)
            await self._post_message(url, body, token)

    async def _post_message(
        self, url: str, body: dict[str, Any], token: str, *, accept: tuple[int, ...] = ()
    ) -> int:
        answer = await self._vendor.request(
            "POST", url, json=body, headers={"Authorization": f"Bearer {token}"}, accept=accept
        )
        return answer.status

    async def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one when it is (about to be) expired or is ``stale``
        (refused by the API); one login at a time."""
        async with self._lock:
            if (
                self._token is not None
                and self._token != stale
                and self._clock() < self._expires_at
            ):
                return self._token
            token, expires_in = await self._login()
            margin = min(_REFRESH_MARGIN, expires_in / 10)
            self._token = token
            self._expires_at = self._clock() + expires_in - margin
            return token

    async def _login(self) -> tuple[str, float]:
        settings = self.settings
        assert settings.client_id is not None and settings.client_secret is not None
        answer = await self._vendor.request(
            "POST",
            f"{_base(settings.login_base_url)}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": aiohttp.encode_basic_auth(
                    settings.client_id, settings.client_secret.get_secret_value()
                )
            },
            safe_to_repeat=True,  # a second token request changes nothing
        )
        try:
            payload = answer.json()
        except VendorError:
            payload = None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        expires_in = payload.get("expires_in") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            self._vendor.count("malformed")
            raise VendorError("genesys login answered no access token")
        return token, float(expires_in)

    async def close(self) -> None:
        """Forget the token (the HTTP client is the caller's)."""
        self._token = None


def _base(url: str | None) -> str:
    assert url is not None  # checked by is_configured at construction
    return url.rstrip("/")
