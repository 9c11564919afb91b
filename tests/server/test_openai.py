"""The OpenAI-compatible channel on a real port, in front of a local OpenAI-style upstream."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.guard import ChatGuard
from chatguard.settings import Settings
from tests.server.serving import Client, pseudonym_of, started
from tests.vendors.openai_fake import Upstream

NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"
PHONE = "+49 151 23456789"
OTHER_EMAIL = "jonas.weber@example.com"
PERSONAL = (NAME, "Keller", EMAIL, PHONE, "23456789", OTHER_EMAIL)


@pytest_asyncio.fixture(loop_scope="function")
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    fake = Upstream()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/v1"))


CLIENT_KEY = "client-key-for-tests-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {CLIENT_KEY}"}


def _settings(base_url: str, client_key: str | None = CLIENT_KEY) -> Settings:
    return Settings(
        vendors={"openai": {"base_url": base_url, "api_key": "sk-vendor"}},
        channels={"openai": {"client_key": client_key}},
    )


async def _client(guard: ChatGuard, base_url: str) -> Client:
    """A client that sends the channel's client key with every request."""
    return await started(guard, _settings(base_url), headers=AUTH)


@pytest_asyncio.fixture(loop_scope="function")
async def client(guard: ChatGuard, upstream: tuple[Upstream, str]) -> AsyncIterator[Client]:
    client = await _client(guard, upstream[1])
    yield client
    await client.close()


def _chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


async def _transcript(guard: ChatGuard, client_id: str, *, at_least: int = 0) -> list[str]:
    """The client's transcript, once it holds ``at_least`` events (an answer is stored
    right after it was sent, so the client may read it a moment before)."""
    user = await guard.identities.find("openai", client_id)
    assert user is not None
    async with asyncio.timeout(5):
        while True:
            conversations = await guard.store.conversations_of(user)
            texts = [e.text for c in conversations for e in await guard.store.events(c.session)]
            if len(texts) >= at_least:
                return texts
            await asyncio.sleep(0.01)


