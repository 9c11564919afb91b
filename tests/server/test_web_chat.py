"""The web chat channel on a real port, with the demo bot or a local Cognigy endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestServer

from chatguard.guard import ChatGuard
from chatguard.outputs import VENDOR_DOWN
from chatguard.settings import Settings
from chatguard.store.records import Author, EventKind
from tests.server.serving import Client, new_web_chat, pseudonym_of, started
from tests.vendors.cognigy_fake import CognigyEndpoint, quick_replies_output

NAME = "Anna Keller"
EMAIL = "anna.keller@example.org"
PHONE = "+49 151 23456789"
PERSONAL = (NAME, "Keller", EMAIL, PHONE, "23456789")


@pytest_asyncio.fixture(loop_scope="function")
async def cognigy() -> AsyncIterator[tuple[CognigyEndpoint, str]]:
    fake = CognigyEndpoint()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/endpoint-token"))


@pytest_asyncio.fixture(loop_scope="function")
async def client(guard: ChatGuard, cognigy: tuple[CognigyEndpoint, str]) -> AsyncIterator[Client]:
    settings = Settings(
        channels={"web": {"bot": "cognigy"}},
        vendors={"cognigy": {"endpoint_url": cognigy[1], "timeout": 2}},
    )
    client = await started(guard, settings)
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="function")
async def demo(guard: ChatGuard) -> AsyncIterator[Client]:
    client = await started(guard, Settings())
    yield client
    await client.close()


async def _session(client: Client, **body: Any) -> str:
    """A new web chat's token."""
    token, _ = await new_web_chat(client, **body)
    return token


async def test_no_personal_value_reaches_cognigy_and_the_user_sees_values_restored(
    client: Client, cognigy: tuple[CognigyEndpoint, str]
) -> None:
    fake, _ = cognigy
    fake.outputs = [
        {"text": "Hello <PERSON_1>", "data": {}, "source": "bot"},
        quick_replies_output("Shall I write to <EMAIL_ADDRESS_1>?", ["Yes, <EMAIL_ADDRESS_1>"]),
    ]
    session = await _session(client, user_id="customer-42")
    response = await client.post(
        "/chat/messages",
        json={
            "session": session,
            "text": f"I am {NAME}, call me at {PHONE}",
            "data": {"quick_reply": {"type": "user_email", "payload": EMAIL}},
        },
    )
    assert response.status == 200
    outputs = (await response.json())["outputs"]
    [sent] = fake.received
    wire = json.dumps(sent, ensure_ascii=False)
    assert not [value for value in PERSONAL if value in wire]
    assert "passthroughIP" not in sent and set(sent) == {"userId", "sessionId", "text", "data"}
    assert sent["sessionId"] == pseudonym_of(session) and sent["userId"].startswith("user-")
    assert "customer-42" not in wire
    assert sent["data"]["quick_reply"]["payload"] == "<EMAIL_ADDRESS_1>"
    assert outputs == [
        {"text": f"Hello {NAME}", "quick_replies": [], "handover": False, "consent": False},
        {
            "text": f"Shall I write to {EMAIL}?",
            "quick_replies": [f"Yes, {EMAIL}"],
            "handover": False,
            "consent": False,
        },
    ]


async def test_the_pseudonym_a_vendor_sees_opens_nothing_only_the_clients_token_does(
    client: Client, cognigy: tuple[CognigyEndpoint, str]
) -> None:
    # Cognigy (sessionId) and Genesys agents (the customer's id) see the pseudonym:
    # were it enough, they could read the chat back here with its values restored.
    fake, _ = cognigy
    token = await _session(client)
    await client.post("/chat/messages", json={"session": token, "text": f"I am {NAME}"})
    seen = fake.received[0]["sessionId"]
    assert seen == pseudonym_of(token) and seen != token

    for handle in (seen, f"{seen}.{'0' * 32}", token.rpartition(".")[2]):
        read = await client.get("/chat/messages", params={"session": handle})
        assert read.status == 404 and NAME not in await read.text()
        sent = await client.post("/chat/messages", json={"session": handle, "text": "hi"})
        assert sent.status == 404
        liked = await client.post("/chat/feedback", json={"session": handle, "positive": True})
        assert liked.status == 404
        socket = await client.get("/chat/ws", params={"session": handle})
        assert socket.status == 404
    assert len(fake.received) == 1
    mine = await (await client.get("/chat/messages", params={"session": token})).json()
    assert mine["events"][0]["text"] == f"I am {NAME}"


async def test_a_guest_is_sent_under_the_session_pseudonym(
    client: Client, cognigy: tuple[CognigyEndpoint, str]
) -> None:
    fake, _ = cognigy
    session = await _session(client)
    await client.post("/chat/messages", json={"session": session, "text": "hello"})
    assert fake.received[0]["userId"] == pseudonym_of(session) == fake.received[0]["sessionId"]


