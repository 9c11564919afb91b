"""Where detection runs, and which message's detection runs first.

Detection is CPU-bound and holds the GIL, so it never runs on the event loop.
``DetectionPool`` runs it on ``redaction.workers`` workers of the kind
``redaction.executor`` names:

* ``thread``: threads of this process sharing one :class:`RedactionEngine`. Cheap to
  start, nothing to copy; but the threads and the event loop share one GIL, so
  detection competes with the server for one core.
* ``process``: worker processes, each with its own engine, loaded once when the
  worker starts. Detection then runs beside the event loop, on other cores. A
  request and its answer cross a pipe (about 0.15 ms on loopback, measured against
  ``concurrent.futures.ProcessPoolExecutor``'s 0.4 ms median, 4 ms p99, whose extra
  thread and queue also take away the control over order described below).

Order. Waiting detections are served shortest first, with ageing: a request's
priority is its arrival time plus its length divided by ``AGEING_CHARS_PER_SECOND``,
so a 5,000-character message queues as if it had arrived 250 ms later than it did,
and a chat message of 100 characters as if 5 ms later. Long messages therefore do
not hold up the short ones of other conversations, and are never starved. A worker
takes the short messages waiting at the head of the queue together (up to
``MAX_BATCH``) and detects them in one batch, which is what keeps up with a busy
service: spaCy's per-call cost is shared.

Promises: ``detect`` returns exactly what :meth:`RedactionEngine.analyze` returns for
the request, or raises :class:`~chatguard.errors.RedactionError` (a
:class:`~chatguard.errors.RedactionTimeoutError` when ``redaction.timeout`` passes,
time spent waiting included); a chatguard error raised by the engine (an
unsupported language) is raised as it is. A worker process that dies fails the
request it held and is started again; nothing is ever returned as if detected when
it was not. Error messages never quote the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from chatguard.errors import ChatguardError, RedactionError, RedactionTimeoutError
from chatguard.model import Entity
from chatguard.redact.engine import RedactionEngine
from chatguard.settings import RedactionSettings

logger = logging.getLogger(__name__)

#: Characters of a message counted as one second of waiting (see the module's "Order").
AGEING_CHARS_PER_SECOND: Final = 20_000.0

#: Messages up to this long that wait together are detected in one batch (spaCy's
#: ``nlp.pipe`` shares its per-call cost: English NER costs about 2-3 ms a message
#: alone, about 1 ms in a batch of eight); a longer one is detected alone.
BATCH_CHARS: Final = 1_000

#: The most messages one batch holds.
MAX_BATCH: Final = 16

#: How long a worker process may take to load its engine before it counts as failed.
WORKER_START_TIMEOUT: Final = 120.0


@dataclass(frozen=True, slots=True)
class DetectionRequest:
    """One text to analyse: its language (``None``: detect it), the score threshold,
    and the ``(entity type, value)`` pairs the conversation revealed before."""

    text: str
    language: str | None
    threshold: float
    known: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Detection:
    """What detection found: the text's language and its entities (no placeholders)."""

    language: str
    entities: tuple[Entity, ...]


def detect_with(engine: RedactionEngine, request: DetectionRequest) -> Detection:
    """Run ``request`` on ``engine`` in the calling thread."""
    language = request.language or engine.detect_language(request.text)
    entities = engine.analyze(request.text, language, request.threshold, request.known)
    return Detection(language, tuple(entities))


#: What a worker answers for one request: the detection, the chatguard error the
#: engine raised for it (its message carries no personal data), or ``None`` when
#: detection failed otherwise (logged by type only).
Answer = Detection | ChatguardError | None


def detect_batch(engine: RedactionEngine, requests: Sequence[DetectionRequest]) -> list[Answer]:
    """Each request's answer, in order, detected together where they can be.

    A batch gives each text what :func:`detect_with` gives it alone. If the batch
    fails, each request is detected alone, so that one request's failure is its
    own answer and not its neighbours'.
    """
    if len(requests) > 1:
        try:
            return list(_detect_together(engine, requests))
        except Exception:  # one of them failed: find which, alone
            pass
    answers: list[Answer] = []
    for request in requests:
        try:
            answers.append(detect_with(engine, request))
        except ChatguardError as error:
            answers.append(error)
        except Exception as error:
            logger.error("detection failed with %s", type(error).__name__)
            answers.append(None)
    return answers


def _detect_together(
    engine: RedactionEngine, requests: Sequence[DetectionRequest]
) -> list[Detection]:
    languages = [r.language or engine.detect_language(r.text) for r in requests]
    found: list[list[Entity]] = [[] for _ in requests]
    for threshold in sorted({r.threshold for r in requests}):
        chosen = [i for i, r in enumerate(requests) if r.threshold == threshold]
        batch = engine.analyze_batch(
            [requests[i].text for i in chosen],
            [languages[i] for i in chosen],
            threshold,
            [requests[i].known for i in chosen],
        )
        for i, entities in zip(chosen, batch, strict=True):
            found[i] = entities
    return [
        Detection(language, tuple(entities))
        for language, entities in zip(languages, found, strict=True)
    ]


