"""The OpenAI-compatible channel: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Promises:

* Closed until ``channels.openai.client_key`` is set (503 naming the variable);
  then every request needs it as its bearer token (the API key an OpenAI client
  sends), else 401 and nothing is read, stored or sent. Without it, whoever reaches
  the channel could continue a conversation by a guessable client user id and have
  the model repeat its placeholders, restored.
* Nothing personal leaves: every message's content (string and content-part form),
  tool-call arguments (every string leaf of their JSON) and tool results are
  redacted for the ``nlp`` destination before the request is sent to
  ``vendors.openai.base_url``; the client's ``user`` (and ``safety_identifier``) is
  replaced by the user pseudonym or dropped, a message's ``name`` is dropped, and
  the client's own ``Authorization`` is never forwarded. If redaction fails,
  nothing is sent.
* The answer comes back restored: message content and tool-call arguments; with
  ``stream: true`` as server-sent events restored as they arrive, also when a
  placeholder is split across chunks, each event written as soon as it is ready.
* The user's new message is stored (redacted) before the vendor is called, so a
  failed vendor call loses nothing. The assistant's answer is stored (redacted for
  the transcript, in the language of the user's message it answers) right after it
  was sent to the client, so that storing adds nothing to what the client waits for;
  if that fails, the client has the answer, the failure is logged by type and
  counted in ``transcript_failures``.
* Vendor calls go through :mod:`chatguard.vendors.resilience`: ``GET /v1/models`` is
  retried when it fails, a chat completion only when the connection could not be made
  (never once it may have been received); while the vendor's circuit is open, both
  are refused at once (503, ``VendorCircuitOpenError``).
* Conversation identity: the ``X-Chatguard-Conversation`` header, else the
  ``user`` field. Every answer carries the conversation's token in
  ``X-Chatguard-Conversation`` (``ChatGuard.session_token``); a value that is the
  token of an ``openai`` conversation continues it. Any other value, the bare
  session pseudonym included, is a client's id for its user, whose latest
  conversation continues (or a first one starts). Without either, each request is a
  conversation of its own.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiohttp import web

from chatguard.dialogue import map_strings
from chatguard.errors import (
    ChatguardError,
    InvalidRequestError,
    SubjectNotFoundError,
    VendorError,
    VendorUnavailableError,
)
from chatguard.guard import ChatGuard
from chatguard.model import RedactionResult
from chatguard.redact.restore import StreamRestorer
from chatguard.server.app import GUARD, METRICS, SETTINGS, VENDOR_CALLS, Handler
from chatguard.server.bearer import BearerGate
from chatguard.server.bodies import json_object
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import OpenAISettings
from chatguard.store.records import Conversation
from chatguard.vendors.resilience import VendorHttp

logger = logging.getLogger(__name__)

CHANNEL: Final = "openai"
VENDOR: Final = "openai"
DESTINATION: Final = "nlp"
CONVERSATION_HEADER: Final = "X-Chatguard-Conversation"

#: The channel's calls to the vendor (timeout, retries, circuit breaker), opened and
#: closed with the application.
OPENAI_VENDOR = web.AppKey("openai_vendor", VendorHttp)

# Fields that identify the end user to the vendor: replaced by the user pseudonym.
_USER_FIELDS: Final = ("user", "safety_identifier")

JSONValue = Any


#: Disabled until ``channels.openai.client_key`` is set; then clients send it.
CLIENT_GATE: Final = BearerGate(
    name="OpenAI channel",
    disabled_error="ChannelDisabled",
    disabled_message="OpenAI channel disabled: set CHATGUARD_CHANNELS__OPENAI__CLIENT_KEY",
    realm="chatguard-openai",
)


def setup_openai(app: web.Application) -> None:
    """Register the channel's routes and its HTTP client's lifetime on ``app``."""
    app.cleanup_ctx.append(_http_client)
    app.router.add_post("/v1/chat/completions", _clients_only(chat_completions))
    app.router.add_get("/v1/models", _clients_only(models))


def _clients_only(handler: Handler) -> Handler:
    """``handler``, reached only with the client key (see ``CLIENT_GATE``)."""

    @functools.wraps(handler)
    async def gated(request: web.Request) -> web.StreamResponse:
        key = request.app[SETTINGS].channels.openai.client_key
        refusal = CLIENT_GATE.refusal(request, key)
        return refusal if refusal is not None else await handler(request)

    return gated


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(read_bufsize=2**20) as session:
        settings = app[SETTINGS].vendors.openai
        app[OPENAI_VENDOR] = app[VENDOR_CALLS].client(VENDOR, session, settings)
        yield


async def models(request: web.Request) -> web.Response:
    """The vendor's model list, as it answered (it holds no personal data); a GET, so
    retried when it fails."""
    vendor = _vendor(request)
    with request.app[METRICS].latency.labels(stage="vendor").time():
        answer = await request.app[OPENAI_VENDOR].request(
            "GET", _url(vendor, "/models"), headers=_headers(vendor)
        )
    return web.Response(body=answer.body, content_type="application/json")


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """Redact the chat, forward it to the vendor, and answer the vendor's reply restored."""
    body = await json_object(request)
    messages = _messages(body)
    vendor = _vendor(request)
    guard = request.app[GUARD]
    metrics = request.app[METRICS]
    metrics.messages.labels(channel=CHANNEL, vendor=VENDOR, direction="inbound").inc()

    conversation = await _conversation(guard, request, body)
    session = conversation.session
    redaction = _Redaction(guard, session, metrics)
    with metrics.latency.labels(stage="redact").time():
        body["messages"] = [
            await redaction.message(message, is_new=index == len(messages) - 1)
            for index, message in enumerate(messages)
        ]
    for name in _USER_FIELDS:
        if name in body:
            if conversation.user is not None:
                body[name] = conversation.user
            else:
                del body[name]

    if body.get("stream") is True:
        return await _stream(request, vendor, body, session, redaction.language)

    calls = request.app[OPENAI_VENDOR]
    with metrics.latency.labels(stage="vendor").time():
        completion = await calls.request(
            "POST", _url(vendor, "/chat/completions"), json=body, headers=_headers(vendor)
        )
    try:
        answer = completion.json()
    except VendorError:
        calls.count("malformed")
        raise
    with metrics.latency.labels(stage="restore").time():
        written = await _restore_completion(guard, session, answer)
    metrics.messages.labels(channel=CHANNEL, vendor=VENDOR, direction="outbound").inc()
    restored = web.json_response(
        answer, headers={CONVERSATION_HEADER: guard.session_token(session)}
    )
    if written is not None:
        await restored.prepare(request)
        await restored.write_eof()
        await _store_answer(guard, session, written, metrics, redaction.language)
    return restored


