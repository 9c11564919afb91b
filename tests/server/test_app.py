"""The service on a real port: health, readiness, metrics, errors, sweeping, `serve`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chatguard.clock import ManualClock
from chatguard.crypto import random_key
from chatguard.errors import MessageTooLargeError
from chatguard.guard import ChatGuard
from chatguard.server.app import GUARD, SERVICE_MAX_WORKERS, make_app, service_settings
from chatguard.settings import Settings
from tests.server.serving import status_once_up


@pytest_asyncio.fixture(loop_scope="function")
async def client(guard: ChatGuard) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = make_app(Settings(), guard=guard)

    async def refuse(request: web.Request) -> web.Response:
        raise MessageTooLargeError("message of 99999 characters exceeds the limit")

    app.router.add_get("/test/refuse", refuse)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def test_health_answers_while_the_process_runs(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/healthz")
    assert response.status == 200 and await response.json() == {"status": "ok"}


async def test_ready_when_the_store_answers_and_not_when_it_is_gone(
    client: TestClient,  # type: ignore[type-arg]
    guard: ChatGuard,
) -> None:
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"
    await guard.store.close()
    gone = await client.get("/readyz")
    assert gone.status == 503 and (await gone.json())["error"].startswith("Store")


async def test_metrics_are_prometheus_text_without_personal_data(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/metrics")
    body = await response.text()
    assert response.status == 200 and response.content_type == "text/plain"
    assert "chatguard_messages_total" in body and "chatguard_entities_redacted_total" in body


async def test_a_chatguard_error_becomes_its_status_with_a_json_body(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/test/refuse")
    assert response.status == 413
    assert (await response.json())["error"] == "MessageTooLargeError"


async def test_the_service_sweeps_what_has_expired(
    client: TestClient,  # type: ignore[type-arg]
    guard: ChatGuard,
) -> None:
    assert client.app is not None and client.app[GUARD] is guard
    session = (await guard.start_conversation("web")).session
    await guard.user_message(session, "I am Anna Keller")
    assert isinstance(guard.clock, ManualClock)
    guard.clock.advance(timedelta(days=31))
    await guard.sweeper.sweep_once()  # what the service's periodic run does each interval
    assert await guard.store.get_conversation(session) is None


def _children(pid: int) -> list[int]:
    """The worker processes ``pid`` spawned (Linux), not multiprocessing's tracker."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_the_service_detects_in_worker_processes_unless_told_otherwise() -> None:
    chosen = service_settings(Settings()).redaction
    assert chosen.executor == "process"
    assert chosen.workers == min(SERVICE_MAX_WORKERS, os.cpu_count() or 1)
    threads = service_settings(Settings(redaction={"executor": "thread"})).redaction
    assert (threads.executor, threads.workers) == ("thread", 1)
    three = service_settings(Settings(redaction={"workers": 3})).redaction
    assert (three.executor, three.workers) == ("process", 3)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _chat_and_read_back(base: str) -> str:
    """A web chat's first message and its transcript read back; the session token."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/chat/sessions", json={}) as created:
            token: str = (await created.json())["session"]
        body = {"session": token, "text": "I am Anna Keller"}
        async with http.post(f"{base}/chat/messages", json=body) as sent:
            assert sent.status == 200
        async with http.get(f"{base}/chat/messages", params={"session": token}) as read:
            assert read.status == 200
    return token


def test_chatguard_serve_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    environment = {
        **os.environ,
        "CHATGUARD_SERVER__PORT": str(port),
        "CHATGUARD_STORE__URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "CHATGUARD_STORE__ENCRYPTION_KEY": random_key().hex(),
        "CHATGUARD_PSEUDONYM__KEY": random_key().hex(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "chatguard.cli", "--verbose", "serve"],  # access log on
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status = asyncio.run(status_once_up(f"{base}/readyz", time.monotonic() + 90))
        assert status == 200
        workers = _children(process.pid)
        assert len(workers) == min(SERVICE_MAX_WORKERS, os.cpu_count() or 1)  # detection
        token = asyncio.run(_chat_and_read_back(base))
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        # The access log names paths without their query, which holds session tokens.
        log = output.decode(errors="replace")
        assert '"GET /chat/messages" 200' in log
        assert token not in log and token.rpartition(".")[0] not in log and "Anna" not in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_requests_beyond_the_limit_are_refused_at_once_and_health_still_answers(
    guard: ChatGuard,
) -> None:
    settings = Settings.model_validate({"server": {"max_in_flight": 1}})
    app = make_app(settings, guard=guard)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.json_response({"done": True})

    app.router.add_get("/test/slow", slow)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        first = asyncio.create_task(client.get("/test/slow"))
        await entered.wait()
        refused = await client.get("/test/slow")
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        assert (await refused.json())["error"] == "OverloadedError"
        assert (await client.get("/healthz")).status == 200
        release.set()
        assert (await first).status == 200
        assert (await client.get("/test/slow")).status == 200  # the slot was given back