@dataclass(order=True)
class _Job:
    priority: float
    seq: int
    request: DetectionRequest = field(compare=False)
    future: asyncio.Future[Detection] = field(compare=False)


class _Worker:
    """Runs one request at a time; ``start`` and ``close`` bound its life."""

    async def start(self) -> None:
        """Make the worker ready to run requests."""

    async def run(self, requests: list[DetectionRequest]) -> list[Answer]:
        """Run the requests, one answer each; raise ``RedactionError`` if the worker
        itself failed."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the worker."""


class _ThreadWorker(_Worker):
    def __init__(self, engine: RedactionEngine, threads: ThreadPoolExecutor) -> None:
        self._engine = engine
        self._threads = threads

    async def run(self, requests: list[DetectionRequest]) -> list[Answer]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, detect_batch, self._engine, requests)


class _ProcessWorker(_Worker):
    """A worker process with its own engine, reached through a pipe."""

    def __init__(self, settings: RedactionSettings, hard_limit: float) -> None:
        self._settings_json = settings.model_dump_json()
        self._hard_limit = hard_limit
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: multiprocessing.connection.Connection | None = None
        self._answer: asyncio.Future[Any] | None = None

    async def start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._stop(kill=True)
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_worker_main,
            args=(child, self._settings_json),
            name="chatguard-detect",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._connection = process, parent
        asyncio.get_running_loop().add_reader(parent.fileno(), self._readable)
        try:
            async with asyncio.timeout(WORKER_START_TIMEOUT):
                ready = await self._next_answer()
        except (TimeoutError, RedactionError):
            self._stop(kill=True)
            raise RedactionError("a detection worker failed to start") from None
        if isinstance(ready, ChatguardError):  # a model not installed, say: said as it is
            self._stop(kill=True)
            raise ready
        if ready != "ready":
            self._stop(kill=True)
            raise RedactionError("a detection worker failed to start")

    async def run(self, requests: list[DetectionRequest]) -> list[Answer]:
        await self.start()
        assert self._connection is not None
        try:
            self._connection.send(requests)
            async with asyncio.timeout(self._hard_limit):
                answer = await self._next_answer()
        except (OSError, TimeoutError, RedactionError):
            # Dead, or stuck far beyond any caller's patience: replaced on next use.
            self._stop(kill=True)
            raise RedactionError("a detection worker stopped; the text was not forwarded") from None
        if not isinstance(answer, list) or len(answer) != len(requests):
            self._stop(kill=True)
            raise RedactionError("a detection worker answered out of turn")
        return answer

    def close(self) -> None:
        self._stop(kill=False)

    def _stop(self, *, kill: bool) -> None:
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            with contextlib.suppress(RuntimeError, ValueError):  # no loop, or already closed
                asyncio.get_running_loop().remove_reader(connection.fileno())
            if not kill:
                with contextlib.suppress(OSError):
                    connection.send(None)
            connection.close()
        if process is not None:
            if kill:
                process.kill()
            process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(RedactionError("the detection worker was closed"))

    def _next_answer(self) -> asyncio.Future[Any]:
        self._answer = asyncio.get_running_loop().create_future()
        return self._answer

    def _readable(self) -> None:
        answer = self._answer
        connection = self._connection
        if connection is None:
            return
        try:
            received: object = connection.recv()
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(connection.fileno())
            if answer is not None and not answer.done():
                answer.set_exception(RedactionError("a detection worker stopped"))
            return
        if answer is not None and not answer.done():
            answer.set_result(received)


