"""The privacy page (``/privacy``): where a person, after the chat, uses the privacy
reference they were given to withdraw their consent to quality sampling, download a
copy of their chat data, or erase it.

Routes:

* ``GET /privacy``: the form (the reference, one of three actions), in the language
  of ``?lang=`` or else the browser's ``Accept-Language``.
* ``POST /privacy`` (``csrf``, ``lang``, ``reference``, ``action``):

  - ``withdraw``: records ``withdrawn`` (source ``form``) through the
    :class:`~chatguard.consent.ConsentLedger`, which deletes the session's quality
    sample at once and audits the change; then ``303`` to ``/privacy/done``.
  - ``export``: the :meth:`~chatguard.subject.SubjectRights.export` document of that
    conversation as a JSON download (``Content-Disposition: attachment``), audited
    as ``export`` with the actor ``privacy-page``.
  - ``erase``: a confirmation page; ``erase_confirmed`` then erases the conversation
    (:meth:`~chatguard.subject.SubjectRights.erase`, audited with the actor
    ``privacy-page``) and answers ``303`` to ``/privacy/done``.

* ``GET /privacy/done?outcome=...``: what was done, in words.
* ``GET /privacy/privacy.css``: the page's only style sheet.

Promises:

* No script anywhere: plain HTML forms, and on every response a
  Content-Security-Policy that allows no script (``default-src 'none'``), plus
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY`` and ``Cache-Control: no-store``.
* Every POST carries an anti-forgery token bound to the browser's cookie
  (:class:`FormTokens`) or is refused with 403 before anything is read or done.
* Look-ups are rate-limited (:class:`LookupLimiter`): a reference that matches
  nothing counts against the client's address and against a ceiling for everyone;
  past either, 429 with ``Retry-After`` before any look-up.
* A reference that matches nothing, is malformed, or names an expired conversation
  answers 404 "not found" and nothing else.
* Nothing personal is logged: outcomes by action and type only, never a reference,
  an address or a pseudonym.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
import tomllib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from chatguard.consent import ConsentText, Purpose, Source, normalise_reference
from chatguard.errors import (
    ChatguardError,
    ConfigurationError,
    FormTokenError,
    InvalidRequestError,
    SubjectNotFoundError,
    TooManyAttemptsError,
)
from chatguard.redact.languages import SUPPORTED_LANGUAGES
from chatguard.server.app import GUARD, METRICS, SETTINGS, Handler
from chatguard.store.records import Conversation

logger = logging.getLogger(__name__)

PREFIX: Final = "/privacy"
#: Who the audit log says asked for an export or erasure made on this page.
ACTOR: Final = "privacy-page"
#: The page's templates, style sheet and texts (package data).
PAGE_FILES: Final = Path(__file__).parent / "privacy_page"
#: The text id a withdrawal on this page is recorded with (``ConsentRecord.text_id``).
WITHDRAW_TEXT_ID: Final = "privacy_page_withdraw"
#: The longest reference field accepted; a reference is 14 characters with its dashes.
MAX_REFERENCE: Final = 64
DEFAULT_LANGUAGE: Final = "en"

#: The actions the form offers, in the order it shows them; ``erase_confirmed`` is
#: posted by the confirmation page only.
ACTIONS: Final = ("withdraw", "export", "erase")
ERASE_CONFIRMED: Final = "erase_confirmed"
#: What ``/privacy/done`` can say.
OUTCOMES: Final = ("withdrawn", "nothing_to_withdraw", "erased")

HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


# --- languages -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageTexts:
    """The page's words in en, de, fr, it, pt and es (``privacy_page/texts.toml``),
    with the file's ``version``; ``get(language)`` gives one language's texts, with
    ``{days}`` filled in."""

    version: str
    sets: Mapping[str, Mapping[str, str]]

    def get(self, language: str, *, days: int) -> dict[str, str]:
        """Every text in ``language`` (one of ``SUPPORTED_LANGUAGES``)."""
        return {key: values[language].format(days=days) for key, values in self.sets.items()}

    def names(self) -> dict[str, str]:
        """Each language's name in itself (``Deutsch``), for the language links."""
        return dict(self.sets["language_name"])


@cache
def page_texts() -> PageTexts:
    """The shipped texts, read once; a language missing anywhere is a broken package
    (:class:`~chatguard.errors.ConfigurationError` naming the text)."""
    data = tomllib.loads((PAGE_FILES / "texts.toml").read_text(encoding="utf-8"))
    version = data.pop("version")
    sets: dict[str, dict[str, str]] = {}
    for key, table in data.items():
        missing = [language for language in SUPPORTED_LANGUAGES if language not in table]
        if missing:
            raise ConfigurationError(f"privacy page texts: {key} lacks {', '.join(missing)}")
        sets[key] = {language: str(table[language]) for language in SUPPORTED_LANGUAGES}
    return PageTexts(str(version), sets)


