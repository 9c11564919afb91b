"""The admin API on a real port: bearer token, the person's rights, samples, analytics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from chatguard.consent import Decision, Purpose, Source
from chatguard.errors import ConfigurationError
from chatguard.guard import ChatGuard
from chatguard.server.admin import DISABLED_MESSAGE
from chatguard.server.app import make_app
from chatguard.settings import AdminSettings, Settings, load_settings
from chatguard.store.records import Sample
from tests.server.consented import consented_and_sampled

Client = TestClient[web.Request, web.Application]

TOKEN = "admin-token-for-tests-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PSID = "6543210987654321"
NAME = "Anna Keller"
EMAIL = "anna.keller@example.com"

#: Every admin route but the OpenAPI document, with a body it accepts.
PROTECTED: list[tuple[str, str, object]] = [
    ("POST", "/admin/subjects/export", {"session": "guest-abcdefghijkl"}),
    ("POST", "/admin/subjects/erase", {"session": "guest-abcdefghijkl"}),
    ("POST", "/admin/transcripts/show", {"session": "guest-abcdefghijkl", "reason": "fault"}),
    ("POST", "/admin/samples/list", {"reason": "weekly review"}),
    ("POST", "/admin/samples/read", {"session": "guest-abcdefghijkl", "reason": "review"}),
    ("POST", "/admin/samples/delete", {"session": "guest-abcdefghijkl", "reason": "review"}),
    ("POST", "/admin/analytics/export", {"since": "2026-01-01", "until": "2026-02-01"}),
    ("POST", "/admin/consents/withdraw", {"purpose": "quality_sampling", "session": "guest-x"}),
    ("POST", "/admin/consents/show", {"session": "guest-abcdefghijkl"}),
    ("POST", "/admin/notifications/allowed", {"channel": "messenger", "user_id": "x"}),
]


def _settings(token: str | None) -> Settings:
    return Settings(admin=AdminSettings(token=None if token is None else SecretStr(token)))


@pytest_asyncio.fixture(loop_scope="function")
async def client(guard: ChatGuard) -> AsyncIterator[Client]:
    async with TestClient(TestServer(make_app(_settings(TOKEN), guard=guard))) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="function")
async def disabled(guard: ChatGuard) -> AsyncIterator[Client]:
    async with TestClient(TestServer(make_app(_settings(None), guard=guard))) as client:
        yield client


async def _messenger_user(guard: ChatGuard) -> str:
    session = (await guard.start_conversation("messenger", user_id=PSID)).session
    await guard.user_message(session, f"Hello, I am {NAME}, my email is {EMAIL}")
    return session


async def _web_session(guard: ChatGuard) -> str:
    session = (await guard.start_conversation("web")).session
    await guard.user_message(session, f"My email is {EMAIL}, I am {NAME}")
    return session


def _values(document: dict[str, object]) -> set[str]:
    conversations = document["conversations"]
    assert isinstance(conversations, list)
    return {
        value["value"]
        for conversation in conversations
        for value in conversation["values"].values()
    }


# --- access --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_admin_routes_refuse_a_request_without_a_token(
    client: Client, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["error"] == "Unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN],
)
async def test_a_wrong_token_is_refused_and_changes_nothing(
    client: Client, guard: ChatGuard, authorization: str
) -> None:
    session = await _web_session(guard)
    response = await client.post(
        "/admin/subjects/erase", json={"session": session}, headers={"Authorization": authorization}
    )
    assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await guard.store.get_conversation(session) is not None
    assert [entry.action for entry in await guard.store.audit_entries()] == []


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_without_a_configured_token_every_admin_route_is_disabled(
    disabled: Client, method: str, path: str, body: object
) -> None:
    for headers in ({}, AUTH, {"Authorization": "Bearer "}):
        response = await disabled.request(method, path, json=body, headers=headers)
        assert response.status == 503
        assert (await response.json())["message"] == DISABLED_MESSAGE


async def test_admin_answers_are_not_cached(client: Client) -> None:
    response = await client.post("/admin/samples/list", json={"reason": "review"}, headers=AUTH)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"


# --- access and erasure --------------------------------------------------------------


async def test_a_messenger_user_is_exported_with_their_values_then_erased(
    client: Client, guard: ChatGuard
) -> None:
    session = await _messenger_user(guard)
    subject = {"channel": "messenger", "user_id": PSID}

    exported = await client.post("/admin/subjects/export", json=subject, headers=AUTH)
    assert exported.status == 200
    document = await exported.json()
    assert document["identity"] == {"channel": "messenger", "user_id": PSID}
    assert [conversation["session"] for conversation in document["conversations"]] == [session]
    assert {EMAIL, NAME} <= _values(document)

    erased = await client.post("/admin/subjects/erase", json=subject, headers=AUTH)
    assert erased.status == 200
    counts = (await erased.json())["erased"]
    assert counts["conversations"] == 1 and counts["identities"] == 1 and counts["vault"] >= 2
    assert await guard.store.get_conversation(session) is None

    again = await client.post("/admin/subjects/export", json=subject, headers=AUTH)
    assert again.status == 404
    assert (await again.json())["error"] == "SubjectNotFoundError"
    actions = [entry.action for entry in await guard.store.audit_entries()]
    assert actions == ["export", "erase"]  # audited once each, by the rights themselves


async def test_a_web_session_is_exported_then_erased_and_then_unknown(
    client: Client, guard: ChatGuard
) -> None:
    session = await _web_session(guard)
    other = await _web_session(guard)

    exported = await client.post("/admin/subjects/export", json={"session": session}, headers=AUTH)
    document = await exported.json()
    assert exported.status == 200 and document["identity"] is None
    assert {EMAIL, NAME} <= _values(document)
    assert other not in json.dumps(document)

    erased = await client.post("/admin/subjects/erase", json={"session": session}, headers=AUTH)
    assert erased.status == 200 and (await erased.json())["erased"]["conversations"] == 1
    again = await client.post("/admin/subjects/export", json={"session": session}, headers=AUTH)
    assert again.status == 404
    assert await guard.store.get_conversation(other) is not None


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"channel": "messenger"}',
        b'{"channel": "messenger", "user_id": "1", "session": "guest-abcdefghijkl"}',
        b'{"session": ""}',
        b'{"session": 42}',
        b'{"sesion": "guest-abcdefghijkl"}',
    ],
)
async def test_a_malformed_subject_request_is_refused(client: Client, body: bytes) -> None:
    response = await client.post(
        "/admin/subjects/export",
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert (await response.json())["error"] == "InvalidRequestError"


async def test_an_unknown_person_is_not_found(client: Client) -> None:
    response = await client.post(
        "/admin/subjects/erase", json={"channel": "messenger", "user_id": PSID}, headers=AUTH
    )
    assert response.status == 404
    assert PSID not in await response.text()


# --- troubleshooting access ----------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_a_transcript_is_not_shown_without_a_reason(
    client: Client, guard: ChatGuard, reason: str | None
) -> None:
    session = await _web_session(guard)
    body = {"session": session} if reason is None else {"session": session, "reason": reason}
    response = await client.post("/admin/transcripts/show", json=body, headers=AUTH)
    assert response.status == 400
    assert (await response.json())["error"] == "ReasonRequiredError"
    assert await guard.store.audit_entries() == []


async def test_a_transcript_shown_with_a_reason_is_redacted_and_audited(
    client: Client, guard: ChatGuard
) -> None:
    session = await _web_session(guard)
    response = await client.post(
        "/admin/transcripts/show",
        json={"session": session, "reason": "ticket 4711: bot loops", "actor": "ops-alice"},
        headers=AUTH,
    )
    assert response.status == 200
    events = (await response.json())["events"]
    assert len(events) == 1 and events[0]["author"] == "user"
    assert EMAIL not in events[0]["text"] and NAME not in events[0]["text"]
    [entry] = await guard.store.audit_entries()
    assert entry.action == "transcript_show" and entry.subject == session
    assert entry.reason == "ticket 4711: bot loops" and entry.actor == "ops-alice"


# --- quality samples -----------------------------------------------------------------


async def test_a_consenting_sample_is_listed_read_and_taken_out_each_time_audited(
    client: Client, guard: ChatGuard
) -> None:
    session = await _web_session(guard)
    await consented_and_sampled(guard, session)
    [sample] = await guard.store.samples()
    review = {"reason": "weekly quality review", "actor": "qa-bea"}

    listed = await client.post("/admin/samples/list", json=review, headers=AUTH)
    assert listed.status == 200
    assert (await listed.json())["samples"] == [
        {
            "session": session,
            "sampled_at": sample.sampled_at.isoformat(),
            "expires_at": sample.expires_at.isoformat(),
        }
    ]
    read = await client.post(
        "/admin/samples/read", json={"session": session, **review}, headers=AUTH
    )
    assert read.status == 200
    texts = [event["text"] for event in (await read.json())["events"]]
    assert texts and all(NAME not in text and EMAIL not in text for text in texts)
    deleted = await client.post(
        "/admin/samples/delete", json={"session": session, **review}, headers=AUTH
    )
    assert deleted.status == 200 and await deleted.json() == {"deleted": True}
    again = await client.post(
        "/admin/samples/delete", json={"session": session, **review}, headers=AUTH
    )
    assert await again.json() == {"deleted": False}
    assert (await (await client.post("/admin/samples/list", json=review, headers=AUTH)).json()) == {
        "samples": []
    }
    assert await guard.store.get_conversation(session) is not None  # the conversation stays

    audited = [e for e in await guard.store.audit_entries() if e.action.startswith("sample_")]
    assert [(e.action, e.subject, e.counts) for e in audited] == [
        ("sample_list", None, {"samples": 1}),
        ("sample_read", session, {"transcripts": len(texts)}),
        ("sample_delete", session, {"samples": 1}),
        ("sample_delete", session, {"samples": 0}),
        ("sample_list", None, {"samples": 0}),
    ]
    assert {(e.actor, e.reason) for e in audited} == {("qa-bea", "weekly quality review")}


async def test_a_sample_without_a_granted_consent_is_neither_listed_nor_read(
    client: Client, guard: ChatGuard
) -> None:
    session = await _web_session(guard)
    now = guard.clock.now()
    await guard.store.save_sample(Sample(session, now, now + timedelta(days=30)))  # no consent
    review = {"reason": "weekly quality review"}

    listed = await client.post("/admin/samples/list", json=review, headers=AUTH)
    read = await client.post(
        "/admin/samples/read", json={"session": session, **review}, headers=AUTH
    )

    assert await listed.json() == {"samples": []}
    assert read.status == 404 and EMAIL not in await read.text()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/samples/list", {}),
        ("/admin/samples/read", {"session": "guest-abcdefghijkl", "reason": "  "}),
        ("/admin/samples/delete", {"session": "guest-abcdefghijkl"}),
    ],
)
async def test_sample_routes_refuse_without_a_reason_and_do_nothing(
    client: Client, guard: ChatGuard, path: str, body: dict[str, str]
) -> None:
    session = await _web_session(guard)
    await consented_and_sampled(guard, session)
    before = await guard.store.audit_entries()

    response = await client.post(path, json=body, headers=AUTH)

    assert response.status == 400 and (await response.json())["error"] == "ReasonRequiredError"
    assert [s.session for s in await guard.store.samples()] == [session]
    assert await guard.store.audit_entries() == before


# --- anonymised analytics ------------------------------------------------------------


async def test_analytics_are_ndjson_without_any_personal_value(
    client: Client, guard: ChatGuard
) -> None:
    messenger = await _messenger_user(guard)
    web_session = await _web_session(guard)
    response = await client.post(
        "/admin/analytics/export",
        json={"since": "2025-12-31", "until": "2026-01-02T00:00:00+00:00"},
        headers=AUTH,
    )
    assert response.status == 200 and response.content_type == "application/x-ndjson"
    body = await response.text()
    rows = [json.loads(line) for line in body.splitlines()]
    assert len(rows) == 2 and body.endswith("\n")
    assert {row["channel"] for row in rows} == {"messenger", "web"}
    for personal in (EMAIL, NAME, PSID, messenger, web_session):
        assert personal not in body
    [entry] = await guard.store.audit_entries()
    assert entry.action == "analytics_export"


@pytest.mark.parametrize(
    "body",
    [
        {"since": "yesterday", "until": "2026-02-01"},
        {"since": "2026-02-01", "until": "2026-01-01"},
        {"since": "2026-01-01"},
    ],
)
async def test_analytics_need_an_iso_time_range(client: Client, body: dict[str, str]) -> None:
    response = await client.post("/admin/analytics/export", json=body, headers=AUTH)
    assert response.status == 400
    assert (await response.json())["error"] == "InvalidRequestError"


# --- consents ------------------------------------------------------------------------


async def test_consent_withdrawn_after_the_session_by_reference_removes_the_sample(
    client: Client, guard: ChatGuard
) -> None:
    session = await _web_session(guard)
    other = await _web_session(guard)
    code = await consented_and_sampled(guard, session)
    await consented_and_sampled(guard, other)
    body = {"purpose": "quality_sampling", "reference": code.lower().replace("-", " ")}

    response = await client.post("/admin/consents/withdraw", json=body, headers=AUTH)

    assert response.status == 200
    assert await response.json() == {
        "purpose": "quality_sampling",
        "changed": True,
        "withdrawn": [session],
        "samples_deleted": 1,
    }
    assert not await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
    assert [s.session for s in await guard.store.samples()] == [other]
    again = await client.post("/admin/consents/withdraw", json=body, headers=AUTH)
    assert (await again.json())["changed"] is False
    [entry] = await guard.store.audit_entries()
    assert (entry.action, entry.subject, entry.counts) == (
        "consent_withdrawn",
        session,
        {"samples": 1},
    )
    [_, withdrawn] = await guard.consents.history(session)
    assert (withdrawn.source, withdrawn.language) == ("api", "und")


async def test_push_notifications_are_withdrawn_by_channel_identity(
    client: Client, guard: ChatGuard
) -> None:
    session = await _messenger_user(guard)
    user = (await guard.conversation(session)).user
    assert user is not None
    await guard.consents.record(
        user, Purpose.PUSH_NOTIFICATIONS, Decision.GRANTED, Source.MESSENGER_OPTIN, None, "en"
    )
    body = {"purpose": "push_notifications", "channel": "messenger", "user_id": PSID}

    response = await client.post("/admin/consents/withdraw", json=body, headers=AUTH)

    assert (await response.json())["withdrawn"] == [user]
    assert not await guard.consents.allows(user, Purpose.PUSH_NOTIFICATIONS)
    assert PSID not in json.dumps([repr(e) for e in await guard.store.audit_entries()])


async def test_notifications_are_allowed_only_while_push_consent_is_granted(
    client: Client, guard: ChatGuard
) -> None:
    async def allowed(user_id: str = PSID) -> bool:
        body = {"channel": "messenger", "user_id": user_id}
        response = await client.post("/admin/notifications/allowed", json=body, headers=AUTH)
        assert response.status == 200
        answer: bool = (await response.json())["allowed"]
        return answer

    assert not await allowed("unknown-psid")
    session = await _messenger_user(guard)
    user = (await guard.conversation(session)).user
    assert user is not None
    assert not await allowed()  # known, but nothing granted
    await guard.consents.record(
        user, Purpose.PUSH_NOTIFICATIONS, Decision.GRANTED, Source.MESSENGER_OPTIN, None, "en"
    )
    assert await allowed() and await guard.may_notify("messenger", PSID)
    await guard.consents.withdraw(user, Purpose.PUSH_NOTIFICATIONS, Source.API, "und")
    assert not await allowed() and not await guard.may_notify("messenger", PSID)

    for body in ({"channel": "messenger"}, {"channel": "messenger", "user_id": 7}, {"x": "y"}):
        response = await client.post("/admin/notifications/allowed", json=body, headers=AUTH)
        assert response.status == 400
        assert PSID not in await response.text()
    refused = await client.post(
        "/admin/notifications/allowed", json={"channel": "messenger", "user_id": PSID}
    )
    assert refused.status == 401


async def test_a_persons_consents_are_shown_per_pseudonym_and_the_look_is_audited(
    client: Client, guard: ChatGuard
) -> None:
    session = await _web_session(guard)
    await consented_and_sampled(guard, session)
    await guard.consents.withdraw(session, Purpose.QUALITY_SAMPLING, Source.CHAT, "en")

    response = await client.post("/admin/consents/show", json={"session": session}, headers=AUTH)

    assert response.status == 200
    [shown] = (await response.json())["subjects"]
    assert (shown["pseudonym"], shown["kind"]) == (session, "session")
    assert shown["current"] == {"quality_sampling": "withdrawn"}
    assert [r["decision"] for r in shown["records"]] == ["granted", "withdrawn"]
    assert (await guard.store.audit_entries())[-1].action == "consent_show"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"session": "guest-abcdefghijkl"}, 400, "InvalidRequestError"),
        ({"purpose": "marketing", "session": "guest-abcdefghijkl"}, 400, "UnknownPurposeError"),
        (
            {"purpose": "quality_sampling", "session": "guest-x", "reference": "K7QX-3MZD-R9HT"},
            400,
            "InvalidRequestError",
        ),
        ({"purpose": "quality_sampling", "user_id": PSID}, 400, "InvalidRequestError"),
        (
            {"purpose": "quality_sampling", "reference": "K7QX-3MZD-R9HT"},
            404,
            "SubjectNotFoundError",
        ),
        (
            {"purpose": "quality_sampling", "reference": "my code 12345"},
            404,
            "SubjectNotFoundError",
        ),
        ({"purpose": "quality_sampling", "session": "guest-nobody"}, 404, "SubjectNotFoundError"),
    ],
)
async def test_a_withdrawal_that_names_no_one_or_nothing_is_refused_without_quoting_it(
    client: Client, body: dict[str, str], status: int, error: str
) -> None:
    response = await client.post("/admin/consents/withdraw", json=body, headers=AUTH)
    assert response.status == status
    answer = await response.json()
    assert answer["error"] == error
    assert not any(value in answer["message"] for value in body.values() if len(value) > 8)


# --- the API's description -----------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="function", params=[TOKEN, None], ids=["enabled", "disabled"])
async def enabled_or_not(request: pytest.FixtureRequest, guard: ChatGuard) -> AsyncIterator[Client]:
    app = make_app(_settings(request.param), guard=guard)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_the_openapi_document_describes_every_admin_route_without_a_token(
    enabled_or_not: Client,
) -> None:
    client = enabled_or_not
    response = await client.get("/admin/openapi.json")
    assert response.status == 200
    document = json.loads(await response.read())
    assert document["openapi"].startswith("3.1")
    assert client.app is not None
    [admin] = [
        resource.get_info()["app"]
        for resource in client.app.router.resources()
        if isinstance(resource, web.PrefixedSubAppResource) and resource.canonical == "/admin"
    ]
    routes = {
        (route.resource.canonical, route.method.lower())
        for route in admin.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert len(routes) == 11
    for path, method in routes:
        assert method in document["paths"][path], (path, method)


# --- configuration -------------------------------------------------------------------


def test_the_admin_token_is_refused_in_the_configuration_file(tmp_path: Path) -> None:
    config = tmp_path / "chatguard.toml"
    config.write_text('[admin]\ntoken = "in-the-file"\n')
    with pytest.raises(ConfigurationError, match=r"admin\.token.*CHATGUARD_ADMIN__TOKEN"):
        load_settings(config)


def test_the_admin_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGUARD_ADMIN__TOKEN", TOKEN)
    token = load_settings().admin.token
    assert token is not None and token.get_secret_value() == TOKEN
    monkeypatch.delenv("CHATGUARD_ADMIN__TOKEN")
    assert load_settings().admin.token is None