def _worker_main(connection: multiprocessing.connection.Connection, settings_json: str) -> None:
    """The body of a worker process: load an engine, then answer requests until told
    to stop (``None``) or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    logging.basicConfig(level=logging.WARNING)
    try:
        engine = RedactionEngine(RedactionSettings.model_validate_json(settings_json))
    except ChatguardError as error:
        connection.send(error)
        return
    connection.send("ready")
    while True:
        try:
            requests = connection.recv()
        except (EOFError, OSError):
            return
        if requests is None:
            return
        connection.send(detect_batch(engine, requests))


class DetectionPool:
    """Runs detection off the event loop on ``settings.workers`` threads or worker
    processes (``settings.executor``), shortest message first with ageing.

    See the module's docstring for the promises. ``engine`` serves the ``thread``
    executor (one is loaded when not given); the ``process`` executor loads one in
    each worker process and must not be given one.

    Example::

        pool = DetectionPool(settings.redaction)
        await pool.start()                 # optional: otherwise on first use
        found = await pool.detect(DetectionRequest("I am Anna Keller", None, 0.5))
        found.language, found.entities     # 'en', (Entity(type='PERSON', ...),)
        pool.close()
    """

    def __init__(self, settings: RedactionSettings, engine: RedactionEngine | None = None) -> None:
        self.settings = settings
        self.engine: RedactionEngine | None
        self._threads: ThreadPoolExecutor | None = None
        if settings.executor == "process":
            if engine is not None:
                raise ValueError("the process executor loads its engines in its workers")
            self.engine = None
            hard_limit = max(30.0, 10 * settings.timeout)
            self._workers: list[_Worker] = [
                _ProcessWorker(settings, hard_limit) for _ in range(settings.workers)
            ]
        else:
            self.engine = engine or RedactionEngine(settings)
            self._threads = ThreadPoolExecutor(
                max_workers=settings.workers, thread_name_prefix="chatguard-detect"
            )
            self._workers = [
                _ThreadWorker(self.engine, self._threads) for _ in range(settings.workers)
            ]
        self._queue: asyncio.PriorityQueue[_Job] | None = None
        self._serving: list[asyncio.Task[None]] = []
        self._seq = itertools.count()
        self._started: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        """Start the workers (worker processes load their engines); idempotent."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        try:
            async with asyncio.TaskGroup() as starting:
                for worker in self._workers:
                    starting.create_task(worker.start())
        except* ChatguardError as failed:
            for worker in self._workers:
                worker.close()
            first = failed.exceptions[0]
            raise (
                first if isinstance(first, ChatguardError) else RedactionError("no detection")
            ) from None
        queue: asyncio.PriorityQueue[_Job] = asyncio.PriorityQueue()
        self._queue = queue
        self._serving = [asyncio.create_task(self._serve(w, queue)) for w in self._workers]

    async def detect(self, request: DetectionRequest) -> Detection:
        """Detect, within ``redaction.timeout`` seconds (waiting included), or raise."""
        if self._closed:
            raise RedactionError("detection is closed; the text was not forwarded")
        await self.start()
        assert self._queue is not None
        try:
            async with asyncio.timeout(self.settings.timeout):
                loop = asyncio.get_running_loop()
                job = _Job(
                    loop.time() + len(request.text) / AGEING_CHARS_PER_SECOND,
                    next(self._seq),
                    request,
                    loop.create_future(),
                )
                self._queue.put_nowait(job)
                return await job.future
        except TimeoutError:
            raise RedactionTimeoutError("detection timed out; the text was not forwarded") from None
        except ChatguardError as error:
            raise error from None  # never chained to what failed, which may quote the text

    def describe(self) -> dict[str, Any]:
        """The executor, its workers, and which model serves which language."""
        return {
            "executor": self.settings.executor,
            "workers": len(self._workers),
            "models": dict(self.settings.models),
        }

    def close(self) -> None:
        """Stop the workers; detections still waiting fail with ``RedactionError``."""
        self._closed = True
        for task in self._serving:
            task.cancel()
        self._serving = []
        if self._started is not None and not self._started.done():
            self._started.cancel()
        if self._queue is not None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(RedactionError("detection stopped"))
        for worker in self._workers:
            worker.close()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    async def _serve(worker: _Worker, queue: asyncio.PriorityQueue[_Job]) -> None:
        while True:
            batch = _next_batch(await queue.get(), queue)
            if not batch:
                continue
            try:
                answers = await worker.run([job.request for job in batch])
            except Exception as error:
                if not isinstance(error, ChatguardError):
                    logger.error("detection failed with %s", type(error).__name__)
                answers = [None] * len(batch)
            for job, answer in zip(batch, answers, strict=True):
                if job.future.done():  # its caller gave up meanwhile
                    continue
                if isinstance(answer, Detection):
                    job.future.set_result(answer)
                elif isinstance(answer, ChatguardError):
                    job.future.set_exception(answer)
                else:
                    job.future.set_exception(
                        RedactionError("detection failed; the text was not forwarded")
                    )


def _next_batch(first: _Job, queue: asyncio.PriorityQueue[_Job]) -> list[_Job]:
    """``first`` and, if it is short, the short jobs waiting right behind it."""
    batch = [] if first.future.done() else [first]
    if len(first.request.text) > BATCH_CHARS:
        return batch
    while len(batch) < MAX_BATCH and not queue.empty():
        job = queue.get_nowait()
        if job.future.done():
            continue
        if len(job.request.text) > BATCH_CHARS:
            queue.put_nowait(job)  # it keeps its place: it goes next, alone
            break
        batch.append(job)
    return batch