def negotiate_language(accept_language: str | None) -> str:
    """The supported language an ``Accept-Language`` header prefers most: highest
    ``q`` first (``q=0`` means "not this one"), the earlier one on a tie; a region
    (``pt-BR``) counts as its language, ``*`` as English; English when nothing fits."""
    best, best_q = None, 0.0
    for part in (accept_language or "")[:1000].split(","):
        tag, *parameters = part.strip().split(";")
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        candidate = DEFAULT_LANGUAGE if primary == "*" else primary
        if candidate in SUPPORTED_LANGUAGES and 0.0 < q <= 1.0 and q > best_q:
            best, best_q = candidate, q
    return best or DEFAULT_LANGUAGE


def _language(request: web.Request, chosen: object = None) -> str:
    """The language chosen with ``lang`` (a link or the form's hidden field), else
    the browser's preference."""
    for wanted in (chosen, request.query.get("lang")):
        if isinstance(wanted, str) and wanted in SUPPORTED_LANGUAGES:
            return wanted
    return negotiate_language(request.headers.get("Accept-Language"))


# --- anti-forgery tokens ---------------------------------------------------------------

_SECRET: Final = re.compile(r"[A-Za-z0-9_-]{43}")


class FormTokens:
    """Anti-forgery tokens for the page's forms: a signed double-submit cookie.

    * A browser gets a random secret (``new_secret``: 256 bits from ``secrets``) in a
      cookie that scripts cannot read (``HttpOnly``) and that is sent only with
      requests from this site (``SameSite=Strict``).
    * Its forms carry ``issue(secret, now)``: the time and an HMAC-SHA256, under the
      store key, of the secret and that time. Only the server can make one, and one
      made for another browser's secret does not fit this browser's cookie.
    * ``verify(secret, token, now)`` raises :class:`~chatguard.errors.FormTokenError`
      unless the token was made for this secret within ``lifetime``, under any
      configured store key (so tokens survive a key rotation and work on every
      instance that shares the keys); digests are compared in constant time.

    ``digests(context, data)`` is :meth:`chatguard.guard.ChatGuard.keyed_digests`.
    """

    CONTEXT: Final = "privacy page form token"

    def __init__(
        self,
        digests: Callable[[str, bytes], list[str]],
        lifetime: timedelta = timedelta(hours=2),
    ) -> None:
        self._digests = digests
        self._lifetime = lifetime

    @staticmethod
    def new_secret() -> str:
        """A fresh browser secret (the cookie's value)."""
        return secrets.token_urlsafe(32)

    @staticmethod
    def well_formed(secret: str | None) -> bool:
        """Whether ``secret`` can be a secret this class made (not whether it was)."""
        return secret is not None and _SECRET.fullmatch(secret) is not None

    def issue(self, secret: str, now: datetime) -> str:
        """A token for the forms of the browser holding ``secret``."""
        issued = str(int(now.timestamp()))
        return f"{issued}.{self._digests(self.CONTEXT, self._data(secret, issued))[0]}"

    def verify(self, secret: str | None, token: str | None, now: datetime) -> None:
        """Nothing if ``token`` fits ``secret`` and is fresh; else ``FormTokenError``."""
        if secret is None or token is None or not self.well_formed(secret):
            raise FormTokenError("the form's anti-forgery token or cookie is missing")
        issued, _, mac = token.partition(".")
        if not (issued.isascii() and issued.isdigit() and len(issued) <= 12):
            raise FormTokenError("the form's anti-forgery token is malformed")
        age = now.timestamp() - int(issued)
        if not -60 <= age <= self._lifetime.total_seconds():
            raise FormTokenError("the form's anti-forgery token has expired")
        given = mac.encode()
        fits = False
        for expected in self._digests(self.CONTEXT, self._data(secret, issued)):
            fits |= hmac.compare_digest(expected.encode(), given)
        if not fits:
            raise FormTokenError("the form's anti-forgery token does not fit its cookie")

    @staticmethod
    def _data(secret: str, issued: str) -> bytes:
        return f"{secret}\0{issued}".encode()


def _cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, has
    # Path=/ and no Domain: no other host, subdomains included, can plant one.
    return "__Host-chatguard-privacy" if secure else "chatguard-privacy"