# --- the request -------------------------------------------------------------------------


def _messages(body: Mapping[str, JSONValue]) -> list[dict[str, JSONValue]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages must be a non-empty array")
    for message in messages:
        if not isinstance(message, dict):
            raise InvalidRequestError("each message must be an object")
        content = message.get("content")
        if not (content is None or isinstance(content, str | list)):
            raise InvalidRequestError("a message's content must be a string or an array")
        if isinstance(content, list) and not all(isinstance(part, dict) for part in content):
            raise InvalidRequestError("each content part must be an object")
    return messages


async def _conversation(
    guard: ChatGuard, request: web.Request, body: Mapping[str, JSONValue]
) -> Conversation:
    client_id = request.headers.get(CONVERSATION_HEADER) or body.get("user")
    if not isinstance(client_id, str) or not client_id:
        return await guard.start_conversation(CHANNEL)
    with contextlib.suppress(SubjectNotFoundError):
        return await guard.conversation_of_token(client_id, CHANNEL)
    user = await guard.identities.find(CHANNEL, client_id)
    if user is not None:
        conversations = await guard.store.conversations_of(user)
        if conversations:
            return conversations[-1]
    return await guard.start_conversation(CHANNEL, user_id=client_id)


@dataclass
class _Redaction:
    """Redacts one request's messages for ``nlp`` within one conversation."""

    guard: ChatGuard
    session: str
    metrics: ServiceMetrics
    #: The language of the user's new message: the one the answer is analysed in.
    language: str | None = None

    async def message(self, message: dict[str, JSONValue], *, is_new: bool) -> dict[str, JSONValue]:
        # Only a trailing user message is new: clients resend the whole history, and
        # earlier user messages were stored with the request that brought them.
        store = is_new and message.get("role") == "user"
        redacted = dict(message)
        if message.get("role") != "function":
            redacted.pop("name", None)  # a participant's name, possibly the person's own
        content = message.get("content")
        if isinstance(content, str):
            redacted["content"] = await self.text(content, store=store)
        elif isinstance(content, list):
            redacted["content"] = [await self.part(part, store=store) for part in content]
        if isinstance(message.get("refusal"), str):
            redacted["refusal"] = await self.text(message["refusal"], store=False)
        if isinstance(message.get("tool_calls"), list):
            redacted["tool_calls"] = [await self.tool_call(call) for call in message["tool_calls"]]
        if isinstance(message.get("function_call"), dict):
            redacted["function_call"] = await self.function(message["function_call"])
        return redacted

    async def part(self, part: dict[str, JSONValue], *, store: bool) -> dict[str, JSONValue]:
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            return {**part, "text": await self.text(part["text"], store=store)}
        return part

    async def tool_call(self, call: JSONValue) -> JSONValue:
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            return {**call, "function": await self.function(call["function"])}
        return call

    async def function(self, function: dict[str, JSONValue]) -> dict[str, JSONValue]:
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            return function
        try:
            parsed = json.loads(arguments)
        except ValueError:
            return {**function, "arguments": await self.text(arguments, store=False)}
        redacted = await map_strings(parsed, lambda leaf: self.text(leaf, store=False))
        return {**function, "arguments": json.dumps(redacted, ensure_ascii=False)}

    async def text(self, text: str, *, store: bool) -> str:
        result: RedactionResult
        if store:
            result = await self.guard.user_message(self.session, text, destination=DESTINATION)
            self.language = result.language
        else:
            result = await self.guard.redactor.redact(
                text, conversation=self.session, destination=DESTINATION
            )
        for entity in result.entities:
            self.metrics.entities_redacted.labels(entity_type=entity.type).inc()
        return result.text


# --- the vendor --------------------------------------------------------------------------


def _vendor(request: web.Request) -> OpenAISettings:
    vendor = request.app[SETTINGS].vendors.openai
    if not vendor.base_url:
        raise VendorUnavailableError("vendors.openai.base_url is not configured")
    return vendor


def _url(vendor: OpenAISettings, path: str) -> str:
    assert vendor.base_url is not None  # checked by _vendor
    return vendor.base_url.rstrip("/") + path


def _headers(vendor: OpenAISettings) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if vendor.api_key is not None:
        headers["Authorization"] = f"Bearer {vendor.api_key.get_secret_value()}"
    return headers


# --- the answer --------------------------------------------------------------------------


async def _restore_completion(guard: ChatGuard, session: str, answer: JSONValue) -> str | None:
    """Restore a ``chat.completion`` in place; return the first choice's content as the
    vendor wrote it (with placeholders), the text the transcript keeps, if any."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list):
        return None
    written: str | None = None
    for index, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            if index == 0:
                written = content
            message["content"] = await guard.redactor.restore(content, conversation=session)
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                await _restore_arguments(guard, session, call["function"])
        if isinstance(message.get("function_call"), dict):
            await _restore_arguments(guard, session, message["function_call"])
    return written


async def _store_answer(
    guard: ChatGuard, session: str, text: str, metrics: ServiceMetrics, language: str | None
) -> None:
    """Store the answer the client already has, analysed in ``language`` (the user's
    message's: a model answers in the language it is asked in); a failure is logged
    and counted."""
    try:
        await guard.record_reply(session, text, lang=language)
    except ChatguardError as error:
        logger.warning("openai: the answer was delivered but not stored: %s", type(error).__name__)
        metrics.transcript_failures.labels(channel=CHANNEL).inc()


async def _restore_arguments(guard: ChatGuard, session: str, function: dict[str, Any]) -> None:
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        return

    async def restore(text: str) -> str:
        return await guard.redactor.restore(text, conversation=session)

    try:
        parsed = json.loads(arguments)
    except ValueError:
        function["arguments"] = await restore(arguments)
        return
    function["arguments"] = json.dumps(await map_strings(parsed, restore), ensure_ascii=False)


@dataclass
class _StreamedAnswer:
    """Per-choice restorers of one streamed answer, and the redacted text it carried."""

    guard: ChatGuard
    session: str
    texts: dict[int, list[str]] = field(default_factory=dict)
    content: dict[int, StreamRestorer] = field(default_factory=dict)
    arguments: dict[tuple[int, int], StreamRestorer] = field(default_factory=dict)
    last: dict[str, JSONValue] | None = None

    async def chunk(self, chunk: dict[str, JSONValue]) -> None:
        """Restore a ``chat.completion.chunk`` in place, holding back split placeholders."""
        self.last = chunk
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta"), dict):
                continue
            index = choice.get("index", 0)
            delta = choice["delta"]
            finished = choice.get("finish_reason") is not None
            content = delta.get("content")
            if isinstance(content, str) or (finished and index in self.content):
                text = content if isinstance(content, str) else ""
                self.texts.setdefault(index, []).append(text)
                restorer = self._content(index)
                restored = await restorer.feed(text)
                if finished:
                    restored += await restorer.flush()
                delta["content"] = restored
            for call in delta.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    restorer = self._arguments(index, call.get("index", 0))
                    function["arguments"] = await restorer.feed(function["arguments"])

    async def rest(self) -> dict[str, JSONValue] | None:
        """A last chunk with whatever is still held back, or ``None`` when nothing is."""
        choices: list[dict[str, JSONValue]] = []
        for index, restorer in self.content.items():
            tail = await restorer.flush()
            if tail:
                choices.append({"index": index, "delta": {"content": tail}, "finish_reason": None})
        for (index, call), restorer in self.arguments.items():
            tail = await restorer.flush()
            if tail:
                delta = {"tool_calls": [{"index": call, "function": {"arguments": tail}}]}
                choices.append({"index": index, "delta": delta, "finish_reason": None})
        if not choices:
            return None
        template = self.last or {}
        keep = ("id", "object", "created", "model", "system_fingerprint")
        return {**{k: template[k] for k in keep if k in template}, "choices": choices}

    def text(self) -> str:
        """The first choice's text as the vendor wrote it (with placeholders)."""
        return "".join(self.texts.get(0, []))

    def _content(self, index: int) -> StreamRestorer:
        if index not in self.content:
            self.content[index] = self.guard.redactor.stream_restorer(self.session)
        return self.content[index]

    def _arguments(self, index: int, call: int) -> StreamRestorer:
        if (index, call) not in self.arguments:
            vault = self.guard.vault
            session = self.session

            # Values go inside a JSON string: escaped, so that the arguments stay JSON.
            async def escaped(placeholders: Collection[str]) -> dict[str, str]:
                values = await vault.lookup(session, placeholders)
                return {p: json.dumps(v, ensure_ascii=False)[1:-1] for p, v in values.items()}

            self.arguments[(index, call)] = StreamRestorer(escaped)
        return self.arguments[(index, call)]


async def _stream(
    request: web.Request,
    vendor: OpenAISettings,
    body: dict[str, JSONValue],
    session: str,
    language: str | None,
) -> web.StreamResponse:
    guard = request.app[GUARD]
    metrics = request.app[METRICS]
    headers = {**_headers(vendor), "Accept": "text/event-stream"}
    started = time.perf_counter()
    answer = _StreamedAnswer(guard, session)
    response: web.StreamResponse | None = None
    # No total limit: a long answer may stream for minutes, but never stalls that long.
    try:
        async with request.app[OPENAI_VENDOR].stream(
            "POST", _url(vendor, "/chat/completions"), json=body, headers=headers
        ) as upstream:
            metrics.latency.labels(stage="vendor").observe(time.perf_counter() - started)
            response = web.StreamResponse(
                headers={
                    "Content-Type": "text/event-stream",
                    "Cache-Control": "no-cache",
                    CONVERSATION_HEADER: guard.session_token(session),
                }
            )
            await response.prepare(request)
            try:
                await _relay(upstream, response, answer)
            except ConnectionResetError:
                logger.info("openai stream: the client went away")
    except VendorError as error:
        if response is None:
            raise  # nothing was sent to the client yet: the error's status answers
        # Headers are sent: the status cannot change any more, the stream just ends.
        logger.warning("openai stream ended early: %s", type(error).__name__)
    if answer.text():
        await _store_answer(guard, session, answer.text(), metrics, language)
    metrics.messages.labels(channel=CHANNEL, vendor=VENDOR, direction="outbound").inc()
    return response


async def _relay(
    upstream: aiohttp.ClientResponse, response: web.StreamResponse, answer: _StreamedAnswer
) -> None:
    async for raw in upstream.content:
        line = raw.decode("utf-8")
        if not line.startswith("data:"):
            await response.write(raw)  # blank lines end events; comments and fields pass
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            rest = await answer.rest()
            if rest is not None:
                await response.write(_event(rest))
            await response.write(b"data: [DONE]\n\n")
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            logger.warning("openai stream: an event that is not JSON was dropped")
            continue
        if isinstance(chunk, dict):
            await answer.chunk(chunk)
        await response.write(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n")
    rest = await answer.rest()
    if rest is not None:
        await response.write(_event(rest))


def _event(chunk: Mapping[str, JSONValue]) -> bytes:
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
