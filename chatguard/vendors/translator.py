"""Microsoft Translator v3 on the live-chat path: users and agents in their own languages.

Promises:

* The translator only ever sees text redacted by the ``translation`` policy (every
  type replaced by default), never the ``agent`` policy's text that keeps names: a
  user's turn is redacted again for ``translation`` unless the policy it was redacted
  with already replaces everything the ``translation`` policy acts on; an agent's
  reply is redacted for ``translation`` before it is sent.
* Placeholders are protected from translation: the text goes as HTML
  (``textType=html``), everything escaped, each placeholder inside
  ``<span class="notranslate">``. The answer is unwrapped and unescaped, and is used
  only if every placeholder that went in came back exactly as often as it went in and
  no other appeared; otherwise :class:`~chatguard.errors.TranslationError` (counted
  as ``vendor_errors{vendor="translator", kind="placeholders"}``) and nothing of
  that translation is forwarded.
* Wire format: ``POST {endpoint}/translate?api-version=3.0&to=..[&from=..]&textType=html``
  with ``Ocp-Apim-Subscription-Key``, ``Ocp-Apim-Subscription-Region`` (when set),
  ``X-ClientTraceId`` and a body ``[{"Text": ...}, ...]``.
* A translation changes nothing at the vendor, so a failed one is retried like a GET
  (see :mod:`chatguard.vendors.resilience`), within ``vendors.translator.timeout``.
* Live chat (:class:`LiveChatTranslation`): what the user writes reaches the agents in
  ``agent_language``, and the agents' replies reach the user in the language of the
  user's latest message. When the translator fails, the live chat goes on
  untranslated (fail soft): the agents get the text as the ``agent`` policy lets them
  see it, the user the agent's words; the failure is counted and logged without
  content. Translation is off when ``key`` or ``agent_language`` is unset, and for a
  turn already in ``agent_language``.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from chatguard.errors import TranslationError, VendorError, VendorUnavailableError
from chatguard.guard import TRANSCRIPT, ChatGuard
from chatguard.model import RedactedText
from chatguard.redact.restore import PLACEHOLDER
from chatguard.settings import TranslatorSettings
from chatguard.store.records import Author, EventKind
from chatguard.vendors.resilience import VendorCalls

logger = logging.getLogger(__name__)

VENDOR: Final = "translator"

#: The destination policy of text sent to the translator.
DESTINATION: Final = "translation"

#: How a placeholder is marked as not to be translated (Translator's documented class).
_NOTRANSLATE_OPEN: Final = '<span class="notranslate">'
_NOTRANSLATE_CLOSE: Final = "</span>"
_NOTRANSLATE: Final = re.compile(
    r"""<span\s+class\s*=\s*["']notranslate["']\s*>(.*?)</span\s*>""", re.DOTALL | re.IGNORECASE
)
_TAG: Final = re.compile(r"<[^>]*>")


def is_configured(settings: TranslatorSettings) -> bool:
    """Whether translation is on: a key and the agents' language are set."""
    return settings.key is not None and settings.agent_language is not None


def protect_placeholders(text: str) -> str:
    """``text`` as HTML for the translator: everything escaped, each placeholder inside
    ``<span class="notranslate">``."""
    parts: list[str] = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        parts.append(html.escape(text[last : match.start()], quote=False))
        parts.append(
            _NOTRANSLATE_OPEN + html.escape(match.group(0), quote=False) + _NOTRANSLATE_CLOSE
        )
        last = match.end()
    parts.append(html.escape(text[last:], quote=False))
    return "".join(parts)


def unprotect_placeholders(markup: str) -> str:
    """The text of a translation of :func:`protect_placeholders`' HTML: the spans
    unwrapped, any other tag dropped, entities unescaped."""
    parts: list[str] = []
    last = 0
    for match in _NOTRANSLATE.finditer(markup):
        parts.append(html.unescape(_TAG.sub("", markup[last : match.start()])))
        parts.append(html.unescape(match.group(1)))
        last = match.end()
    parts.append(html.unescape(_TAG.sub("", markup[last:])))
    return "".join(parts)


def same_placeholders(original: str, translated: str) -> bool:
    """Whether ``translated`` holds exactly the placeholders of ``original``, each as
    often (none lost, repeated or invented)."""
    return _placeholder_counts(original) == _placeholder_counts(translated)


def _placeholder_counts(text: str) -> Counter[str]:
    return Counter(match.group(0) for match in PLACEHOLDER.finditer(text))


@dataclass(frozen=True, slots=True)
class Translation:
    """One translated text, with its placeholders, and the language the translator
    detected (when it was not told the source language)."""

    text: RedactedText
    detected_language: str | None = None