def _secure(request: web.Request) -> bool:
    """Whether the page is served over https: this request came over TLS, or the
    configured public address is https (TLS ends at a proxy in front)."""
    page_url = request.config_dict[SETTINGS].privacy.page_url or ""
    return request.secure or page_url.startswith("https://")


# --- the look-up limit -----------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Failure:
    client: str
    at: datetime


class LookupTicket:
    """One look-up, counted as failed until ``matched`` says it found its conversation."""

    def __init__(self, limiter: LookupLimiter, failure: _Failure) -> None:
        self._limiter = limiter
        self._failure = failure

    def matched(self) -> None:
        """The look-up found its conversation: it costs nothing."""
        self._limiter._take_back(self._failure)


class LookupLimiter:
    """Look-ups of privacy references that matched nothing, in a sliding window, per
    client and for all clients together.

    * ``attempt(client, now)`` raises :class:`~chatguard.errors.TooManyAttemptsError`
      (with the seconds until the oldest failure leaves the window) when ``client``
      has ``per_client`` failures in the window, or all clients ``overall``;
      otherwise it counts the look-up as failed *before* it runs, so that concurrent
      guesses cannot overtake the count, and returns a :class:`LookupTicket`.
    * A look-up that matched (``ticket.matched()``) is taken back: it costs nothing,
      and it does not clear earlier failures either (a known reference cannot be used
      to reset the budget between guesses).
    * Memory is bounded: at most ``overall`` failures are held.

    ``client`` is an opaque key (:func:`client_key`); it stays in memory only. Counts
    are per process: with several instances, each counts its own.
    """

    def __init__(self, per_client: int, overall: int, window: timedelta) -> None:
        self._per_client = per_client
        self._overall = overall
        self._window = window
        self._all: deque[_Failure] = deque()
        self._by_client: dict[str, deque[_Failure]] = {}

    def attempt(self, client: str, now: datetime) -> LookupTicket:
        """Count one look-up by ``client`` as failed, or refuse it."""
        self._forget(now)
        mine = self._by_client.get(client)
        if mine is not None and len(mine) >= self._per_client:
            raise TooManyAttemptsError(
                "too many look-ups from this client", self._retry_after(mine[0], now)
            )
        if len(self._all) >= self._overall:
            raise TooManyAttemptsError(
                "too many look-ups from all clients", self._retry_after(self._all[0], now)
            )
        failure = _Failure(client, now)
        self._all.append(failure)
        self._by_client.setdefault(client, deque()).append(failure)
        return LookupTicket(self, failure)

    def failures(self, client: str, now: datetime) -> int:
        """How many failed look-ups ``client`` has in the window."""
        self._forget(now)
        return len(self._by_client.get(client, ()))

    def _retry_after(self, oldest: _Failure, now: datetime) -> int:
        return max(1, math.ceil((oldest.at + self._window - now).total_seconds()))

    def _forget(self, now: datetime) -> None:
        horizon = now - self._window
        while self._all and self._all[0].at <= horizon:
            self._drop(self._all.popleft())

    def _take_back(self, failure: _Failure) -> None:
        if failure in self._all:  # not forgotten yet
            self._all.remove(failure)
            self._drop(failure)

    def _drop(self, failure: _Failure) -> None:
        mine = self._by_client[failure.client]
        mine.remove(failure)
        if not mine:
            del self._by_client[failure.client]


def client_key(request: web.Request, trusted_proxies: int) -> str:
    """Whom the look-up limit counts a request against: the client's address (an
    IPv6 address by its /64, which one host often holds whole).

    With ``trusted_proxies`` > 0 the address is the one the outermost trusted proxy
    saw, from ``X-Forwarded-For``; a header with fewer entries counts as one shared
    unknown client (stricter, never laxer).
    """
    address = request.remote or ""
    if trusted_proxies:
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
            if hop.strip()
        ]
        address = hops[-trusted_proxies] if len(hops) >= trusted_proxies else ""
    try:
        parsed = ip_address(address.strip("[]"))
    except ValueError:
        return "unknown"
    if parsed.version == 6:
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


# --- the sub-application ---------------------------------------------------------------

LOOKUP_LIMITER = web.AppKey("privacy_lookup_limiter", LookupLimiter)
_LANGUAGE = web.RequestKey("privacy_language", str)
_ACTION = web.RequestKey("privacy_action", str)
_TYPED = web.RequestKey("privacy_typed", str)


