"""The aiohttp application: shared objects on typed keys, start-up and shutdown in
``cleanup_ctx``, errors mapped to HTTP statuses in one middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware

from chatguard.errors import ChatguardError, OverloadedError
from chatguard.guard import ChatGuard
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import Settings
from chatguard.vendors.base import LiveAgentVendor
from chatguard.vendors.resilience import VendorCalls

logger = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
GUARD = web.AppKey("guard", ChatGuard)
METRICS = web.AppKey("metrics", ServiceMetrics)
#: The service's circuit breakers, one per vendor, shared by every client of it.
VENDOR_CALLS = web.AppKey("vendor_calls", VendorCalls)
#: The live agents conversations are handed over to (Genesys when ``vendors.genesys``
#: is configured; the demo's simulated agents in demo mode); absent otherwise.
LIVE_AGENTS = web.AppKey("live_agents", LiveAgentVendor)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

T = TypeVar("T")


def made_once(app: web.Application, key: web.AppKey[T], make: Callable[[], T]) -> T:
    """``app[key]``, made by ``make`` on first use: for registries that set-up functions
    register on in any order, before the application starts."""
    held = app.get(key)
    if held is None:
        held = app[key] = make()
    return held


@web.middleware
async def errors_as_responses(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every chatguard error becomes its one HTTP status with a JSON body naming it.

    chatguard's error messages carry no personal data by contract; anything else
    that escapes a handler is logged by type only and answered 500 without details.
    """
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except ChatguardError as error:
        return web.json_response(
            {"error": type(error).__name__, "message": str(error)}, status=error.http_status
        )
    except Exception as error:
        logger.error("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
        return web.json_response(
            {"error": "InternalError", "message": "the request failed; nothing was forwarded"},
            status=500,
        )


#: Paths that answer without work and must stay reachable under load.
_ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})


def load_shedding(limit: int) -> Middleware:
    """A middleware that refuses requests beyond ``limit`` in flight with 503 at once.

    Detection is CPU-bound: past what the machine can do, queueing more requests only
    makes every one of them late. Refused requests did no work (nothing stored, nothing
    forwarded) and carry ``Retry-After``; health and metrics are never refused.
    """
    in_flight = 0

    @web.middleware
    async def shed(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight
        if request.path in _ALWAYS_ANSWERED:
            return await handler(request)
        if in_flight >= limit:
            return web.json_response(
                {"error": "OverloadedError", "message": "too many requests; try again shortly"},
                status=OverloadedError.http_status,
                headers={"Retry-After": "1"},
            )
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    return shed


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the store answers and detection is started (else 503)."""
    guard = request.app[GUARD]
    await guard.store.ping()
    await guard.redactor.start()
    return web.json_response({"status": "ready", "detection": guard.redactor.detection.describe()})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics; no label holds personal data."""
    return web.Response(
        body=request.app[METRICS].exposition(),
        content_type="text/plain",
        headers={"Cache-Control": "no-store"},
    )


def make_app(settings: Settings, *, guard: ChatGuard | None = None) -> web.Application:
    """The service. Without ``guard``, one is opened from ``settings`` at start-up and
    closed at shutdown; a given ``guard`` stays the caller's to close."""
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[load_shedding(settings.server.max_in_flight), errors_as_responses],
    )
    app[SETTINGS] = settings
    app[METRICS] = ServiceMetrics()
    app[VENDOR_CALLS] = VendorCalls(app[METRICS])
    app.cleanup_ctx.append(_guard_context(guard))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    from chatguard.channels.openai import setup_openai  # the channel imports this module's keys

    setup_openai(app)
    from chatguard.server.admin import setup_admin  # imports this module's keys too

    setup_admin(app)
    from chatguard.channels.genesys import setup_genesys  # idem; before the channels

    setup_genesys(app)
    from chatguard.server.demo_page import setup_demo_page  # idem; only in demo mode, and
    # before the channels: without Genesys its simulated agents are what they hand over to

    setup_demo_page(app)
    from chatguard.channels.web import setup_web  # idem

    setup_web(app)
    from chatguard.channels.messenger import setup_messenger  # idem

    setup_messenger(app)
    from chatguard.server.deadlines import setup_deadlines  # idem; after the live agents

    setup_deadlines(app)
    from chatguard.server.privacy import setup_privacy_page  # idem

    setup_privacy_page(app)
    return app


def _guard_context(given: ChatGuard | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        guard = given or await ChatGuard.open(settings)
        app[GUARD] = guard
        await guard.redactor.start()  # worker processes load their models before requests
        # The sweeper belongs to the service's lifetime: started here, cancelled and
        # awaited at shutdown, never left running on its own.
        sweeping = asyncio.create_task(guard.sweeper.run(settings.retention.sweep_interval))
        try:
            yield
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
            if given is None:
                await guard.close()

    return context


#: The most detection worker processes the service starts unless configured.
SERVICE_MAX_WORKERS = 4


def service_settings(settings: Settings) -> Settings:
    """``settings`` as the service runs them: unless ``redaction.executor`` or
    ``redaction.workers`` is set, detection runs in worker processes, one per CPU
    core (at most ``SERVICE_MAX_WORKERS``), so that it runs beside the server instead
    of sharing its GIL (see ``benchmarks/PROXY_RESULTS.md``)."""
    redaction = settings.redaction
    chosen = redaction.model_fields_set
    changes: dict[str, object] = {}
    if "executor" not in chosen:
        changes["executor"] = "process"
    if "workers" not in chosen and changes.get("executor", redaction.executor) == "process":
        changes["workers"] = max(1, min(SERVICE_MAX_WORKERS, os.cpu_count() or 1))
    if not changes:
        return settings
    return settings.model_copy(update={"redaction": redaction.model_copy(update=changes)})


class PathAccessLogger(AbstractAccessLogger):
    """One access log line per request (logger ``aiohttp.access``, at INFO): method,
    path, status, bytes and milliseconds. Not the query string, which holds the web
    chat's session tokens (``GET /chat/messages?session=...``), nor the client's
    address or headers: a log reader learns nothing that opens a conversation or
    names a person."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '"%s %s" %s %s %.1fms',
            request.method,
            request.path,
            response.status,
            response.body_length,
            time * 1000,
        )


def serve(settings: Settings) -> None:
    """Run the service (with :func:`service_settings`) until SIGINT or SIGTERM;
    in-flight requests get ``server.shutdown_timeout`` seconds to finish."""
    settings = service_settings(settings)
    web.run_app(
        make_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        shutdown_timeout=settings.server.shutdown_timeout,
        access_log_class=PathAccessLogger,
        print=lambda message: logger.warning("%s", message),
    )
