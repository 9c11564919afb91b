"""Circuit breaker and retry policy on a fake clock; VendorHttp against a local server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from chatguard.errors import (
    VendorCircuitOpenError,
    VendorError,
    VendorTimeoutError,
    VendorUnavailableError,
)
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import VendorCallSettings
from chatguard.vendors.resilience import (
    BreakerState,
    CallFailure,
    CircuitBreaker,
    RetryPolicy,
    VendorCalls,
    VendorHttp,
    retry_after_seconds,
)


class FakeClock:
    """Monotonic seconds that move only when the code under test sleeps (or the test says)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _breaker(clock: FakeClock, failures: int = 3, reset: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker("cognigy", failures=failures, reset=reset, clock=clock)


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.failed(breaker.admit())


# --- the circuit breaker -------------------------------------------------------------------


def test_the_circuit_opens_after_n_consecutive_failures_and_then_refuses_at_once() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    _fail(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(VendorCircuitOpenError) as refused:
        breaker.admit()
    assert str(refused.value) == "cognigy is not available (circuit open)"
    assert isinstance(refused.value, VendorUnavailableError)


def test_a_success_between_failures_starts_the_count_again() -> None:
    breaker = _breaker(FakeClock())
    _fail(breaker, 2)
    breaker.succeeded(breaker.admit())
    _fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED


def test_after_the_reset_exactly_one_probe_goes_through() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, reset=30)
    _fail(breaker, 3)
    clock.now += 29.9
    with pytest.raises(VendorCircuitOpenError):
        breaker.admit()
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    probe = breaker.admit()
    assert probe.probe
    with pytest.raises(VendorCircuitOpenError):
        breaker.admit()  # the probe is still out: everyone else is refused


def test_the_probes_success_closes_the_circuit() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 30
    breaker.succeeded(breaker.admit())
    assert breaker.state is BreakerState.CLOSED
    assert not breaker.admit().probe


def test_the_probes_failure_opens_the_circuit_for_another_reset() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 30
    breaker.failed(breaker.admit())
    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    with pytest.raises(VendorCircuitOpenError):
        breaker.admit()
    clock.now += 1
    assert breaker.admit().probe


def test_a_cancelled_probe_frees_the_place_for_the_next_call() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 30
    breaker.released(breaker.admit())
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.admit().probe


def test_only_the_probe_decides_a_half_open_circuit() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    early = breaker.admit()  # let through while closed, answers late
    _fail(breaker, 3)
    clock.now += 30
    probe = breaker.admit()
    breaker.succeeded(early)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.failed(early)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.succeeded(probe)
    assert breaker.state is BreakerState.CLOSED


def test_a_breaker_follows_its_settings() -> None:
    settings = VendorCallSettings(breaker_failures=2, breaker_reset="1m")
    clock = FakeClock()
    breaker = CircuitBreaker.for_settings("genesys", settings, clock=clock)
    _fail(breaker, 2)
    clock.now += 59
    assert breaker.state is BreakerState.OPEN
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN


# --- the retry policy ----------------------------------------------------------------------


def _failure(
    *, sent: bool, vendor_side: bool = True, retry_after: float | None = None
) -> CallFailure:
    return CallFailure(VendorError("x"), "timeout", vendor_side, sent, retry_after)


def test_a_request_that_may_have_been_received_is_retried_only_when_safe_to_repeat() -> None:
    policy = RetryPolicy(retries=2, backoff=0.2)
    received = _failure(sent=True)
    assert policy.wait(0, received, safe_to_repeat=False, remaining=10) is None
    assert policy.wait(0, received, safe_to_repeat=True, remaining=10) is not None


def test_a_request_that_never_connected_is_retried_even_when_not_safe_to_repeat() -> None:
    policy = RetryPolicy(retries=2, backoff=0.2)
    assert policy.wait(0, _failure(sent=False), safe_to_repeat=False, remaining=10) is not None


def test_a_refusal_of_our_own_request_is_never_retried() -> None:
    policy = RetryPolicy(retries=2, backoff=0.2)
    ours = _failure(sent=True, vendor_side=False)
    assert policy.wait(0, ours, safe_to_repeat=True, remaining=10) is None


def test_waits_grow_exponentially_with_jitter_and_retries_are_bounded() -> None:
    policy = RetryPolicy(retries=3, backoff=0.2)
    failure = _failure(sent=False)
    low = [
        policy.wait(n, failure, safe_to_repeat=False, remaining=99, jitter=lambda: 0.0)
        for n in range(3)
    ]
    high = [
        policy.wait(n, failure, safe_to_repeat=False, remaining=99, jitter=lambda: 0.999)
        for n in range(3)
    ]
    assert low == pytest.approx([0.1, 0.2, 0.4])
    assert high == pytest.approx([0.2, 0.4, 0.8], rel=0.01)
    assert policy.wait(3, failure, safe_to_repeat=False, remaining=99) is None


def test_retry_after_is_honoured_and_a_wait_past_the_deadline_is_not_started() -> None:
    policy = RetryPolicy(retries=2, backoff=0.2)
    throttled = _failure(sent=True, retry_after=3.0)
    assert policy.wait(0, throttled, safe_to_repeat=True, remaining=10) == 3.0
    assert policy.wait(0, throttled, safe_to_repeat=True, remaining=2.5) is None


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    later = now + timedelta(seconds=90)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now=now) == 90.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- VendorHttp against a local server -----------------------------------------------------


