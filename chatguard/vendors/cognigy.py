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
* Calls go through :mod:`chatguard.vendors.resilience`: each is limited to
  ``vendors.cognigy.timeout`` seconds and passes Cognigy's circuit breaker. A
  conversational POST is not safe to repeat, so it is retried (``retries`` times at
  most, with backoff) only when the connection could not be opened, i.e. before
  anything was sent.
* Failures raise :class:`VendorUnavailableError` (unreachable, not configured, circuit
  open), :class:`VendorTimeoutError` or :class:`VendorError`; their messages name the
  vendor and, at most, the HTTP status; they are counted in
  ``vendor_errors{vendor="cognigy"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import aiohttp

from chatguard.errors import VendorError, VendorUnavailableError
from chatguard.settings import CognigySettings
from chatguard.vendors.base import BotOutput, BotTurn, BotVendor
from chatguard.vendors.resilience import VendorCalls

VENDOR: Final = "cognigy"

#: The key under which a Cognigy flow addresses chatguard in an output's ``data``.
CHATGUARD_KEY: Final = "chatguard"


class CognigyBot(BotVendor):
    """A Cognigy.AI flow behind its REST endpoint.

    ``http`` is the caller's client session (the caller closes it); ``calls`` holds
    the service's circuit breakers and metrics (one of its own when not given).
    """

    name = VENDOR

    def __init__(
        self,
        settings: CognigySettings,
        http: aiohttp.ClientSession,
        *,
        calls: VendorCalls | None = None,
    ) -> None:
        self._settings = settings
        self._vendor = (calls or VendorCalls()).client(VENDOR, http, settings)

    async def converse(self, turn: BotTurn) -> list[BotOutput]:
        """Send the turn to the flow; return its ``outputStack`` as outputs."""
        url = self._settings.endpoint_url
        if not url:
            self._vendor.count("unconfigured")
            raise VendorUnavailableError("vendors.cognigy.endpoint_url is not configured")
        body = {
            "userId": turn.user or turn.session,
            "sessionId": turn.session,
            "text": str(turn.text),
            "data": turn.data,
        }
        answer = await self._vendor.request(
            "POST", url, json=body, headers={"Accept": "application/json"}
        )
        try:
            return parse_output_stack(answer.json())
        except VendorError:
            self._vendor.count("malformed")
            raise


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