def setup_privacy_page(app: web.Application) -> None:
    """Mount the privacy page at ``/privacy`` on ``app``, with its look-up limiter
    (from ``[privacy]``) and its error pages."""
    settings = app[SETTINGS].privacy
    page = web.Application(middlewares=[page_errors])
    page[LOOKUP_LIMITER] = LookupLimiter(
        settings.failed_lookups, settings.failed_lookups_overall, settings.lookup_window
    )
    page.on_response_prepare.append(_security_headers)
    page.router.add_get("", show_form)
    page.router.add_post("", act)
    page.router.add_get("/done", done)
    page.router.add_get("/privacy.css", stylesheet)
    page_texts()  # a broken package fails at start-up, not at the first visitor
    app.add_subapp(PREFIX, page)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(HEADERS)


#: How the page names the outcome of an action for the log and the metrics.
_REFUSALS: Final[tuple[tuple[type[ChatguardError], str], ...]] = (
    (FormTokenError, "refused_token"),
    (TooManyAttemptsError, "rate_limited"),
    (SubjectNotFoundError, "not_found"),
    (InvalidRequestError, "invalid"),
)
#: The text that explains each refusal; any other error says ``failed``.
_NOTICES: Final = {
    "refused_token": "form_refused",
    "rate_limited": "too_many",
    "not_found": "not_found",
    "invalid": "bad_request",
}


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error becomes the form again, in the request's language, with one
    sentence that says what went wrong and the error's one HTTP status (a 500 for
    anything unexpected, logged by type). Each POST's outcome is logged and counted
    by action and type only."""
    try:
        response = await handler(request)
        outcome = "done"
    except web.HTTPException:
        raise
    except ChatguardError as error:
        outcome = next((name for kind, name in _REFUSALS if isinstance(error, kind)), "failed")
        response = _form_page(request, _NOTICES.get(outcome, "failed"), error.http_status)
        if isinstance(error, TooManyAttemptsError):
            response.headers["Retry-After"] = str(error.retry_after)
    except Exception as error:
        logger.error("privacy page: unhandled %s on %s", type(error).__name__, request.method)
        outcome = "failed"
        response = _form_page(request, "failed", 500)
    if request.method == "POST":
        action = request.get(_ACTION, "invalid")
        logger.info("privacy page: %s %s", action, outcome)
        request.config_dict[METRICS].privacy_requests.labels(action, outcome).inc()
    return response


# --- handlers --------------------------------------------------------------------------


async def show_form(request: web.Request) -> web.Response:
    """The form, in the language of ``?lang=`` or the browser's preference."""
    return _form_page(request, None, 200)


async def act(request: web.Request) -> web.StreamResponse:
    """Do what the form asks, once its anti-forgery token is verified and the
    reference is found (see the module's routes)."""
    form = await request.post()
    request[_LANGUAGE] = language = _language(request, form.get("lang"))
    action = _field(form, "action")
    request[_ACTION] = action if action in (*ACTIONS, ERASE_CONFIRMED) else "invalid"
    guard = request.config_dict[GUARD]
    tokens = FormTokens(guard.keyed_digests)
    tokens.verify(
        request.cookies.get(_cookie_name(_secure(request))), _field(form, "csrf"), guard.clock.now()
    )
    if request[_ACTION] == "invalid":
        raise InvalidRequestError("the form names no action it offers")
    typed = _field(form, "reference") or ""
    request[_TYPED] = typed[:MAX_REFERENCE]
    conversation = await _look_up(request, typed)
    if action == "withdraw":
        return await _withdraw(request, conversation, language)
    if action == "export":
        return await _export(request, conversation)
    if action == "erase":
        return _confirm_erase_page(request, normalise_reference(typed) or "")
    await guard.rights.erase(session=conversation.session, actor=ACTOR)
    return _done("erased", language)


async def done(request: web.Request) -> web.Response:
    """What an action did, in words, with a link back to the form."""
    outcome = request.query.get("outcome")
    if outcome not in OUTCOMES:
        raise InvalidRequestError("unknown outcome")
    return _render(request, "message.html", 200, message_key=outcome)


async def stylesheet(request: web.Request) -> web.FileResponse:
    """The page's style sheet."""
    return web.FileResponse(PAGE_FILES / "privacy.css")


async def _look_up(request: web.Request, typed: str) -> Conversation:
    """The unexpired conversation ``typed`` names, counted by the look-up limit;
    ``SubjectNotFoundError`` when there is none (malformed references included)."""
    guard = request.config_dict[GUARD]
    trusted = request.config_dict[SETTINGS].privacy.trusted_proxies
    ticket = request.app[LOOKUP_LIMITER].attempt(client_key(request, trusted), guard.clock.now())
    conversation = None
    if len(typed) <= MAX_REFERENCE:
        conversation = await guard.references.find(typed)
    if conversation is None:
        raise SubjectNotFoundError("no conversation holds that privacy reference")
    ticket.matched()
    return conversation