class MicrosoftTranslator:
    """The Translator v3 ``translate`` operation (see the module's promises).

    Example::

        translator = MicrosoftTranslator(settings.vendors.translator, http)
        [out] = await translator.translate([RedactedText("Ich bin <PERSON_1>")], to="en")
        out.text                                   # 'I am <PERSON_1>'
    """

    name: str = VENDOR

    def __init__(
        self,
        settings: TranslatorSettings,
        http: aiohttp.ClientSession,
        *,
        calls: VendorCalls | None = None,
    ) -> None:
        self.settings = settings
        self._vendor = (calls or VendorCalls()).client(VENDOR, http, settings)

    async def translate(
        self, texts: Sequence[RedactedText], *, to: str, source: str | None = None
    ) -> list[Translation]:
        """Each of ``texts`` (redacted for ``translation``) in the language ``to``, in
        order. Raises :class:`~chatguard.errors.VendorError` subclasses: unreachable,
        too slow, an error status, an answer of the wrong shape, or a translation
        whose placeholders differ (:class:`~chatguard.errors.TranslationError`)."""
        if not texts:
            return []
        key = self.settings.key
        if key is None:
            self._vendor.count("unconfigured")
            raise VendorUnavailableError("vendors.translator.key is not configured")
        params = {"api-version": "3.0", "to": to, "textType": "html"}
        if source is not None:
            params["from"] = source
        headers = {
            "Ocp-Apim-Subscription-Key": key.get_secret_value(),
            "Content-Type": "application/json; charset=UTF-8",
            "X-ClientTraceId": str(uuid.uuid4()),
        }
        if self.settings.region:
            headers["Ocp-Apim-Subscription-Region"] = self.settings.region
        answer = await self._vendor.request(
            "POST",
            f"{self.settings.endpoint.rstrip('/')}/translate",
            params=params,
            headers=headers,
            json=[{"Text": protect_placeholders(text)} for text in texts],
            safe_to_repeat=True,
        )
        try:
            results = _results(answer.json(), len(texts))
        except VendorError:
            self._vendor.count("malformed")
            raise
        translations = []
        for original, (markup, detected) in zip(texts, results, strict=True):
            translated = unprotect_placeholders(markup)
            if not same_placeholders(original, translated):
                self._vendor.count("placeholders")
                raise TranslationError("translator lost, repeated or invented a placeholder")
            translations.append(Translation(RedactedText(translated), detected))
        return translations


def _results(payload: Any, expected: int) -> list[tuple[str, str | None]]:
    """``(text, detected language)`` per element of a ``translate`` answer."""
    if not isinstance(payload, list) or len(payload) != expected:
        raise VendorError("translator answered an unexpected shape")
    results = []
    for item in payload:
        translations = item.get("translations") if isinstance(item, dict) else None
        first = translations[0] if isinstance(translations, list) and translations else None
        text = first.get("text") if isinstance(first, dict) else None
        if not isinstance(text, str):
            raise VendorError("translator answered an unexpected shape")
        detected = item.get("detectedLanguage")
        language = detected.get("language") if isinstance(detected, dict) else None
        results.append((text, language if isinstance(language, str) else None))
    return results


class LiveChatTranslation:
    """The live chat in two languages: the user's and the agents' (``agent_language``).

    ``to_agents`` and ``for_user`` return text with placeholders (the caller restores
    what its destination may see); both fail soft (see the module's promises).
    """

    def __init__(
        self, translator: MicrosoftTranslator, guard: ChatGuard, agent_language: str
    ) -> None:
        self.translator = translator
        self.guard = guard
        self.agent_language = agent_language

    async def to_agents(
        self,
        session: str,
        texts: Sequence[str],
        *,
        redacted_for: str,
        language: str | None = None,
    ) -> list[RedactedText]:
        """``texts`` of the conversation ``session``, redacted for the destination
        ``redacted_for`` (``nlp``, ``transcript``), in the agents' language, with
        placeholders. Unchanged when ``language`` (the texts' language, if known) is
        the agents' already, or when the translator fails."""
        unchanged = [RedactedText(text) for text in texts]
        if language == self.agent_language or not any(texts):
            return unchanged
        redactor = self.guard.redactor
        fit = redactor.policy(redacted_for).serves(redactor.policy(DESTINATION))
        safe = []
        for text in texts:
            if fit or not text:
                safe.append(RedactedText(text))
            else:
                redacted = await redactor.redact(
                    text, conversation=session, lang=language, destination=DESTINATION
                )
                safe.append(redacted.text)
        try:
            translated = await self.translator.translate(safe, to=self.agent_language)
        except VendorError as error:
            logger.warning(
                "translation for the agents failed (%s): sent untranslated", _name(error)
            )
            return unchanged
        return [translation.text for translation in translated]

    async def for_user(self, session: str, text: str) -> str:
        """An agent's ``text`` (as typed) in the language of the user's latest message,
        with placeholders for what the ``translation`` policy replaced; ``text``
        itself when that language is the agents', unknown, or the translator fails."""
        language = await self._user_language(session)
        if language is None or language == self.agent_language:
            return text
        redacted = await self.guard.redactor.redact(
            text, conversation=session, destination=DESTINATION
        )
        try:
            [translation] = await self.translator.translate([redacted.text], to=language)
        except VendorError as error:
            logger.warning("translation for the user failed (%s): sent untranslated", _name(error))
            return text
        return translation.text

    async def _user_language(self, session: str) -> str | None:
        events = await self.guard.store.events(session)
        latest = next(
            (
                event
                for event in reversed(events)
                if event.author is Author.USER and event.kind is EventKind.MESSAGE and event.text
            ),
            None,
        )
        if latest is None:
            return None
        # The stored text is redacted already: redacting it again changes nothing and
        # tells its language.
        result = await self.guard.redactor.redact(
            latest.text, conversation=session, destination=TRANSCRIPT
        )
        return result.language


def live_chat_translation(
    settings: TranslatorSettings,
    http: aiohttp.ClientSession,
    guard: ChatGuard,
    calls: VendorCalls | None = None,
) -> LiveChatTranslation | None:
    """The live chat's translation as ``vendors.translator`` configures it, or ``None``
    when it is off."""
    if not is_configured(settings):
        return None
    assert settings.agent_language is not None  # checked by is_configured
    translator = MicrosoftTranslator(settings, http, calls=calls)
    return LiveChatTranslation(translator, guard, settings.agent_language)


def _name(error: VendorError) -> str:
    return type(error).__name__
