"""Every vendor call: a time limit, bounded retries where repeating is safe, and the
vendor's circuit breaker. One implementation, used by every vendor client (Cognigy,
Genesys, the OpenAI-compatible vendor, Messenger's Send API, the translator).

Promises:

* One :class:`CircuitBreaker` per vendor for the whole service (:class:`VendorCalls`
  holds them). Closed, it lets calls through and counts consecutive failed calls;
  the ``breaker_failures``-th opens it. Open, every call fails at once with
  :class:`~chatguard.errors.VendorCircuitOpenError` (naming the vendor only) without
  reaching the vendor. After ``breaker_reset`` it is half-open: exactly one call, the
  probe, goes through while the others still fail at once; the probe's success closes
  the circuit, its failure opens it for another ``breaker_reset``.
* Only the vendor's own failures count: timeouts, connections that could not be made
  or broke, 5xx and 429 answers. Any other answer (a 4xx refusing our request)
  shows that the vendor is up.
* A failed call is tried again, at most ``retries`` times, only when repeating it is
  safe: the connection could not be made (nothing was sent), or the caller declared
  the request safe to repeat (a GET, a token request, a translation) and the failure
  is the vendor's. A POST that may have been received is never sent twice. The waits
  grow exponentially from ``retry_backoff`` with jitter; a ``Retry-After`` of a 429 or
  503 is honoured. The whole call, retries and waits included, ends within
  ``timeout``: a wait that would pass it is not started.
* Failures raise :class:`~chatguard.errors.VendorError` subclasses whose messages name
  the vendor and at most the HTTP status, and are counted once per call in
  ``vendor_errors{vendor, kind}``; retries in ``vendor_retries{vendor}``; each
  breaker's state is the gauge ``vendor_circuit_state{vendor}`` (0 closed, 1 open,
  2 half-open). No label ever holds a message, a pseudonym or a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Final, TypeVar

import aiohttp

from chatguard.errors import (
    VendorCircuitOpenError,
    VendorError,
    VendorTimeoutError,
    VendorUnavailableError,
)
from chatguard.server.metrics import ServiceMetrics
from chatguard.settings import VendorCallSettings

T = TypeVar("T")

#: Methods that change nothing at the vendor: safe to repeat unless told otherwise.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

#: Statuses whose ``Retry-After`` says when the vendor can take the request again.
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})

#: The longest wait between two tries, whatever the backoff has grown to.
MAX_BACKOFF: Final = 10.0


class BreakerState(IntEnum):
    """A circuit breaker's state, as the ``vendor_circuit_state`` gauge reports it."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


@dataclass(frozen=True, slots=True)
class Admission:
    """A call the breaker let through; ``probe`` when it is the half-open circuit's one probe."""

    probe: bool


