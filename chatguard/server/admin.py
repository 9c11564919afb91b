"""The admin API under ``/admin/``: the person's rights and quality samples, for operators.

Promises:

* Never open by default: while ``admin.token`` (``CHATGUARD_ADMIN__TOKEN``) is not
  set, every admin route answers 503. With a token, every route but the OpenAPI
  document needs ``Authorization: Bearer <token>``, compared in constant time; a
  missing or wrong token answers 401 with ``WWW-Authenticate: Bearer`` and does
  nothing else.
* ``GET /admin/openapi.json`` is the API's description (``admin_openapi.json``, the
  one source, shipped in the package). It holds no data, so it is served without a
  token, also while the API is disabled.
* Identities, pseudonyms and reasons travel in request bodies (``POST``), never in
  URLs, so that they do not reach access logs.
* Responses hold what the rights operations return and nothing more; every rights
  operation is audited by :class:`~chatguard.subject.SubjectRights` itself. Admin
  responses are marked ``Cache-Control: no-store``.
* Malformed requests answer 400 (:class:`~chatguard.errors.InvalidRequestError`),
  unknown subjects 404; no error message quotes a value from the request.
* Consents (``/admin/consents/...``): a withdrawal takes effect at once (the
  session's quality sample is deleted in the same call) and each change is audited
  by the :class:`~chatguard.consent.ConsentLedger`; the subject is named in the body
  by privacy reference, session or channel identity.
* Quality samples (``/admin/samples/...``) go through the
  :class:`~chatguard.sampling.QualitySampler` like ``chatguard samples``: a reason is
  required, each call is audited, and only sessions whose ``quality_sampling``
  consent is granted now are listed or read.
* ``/admin/notifications/allowed`` answers code that sends push notifications:
  ``{"allowed": true}`` only while the user's ``push_notifications`` consent is
  granted.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Final

from aiohttp import web

from chatguard.consent import Source
from chatguard.errors import InvalidRequestError
from chatguard.sampling import sample_to_json
from chatguard.server.app import GUARD, SETTINGS, Handler
from chatguard.server.bearer import BearerGate
from chatguard.server.bodies import json_object
from chatguard.subject import consent_to_json, event_to_json

logger = logging.getLogger(__name__)

PREFIX: Final = "/admin"
DISABLED_MESSAGE: Final = "admin API disabled: set CHATGUARD_ADMIN__TOKEN"
_GATE: Final = BearerGate(
    name="admin API",
    disabled_error="AdminDisabled",
    disabled_message=DISABLED_MESSAGE,
    realm="chatguard-admin",
)
_OPENAPI_FILE: Final = "admin_openapi.json"
_NDJSON: Final = "application/x-ndjson"

JSONObject = dict[str, Any]


def setup_admin(app: web.Application) -> None:
    """Mount the admin API at ``/admin/`` on ``app``, behind its bearer token."""
    admin = web.Application(middlewares=[bearer_token_required])
    admin.on_response_prepare.append(_no_store)
    admin.router.add_get("/openapi.json", openapi, name="openapi")
    admin.router.add_post("/subjects/export", export_subject)
    admin.router.add_post("/subjects/erase", erase_subject)
    admin.router.add_post("/transcripts/show", show_transcript)
    admin.router.add_post("/samples/list", list_samples)
    admin.router.add_post("/samples/read", read_sample)
    admin.router.add_post("/samples/delete", delete_sample)
    admin.router.add_post("/analytics/export", export_analytics)
    admin.router.add_post("/consents/withdraw", withdraw_consent)
    admin.router.add_post("/consents/show", show_consents)
    admin.router.add_post("/notifications/allowed", notifications_allowed)
    app.add_subapp(PREFIX, admin)


# --- access --------------------------------------------------------------------------


@web.middleware
async def bearer_token_required(request: web.Request, handler: Handler) -> web.StreamResponse:
    """503 while no token is configured; 401 unless the request carries the token."""
    if request.match_info.handler is openapi:
        return await handler(request)
    refusal = _GATE.refusal(request, request.config_dict[SETTINGS].admin.token)
    return refusal if refusal is not None else await handler(request)


async def _no_store(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Cache-Control"] = "no-store"


# --- the person's rights -------------------------------------------------------------


async def export_subject(request: web.Request) -> web.Response:
    """Everything held about the subject named in the body, as the export document."""
    subject = _subject(await json_object(request))
    document = await request.config_dict[GUARD].rights.export(**subject)
    return web.json_response(document)


async def erase_subject(request: web.Request) -> web.Response:
    """Erase the subject named in the body; answer ``{"erased": {kind: count}}``."""
    subject = _subject(await json_object(request))
    counts = await request.config_dict[GUARD].rights.erase(**subject)
    return web.json_response({"erased": {str(kind): count for kind, count in counts.items()}})


async def show_transcript(request: web.Request) -> web.Response:
    """One conversation's redacted transcript, only with a reason (400 without one)."""
    body = await json_object(request)
    _only_fields(body, {"session", "reason", "actor"})
    session = _text(body, "session")
    actor, reason = _reviewer(body)
    events = await request.config_dict[GUARD].rights.transcript_show(session, reason, actor)
    return web.json_response({"events": [event_to_json(event) for event in events]})


async def export_analytics(request: web.Request) -> web.StreamResponse:
    """The anonymised events of ``[since, until)``, one JSON object per line (NDJSON)."""
    body = await json_object(request)
    _only_fields(body, {"since", "until"})
    since, until = _moment(body, "since"), _moment(body, "until")
    if until <= since:
        raise InvalidRequestError("until must be later than since")
    rows = await request.config_dict[GUARD].rights.analytics_export(since, until)
    response = web.StreamResponse(headers={"Content-Type": f"{_NDJSON}; charset=utf-8"})
    await response.prepare(request)
    for row in rows:
        await response.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
    await response.write_eof()
    return response


