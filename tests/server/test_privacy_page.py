"""The privacy page (/privacy) on a real port: after the chat, the person withdraws their
consent, gets a copy of their chat data or erases it with their privacy reference; no
script, CSRF tokens, a look-up limit, six languages."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from chatguard.clock import ManualClock
from chatguard.consent import Decision, Purpose, new_privacy_reference
from chatguard.crypto import KeyRing, random_key
from chatguard.errors import ConfigurationError, FormTokenError, TooManyAttemptsError
from chatguard.guard import ChatGuard
from chatguard.redact.languages import SUPPORTED_LANGUAGES
from chatguard.server.app import make_app
from chatguard.server.privacy import (
    ACTOR,
    WITHDRAW_TEXT_ID,
    FormTokens,
    LookupLimiter,
    client_key,
    negotiate_language,
    page_texts,
)
from chatguard.settings import Settings, load_settings
from tests.server.consented import consented_web_chat

Client = TestClient[web.Request, web.Application]

NAME = "Anna Keller"
EMAIL = "anna.keller@example.com"
CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def _settings(**privacy: Any) -> Settings:
    return Settings(privacy=privacy)


async def _client(guard: ChatGuard, settings: Settings) -> Client:
    client: Client = TestClient(TestServer(make_app(settings, guard=guard), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest_asyncio.fixture(loop_scope="function")
async def client(guard: ChatGuard) -> AsyncIterator[Client]:
    client = await _client(guard, _settings())
    yield client
    await client.close()


async def _chat(guard: ChatGuard) -> tuple[str, str]:
    return await consented_web_chat(guard, f"Hello, I am {NAME}, my email is {EMAIL}")


async def _token(client: Client, **query: str) -> str:
    """Open the form as a browser would (its cookie kept); the form's token."""
    response = await client.get("/privacy", params=query)
    assert response.status == 200
    match = TOKEN.search(await response.text())
    assert match is not None
    return match.group(1)


async def _post(client: Client, **fields: str) -> Any:
    return await client.post("/privacy", data=fields, allow_redirects=False)


async def _sampled(guard: ChatGuard) -> list[str]:
    return [sample.session for sample in await guard.store.samples()]


def _assert_page_is_safe(response: Any, body: str) -> None:
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in body.lower()
    assert not re.search(r"\son[a-z]+\s*=|javascript:", body, re.IGNORECASE)


# --- what the page says ----------------------------------------------------------------


async def test_the_form_says_what_each_action_does_and_that_help_never_depends_on_consent(
    client: Client,
) -> None:
    response = await client.get("/privacy")
    html = await response.text()

    assert response.status == 200 and response.content_type == "text/html"
    assert '<html lang="en">' in html
    for words in (
        "Privacy reference",
        "Withdraw my consent",
        "if your chat was already selected as a sample, the sample is deleted now",
        "Get a copy of my chat data",
        "as a file (JSON)",
        "Erase my chat data",
        "You will be asked to confirm",
        "deleted after 30 days",
        "our service team will help you all the same",
    ):
        assert words in html
    assert 'method="post" action="/privacy"' in html


async def test_the_retention_the_page_states_is_the_configured_one(guard: ChatGuard) -> None:
    client = await _client(guard, Settings(retention={"conversations": "14d"}))
    try:
        html = await (await client.get("/privacy?lang=de")).text()
    finally:
        await client.close()
    assert "nach 14 Tagen gelöscht" in html and "30 Tagen" not in html


def test_every_text_of_the_page_is_written_in_all_six_languages() -> None:
    texts = page_texts()
    for key, values in texts.sets.items():
        assert set(values) == set(SUPPORTED_LANGUAGES), key
        assert all(value.strip() for value in values.values()), key
    english = texts.get("en", days=30)
    for language in SUPPORTED_LANGUAGES[1:]:
        translated = texts.get(language, days=30)
        same = [key for key in english if translated[key] == english[key]]
        assert same == [], (language, same)  # nothing left in English by mistake
    assert texts.get("pt", days=30)["help_all_the_same"].endswith(
        "a equipa do centro de serviços irá certamente continuar a ajudá-lo."
    )  # the notice's own words