class CircuitBreaker:
    """Refuses calls to a vendor at once while it is down (see the module's promises).

    ``failures`` consecutive failed calls open the circuit; ``reset`` seconds later one
    probe is let through. ``clock`` (monotonic seconds) is injectable for tests.

    Example::

        admission = breaker.admit()       # VendorCircuitOpenError while open
        try:
            answer = await call()
        except VendorTimeoutError:
            breaker.failed(admission)
            raise
        breaker.succeeded(admission)
    """

    def __init__(
        self,
        vendor: str,
        *,
        failures: int = 5,
        reset: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or reset <= 0:
            raise ValueError("a breaker needs failures >= 1 and reset > 0")
        self.vendor = vendor
        self.failures = failures
        self.reset = reset
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._probing = False

    @classmethod
    def for_settings(
        cls,
        vendor: str,
        settings: VendorCallSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> CircuitBreaker:
        """The breaker ``breaker_failures`` and ``breaker_reset`` of ``settings`` describe."""
        return cls(
            vendor,
            failures=settings.breaker_failures,
            reset=settings.breaker_reset.total_seconds(),
            clock=clock,
        )

    @property
    def state(self) -> BreakerState:
        """Closed, open, or half-open (open for ``reset`` seconds already: a probe may go)."""
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self.reset:
            return BreakerState.HALF_OPEN
        return self._state

    def admit(self) -> Admission:
        """Let a call through, or raise :class:`VendorCircuitOpenError` at once."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Admission(probe=False)
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._state = BreakerState.HALF_OPEN
            self._probing = True
            return Admission(probe=True)
        raise VendorCircuitOpenError(f"{self.vendor} is not available (circuit open)")

    def succeeded(self, admission: Admission) -> None:
        """The call reached a vendor that answered: closed, the count of consecutive
        failures starts again; half-open, the probe's success closes the circuit."""
        state = self.state
        if state is BreakerState.CLOSED:
            self._consecutive = 0
        elif state is BreakerState.HALF_OPEN and admission.probe:
            self._close()

    def failed(self, admission: Admission) -> None:
        """The vendor failed the call: closed, one more consecutive failure (the
        ``failures``-th opens the circuit); half-open, the probe's failure reopens it."""
        state = self.state
        if state is BreakerState.CLOSED:
            self._consecutive += 1
            if self._consecutive >= self.failures:
                self._open()
        elif state is BreakerState.HALF_OPEN and admission.probe:
            self._open()

    def released(self, admission: Admission) -> None:
        """The call ended without telling whether the vendor works (it was cancelled):
        a probe's place is free for the next call."""
        if admission.probe and self._state is BreakerState.HALF_OPEN:
            self._probing = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._consecutive = 0
        self._probing = False

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._probing = False


@dataclass(frozen=True, slots=True)
class CallFailure:
    """One failed try of a call: the error to raise, its ``kind`` (the metric label),
    whether the vendor is at fault (``vendor_side``), whether the request may have
    reached it (``sent``), and the wait its ``Retry-After`` asked for."""

    error: VendorError
    kind: str
    vendor_side: bool
    sent: bool
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed call is tried again, and after how long.

    Try ``attempt`` (0 for the first) failed with ``failure``: another try comes only
    if fewer than ``retries`` retries were made, and the failure happened before
    anything was sent, or the request is safe to repeat and the vendor is at fault.
    The wait is ``backoff * 2**attempt`` (at most ``MAX_BACKOFF``) with "equal jitter"
    (between half and all of it), at least what ``Retry-After`` asked for, and only if
    it ends before the call's time is up.
    """

    retries: int = 2
    backoff: float = 0.2

    @classmethod
    def for_settings(cls, settings: VendorCallSettings) -> RetryPolicy:
        """The policy ``retries`` and ``retry_backoff`` of ``settings`` describe."""
        return cls(retries=settings.retries, backoff=settings.retry_backoff)

    def wait(
        self,
        attempt: int,
        failure: CallFailure,
        *,
        safe_to_repeat: bool,
        remaining: float,
        jitter: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before the next try, or ``None`` when there is none.

        ``remaining`` is the call's time left; ``jitter`` gives a number in [0, 1).
        """
        if attempt >= self.retries:
            return None
        if failure.sent and not (safe_to_repeat and failure.vendor_side):
            return None
        delay = min(self.backoff * 2.0**attempt, MAX_BACKOFF)
        delay = delay / 2 + jitter() * delay / 2
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        if delay >= remaining:
            return None
        return delay


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds, or an HTTP date), or ``None``."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, float((when - (now or datetime.now(UTC))).total_seconds()))


@dataclass(frozen=True, slots=True)
class VendorAnswer:
    """A vendor's answer, read in full: status, headers and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    vendor: str

    def json(self) -> Any:
        """The body as JSON; :class:`VendorError` (naming the vendor) when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise VendorError(f"{self.vendor} answered no JSON") from None


class VendorHttp:
    """HTTP calls to one vendor with its time limit, retries and circuit breaker.

    ``settings`` gives ``timeout``, ``retries`` and ``retry_backoff``; ``breaker`` is
    the vendor's breaker (one of its own when not given); ``metrics`` counts failures
    and retries. ``clock``, ``sleep`` and ``jitter`` are injectable for tests.

    Example::

        vendor = VendorHttp("cognigy", http, settings.vendors.cognigy)
        answer = await vendor.request("POST", url, json=body)          # tried once
        models = await vendor.request("GET", url)                      # retried if it fails
    """

    def __init__(
        self,
        vendor: str,
        http: aiohttp.ClientSession,
        settings: VendorCallSettings,
        *,
        breaker: CircuitBreaker | None = None,
        metrics: ServiceMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.vendor = vendor
        self.http = http
        self.timeout = settings.timeout
        self.policy = RetryPolicy.for_settings(settings)
        self.breaker = breaker or CircuitBreaker.for_settings(vendor, settings)
        self.metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter

    async def request(
        self,
        method: str,
        url: str,
        *,
        safe_to_repeat: bool | None = None,
        accept: Collection[int] = (),
        **options: Any,
    ) -> VendorAnswer:
        """Send one request (``options`` as for ``aiohttp``) and read the answer in full.

        ``safe_to_repeat`` says whether the vendor may receive the request twice
        (default: for GET, HEAD and OPTIONS only). An error status raises
        :class:`VendorError` (with its ``status``) unless it is in ``accept`` (the
        caller handles it, like a 401 that refreshes a token).
        """
        safe = method.upper() in SAFE_METHODS if safe_to_repeat is None else safe_to_repeat

        async def attempt(remaining: float) -> VendorAnswer | CallFailure:
            timeout = aiohttp.ClientTimeout(total=remaining)
            opened = await self._open(method, url, timeout, accept, options)
            if isinstance(opened, CallFailure):
                return opened
            try:
                body = await opened.read()
            except (TimeoutError, aiohttp.ClientError) as error:
                return self._transport_failure(error)
            finally:
                opened.release()
            return VendorAnswer(opened.status, opened.headers, body, self.vendor)

        _, answer = await self._call(attempt, safe)
        return answer

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, url: str, *, safe_to_repeat: bool | None = None, **options: Any
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The vendor's answer open for reading as it arrives (server-sent events).

        Connecting and the answer's status are limited and retried like
        :meth:`request`; then each read may wait ``timeout`` seconds, with no limit on
        the whole stream. The answer's status decides the breaker's verdict; a read
        that fails later (``kind="stream"``) counts as one more failure, and raises
        :class:`VendorTimeoutError` or :class:`VendorUnavailableError` out of the block.
        """
        safe = method.upper() in SAFE_METHODS if safe_to_repeat is None else safe_to_repeat

        async def attempt(remaining: float) -> aiohttp.ClientResponse | CallFailure:
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=remaining, sock_read=self.timeout
            )
            return await self._open(method, url, timeout, (), options)

        admission, result = await self._call(attempt, safe)
        try:
            yield result
        except (TimeoutError, aiohttp.ClientError) as error:
            failure = self._transport_failure(error)
            self.count("stream")
            self.breaker.failed(admission)
            raise failure.error from None
        finally:
            result.release()

    def count(self, kind: str) -> None:
        """Count one failed call of this vendor (``kind`` from a fixed set, never data)."""
        if self.metrics is not None:
            self.metrics.vendor_errors.labels(vendor=self.vendor, kind=kind).inc()

    async def _call(
        self, attempt: Callable[[float], Awaitable[T | CallFailure]], safe_to_repeat: bool
    ) -> tuple[Admission, T]:
        """Through the breaker, ``attempt`` tried as the policy allows; the breaker told
        the outcome; the last failure raised."""
        admission = self._admit()
        try:
            result = await self._tries(attempt, safe_to_repeat)
        except BaseException:
            self.breaker.released(admission)
            raise
        if isinstance(result, CallFailure):
            self._failed(admission, result)
            raise result.error from None
        self.breaker.succeeded(admission)
        return admission, result

    def _admit(self) -> Admission:
        try:
            return self.breaker.admit()
        except VendorCircuitOpenError:
            self.count("circuit_open")
            raise

    def _failed(self, admission: Admission, failure: CallFailure) -> None:
        self.count(failure.kind)
        if failure.vendor_side:
            self.breaker.failed(admission)
        else:
            self.breaker.succeeded(admission)

    async def _tries(
        self, attempt: Callable[[float], Awaitable[T | CallFailure]], safe_to_repeat: bool
    ) -> T | CallFailure:
        deadline = self._clock() + self.timeout
        tried = 0
        while True:
            result = await attempt(max(deadline - self._clock(), 0.001))
            if not isinstance(result, CallFailure):
                return result
            wait = self.policy.wait(
                tried,
                result,
                safe_to_repeat=safe_to_repeat,
                remaining=deadline - self._clock(),
                jitter=self._jitter,
            )
            if wait is None:
                return result
            if self.metrics is not None:
                self.metrics.vendor_retries.labels(vendor=self.vendor).inc()
            await self._sleep(wait)
            tried += 1

    async def _open(
        self,
        method: str,
        url: str,
        limits: aiohttp.ClientTimeout,
        accept: Collection[int],
        options: Mapping[str, Any],
    ) -> aiohttp.ClientResponse | CallFailure:
        try:
            response = await self.http.request(method, url, timeout=limits, **options)
        except (TimeoutError, aiohttp.ClientError) as error:
            return self._transport_failure(error)
        status = response.status
        if status < 400 or status in accept:
            return response
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        response.release()
        kind = _status_kind(status)
        return CallFailure(
            VendorError(f"{self.vendor} answered status {status}", status),
            kind,
            vendor_side=status >= 500 or status == 429,
            sent=True,
            retry_after=retry_after,
        )

    def _transport_failure(self, error: BaseException) -> CallFailure:
        vendor = self.vendor
        if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            # The connection was never made: nothing was sent, repeating is safe.
            return CallFailure(
                VendorUnavailableError(f"{vendor} could not be reached"),
                "unreachable",
                vendor_side=True,
                sent=False,
            )
        if isinstance(error, TimeoutError):
            return CallFailure(
                VendorTimeoutError(f"{vendor} did not answer in time"),
                "timeout",
                vendor_side=True,
                sent=True,
            )
        return CallFailure(
            VendorUnavailableError(f"{vendor}'s connection failed"),
            "unreachable",
            vendor_side=True,
            sent=True,
        )


def _status_kind(status: int) -> str:
    if status == 429:
        return "status_429"
    return "status_5xx" if status >= 500 else "status_4xx"


class VendorCalls:
    """How the service calls its vendors: one :class:`CircuitBreaker` per vendor,
    shared by every client of that vendor (web chat's and Messenger's Cognigy clients
    open one circuit together), each exported as ``vendor_circuit_state{vendor}``.

    Example::

        calls = VendorCalls(metrics)
        cognigy = calls.client("cognigy", http, settings.vendors.cognigy)
    """

    def __init__(
        self,
        metrics: ServiceMetrics | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, vendor: str, settings: VendorCallSettings) -> CircuitBreaker:
        """The vendor's breaker, made from ``settings`` on first use."""
        existing = self._breakers.get(vendor)
        if existing is not None:
            return existing
        breaker = CircuitBreaker.for_settings(vendor, settings, clock=self._clock)
        self._breakers[vendor] = breaker
        if self.metrics is not None:
            gauge = self.metrics.vendor_circuit.labels(vendor=vendor)
            gauge.set_function(lambda: float(breaker.state))
        return breaker

    def client(
        self, vendor: str, http: aiohttp.ClientSession, settings: VendorCallSettings
    ) -> VendorHttp:
        """Calls to ``vendor`` over ``http`` (the caller's session) behind its breaker."""
        return VendorHttp(
            vendor,
            http,
            settings,
            breaker=self.breaker(vendor, settings),
            metrics=self.metrics,
            clock=self._clock,
        )
