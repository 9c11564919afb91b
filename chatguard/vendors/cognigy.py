"""The Cognigy.AI REST endpoint as a bot vendor.

Promises:

* One call per turn: ``POST {endpoint_url}`` with ``{"userId", "sessionId", "text",
  "data"}``: ``userId`` is the user pseudonym (the session pseudonym when the user has
  none), ``sessionId`` the session pseudonym, ``text`` and ``data`` exactly as the
  dialogue redacted them. Nothing else about the user is sent; ``passthroughIP``
  never is.
* The answer's ``outputStack`` becomes one :class:`BotOutput` per entry, in order:
  its ``text`` (or, when empty, the text of its quick replies or buttons), the titles
  of ``data._cognigy._default._quickReplies.quickReplies[]`` and of
  ``data._cognigy._default._buttons.buttons[]`` as quick replies, and
  ``handover=True`` when the flow put ``{"chatguard": {"handover": true}}`` in the
  entry's ``data`` (the hand-over convention, see ``docs/vendors.md``). Outputs keep
  their placeholders: restoring is the dialogue's job.
* Each call is limited to ``vendors.cognigy.timeout`` seconds. A conversational POST
  is not safe to repeat, so it is retried (a bounded number of times, with backoff)
  only when the connection could not be opened, i.e. before anything was sent.
* Failures raise :class:`VendorUnavailableError` (unreachable, not configured),
  :class:`VendorTimeoutError` or :class:`VendorError`; their messages name the vendor
  and, at most, the HTTP status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import aiohttp

from chatguard.errors import VendorError, VendorTimeoutError, VendorUnavailableError
from chatguard.settings import CognigySettings
from chatguard.vendors.base import BotOutput, BotTurn, BotVendor

#: The key under which a Cognigy flow addresses chatguard in an output's ``data``.
CHATGUARD_KEY: Final = "chatguard"


class CognigyBot(BotVendor):
    """A Cognigy.AI flow behind its REST endpoint.

    ``http`` is the caller's client session (the caller closes it); ``retries`` is how
    many more times a turn is tried when the connection cannot be opened, waiting
    ``backoff``, then twice as long, ... in between.
    """

    name = "cognigy"

    def __init__(
        self,
        settings: CognigySettings,
        http: aiohttp.ClientSession,
        *,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self._settings = settings
        self._http = http
        self._retries = retries
        self._backoff = backoff

    async def converse(self, turn: BotTurn) -> list[BotOutput]:
        """Send the turn to the flow; return its ``outputStack`` as outputs."""
        url = self._settings.endpoint_url
        if not url:
            raise VendorUnavailableError("vendors.cognigy.endpoint_url is not configured")
        body = {
            "userId": turn.user or turn.session,
            "sessionId": turn.session,
            "text": str(turn.text),
            "data": turn.data,
        }
        answer = await self._post(url, body)
        return parse_output_stack(answer)

    async def _post(self, url: str, body: Mapping[str, Any]) -> Any:
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout)
        delay = self._backoff
        for attempt in range(self._retries + 1):
            try:
                async with self._http.post(
                    url, json=body, timeout=timeout, headers={"Accept": "application/json"}
                ) as response:
                    if response.status >= 400:
                        raise VendorError(f"Cognigy failed with status {response.status}")
                    try:
                        return await response.json(content_type=None)
                    except ValueError:
                        raise VendorError("Cognigy answered no JSON") from None
            except aiohttp.ClientConnectorError:
                # The connection was never opened: nothing was sent, so trying again
                # cannot make the flow see the turn twice.
                if attempt == self._retries:
                    raise VendorUnavailableError("Cognigy could not be reached") from None
                await asyncio.sleep(delay)
                delay *= 2
            except TimeoutError:
                raise VendorTimeoutError("Cognigy did not answer in time") from None
            except aiohttp.ClientError:
                raise VendorUnavailableError("Cognigy's connection failed") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def parse_output_stack(answer: Any) -> list[BotOutput]:
    """The outputs of a REST endpoint answer, in order; malformed entries are skipped.

    Raises :class:`VendorError` when the answer is not a JSON object.
    """
    if not isinstance(answer, dict):
        raise VendorError("Cognigy answered something that is not a JSON object")
    stack = answer.get("outputStack")
    if not isinstance(stack, list):
        # Older endpoints answer one output at the top level only.
        stack = [answer] if answer.get("text") or answer.get("data") else []
    outputs = []
    for entry in stack:
        if isinstance(entry, dict):
            output = _output(entry)
            if output.text or output.quick_replies or output.handover:
                outputs.append(output)
    return outputs


def _output(entry: Mapping[str, Any]) -> BotOutput:
    data = entry.get("data")
    data = data if isinstance(data, dict) else {}
    text = entry.get("text") if isinstance(entry.get("text"), str) else None
    titles: list[str] = []
    default = _path(data, "_cognigy", "_default")
    for key, items in (("_quickReplies", "quickReplies"), ("_buttons", "buttons")):
        block = default.get(key)
        if not isinstance(block, dict):
            continue
        for item in block.get(items) or []:
            if isinstance(item, dict) and isinstance(item.get("title"), str):
                titles.append(item["title"])
        if not text and isinstance(block.get("text"), str):
            text = block["text"]
    handover = _path(data, CHATGUARD_KEY).get("handover") is True
    return BotOutput(text=text or None, quick_replies=tuple(titles), data=data, handover=handover)


def _path(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    value: Any = data
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}