# --- withdrawal ------------------------------------------------------------------------


async def test_consent_withdrawn_on_the_privacy_page_removes_the_sample_at_once(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    other, _ = await _chat(guard)
    token = await _token(client)

    response = await _post(client, csrf=token, lang="en", reference=code, action="withdraw")

    assert response.status == 303
    assert response.headers["Location"] == "/privacy/done?outcome=withdrawn&lang=en"
    assert await guard.consents.state(session, Purpose.QUALITY_SAMPLING) is Decision.WITHDRAWN
    assert await _sampled(guard) == [other]
    [_, withdrawn] = await guard.consents.history(session)
    assert (withdrawn.source, withdrawn.language) == ("form", "en")
    assert (withdrawn.text_id, withdrawn.text_version) == (WITHDRAW_TEXT_ID, page_texts().version)
    [entry] = await guard.store.audit_entries()
    assert (entry.action, entry.subject, entry.counts) == (
        "consent_withdrawn",
        session,
        {"samples": 1},
    )
    done = await client.get(response.headers["Location"])
    html = await done.text()
    assert done.status == 200 and "Your consent has been withdrawn." in html
    assert code not in html


async def test_a_reference_is_found_whatever_its_letter_case_spaces_and_dashes(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    typed = " " + code.lower().replace("-", " ") + " "

    response = await _post(
        client, csrf=await _token(client), lang="en", reference=typed, action="withdraw"
    )

    assert response.status == 303
    assert not await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


async def test_withdrawing_again_says_there_is_nothing_to_withdraw(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    token = await _token(client)
    await _post(client, csrf=token, lang="en", reference=code, action="withdraw")

    again = await _post(client, csrf=token, lang="en", reference=code, action="withdraw")

    assert again.headers["Location"] == "/privacy/done?outcome=nothing_to_withdraw&lang=en"
    assert [r.decision for r in await guard.consents.history(session)] == ["granted", "withdrawn"]
    done = await (await client.get(again.headers["Location"])).text()
    assert "There was no consent to withdraw for this chat" in done


# --- a copy ----------------------------------------------------------------------------


async def test_the_copy_is_a_json_download_of_that_conversation_only_audited_as_the_page(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    other, _ = await _chat(guard)

    response = await _post(
        client, csrf=await _token(client), lang="en", reference=code, action="export"
    )

    assert response.status == 200 and response.content_type == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="chat-data.json"'
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(await response.read())
    [conversation] = document["conversations"]
    assert conversation["session"] == session and other not in json.dumps(document)
    values = {value["value"] for value in conversation["values"].values()}
    assert {NAME, EMAIL} <= values
    assert [record["decision"] for record in document["consents"]] == ["granted"]
    [entry] = await guard.store.audit_entries()
    assert (entry.action, entry.subject, entry.actor) == ("export", session, ACTOR)
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)  # nothing else done


# --- erasure ---------------------------------------------------------------------------


async def test_erasure_is_confirmed_on_a_second_page_then_the_chat_is_gone(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    other, _ = await _chat(guard)
    token = await _token(client)

    asked = await _post(client, csrf=token, lang="en", reference=code.lower(), action="erase")

    assert asked.status == 200
    confirmation = await asked.text()
    _assert_page_is_safe(asked, confirmation)
    assert "Erase this chat?" in confirmation and "It cannot be undone." in confirmation
    assert 'name="action" value="erase_confirmed"' in confirmation
    assert await guard.store.get_conversation(session) is not None  # nothing erased yet
    assert await guard.store.audit_entries() == []
    match = TOKEN.search(confirmation)
    hidden = re.search(r'name="reference" value="([^"]+)"', confirmation)
    assert match is not None and hidden is not None

    erased = await _post(
        client, csrf=match.group(1), lang="en", reference=hidden.group(1), action="erase_confirmed"
    )

    assert erased.status == 303
    assert erased.headers["Location"] == "/privacy/done?outcome=erased&lang=en"
    assert await guard.store.get_conversation(session) is None
    assert await guard.store.events(session) == []
    assert await guard.consents.history(session) == []
    assert await _sampled(guard) == [other]
    assert await guard.store.get_conversation(other) is not None
    [entry] = await guard.store.audit_entries()
    assert (entry.action, entry.subject, entry.actor) == ("erase", session, ACTOR)
    assert entry.counts["conversations"] == 1 and entry.counts["samples"] == 1
    done = await (await client.get(erased.headers["Location"])).text()
    assert "Your chat data has been erased." in done
    again = await _post(client, csrf=token, lang="en", reference=code, action="export")
    assert again.status == 404  # the reference went with the conversation


# --- refusals --------------------------------------------------------------------------


async def test_a_post_without_a_token_is_refused_and_does_nothing(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    await _token(client)  # the browser holds its cookie

    for action in ("withdraw", "erase_confirmed", "export"):
        response = await _post(client, lang="en", reference=code, action=action)
        assert response.status == 403
        html = await response.text()
        _assert_page_is_safe(response, html)
        assert "The form was not accepted" in html and "Nothing was changed." in html

    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
    assert await _sampled(guard) == [session]
    assert await guard.store.get_conversation(session) is not None
    assert await guard.store.audit_entries() == []


async def test_a_wrong_token_is_refused_and_does_nothing(
    client: Client, guard: ChatGuard, clock: ManualClock
) -> None:
    session, code = await _chat(guard)
    another = await _client(guard, _settings())
    try:
        foreign = await _token(another)  # made for another browser's cookie
    finally:
        await another.close()
    token = await _token(client)
    issued, _, mac = token.partition(".")
    wrong = [
        foreign,
        f"{issued}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
        f"{int(issued) - 1}.{mac}",
        mac,
        "",
        "1.2.3",
    ]
    for candidate in wrong:
        response = await _post(client, csrf=candidate, lang="en", reference=code, action="withdraw")
        assert response.status == 403, candidate

    clock.advance(timedelta(hours=2, minutes=1))  # an old form
    expired = await _post(client, csrf=token, lang="en", reference=code, action="withdraw")
    assert expired.status == 403

    client.session.cookie_jar.clear()  # the right token, but no cookie
    cookieless = await _post(client, csrf=token, lang="en", reference=code, action="withdraw")
    assert cookieless.status == 403
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)
    assert await _sampled(guard) == [session]


async def test_a_refused_form_comes_back_with_a_working_token(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    refused = await _post(client, csrf="", lang="de", reference=code, action="withdraw")
    html = await refused.text()
    assert refused.status == 403 and '<html lang="de">' in html
    match = TOKEN.search(html)
    assert match is not None

    response = await _post(
        client, csrf=match.group(1), lang="de", reference=code, action="withdraw"
    )

    assert response.status == 303
    assert not await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


@pytest.mark.parametrize("typed", ["K7QX-3MZD-R9HT", "not a reference", "", "K7QX" * 40])
async def test_a_reference_that_matches_nothing_says_not_found_and_nothing_else(
    client: Client, guard: ChatGuard, typed: str
) -> None:
    await _chat(guard)

    response = await _post(
        client, csrf=await _token(client), lang="en", reference=typed, action="withdraw"
    )

    html = await response.text()
    assert response.status == 404
    _assert_page_is_safe(response, html)
    notice = re.search(r'<p class="notice" role="alert">([^<]*)</p>', html)
    assert (
        notice is not None and notice.group(1) == "Not found. Please check the privacy reference."
    )
    assert await guard.store.audit_entries() == []


async def test_an_expired_conversation_is_not_found(
    client: Client, guard: ChatGuard, clock: ManualClock
) -> None:
    _, code = await _chat(guard)
    clock.advance(timedelta(days=30, seconds=1))

    response = await _post(
        client, csrf=await _token(client), lang="pt", reference=code, action="export"
    )

    assert response.status == 404
    assert "Não encontrado. Verifique a referência de privacidade." in await response.text()


async def test_an_action_the_form_does_not_offer_is_refused_and_does_nothing(
    client: Client, guard: ChatGuard
) -> None:
    session, code = await _chat(guard)
    token = await _token(client)
    for action in ("delete_everything", ""):
        response = await _post(client, csrf=token, lang="en", reference=code, action=action)
        assert response.status == 400
        assert "This request was not understood. Nothing was changed." in await response.text()
    unknown = await client.get("/privacy/done", params={"outcome": "hacked"})
    assert unknown.status == 400
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


# --- the look-up limit -----------------------------------------------------------------


async def test_five_failed_look_ups_from_one_address_are_then_refused_for_a_while(
    client: Client, guard: ChatGuard, clock: ManualClock
) -> None:
    session, code = await _chat(guard)
    token = await _token(client)
    for _ in range(5):
        guess = new_privacy_reference()
        response = await _post(client, csrf=token, lang="en", reference=guess, action="export")
        assert response.status == 404

    refused = await _post(client, csrf=token, lang="fr", reference=code, action="withdraw")

    assert refused.status == 429
    assert refused.headers["Retry-After"] == str(15 * 60)
    html = await refused.text()
    _assert_page_is_safe(refused, html)
    assert "Trop de tentatives." in html
    assert await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)  # nothing was done

    clock.advance(timedelta(minutes=10))
    later = await _post(client, csrf=token, lang="en", reference=code, action="withdraw")
    assert later.status == 429 and later.headers["Retry-After"] == str(5 * 60)
    clock.advance(timedelta(minutes=5))
    allowed = await _post(client, csrf=token, lang="en", reference=code, action="withdraw")
    assert allowed.status == 303
    assert not await guard.consents.allows(session, Purpose.QUALITY_SAMPLING)


async def test_found_references_cost_nothing_and_do_not_reset_the_failures(
    client: Client, guard: ChatGuard
) -> None:
    _, code = await _chat(guard)
    token = await _token(client)

    def guess() -> Any:
        return _post(
            client, csrf=token, lang="en", reference=new_privacy_reference(), action="export"
        )

    for _ in range(4):
        assert (await guess()).status == 404
    for _ in range(10):
        found = await _post(client, csrf=token, lang="en", reference=code, action="export")
        assert found.status == 200
    assert (await guess()).status == 404  # the fifth failure
    assert (await guess()).status == 429
    refused = await _post(client, csrf=token, lang="en", reference=code, action="export")
    assert refused.status == 429


async def test_a_refused_token_does_not_count_as_a_look_up(
    client: Client, guard: ChatGuard
) -> None:
    _, code = await _chat(guard)
    for _ in range(10):
        response = await _post(client, csrf="x", lang="en", reference="K7QX-3MZD-R9HT")
        assert response.status == 403
    response = await _post(
        client, csrf=await _token(client), lang="en", reference=code, action="withdraw"
    )
    assert response.status == 303


async def test_all_addresses_together_meet_a_ceiling(guard: ChatGuard) -> None:
    client = await _client(guard, _settings(failed_lookups_overall=3, trusted_proxies=1))
    try:
        _, code = await _chat(guard)
        token = await _token(client)
        for last in range(3):
            response = await client.post(
                "/privacy",
                data={"csrf": token, "reference": new_privacy_reference(), "action": "export"},
                headers={"X-Forwarded-For": f"203.0.113.{last}"},
            )
            assert response.status == 404
        refused = await client.post(
            "/privacy",
            data={"csrf": token, "reference": code, "action": "export"},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
        assert refused.status == 429 and int(refused.headers["Retry-After"]) == 15 * 60
    finally:
        await client.close()


def test_the_limiter_forgets_failures_as_they_leave_the_window() -> None:
    limiter = LookupLimiter(per_client=2, overall=3, window=timedelta(minutes=15))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    limiter.attempt("a", start)
    limiter.attempt("a", start + timedelta(minutes=1))
    with pytest.raises(TooManyAttemptsError) as refused:
        limiter.attempt("a", start + timedelta(minutes=2))
    assert refused.value.retry_after == 13 * 60
    limiter.attempt("b", start + timedelta(minutes=2)).matched()  # found: taken back
    limiter.attempt("b", start + timedelta(minutes=3))
    with pytest.raises(TooManyAttemptsError):
        limiter.attempt("c", start + timedelta(minutes=4))  # three failures overall
    assert limiter.failures("a", start + timedelta(minutes=15)) == 1
    limiter.attempt("c", start + timedelta(minutes=16))  # two left the window
    assert limiter.failures("a", start + timedelta(minutes=16)) == 0
    assert limiter.failures("b", start + timedelta(minutes=16)) == 1


def _request(peer: str, forwarded: str | None = None) -> web.Request:
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    request = make_mocked_request("POST", "/privacy", headers=headers)
    request._transport_peername = (peer, 40000)  # type: ignore[attr-defined]
    return request


def test_the_client_is_the_peer_address_unless_proxies_are_trusted() -> None:
    assert client_key(_request("192.0.2.10", "198.51.100.1"), 0) == "192.0.2.10"
    assert client_key(_request("10.0.0.1", "198.51.100.1"), 1) == "198.51.100.1"
    assert client_key(_request("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.1"), 2) == "198.51.100.1"
    assert client_key(_request("10.0.0.1"), 1) == "unknown"  # the proxy added nothing
    assert client_key(_request("2001:db8:1:2:3:4:5:6"), 0) == "2001:db8:1:2::/64"
    assert client_key(_request("2001:db8:1:2:ffff::1"), 0) == "2001:db8:1:2::/64"


# --- anti-forgery tokens ---------------------------------------------------------------


def test_a_form_token_outlives_a_key_rotation_but_not_its_lifetime() -> None:
    old, new = random_key(), random_key()
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def tokens(ring: KeyRing) -> FormTokens:
        return FormTokens(lambda context, data: ring.digests(context.encode() + b"\0" + data))

    secret = FormTokens.new_secret()
    token = tokens(KeyRing(old)).issue(secret, now)
    tokens(KeyRing(new, previous=[old])).verify(secret, token, now + timedelta(minutes=5))
    with pytest.raises(FormTokenError):
        tokens(KeyRing(new)).verify(secret, token, now)  # the old key dropped
    with pytest.raises(FormTokenError):
        tokens(KeyRing(old)).verify(secret, token, now + timedelta(hours=2, seconds=1))
    with pytest.raises(FormTokenError):
        tokens(KeyRing(old)).verify(FormTokens.new_secret(), token, now)


async def test_the_cookie_is_strict_http_only_and_over_https_secure_and_host_only(
    guard: ChatGuard,
) -> None:
    plain = await _client(guard, _settings())
    secure = await _client(guard, _settings(page_url="https://chat.example.org/privacy"))
    try:
        http_cookie = (await plain.get("/privacy")).headers["Set-Cookie"]
        https_cookie = (await secure.get("/privacy")).headers["Set-Cookie"]
        kept = await plain.get("/privacy")  # the browser's cookie is kept, not replaced
        assert "Set-Cookie" not in kept.headers
    finally:
        await plain.close()
        await secure.close()
    assert http_cookie.startswith("chatguard-privacy=")
    assert "HttpOnly" in http_cookie and "SameSite=Strict" in http_cookie
    assert "Path=/privacy" in http_cookie and "Secure" not in http_cookie
    assert https_cookie.startswith("__Host-chatguard-privacy=")
    assert "Secure" in https_cookie and "Path=/;" in https_cookie + ";"
    assert "HttpOnly" in https_cookie and "SameSite=Strict" in https_cookie
    assert "Domain" not in https_cookie


def test_the_page_url_must_be_an_absolute_http_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGUARD_PRIVACY__PAGE_URL", "chat.example.org/privacy")
    with pytest.raises(ConfigurationError, match=r"privacy\.page_url"):
        load_settings()


# --- languages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-CH, fr;q=0.9, en;q=0.8", "de"),
        ("fr;q=0.5, it;q=0.8", "it"),
        ("ja, es;q=0.1", "es"),
        ("pt-BR", "pt"),
        ("de;q=0, en;q=0.1", "en"),
        ("de;q=0, fr;q=0", "en"),
        ("es;q=0.5, pt;q=0.5", "es"),
        ("it;q=oops, fr;q=0.3", "fr"),
        ("*", "en"),
        ("ja, zh", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_language_is_the_browsers_most_preferred_one_the_page_has(
    header: str | None, language: str
) -> None:
    assert negotiate_language(header) == language


async def test_the_page_speaks_the_browsers_language_and_says_so_in_html_lang(
    client: Client,
) -> None:
    response = await client.get("/privacy", headers={"Accept-Language": "en;q=0.4, it;q=0.9"})
    html = await response.text()
    assert '<html lang="it">' in html and response.headers["Content-Language"] == "it"
    assert "Codice di riferimento per la privacy" in html and "Revocare il mio consenso" in html


async def test_a_language_link_switches_the_page_and_the_form_remembers_it(
    client: Client, guard: ChatGuard
) -> None:
    _, code = await _chat(guard)
    german = await (await client.get("/privacy", headers={"Accept-Language": "de"})).text()
    link = re.search(r'<a href="([^"]+)" lang="pt" hreflang="pt">Português</a>', german)
    assert link is not None and link.group(1) == "/privacy?lang=pt"

    switched = await client.get(link.group(1), headers={"Accept-Language": "de"})
    html = await switched.text()
    assert '<html lang="pt">' in html and '<input type="hidden" name="lang" value="pt">' in html
    assert "Retirar o meu consentimento" in html and "Apagar os meus dados" in html
    token = TOKEN.search(html)
    assert token is not None

    response = await _post(
        client, csrf=token.group(1), lang="pt", reference=code, action="withdraw"
    )
    assert response.headers["Location"] == "/privacy/done?outcome=withdrawn&lang=pt"
    done = await client.get(response.headers["Location"], headers={"Accept-Language": "de"})
    done_html = await done.text()
    assert '<html lang="pt">' in done_html and "O seu consentimento foi retirado." in done_html
    assert 'href="/privacy/done?outcome=withdrawn&amp;lang=es"' in done_html


# --- what every page promises ----------------------------------------------------------


async def test_every_page_forbids_scripts_and_caching_and_holds_no_script(
    client: Client, guard: ChatGuard
) -> None:
    _, code = await _chat(guard)
    token = await _token(client)
    pages = [
        await client.get("/privacy"),
        await client.get("/privacy?lang=es"),
        await client.get("/privacy/done?outcome=withdrawn&lang=it"),
        await client.get("/privacy/done?outcome=nothing_to_withdraw"),
        await client.get("/privacy/done?outcome=erased&lang=fr"),
        await client.get("/privacy/done"),
        await client.get("/privacy/privacy.css"),
        await client.get("/privacy/nothing-here"),
        await _post(client, csrf=token, lang="de", reference=code, action="erase"),
        await _post(client, csrf=token, lang="en", reference="nothing", action="erase"),
        await _post(client, csrf="bad", lang="en", reference=code, action="erase"),
    ]
    for response in pages:
        _assert_page_is_safe(response, await response.text())
    for language in SUPPORTED_LANGUAGES:
        response = await client.get("/privacy", params={"lang": language})
        _assert_page_is_safe(response, await response.text())


async def test_logs_say_what_happened_by_type_and_never_a_reference_or_an_address(
    client: Client, guard: ChatGuard, caplog: pytest.LogCaptureFixture
) -> None:
    session, code = await _chat(guard)
    token = await _token(client)
    guess = new_privacy_reference()
    with caplog.at_level(logging.DEBUG):
        await _post(client, csrf=token, lang="en", reference=guess, action="withdraw")
        await _post(client, csrf="bad", lang="en", reference=code, action="withdraw")
        await _post(client, csrf=token, lang="en", reference=code, action="withdraw")

    logged = caplog.text
    assert "withdraw not_found" in logged
    assert "withdraw refused_token" in logged
    assert "withdraw done" in logged
    for secret in (code, code.replace("-", ""), guess, session, "127.0.0.1"):
        assert secret not in logged
    metrics = await (await client.get("/metrics")).text()
    assert 'chatguard_privacy_requests_total{action="withdraw",outcome="not_found"} 1.0' in metrics