@dataclass
class Vendor:
    """A vendor that answers each request with the next of ``statuses`` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None
    delay: float = 0.0
    received: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.answer)
        return app

    async def answer(self, request: web.Request) -> web.Response:
        self.received.append(request.method)
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Retry-After": self.retry_after} if self.retry_after and status != 200 else {}
        return web.json_response({"status": status}, status=status, headers=headers)


@pytest_asyncio.fixture(loop_scope="function")
async def vendor() -> AsyncIterator[tuple[Vendor, str]]:
    fake = Vendor()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        yield fake, str(server.make_url("/api"))


def _calls(
    http: aiohttp.ClientSession,
    clock: FakeClock,
    metrics: ServiceMetrics | None = None,
    **settings: object,
) -> VendorHttp:
    limits = VendorCallSettings.model_validate({"timeout": 5, **settings})
    breaker = CircuitBreaker.for_settings("cognigy", limits, clock=clock)
    return VendorHttp(
        "cognigy", http, limits, breaker=breaker, metrics=metrics, clock=clock, sleep=clock.sleep
    )


async def test_a_post_answered_503_is_sent_once(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.statuses = [503]
    fake.retry_after = "0"
    with pytest.raises(VendorError, match="cognigy answered status 503") as raised:
        await _calls(http, FakeClock()).request("POST", url, json={"text": "<PERSON_1>"})
    assert raised.value.status == 503
    assert fake.received == ["POST"]


async def test_a_get_answered_503_is_retried_after_its_retry_after(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.statuses = [503]
    fake.retry_after = "2"
    clock = FakeClock()
    metrics = ServiceMetrics()
    answer = await _calls(http, clock, metrics).request("GET", url)
    assert answer.status == 200 and answer.json() == {"status": 200}
    assert fake.received == ["GET", "GET"]
    assert clock.slept == [2.0]
    assert b'chatguard_vendor_retries_total{vendor="cognigy"} 1.0' in metrics.exposition()


async def test_a_token_request_declared_safe_is_retried_after_a_server_error(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.statuses = [500, 502]
    answer = await _calls(http, FakeClock()).request("POST", url, safe_to_repeat=True)
    assert answer.status == 200 and fake.received == ["POST"] * 3


async def test_a_post_that_could_not_connect_is_retried_and_received_once(
    http: aiohttp.ClientSession,
) -> None:
    fake = Vendor()
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = refusing.getsockname()[1]
    runner = web.AppRunner(fake.app())
    await runner.setup()
    clock = FakeClock()

    async def start_listening(seconds: float) -> None:
        await clock.sleep(seconds)
        refusing.listen()
        await web.SockSite(runner, refusing).start()

    limits = VendorCallSettings(timeout=5)
    calls = VendorHttp("cognigy", http, limits, clock=clock, sleep=start_listening)
    try:
        answer = await calls.request("POST", f"http://127.0.0.1:{port}/api", json={})
    finally:
        await runner.cleanup()
        refusing.close()
    assert answer.status == 200
    assert fake.received == ["POST"]
    assert len(clock.slept) == 1


async def test_a_post_that_timed_out_is_not_repeated(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.delay = 1.0
    with pytest.raises(VendorTimeoutError, match="cognigy did not answer in time"):
        await _calls(http, FakeClock(), timeout=0.2).request("POST", url, json={})
    assert fake.received == ["POST"]


async def test_vendor_failures_open_the_circuit_and_then_nothing_is_sent(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.statuses = [500, 429, 200]
    metrics = ServiceMetrics()
    calls = VendorCalls(metrics, clock=FakeClock()).client(
        "cognigy", http, VendorCallSettings(breaker_failures=2)
    )
    for _ in range(2):
        with pytest.raises(VendorError):
            await calls.request("POST", url, json={})
    with pytest.raises(VendorCircuitOpenError):
        await calls.request("POST", url, json={})
    assert fake.received == ["POST", "POST"]
    exposition = metrics.exposition().decode()
    assert 'chatguard_vendor_circuit_state{vendor="cognigy"} 1.0' in exposition
    for kind in ("status_5xx", "status_429", "circuit_open"):
        assert f'chatguard_vendor_errors_total{{kind="{kind}",vendor="cognigy"}} 1.0' in exposition


async def test_refusals_of_our_requests_do_not_open_the_circuit(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.statuses = [400, 404, 422]
    calls = _calls(http, FakeClock(), breaker_failures=2)
    for _ in range(3):
        with pytest.raises(VendorError):
            await calls.request("POST", url, json={})
    assert calls.breaker.state is BreakerState.CLOSED
    assert (await calls.request("POST", url, json={})).status == 200


async def test_an_accepted_status_is_returned_to_the_caller(
    vendor: tuple[Vendor, str], http: aiohttp.ClientSession
) -> None:
    fake, url = vendor
    fake.statuses = [401]
    answer = await _calls(http, FakeClock()).request("POST", url, json={}, accept=(401,))
    assert answer.status == 401


async def test_one_breaker_per_vendor_is_shared_by_its_clients(http: aiohttp.ClientSession) -> None:
    calls = VendorCalls()
    settings = VendorCallSettings()
    web_chat = calls.client("cognigy", http, settings)
    messenger = calls.client("cognigy", http, settings)
    assert web_chat.breaker is messenger.breaker
    assert calls.client("genesys", http, settings).breaker is not web_chat.breaker