async def test_the_handover_marker_reaches_the_user_as_handover(
    client: Client, cognigy: tuple[CognigyEndpoint, str]
) -> None:
    fake, _ = cognigy
    fake.outputs = [
        {"text": "One moment.", "data": {"chatguard": {"handover": True, "consent": False}}}
    ]
    session = await _session(client)
    response = await client.post("/chat/messages", json={"session": session, "text": "agent"})
    assert (await response.json())["outputs"] == [
        {"text": "One moment.", "quick_replies": [], "handover": True, "consent": False}
    ]


async def test_cognigy_down_gives_a_localized_sorry_and_keeps_the_message(
    client: Client, cognigy: tuple[CognigyEndpoint, str], guard: ChatGuard
) -> None:
    fake, _ = cognigy
    fake.status = 503
    session = await _session(client)
    text = f"Bonjour, je m'appelle {NAME} et je voudrais changer mon vol pour Paris."
    response = await client.post("/chat/messages", json={"session": session, "text": text})
    assert response.status == 200
    assert (await response.json())["outputs"] == [
        {"text": VENDOR_DOWN["fr"], "quick_replies": [], "handover": False, "consent": False}
    ]
    [stored] = await guard.store.events(pseudonym_of(session))
    assert stored.author is Author.USER and NAME not in stored.text
    shown = await (await client.get("/chat/messages", params={"session": session})).json()
    assert [event["text"] for event in shown["events"]] == [text]
    metrics = await (await client.get("/metrics")).text()
    assert 'chatguard_vendor_errors_total{kind="status_5xx",vendor="cognigy"} 1.0' in metrics


async def test_websocket_round_trip_with_the_demo_bot(demo: Client) -> None:
    session = await _session(demo)
    async with demo.ws_connect("/chat/ws", params={"session": session}) as socket:
        await socket.send_json({"type": "message", "text": f"Hi, I am {NAME}"})
        output = await socket.receive_json()
        assert output["type"] == "output" and NAME in output["text"]
        assert output["quick_replies"] and not output["handover"]
        await socket.send_json({"type": "message", "text": "I want a human"})
        assert (await socket.receive_json())["handover"] is True
        await socket.send_str("not json")
        assert (await socket.receive_json()) == {
            "type": "error",
            "error": "InvalidRequestError",
            "message": "the request body is not valid JSON",
        }


async def test_messages_after_n_are_restored_for_their_own_session_only(demo: Client) -> None:
    mine, other = await _session(demo), await _session(demo)
    await demo.post("/chat/messages", json={"session": mine, "text": f"I am {NAME}"})
    await demo.post("/chat/messages", json={"session": other, "text": "hello"})
    everything = await (await demo.get("/chat/messages", params={"session": mine})).json()
    assert [(e["seq"], e["author"]) for e in everything["events"]] == [(1, "user"), (2, "bot")]
    assert everything["events"][0]["text"] == f"I am {NAME}"
    later = await (await demo.get("/chat/messages", params={"session": mine, "after": 1})).json()
    assert [e["seq"] for e in later["events"]] == [2] and NAME in later["events"][0]["text"]
    theirs = await (await demo.get("/chat/messages", params={"session": other})).json()
    assert not [e for e in theirs["events"] if NAME in e["text"]]


async def test_feedback_is_stored(demo: Client, guard: ChatGuard) -> None:
    session = await _session(demo)
    response = await demo.post("/chat/feedback", json={"session": session, "positive": False})
    assert response.status == 200
    [event] = await guard.store.events(pseudonym_of(session))
    assert event.kind is EventKind.FEEDBACK and event.feedback == "down"


async def test_unknown_sessions_malformed_bodies_and_long_texts_are_refused(
    demo: Client, guard: ChatGuard
) -> None:
    unknown = await demo.post("/chat/messages", json={"session": "guest-nope", "text": "hi"})
    assert unknown.status == 404 and (await unknown.json())["error"] == "SubjectNotFoundError"
    other_channel = await guard.start_conversation("openai")
    token = guard.session_token(other_channel.session)  # a valid token of another channel
    read = await demo.get("/chat/messages", params={"session": token})
    assert read.status == 404
    malformed = await demo.post("/chat/messages", data=b"{not json")
    assert malformed.status == 400
    session = await _session(demo)
    too_long = "a" * (Settings().redaction.max_message_chars + 1)
    long = await demo.post("/chat/messages", json={"session": session, "text": too_long})
    assert long.status == 413 and (await long.json())["error"] == "MessageTooLargeError"
    socket_unknown = await demo.get("/chat/ws", params={"session": "guest-nope"})
    assert socket_unknown.status == 404
