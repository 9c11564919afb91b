"""The three servers of the proxy benchmark, each on its own loopback port.

* ``upstream``: plays the OpenAI chat-completions API; answers at once with a small
  fixed reply that quotes the first placeholder it saw in the request (so that
  chatguard has something to restore), or a same-length reply without one.
* ``passthrough``: a plain aiohttp reverse proxy that forwards the request body
  unchanged to the upstream and answers the upstream's body unchanged.
* ``chatguard``: chatguard's own application (``make_app``) over a SQLite store in
  a temporary directory and fresh test keys, pointed at the upstream.

``python -m benchmarks.proxy.servers ROLE [--upstream URL] [--detection EXECUTOR:N]`` runs one
of them in a process of its own: it prints ``PORT <n>`` once it listens, and stops
when its standard input closes (the benchmark holds the other end) or after
``--lifetime`` seconds, whichever comes first. The benchmark kills an overloaded
chatguard rather than wait for its queue; its ``--store`` directory is the caller's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web

from benchmarks.proxy.load import CLIENT_KEY
from chatguard.clock import SystemClock
from chatguard.crypto import KeyRing, random_key
from chatguard.guard import ChatGuard
from chatguard.pseudonym import Keys, UserPseudonyms
from chatguard.redact.engine import RedactionEngine
from chatguard.redact.restore import PLACEHOLDER
from chatguard.server.app import make_app
from chatguard.settings import Settings
from chatguard.store.sqlite import SqliteStore

HOST: Final = "127.0.0.1"
ROLES: Final = ("upstream", "passthrough", "chatguard")
PASSTHROUGH_HTTP = web.AppKey("passthrough_http", aiohttp.ClientSession)
UPSTREAM_URL = web.AppKey("upstream_url", str)


# --- the upstream ------------------------------------------------------------------------


async def _completions(request: web.Request) -> web.Response:
    body: Any = await request.json()
    messages = body.get("messages") if isinstance(body, dict) else None
    text = ""
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        text = content if isinstance(content, str) else ""
    found = PLACEHOLDER.search(text)
    quoted = found.group(0) if found else "<none>"
    answer = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model", "gpt-4o-mini") if isinstance(body, dict) else "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"Thanks, {quoted}, noted."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }
    return web.json_response(answer)


def upstream_app() -> web.Application:
    """The OpenAI-style upstream: ``POST /v1/chat/completions``, answered at once."""
    app = web.Application(client_max_size=2**22)
    app.router.add_post("/v1/chat/completions", _completions)
    return app


# --- the plain pass-through --------------------------------------------------------------


async def _forward(request: web.Request) -> web.Response:
    body = await request.read()
    url = request.app[UPSTREAM_URL] + "/chat/completions"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with request.app[PASSTHROUGH_HTTP].post(url, data=body, headers=headers) as answer:
        payload = await answer.read()
        return web.Response(body=payload, status=answer.status, content_type="application/json")


def passthrough_app(upstream_url: str) -> web.Application:
    """A reverse proxy that forwards ``POST /v1/chat/completions`` bytes unchanged."""
    app = web.Application(client_max_size=2**22)
    app[UPSTREAM_URL] = upstream_url.rstrip("/")

    async def http_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(read_bufsize=2**20) as session:
            app[PASSTHROUGH_HTTP] = session
            yield

    app.cleanup_ctx.append(http_client)
    app.router.add_post("/v1/chat/completions", _forward)
    return app


# --- chatguard ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def chatguard_app(
    upstream_url: str,
    detection: str,
    engine: RedactionEngine | None = None,
    store_directory: str | None = None,
) -> AsyncIterator[web.Application]:
    """chatguard's service over a throw-away SQLite store (in ``store_directory``, else
    a temporary one) and fresh test keys. ``detection`` is ``EXECUTOR:WORKERS``
    (``thread:1``, ``process:2``); a thread executor uses ``engine`` when given."""
    executor, workers = parse_detection(detection)
    settings = Settings(
        vendors={"openai": {"base_url": upstream_url, "api_key": "sk-bench"}},
        channels={"openai": {"client_key": CLIENT_KEY}},
        redaction={"workers": workers, "executor": executor},
    )
    with contextlib.ExitStack() as stack:
        directory = store_directory or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="chatguard-bench-")
        )
        store = SqliteStore(f"sqlite:///{Path(directory) / 'chatguard.db'}", SystemClock())
        await store.open()
        keys = Keys(store=KeyRing(random_key()), pseudonyms=UserPseudonyms([random_key()]))
        if executor != "thread":
            engine = None
        guard = ChatGuard(settings, store=store, keys=keys, engine=engine)
        try:
            yield make_app(settings, guard=guard)
        finally:
            await guard.close()


def parse_detection(detection: str) -> tuple[str, int]:
    """``"process:2"`` as ``("process", 2)``: chatguard's ``redaction.executor`` and
    ``redaction.workers``."""
    executor, _, workers = detection.partition(":")
    if executor not in ("thread", "process") or not workers.isdigit() or int(workers) < 1:
        raise ValueError(f"detection is EXECUTOR:WORKERS, like thread:1, not {detection!r}")
    return executor, int(workers)


# --- running one -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def listening(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port (no access log); yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, backlog=2048)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://{HOST}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def serving(
    role: str,
    upstream_url: str,
    detection: str = "thread:1",
    engine: RedactionEngine | None = None,
    store_directory: str | None = None,
) -> AsyncIterator[str]:
    """Run the server of ``role`` in this process; yields its base URL."""
    if role == "upstream":
        async with listening(upstream_app()) as url:
            yield url
    elif role == "passthrough":
        async with listening(passthrough_app(upstream_url)) as url:
            yield url
    elif role == "chatguard":
        async with (
            chatguard_app(upstream_url, detection, engine, store_directory) as app,
            listening(app) as url,
        ):
            yield url
    else:
        raise ValueError(f"unknown role {role!r}")


async def _main(
    role: str, upstream_url: str, detection: str, lifetime: float, store: str | None
) -> None:
    async with serving(role, upstream_url, detection, store_directory=store) as url:
        print("PORT", url.rsplit(":", 1)[1], flush=True)
        loop = asyncio.get_running_loop()
        stdin = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(lifetime):
                await stdin.read()  # returns at end of file: the benchmark has gone


def main() -> None:
    """Command line: run one role until standard input closes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--upstream", default="", help="upstream base URL (ending in /v1)")
    parser.add_argument(
        "--detection", default="thread:1", help="chatguard's redaction.executor:workers"
    )
    parser.add_argument("--store", default=None, help="directory of chatguard's SQLite file")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="stop after seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    asyncio.run(_main(args.role, args.upstream, args.detection, args.lifetime, args.store))


if __name__ == "__main__":
    main()