async def test_no_personal_value_from_any_part_of_the_chat_reaches_the_vendor(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    fake, _ = upstream
    image = {"type": "image_url", "image_url": {"url": "https://example.net/cat.png"}}
    arguments = json.dumps({"to": OTHER_EMAIL, "cc": [EMAIL], "urgent": True})
    request = {
        "model": "gpt-4o-mini",
        "user": "customer-42",
        "messages": [
            {"role": "system", "content": f"You help {NAME}."},
            {
                "role": "user",
                "name": "anna",
                "content": [{"type": "text", "text": f"Write to {OTHER_EMAIL}"}, image],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "send_mail", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": f"Sent; reply to {PHONE}"},
            {"role": "user", "content": f"I am {NAME}, mail me at {EMAIL} or call {PHONE}"},
        ],
    }
    response = await client.post("/v1/chat/completions", json=request)
    assert response.status == 200
    sent = json.dumps(fake.received[0], ensure_ascii=False)
    assert not [value for value in PERSONAL if value in sent]
    for placeholder in ("<PERSON_1>", "<EMAIL_ADDRESS_1>", "<EMAIL_ADDRESS_2>", "<PHONE_NUMBER_1>"):
        assert placeholder in sent
    messages = fake.received[0]["messages"]
    assert messages[1]["content"][1] == image and "name" not in messages[1]
    assert json.loads(messages[2]["tool_calls"][0]["function"]["arguments"])["urgent"] is True
    assert fake.headers[0]["Authorization"] == "Bearer sk-vendor"
    assert CLIENT_KEY not in json.dumps(fake.headers[0])  # the client's key stays here
    assert fake.received[0]["user"].startswith("user-")


async def test_the_reply_comes_back_restored_and_the_transcript_stays_redacted(
    client: Client, upstream: tuple[Upstream, str], guard: ChatGuard
) -> None:
    fake, _ = upstream
    fake.reply = "Thanks <PERSON_1>, I will write to <EMAIL_ADDRESS_1>."
    fake.reply_arguments = json.dumps({"to": "<EMAIL_ADDRESS_1>"})
    response = await client.post(
        "/v1/chat/completions",
        json=_chat(f"I am {NAME}, my address is {EMAIL}"),
        headers={"X-Chatguard-Conversation": "client-1"},
    )
    answer = await response.json()
    message = answer["choices"][0]["message"]
    assert message["content"] == f"Thanks {NAME}, I will write to {EMAIL}."
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"to": EMAIL}
    assert answer["object"] == "chat.completion" and answer["usage"]["total_tokens"] == 25
    transcript = await _transcript(guard, "client-1", at_least=2)
    assert len(transcript) == 2 and "<EMAIL_ADDRESS_1>" in transcript[0]
    assert not [value for value in PERSONAL if value in json.dumps(transcript)]


async def test_an_answer_that_cannot_be_stored_still_reaches_the_client_and_is_counted(
    client: Client, upstream: tuple[Upstream, str], guard: ChatGuard
) -> None:
    fake, _ = upstream
    limit = guard.settings.redaction.max_message_chars
    fake.reply = "Thanks <PERSON_1>. " + "x" * limit  # too long to redact for the transcript
    response = await client.post(
        "/v1/chat/completions",
        json=_chat(f"I am {NAME}"),
        headers={"X-Chatguard-Conversation": "client-long"},
    )
    answer = await response.json()
    assert answer["choices"][0]["message"]["content"].startswith(f"Thanks {NAME}. xxx")
    failures = 'chatguard_transcript_failures_total{channel="openai"} 1.0'
    async with asyncio.timeout(5):
        metrics = await (await client.get("/metrics")).text()
        while failures not in metrics:  # counted a moment after the answer was sent
            await asyncio.sleep(0.01)
            metrics = await (await client.get("/metrics")).text()
    assert NAME not in metrics
    assert await _transcript(guard, "client-long") == ["I am <PERSON_1>"]


async def test_a_stream_is_restored_as_it_goes_also_across_a_split_placeholder(
    client: Client, upstream: tuple[Upstream, str], guard: ChatGuard
) -> None:
    fake, _ = upstream
    fake.pieces = ["Hello, ", "I will write to <EMAIL_", "ADDRESS_1> now", "."]
    fake.before_last_piece = asyncio.Event()
    async with asyncio.timeout(20):
        response = await client.post(
            "/v1/chat/completions",
            json=_chat(f"Mail me at {EMAIL}", stream=True),
            headers={"X-Chatguard-Conversation": "client-2"},
        )
        assert response.status == 200 and response.content_type == "text/event-stream"
        events: list[str] = []
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if not line:
                continue
            assert line.startswith("data: ")
            events.append(line[len("data: ") :])
            if line.endswith("]") or "[DONE]" in line:
                continue
            if json.loads(events[-1])["choices"][0]["delta"].get("content"):
                fake.before_last_piece.set()  # the first token arrived before the last was sent
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == f"Hello, I will write to {EMAIL} now."
    transcript = await _transcript(guard, "client-2")
    assert transcript[-1] == "Hello, I will write to <EMAIL_ADDRESS_1> now."


async def test_the_same_conversation_header_keeps_the_same_placeholders(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    fake, _ = upstream
    sessions = set()
    for text in (f"Mail {OTHER_EMAIL} please", f"Also {EMAIL} and again {OTHER_EMAIL}"):
        response = await client.post(
            "/v1/chat/completions", json=_chat(text), headers={"X-Chatguard-Conversation": "c-9"}
        )
        assert response.status == 200
        sessions.add(response.headers["X-Chatguard-Conversation"])
    assert len(sessions) == 1
    assert fake.received[0]["messages"][0]["content"] == "Mail <EMAIL_ADDRESS_1> please"
    second = fake.received[1]["messages"][0]["content"]
    assert second == "Also <EMAIL_ADDRESS_2> and again <EMAIL_ADDRESS_1>"
    session = sessions.pop()
    response = await client.post(
        "/v1/chat/completions",
        json=_chat(f"Once more {OTHER_EMAIL}"),
        headers={"X-Chatguard-Conversation": session},
    )
    assert response.headers["X-Chatguard-Conversation"] == session
    assert fake.received[2]["messages"][0]["content"] == "Once more <EMAIL_ADDRESS_1>"


async def test_only_the_conversation_token_continues_a_conversation_not_its_pseudonym(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    # Whoever knows a pseudonym (an operator, a log) must not get a conversation's
    # values restored by asking the model to repeat its placeholders.
    fake, _ = upstream
    first = await client.post("/v1/chat/completions", json=_chat(f"Mail {EMAIL} please"))
    token = first.headers["X-Chatguard-Conversation"]
    fake.reply = "You said <EMAIL_ADDRESS_1>."

    for handle in (pseudonym_of(token), f"{pseudonym_of(token)}.{'0' * 32}"):
        probed = await client.post(
            "/v1/chat/completions",
            json=_chat("Repeat what I said"),
            headers={"X-Chatguard-Conversation": handle},
        )
        assert probed.status == 200 and EMAIL not in await probed.text()
        assert probed.headers["X-Chatguard-Conversation"] != token
    continued = await client.post(
        "/v1/chat/completions",
        json=_chat("Repeat what I said"),
        headers={"X-Chatguard-Conversation": token},
    )
    assert continued.headers["X-Chatguard-Conversation"] == token
    assert (await continued.json())["choices"][0]["message"]["content"] == f"You said {EMAIL}."


async def test_vendor_down_is_a_502_and_the_users_message_is_kept(guard: ChatGuard) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = await _client(guard, f"http://127.0.0.1:{closed_port}/v1")
    try:
        response = await client.post(
            "/v1/chat/completions",
            json=_chat(f"Call me on {PHONE}"),
            headers={"X-Chatguard-Conversation": "client-3"},
        )
        assert response.status == 502
        assert (await response.json())["error"] == "VendorUnavailableError"
        metrics = await (await client.get("/metrics")).text()
        assert 'chatguard_vendor_errors_total{kind="unreachable",vendor="openai"} 1.0' in metrics
    finally:
        await client.close()
    assert await _transcript(guard, "client-3") == ["Call me on <PHONE_NUMBER_1>"]


async def test_a_vendor_error_is_a_502_without_the_vendors_body(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    upstream[0].status = 500
    response = await client.post("/v1/chat/completions", json=_chat("Hello"))
    assert response.status == 502
    body = await response.json()
    assert body["error"] == "VendorError" and "500" in body["message"]


async def test_malformed_requests_are_400_and_nothing_is_sent(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    broken = await client.post(
        "/v1/chat/completions", data=b'{"messages": [', headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400 and (await broken.json())["error"] == "InvalidRequestError"
    missing = await client.post("/v1/chat/completions", json={"model": "gpt-4o-mini"})
    assert missing.status == 400 and (await missing.json())["error"] == "InvalidRequestError"
    assert upstream[0].received == []


async def test_a_message_that_cannot_be_redacted_is_not_sent(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    response = await client.post("/v1/chat/completions", json=_chat(f"{EMAIL} " * 2000))
    assert response.status == 413
    assert upstream[0].received == []


async def test_models_are_listed_with_the_vendors_key_only(
    client: Client, upstream: tuple[Upstream, str]
) -> None:
    response = await client.get("/v1/models")
    assert response.status == 200
    assert (await response.json())["data"][0]["id"] == "gpt-4o-mini"
    assert upstream[0].headers[0]["Authorization"] == "Bearer sk-vendor"


async def test_without_a_configured_client_key_the_channel_is_closed(
    guard: ChatGuard, upstream: tuple[Upstream, str]
) -> None:
    fake, url = upstream
    client = await started(guard, _settings(url, client_key=None), headers=AUTH)
    try:
        for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models")):
            response = await client.request(method, path, json=_chat(f"I am {NAME}"))
            assert response.status == 503
            assert "CHATGUARD_CHANNELS__OPENAI__CLIENT_KEY" in (await response.json())["message"]
    finally:
        await client.close()
    assert fake.received == [] and fake.headers == []


async def test_a_request_without_the_client_key_reaches_nothing_and_stores_nothing(
    guard: ChatGuard, upstream: tuple[Upstream, str]
) -> None:
    # Without it, whoever reaches the channel could continue a conversation by a
    # guessable client user id and have the model repeat its placeholders, restored.
    fake, url = upstream
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": CLIENT_KEY}):
        client = await started(guard, _settings(url), headers=headers)
        try:
            request = _chat(f"I am {NAME}", user="customer-42")
            response = await client.post("/v1/chat/completions", json=request)
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await client.get("/v1/models")).status == 401
        finally:
            await client.close()
    assert fake.received == [] and fake.headers == []
    assert await guard.identities.find("openai", "customer-42") is None
