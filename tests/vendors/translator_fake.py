"""A local server that plays Microsoft Translator v3's ``translate`` operation."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

KEY = "translator-test-key"
REGION = "westeurope"

_SPAN = re.compile(r'(<span class="notranslate">.*?</span>)', re.DOTALL)

#: What the fake "knows" how to translate, per target language; the rest stays as sent.
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "Guten Tag": "Good day",
        "ich heiße": "my name is",
        "Ich möchte mit einem Mitarbeiter sprechen": "I would like to talk to an agent",
        "Können Sie mich zurückrufen": "Can you call me back",
        "Meine Nummer ist": "My number is",
    },
    "de": {
        "Hello": "Hallo",
        "how can I help?": "wie kann ich helfen?",
        "your booking": "Ihre Buchung",
        "is confirmed": "ist bestätigt",
    },
}


@dataclass
class TranslatorApi:
    """Records every request (query, headers, body) and answers like Translator v3:
    each element's text with known phrases outside ``notranslate`` spans translated
    and ``[to]`` in front, spans untouched; ``detectedLanguage`` when ``from`` is absent.

    ``mode`` makes it misbehave: ``lose`` drops the first protected span, ``invent``
    adds one; ``status`` other than 200 answers that error.
    """

    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    mode: Literal["translate", "lose", "invent"] = "translate"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/translate", self.translate)
        return app

    @property
    def texts(self) -> list[str]:
        """Every ``Text`` sent, in order."""
        return [element["Text"] for request in self.received for element in request["body"]]

    async def translate(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(
            {"query": dict(request.query), "headers": dict(request.headers), "body": body}
        )
        if request.query.get("api-version") != "3.0":
            return _error(400, 400021, "The API version parameter is missing or invalid.")
        if request.headers.get("Ocp-Apim-Subscription-Key") != KEY:
            return _error(401, 401000, "The request is not authorized.")
        if self.status != 200:
            return _error(self.status, self.status * 1000, "The service is unavailable.")
        to = request.query["to"]
        answer = []
        for element in body:
            item: dict[str, Any] = {
                "translations": [{"text": self._translated(element["Text"], to), "to": to}]
            }
            if "from" not in request.query:
                item["detectedLanguage"] = {"language": "en" if to != "en" else "de", "score": 1.0}
            answer.append(item)
        return web.json_response(answer)

    def _translated(self, markup: str, to: str) -> str:
        parts = _SPAN.split(markup)
        for index in range(0, len(parts), 2):  # even parts are outside the spans
            assert "<" not in parts[index], "text outside a span must arrive escaped"
            text = html.unescape(parts[index])
            for source, target in PHRASES.get(to, {}).items():
                text = text.replace(source, target)
            parts[index] = html.escape(text, quote=False)
        if self.mode == "lose" and len(parts) > 1:
            parts[1] = ""
        if self.mode == "invent":
            parts.append('<span class="notranslate">&lt;PERSON_9&gt;</span>')
        return f"[{to}] " + "".join(parts)


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