async def _withdraw(
    request: web.Request, conversation: Conversation, language: str
) -> web.StreamResponse:
    guard = request.config_dict[GUARD]
    subject = await guard.consent_subject(session=conversation.session)
    shown = ConsentText(
        id=WITHDRAW_TEXT_ID,
        version=page_texts().version,
        language=language,
        text=_texts(request, language)["withdraw_explained"],
    )
    withdrawal = await guard.consents.withdraw_subject(
        subject, Purpose.QUALITY_SAMPLING, Source.FORM, language, shown
    )
    return _done("withdrawn" if withdrawal.changed else "nothing_to_withdraw", language)


async def _export(request: web.Request, conversation: Conversation) -> web.Response:
    document = await request.config_dict[GUARD].rights.export(
        session=conversation.session, actor=ACTOR
    )
    return web.Response(
        body=json.dumps(document, ensure_ascii=False, indent=2).encode(),
        content_type="application/json",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="chat-data.json"'},
    )


def _done(outcome: str, language: str) -> web.Response:
    """Redirect after the POST: a reload of the result does not post again."""
    location = f"{PREFIX}/done?{urlencode({'outcome': outcome, 'lang': language})}"
    return web.Response(status=303, headers={"Location": location})


def _field(form: Mapping[str, object], name: str) -> str | None:
    """A text field of the form; ``None`` when it is missing or not text (a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else None


# --- pages -----------------------------------------------------------------------------


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGE_FILES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _texts(request: web.Request, language: str) -> dict[str, str]:
    kept = request.config_dict[SETTINGS].retention.conversations
    return page_texts().get(language, days=math.ceil(kept.total_seconds() / 86400))


def _form_page(request: web.Request, notice_key: str | None, status: int) -> web.Response:
    """The form, with the notice ``notice_key`` names above it, and a cookie with a
    fresh secret unless the browser holds a well-formed one."""
    language = request.get(_LANGUAGE) or _language(request)
    texts = _texts(request, language)
    actions = [
        {
            "value": action,
            "label": texts[f"{action}_button"],
            "explained": texts[f"{action}_explained"],
        }
        for action in ACTIONS
    ]
    return _render(
        request,
        "form.html",
        status,
        notice=None if notice_key is None else texts[notice_key],
        typed=request.get(_TYPED, ""),
        actions=actions,
        max_reference=MAX_REFERENCE,
        with_token=True,
    )


def _confirm_erase_page(request: web.Request, reference: str) -> web.Response:
    """The second step of an erasure: the reference in a hidden field, and a button
    that says what it does."""
    return _render(request, "confirm_erase.html", 200, reference=reference, with_token=True)


def _render(
    request: web.Request,
    template: str,
    status: int,
    *,
    message_key: str | None = None,
    with_token: bool = False,
    **values: Any,
) -> web.Response:
    language = request.get(_LANGUAGE) or _language(request)
    texts = _texts(request, language)
    secure = _secure(request)
    secret = request.cookies.get(_cookie_name(secure))
    new_secret = None
    if with_token and not FormTokens.well_formed(secret):
        secret = new_secret = FormTokens.new_secret()
    guard = request.config_dict[GUARD]
    csrf = FormTokens(guard.keyed_digests).issue(secret, guard.clock.now()) if secret else ""
    html = (
        _templates()
        .get_template(template)
        .render(
            lang=language,
            t=texts,
            languages=_language_links(request, language),
            message=None if message_key is None else texts[message_key],
            back=f"{PREFIX}?{urlencode({'lang': language})}",
            csrf=csrf,
            **values,
        )
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Language"] = language
    if new_secret is not None:
        response.set_cookie(
            _cookie_name(secure),
            new_secret,
            path="/" if secure else PREFIX,
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
    return response


def _language_links(request: web.Request, current: str) -> list[dict[str, object]]:
    """One link per language to this page in it; a POST's result links to the form."""
    path = request.path if request.method == "GET" else PREFIX
    query = dict(request.query) if request.method == "GET" else {}
    return [
        {
            "code": code,
            "name": name,
            "current": code == current,
            "href": f"{path}?{urlencode({**query, 'lang': code})}",
        }
        for code, name in page_texts().names().items()
    ]