# --- consents ------------------------------------------------------------------------

#: The language of a withdrawal made through the admin API: no text was shown.
UNDETERMINED_LANGUAGE: Final = "und"


async def withdraw_consent(request: web.Request) -> web.Response:
    """Withdraw the named subject's consent to ``purpose`` at once; answer what changed."""
    body = await json_object(request)
    guard = request.config_dict[GUARD]
    purpose = _text(body, "purpose")
    guard.consents.require_purpose(purpose)
    subject = await guard.consent_subject(**_subject(body, reference=True, also={"purpose"}))
    withdrawal = await guard.consents.withdraw_subject(
        subject, purpose, Source.API, UNDETERMINED_LANGUAGE
    )
    return web.json_response(
        {
            "purpose": withdrawal.purpose,
            "changed": withdrawal.changed,
            "withdrawn": list(withdrawal.withdrawn),
            "samples_deleted": withdrawal.samples_deleted,
        }
    )


async def show_consents(request: web.Request) -> web.Response:
    """The named subject's consent records and current decisions, per pseudonym (audited)."""
    body = await json_object(request)
    guard = request.config_dict[GUARD]
    subject = await guard.consent_subject(**_subject(body, reference=True))
    shown = await guard.consents.show(subject)
    return web.json_response(
        {
            "subjects": [
                {
                    "pseudonym": pseudonym,
                    "kind": "session" if pseudonym in subject.sessions else "user",
                    "current": {
                        purpose: decision.value
                        for purpose, decision in guard.consents.current(records).items()
                    },
                    "records": [consent_to_json(record) for record in records],
                }
                for pseudonym, records in shown.items()
            ]
        }
    )


async def notifications_allowed(request: web.Request) -> web.Response:
    """Whether a push notification may be sent to the channel user in the body now
    (``ChatGuard.may_notify``); an unknown user is not allowed. Not audited: it reads
    a decision, no personal data."""
    body = await json_object(request)
    _only_fields(body, {"channel", "user_id"})
    allowed = await request.config_dict[GUARD].may_notify(
        _text(body, "channel"), _text(body, "user_id")
    )
    return web.json_response({"allowed": allowed})


# --- quality samples -----------------------------------------------------------------


async def list_samples(request: web.Request) -> web.Response:
    """The sessions sampled for quality review whose consent is granted now, as
    references; with a reason, audited (``sample_list``)."""
    body = await json_object(request)
    _only_fields(body, {"reason", "actor"})
    samples = await request.config_dict[GUARD].sampler.samples(*_reviewer(body))
    return web.json_response({"samples": [sample_to_json(sample) for sample in samples]})


async def read_sample(request: web.Request) -> web.Response:
    """A sampled session's redacted transcript; with a reason, audited (``sample_read``);
    404 unless the session is sampled and its consent granted now."""
    body = await json_object(request)
    _only_fields(body, {"session", "reason", "actor"})
    session = _text(body, "session")
    events = await request.config_dict[GUARD].sampler.read(session, *_reviewer(body))
    return web.json_response({"events": [event_to_json(event) for event in events]})


async def delete_sample(request: web.Request) -> web.Response:
    """Take a session out of the quality sample (the conversation stays); answer
    whether it was in it. With a reason, audited (``sample_delete``)."""
    body = await json_object(request)
    _only_fields(body, {"session", "reason", "actor"})
    session = _text(body, "session")
    deleted = await request.config_dict[GUARD].sampler.remove(session, *_reviewer(body))
    return web.json_response({"deleted": deleted})


def _reviewer(body: JSONObject) -> tuple[str | None, str]:
    """The body's ``actor`` and ``reason`` (empty when absent: the sampler refuses it)."""
    return _optional_text(body, "actor"), _optional_text(body, "reason") or ""


# --- the API's description -----------------------------------------------------------


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the admin API; it holds no data."""
    return web.Response(body=openapi_document(), content_type="application/json")


@cache
def openapi_document() -> bytes:
    """The shipped OpenAPI document, read once (it is validated JSON)."""
    raw = resources.files("chatguard.server").joinpath(_OPENAPI_FILE).read_bytes()
    json.loads(raw)  # a broken file fails at the first request, not silently
    return raw


# --- request bodies ------------------------------------------------------------------


def _only_fields(body: JSONObject, allowed: set[str]) -> None:
    if not set(body) <= allowed:
        raise InvalidRequestError(f"unexpected fields; allowed: {', '.join(sorted(allowed))}")


def _subject(
    body: JSONObject, *, reference: bool = False, also: set[str] | None = None
) -> dict[str, str]:
    """The subject's name: ``channel`` and ``user_id``, or ``session`` alone, or (when
    ``reference``) a privacy ``reference`` alone; ``also`` are the other fields the
    body may hold."""
    ways = [{"session"}, {"channel", "user_id"}, *([{"reference"}] if reference else [])]
    others = also or set()
    _only_fields(body, set().union(*ways, others))
    named = set(body) - others
    for way in ways:
        if named == way:
            return {name: _text(body, name) for name in sorted(way)}
    wanted = '"channel" and "user_id", or by "session"' + (', or by "reference"' * reference)
    raise InvalidRequestError(f"name the subject by {wanted}")


def _text(body: JSONObject, name: str) -> str:
    value = _optional_text(body, name)
    if not value:
        raise InvalidRequestError(f"{name} must be a non-empty string")
    return value


def _optional_text(body: JSONObject, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string")
    return value


def _moment(body: JSONObject, name: str) -> datetime:
    """An ISO 8601 date or datetime; UTC when it names no zone."""
    text = _text(body, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(f"{name} must be an ISO 8601 date or datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
