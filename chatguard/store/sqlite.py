"""The embedded default store: one SQLite file, on a thread of the store's own.

Each store owns one connection (the standard library's ``sqlite3``) that only its
one worker thread uses. Every public operation is one job on that thread, its whole
transaction inside: one hop from the event loop per ``Store`` call, however many
statements it runs, and calls of one store run one at a time, in order.

Durability: WAL journal with ``synchronous=FULL``, so a write is on disk when its
coroutine returns; every write runs in a write transaction (``BEGIN IMMEDIATE``,
which takes the write lock up front, so read-modify-writes such as sequence numbers,
placeholder numbering and delivery checks are serialised between processes too) and
is rolled back on any failure, a failed commit included.

Group commit: writes that wait for the store's thread while it is busy are run
together, each in a savepoint of one transaction, and committed with one ``fsync``
(the cost that limits a busy service, about 0.4 ms each here). Each write stays
atomic on its own: one that fails is rolled back to its savepoint and raises, the
others commit; a failed commit fails all of them, and nothing of any is visible.
No write's coroutine returns before its commit is on disk.

Times are stored as UTC epoch microseconds (sortable integers) and come back as
aware UTC datetimes. Expiry: reads filter on ``expires_at > now``; ``sweep``
deletes, using an index on ``expires_at`` per table.

A call whose coroutine is cancelled after its job started still runs the job to its
end (committed or rolled back, never half); one cancelled before does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from chatguard.clock import Clock
from chatguard.errors import ConfigurationError, StoreError, StoreUnavailableError
from chatguard.redact.vault import format_placeholder
from chatguard.store.base import (
    Store,
    require_change,
    require_one_session,
    require_positive_limit,
)
from chatguard.store.records import (
    DIALOGUE_FIELDS,
    KEEP,
    AuditEntry,
    Author,
    ConsentRecord,
    Conversation,
    Delivery,
    DialogueChange,
    Direction,
    EventKind,
    Identity,
    Keep,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultEntry,
    VaultRequest,
)

__all__ = ["SqliteStore"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# The schema, one migration per entry, applied in order inside one transaction;
# ``schema_version`` records how many have been applied. Append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE conversations (
            session TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            user TEXT,
            created_at INTEGER NOT NULL,
            last_activity INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        )""",
        "CREATE INDEX conversations_user ON conversations (user, created_at)",
        "CREATE INDEX conversations_expiry ON conversations (expires_at)",
        """CREATE TABLE events (
            session TEXT NOT NULL,
            seq INTEGER NOT NULL,
            at INTEGER NOT NULL,
            direction TEXT NOT NULL,
            author TEXT NOT NULL,
            kind TEXT NOT NULL,
            feedback TEXT,
            text TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (session, seq)
        ) WITHOUT ROWID""",
        "CREATE INDEX events_at ON events (at, session, seq)",
        "CREATE INDEX events_expiry ON events (expires_at)",
        """CREATE TABLE vault (
            session TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            number INTEGER NOT NULL,
            digest TEXT NOT NULL,
            sealed_value BLOB NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (session, entity_type, number),
            UNIQUE (session, entity_type, digest)
        ) WITHOUT ROWID""",
        "CREATE INDEX vault_expiry ON vault (expires_at)",
        """CREATE TABLE identities (
            user TEXT PRIMARY KEY,
            sealed_identity BLOB NOT NULL,
            expires_at INTEGER NOT NULL
        )""",
        "CREATE INDEX identities_expiry ON identities (expires_at)",
        """CREATE TABLE consents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subject TEXT NOT NULL,
            purpose TEXT NOT NULL,
            decision TEXT NOT NULL,
            at INTEGER NOT NULL,
            source TEXT NOT NULL,
            text_id TEXT NOT NULL,
            text_version TEXT NOT NULL,
            language TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        )""",
        "CREATE INDEX consents_subject ON consents (subject, at, id)",
        "CREATE INDEX consents_expiry ON consents (expires_at)",
        """CREATE TABLE samples (
            session TEXT PRIMARY KEY,
            sampled_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        )""",
        "CREATE INDEX samples_expiry ON samples (expires_at)",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            action TEXT NOT NULL,
            counts TEXT NOT NULL,
            subject TEXT,
            actor TEXT,
            reason TEXT,
            expires_at INTEGER NOT NULL
        )""",
        "CREATE INDEX audit_at ON audit (at, id)",
        "CREATE INDEX audit_expiry ON audit (expires_at)",
    ),
    (
        """CREATE TABLE deliveries (
            key TEXT PRIMARY KEY,
            session TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX deliveries_session ON deliveries (session)",
        "CREATE INDEX deliveries_expiry ON deliveries (expires_at)",
    ),
    (
        "ALTER TABLE conversations ADD COLUMN language TEXT",
        "ALTER TABLE conversations ADD COLUMN handed_over_at INTEGER",
        "ALTER TABLE conversations ADD COLUMN awaiting TEXT",
        "ALTER TABLE conversations ADD COLUMN awaiting_since INTEGER",
        "ALTER TABLE conversations ADD COLUMN awaiting_until INTEGER",
        "ALTER TABLE conversations ADD COLUMN reference TEXT",
        "CREATE INDEX conversations_reference ON conversations (reference)"
        " WHERE reference IS NOT NULL",
        "CREATE INDEX conversations_awaiting ON conversations (awaiting_until, session)"
        " WHERE awaiting_until IS NOT NULL",
        # Conversations handed over before the field existed carry the mark as a
        # system event of their transcript (chatguard.handover.HANDED_OVER).
        """UPDATE conversations SET handed_over_at = (
            SELECT MIN(at) FROM events WHERE events.session = conversations.session
            AND author = 'system' AND text = 'handed over to a live agent'
        )""",
    ),
)

# The table that holds each record kind, in the order sweep and erasure report them.
_TABLES: dict[RecordKind, str] = {
    RecordKind.CONVERSATIONS: "conversations",
    RecordKind.TRANSCRIPTS: "events",
    RecordKind.VAULT: "vault",
    RecordKind.IDENTITIES: "identities",
    RecordKind.CONSENTS: "consents",
    RecordKind.SAMPLES: "samples",
    RecordKind.DELIVERIES: "deliveries",
    RecordKind.AUDIT: "audit",
}
# The kinds keyed by a session pseudonym, which erasing a session deletes.
_SESSION_KINDS = (
    RecordKind.CONVERSATIONS,
    RecordKind.TRANSCRIPTS,
    RecordKind.VAULT,
    RecordKind.SAMPLES,
    RecordKind.DELIVERIES,
)

# SQLite result codes that mean "the database cannot be reached or written now".
_UNAVAILABLE = frozenset(
    {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_READONLY"}
)
_UNAVAILABLE_WORDS = ("unable to open", "database is locked", "disk i/o", "readonly")


def _path_from_url(url: str) -> str:
    """The file path a ``sqlite:///...`` URL names (``:memory:`` allowed)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigurationError(
            "store.url: a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return url[len(prefix) :].split("?", 1)[0]


def _us(moment: datetime) -> int:
    """``moment`` as UTC epoch microseconds; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the store takes timezone-aware datetimes only")
    return (moment - _EPOCH) // _MICROSECOND


def _dt(microseconds: int) -> datetime:
    """Epoch microseconds back to an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=microseconds)


def _error_name(error: sqlite3.Error) -> str:
    return str(getattr(error, "sqlite_errorname", "") or type(error).__name__)


def _is_unavailable(error: sqlite3.Error) -> bool:
    if _error_name(error) in _UNAVAILABLE:
        return True
    message = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and any(
        word in message for word in _UNAVAILABLE_WORDS
    )


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    """SQLite errors as chatguard's store errors, named by result code only.

    SQLite's own messages never contain bound values, but only the result code is
    kept in ours so that nothing stored can reach a log through an error.
    """
    try:
        yield
    except sqlite3.Error as error:
        name = _error_name(error)
        if _is_unavailable(error):
            raise StoreUnavailableError(f"SQLite store unavailable ({name})") from error
        raise StoreError(f"SQLite store failed ({name})") from error


def _optional_dt(microseconds: int | None) -> datetime | None:
    return None if microseconds is None else _dt(microseconds)


def _optional_us(moment: datetime | None) -> int | None:
    return None if moment is None else _us(moment)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        session=row["session"],
        channel=row["channel"],
        user=row["user"],
        created_at=_dt(row["created_at"]),
        last_activity=_dt(row["last_activity"]),
        expires_at=_dt(row["expires_at"]),
        language=row["language"],
        handed_over_at=_optional_dt(row["handed_over_at"]),
        awaiting=row["awaiting"],
        awaiting_since=_optional_dt(row["awaiting_since"]),
        awaiting_until=_optional_dt(row["awaiting_until"]),
        reference=row["reference"],
    )


def _event(row: sqlite3.Row) -> TranscriptEvent:
    return TranscriptEvent(
        session=row["session"],
        seq=row["seq"],
        at=_dt(row["at"]),
        direction=Direction(row["direction"]),
        author=Author(row["author"]),
        kind=EventKind(row["kind"]),
        feedback=row["feedback"],
        text=row["text"],
        expires_at=_dt(row["expires_at"]),
    )


def _vault_entry(row: sqlite3.Row) -> VaultEntry:
    return VaultEntry(
        session=row["session"],
        placeholder=format_placeholder(row["entity_type"], row["number"]),
        entity_type=row["entity_type"],
        digest=row["digest"],
        sealed_value=bytes(row["sealed_value"]),
        expires_at=_dt(row["expires_at"]),
    )


def _consent(row: sqlite3.Row) -> ConsentRecord:
    return ConsentRecord(
        id=row["id"],
        subject=row["subject"],
        purpose=row["purpose"],
        decision=row["decision"],
        at=_dt(row["at"]),
        source=row["source"],
        text_id=row["text_id"],
        text_version=row["text_version"],
        language=row["language"],
        expires_at=_dt(row["expires_at"]),
    )


def _audit_entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=_dt(row["at"]),
        action=row["action"],
        counts=dict(json.loads(row["counts"])),
        subject=row["subject"],
        actor=row["actor"],
        reason=row["reason"],
        expires_at=_dt(row["expires_at"]),
    )


# --- on the store's thread -----------------------------------------------------------


def _connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with durable commits, its schema up to date."""
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        _switch_to_wal(db, busy_timeout)
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        _transaction(_migrate, db)
    except BaseException:
        db.close()
        raise
    return db


def _switch_to_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Put the file in WAL mode, retrying for up to ``busy_timeout`` seconds: when
    another connection switches the same file at that moment, SQLite answers
    SQLITE_BUSY at once instead of calling the busy handler (the pragma reads the
    header before it asks for the exclusive lock, and a reader is not made to wait)."""
    deadline = time.monotonic() + busy_timeout
    pause = 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = int(row[0]) if row is not None and row[0] is not None else 0
    if current > len(MIGRATIONS):
        raise StoreError(
            f"SQLite store has schema version {current}, newer than this chatguard "
            f"({len(MIGRATIONS)})"
        )
    for version in range(current, len(MIGRATIONS)):
        for statement in MIGRATIONS[version]:
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))


def _translated(work: Callable[[], T]) -> T:
    """``work()``, its SQLite errors translated (see ``_translated_errors``)."""
    with _translated_errors():
        return work()


def _transaction(work: Callable[[sqlite3.Connection], T], db: sqlite3.Connection) -> T:
    """``work`` in one write transaction holding SQLite's write lock from its start;
    committed when it returns, rolled back on any exception (a failed commit included)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return result


@dataclass
class _WaitingWrite:
    """A write waiting for the store's thread, and where its outcome goes."""

    work: Callable[[sqlite3.Connection], Any]
    outcome: Future[Any] = field(default_factory=Future)


def _commit_together(db: sqlite3.Connection, writes: list[_WaitingWrite]) -> None:
    """Run ``writes`` in one transaction, each in a savepoint of its own, and commit
    them with one ``fsync``; settle each one's ``outcome`` only after the commit."""
    writes = [write for write in writes if write.outcome.set_running_or_notify_cancel()]
    if not writes:
        return
    outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
    try:
        with _translated_errors():
            db.execute("BEGIN IMMEDIATE")
            for write in writes:
                db.execute("SAVEPOINT write")
                try:
                    result = write.work(db)
                except Exception as error:
                    db.execute("ROLLBACK TO write")
                    db.execute("RELEASE write")
                    outcomes.append((write.outcome, None, _as_store_error(error)))
                else:
                    db.execute("RELEASE write")
                    outcomes.append((write.outcome, result, None))
            db.execute("COMMIT")
    except BaseException as error:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        for write in writes:
            write.outcome.set_exception(error)
        if not isinstance(error, Exception):
            raise
        return
    for outcome, result, failure in outcomes:
        if failure is None:
            outcome.set_result(result)
        else:
            outcome.set_exception(failure)


def _as_store_error(error: Exception) -> Exception:
    """``error`` as ``_translated_errors`` would raise it."""
    try:
        with _translated_errors():
            raise error
    except Exception as translated:
        return translated


def _rows(sql: str, parameters: tuple[Any, ...], db: sqlite3.Connection) -> list[sqlite3.Row]:
    return db.execute(sql, parameters).fetchall()


def _conversation_row(conversation: Conversation) -> tuple[Any, ...]:
    return (
        conversation.session,
        conversation.channel,
        conversation.user,
        _us(conversation.created_at),
        _us(conversation.last_activity),
        _us(conversation.expires_at),
        conversation.language,
        _optional_us(conversation.handed_over_at),
        conversation.awaiting,
        _optional_us(conversation.awaiting_since),
        _optional_us(conversation.awaiting_until),
        conversation.reference,
    )


_CONVERSATION_INSERT = (
    "INSERT INTO conversations"
    " (session, channel, user, created_at, last_activity, expires_at, language,"
    " handed_over_at, awaiting, awaiting_since, awaiting_until, reference)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _save_conversation(db: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    db.execute(_CONVERSATION_INSERT.replace("INSERT", "INSERT OR REPLACE", 1), row)


def _note_activity(db: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    """Insert the conversation ``row`` if none is held under its session; else move
    only its last activity and expiry (each to the later value)."""
    db.execute(
        _CONVERSATION_INSERT + " ON CONFLICT (session) DO UPDATE SET"
        " last_activity = MAX(last_activity, excluded.last_activity),"
        " expires_at = MAX(expires_at, excluded.expires_at)",
        row,
    )


def _dialogue_value(value: object) -> object:
    """A dialogue field's value as its column holds it."""
    return _us(value) if isinstance(value, datetime) else value


def _event_row(event: TranscriptEvent) -> tuple[Any, ...]:
    return (
        event.session,
        _us(event.at),
        event.direction.value,
        event.author.value,
        event.kind.value,
        event.feedback,
        event.text,
        _us(event.expires_at),
        event.session,
    )


def _append_event(db: sqlite3.Connection, row: tuple[Any, ...]) -> int:
    """Insert an event with the next sequence number of its conversation; return it."""
    appended = db.execute(
        "INSERT INTO events"
        " (session, seq, at, direction, author, kind, feedback, text, expires_at)"
        " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?"
        " FROM events WHERE session = ? RETURNING seq",
        row,
    ).fetchone()
    if appended is None:  # pragma: no cover - RETURNING always yields the new row
        raise StoreError("SQLite store did not return the new event's sequence number")
    return int(appended[0])


def _record_delivery(db: sqlite3.Connection, row: tuple[str, str, int], now: int) -> bool:
    """Record the delivery ``(key, session, expires_at)``; ``False`` (and nothing
    written) when an unexpired delivery with that key is held."""
    held = db.execute("SELECT expires_at FROM deliveries WHERE key = ?", (row[0],)).fetchone()
    if held is not None and held[0] > now:
        return False
    db.execute("INSERT OR REPLACE INTO deliveries (key, session, expires_at) VALUES (?, ?, ?)", row)
    return True


def _assign_placeholders(
    db: sqlite3.Connection,
    session: str,
    requests: Sequence[VaultRequest],
    expiry: int,
    now: int,
) -> list[str]:
    placeholders: list[str] = []
    for request in requests:
        existing = db.execute(
            "SELECT number, expires_at FROM vault"
            " WHERE session = ? AND entity_type = ? AND digest = ?",
            (session, request.entity_type, request.digest),
        ).fetchone()
        if existing is not None and existing["expires_at"] > now:
            number = int(existing["number"])
            db.execute(
                "UPDATE vault SET expires_at = MAX(expires_at, ?)"
                " WHERE session = ? AND entity_type = ? AND number = ?",
                (expiry, session, request.entity_type, number),
            )
        else:
            row = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM vault"
                " WHERE session = ? AND entity_type = ?",
                (session, request.entity_type),
            ).fetchone()
            number = int(row[0]) if row is not None else 1
            db.execute(
                "INSERT INTO vault"
                " (session, entity_type, number, digest, sealed_value, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (session, entity_type, digest) DO UPDATE SET"
                " number = excluded.number, sealed_value = excluded.sealed_value,"
                " expires_at = excluded.expires_at",
                (
                    session,
                    request.entity_type,
                    number,
                    request.digest,
                    request.sealed_value,
                    expiry,
                ),
            )
        placeholders.append(format_placeholder(request.entity_type, number))
    return placeholders


def _delete(
    db: sqlite3.Connection,
    kind: RecordKind,
    condition: str,
    parameter: str | int,
    counts: dict[RecordKind, int],
) -> None:
    """Delete the rows of ``kind`` that meet ``condition``; add how many to ``counts``."""
    deleted = db.execute(f"DELETE FROM {_TABLES[kind]} WHERE {condition}", (parameter,)).rowcount
    if deleted > 0:
        counts[kind] = counts.get(kind, 0) + deleted


def _erase_session(db: sqlite3.Connection, session: str, counts: dict[RecordKind, int]) -> None:
    for kind in _SESSION_KINDS:
        _delete(db, kind, "session = ?", session, counts)
    _delete(db, RecordKind.CONSENTS, "subject = ?", session, counts)


# --- the store -------------------------------------------------------------------------


class SqliteStore(Store):
    """The :class:`~chatguard.store.base.Store` contract on one SQLite file.

    Several processes may open the same file (writes are serialised by SQLite's
    write lock, waiting up to ``busy_timeout`` seconds before
    ``StoreUnavailableError``); within a process each store has one connection on
    one thread of its own, and its operations run there one at a time, each in one
    hop from the event loop.
    """

    def __init__(self, url: str, clock: Clock, *, busy_timeout: float = 5.0) -> None:
        self._path = _path_from_url(url)
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._opening = asyncio.Lock()
        self._thread: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None  # used on self._thread only
        self._waiting: list[_WaitingWrite] = []
        self._waiting_lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (created if absent), set WAL and durable commits, and bring
        the schema up to date; ``StoreUnavailableError`` if the file cannot be opened,
        ``StoreError`` if its schema is newer than this chatguard."""
        async with self._opening:
            if self._db is not None:
                return
            thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatguard-sqlite")
            try:
                db = await asyncio.get_running_loop().run_in_executor(
                    thread, _translated, partial(_connect, self._path, self._busy_timeout)
                )
            except BaseException:
                thread.shutdown(wait=False)
                raise
            self._thread, self._db = thread, db

    async def close(self) -> None:
        """Close the connection once the calls already made have run; idempotent."""
        async with self._opening:
            thread, db = self._thread, self._db
            self._thread = self._db = None
            if thread is None or db is None:
                return
            try:
                await asyncio.get_running_loop().run_in_executor(thread, _translated, db.close)
            finally:
                thread.shutdown(wait=False)

    async def ping(self) -> None:
        """Return if the file answers a query, else raise ``StoreUnavailableError``."""
        await self._read("SELECT 1")

    # --- one hop to the store's thread -----------------------------------------------

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` as one job on the store's thread, errors translated."""
        thread, db = self._thread, self._db
        if thread is None or db is None:
            raise StoreUnavailableError("SQLite store is not open")
        return await asyncio.get_running_loop().run_in_executor(
            thread, _translated, partial(work, db)
        )

    async def _read(self, sql: str, *parameters: Any) -> list[sqlite3.Row]:
        """The rows of one query (outside a transaction: it sees committed data)."""
        return await self._call(partial(_rows, sql, parameters))

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in a write transaction, committed together with the writes that
        wait beside it (see the module's "Group commit"), in one hop."""
        thread, db = self._thread, self._db
        if thread is None or db is None:
            raise StoreUnavailableError("SQLite store is not open")
        write = _WaitingWrite(work)
        with self._waiting_lock:
            self._waiting.append(write)
        thread.submit(self._commit_waiting, db)
        result: T = await asyncio.wrap_future(write.outcome)
        return result

    def _commit_waiting(self, db: sqlite3.Connection) -> None:
        """On the store's thread: commit every write waiting now (none if an earlier
        call took them)."""
        with self._waiting_lock:
            writes, self._waiting = self._waiting, []
        _commit_together(db, writes)

    def _now(self) -> int:
        return _us(self._clock.now())

    # --- conversations ---------------------------------------------------------------

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert the conversation, or replace the one with the same ``session``."""
        row = _conversation_row(conversation)
        await self._write(lambda db: _save_conversation(db, row))

    async def get_conversation(self, session: str) -> Conversation | None:
        """The unexpired conversation under ``session``, or ``None``."""
        rows = await self._read(
            "SELECT * FROM conversations WHERE session = ? AND expires_at > ?",
            session,
            self._now(),
        )
        return _conversation(rows[0]) if rows else None

    async def conversations_of(self, user: str) -> list[Conversation]:
        """The user's unexpired conversations, oldest first (ties by session)."""
        rows = await self._read(
            "SELECT * FROM conversations WHERE user = ? AND expires_at > ?"
            " ORDER BY created_at, session",
            user,
            self._now(),
        )
        return [_conversation(row) for row in rows]

    async def conversation_by_reference(self, reference: str) -> Conversation | None:
        """The one unexpired conversation holding ``reference``, else ``None`` (also
        when two hold it); through the partial index on ``reference``."""
        rows = await self._read(
            "SELECT * FROM conversations WHERE reference = ? AND expires_at > ? LIMIT 2",
            reference,
            self._now(),
        )
        return _conversation(rows[0]) if len(rows) == 1 else None

    async def conversations_awaiting(self, until: datetime, limit: int) -> list[Conversation]:
        """Up to ``limit`` unexpired conversations due by ``until``, earliest deadline
        first (ties by session); through the partial index on ``awaiting_until``."""
        require_positive_limit(limit)
        rows = await self._read(
            "SELECT * FROM conversations"
            " WHERE awaiting_until IS NOT NULL AND awaiting_until <= ? AND expires_at > ?"
            " ORDER BY awaiting_until, session LIMIT ?",
            _us(until),
            self._now(),
            limit,
        )
        return [_conversation(row) for row in rows]

    async def update_dialogue(
        self,
        session: str,
        change: DialogueChange,
        *,
        expect_awaiting_since: datetime | Keep | None = KEEP,
    ) -> bool:
        """One ``UPDATE`` of the changed columns, conditioned on the expectation; the
        write lock serialises it with every other writer, other processes included."""
        changes = require_change(change)
        names = [name for name in DIALOGUE_FIELDS if name in changes]
        values = [_dialogue_value(changes[name]) for name in names]
        condition = "session = ? AND expires_at > ?"
        parameters: list[object] = [*values, session, self._now()]
        if expect_awaiting_since is not KEEP:
            condition += " AND awaiting_since IS ?"
            parameters.append(_optional_us(expect_awaiting_since))
        # Column names come from DIALOGUE_FIELDS, never from input.
        sql = (
            f"UPDATE conversations SET {', '.join(f'{name} = ?' for name in names)}"
            f" WHERE {condition}"
        )
        updated = await self._write(lambda db: db.execute(sql, parameters).rowcount)
        return bool(updated == 1)

    # --- transcripts -----------------------------------------------------------------

    async def append_event(self, event: TranscriptEvent) -> int:
        """Append ``event`` with the next sequence number of its conversation."""
        row = _event_row(event)
        return await self._write(lambda db: _append_event(db, row))

    async def record_event(
        self,
        event: TranscriptEvent,
        conversation: Conversation,
        *,
        delivery: Delivery | None = None,
    ) -> int | None:
        """Append ``event``, note the conversation's activity (inserting it when
        absent) and record ``delivery`` in one transaction; ``None`` (nothing written)
        when the delivery was recorded before and has not expired. The write lock,
        taken first, serialises the check with every other writer, other processes
        included."""
        require_one_session(event, conversation)
        event_row, conversation_row = _event_row(event), _conversation_row(conversation)
        delivery_row = (
            None if delivery is None else (delivery.key, event.session, _us(delivery.expires_at))
        )
        now = self._now()

        def record(db: sqlite3.Connection) -> int | None:
            if delivery_row is not None and not _record_delivery(db, delivery_row, now):
                return None
            seq = _append_event(db, event_row)
            _note_activity(db, conversation_row)
            return seq

        return await self._write(record)

    async def events(self, session: str) -> list[TranscriptEvent]:
        """The conversation's unexpired events in ``seq`` order."""
        rows = await self._read(
            "SELECT * FROM events WHERE session = ? AND expires_at > ? ORDER BY seq",
            session,
            self._now(),
        )
        return [_event(row) for row in rows]

    async def events_between(self, since: datetime, until: datetime) -> list[TranscriptEvent]:
        """Unexpired events with ``since <= at < until``, ordered by ``(at, session, seq)``."""
        rows = await self._read(
            "SELECT * FROM events WHERE at >= ? AND at < ? AND expires_at > ?"
            " ORDER BY at, session, seq",
            _us(since),
            _us(until),
            self._now(),
        )
        return [_event(row) for row in rows]

    # --- placeholder vault -----------------------------------------------------------

    async def assign_placeholders(
        self, session: str, requests: Sequence[VaultRequest], expires_at: datetime
    ) -> list[str]:
        """One placeholder per request, in order, in one transaction.

        An expired entry is never given out again: a request that matches one gets
        a fresh number and replaces the expired entry's sealed value and expiry.
        Numbers are never reused while an entry with that number is still held.
        """
        if not requests:
            return []
        expiry, now, wanted = _us(expires_at), self._now(), list(requests)
        return await self._write(lambda db: _assign_placeholders(db, session, wanted, expiry, now))

    async def vault_entries(
        self, session: str, placeholders: Collection[str] | None = None
    ) -> list[VaultEntry]:
        """The conversation's unexpired entries (only those ``placeholders``, when
        given), ordered by type and number."""
        rows = await self._read(
            "SELECT * FROM vault WHERE session = ? AND expires_at > ? ORDER BY entity_type, number",
            session,
            self._now(),
        )
        entries = [_vault_entry(row) for row in rows]
        if placeholders is None:
            return entries
        wanted = set(placeholders)
        return [entry for entry in entries if entry.placeholder in wanted]

    # --- identities ------------------------------------------------------------------

    async def save_identity(self, identity: Identity) -> None:
        """Insert or replace the identity of ``identity.user``."""
        row = (identity.user, identity.sealed_identity, _us(identity.expires_at))
        await self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO identities (user, sealed_identity, expires_at)"
                " VALUES (?, ?, ?)",
                row,
            )
        )

    async def get_identity(self, user: str) -> Identity | None:
        """The unexpired sealed identity behind ``user``, or ``None``."""
        rows = await self._read(
            "SELECT * FROM identities WHERE user = ? AND expires_at > ?", user, self._now()
        )
        if not rows:
            return None
        row = rows[0]
        return Identity(
            user=row["user"],
            sealed_identity=bytes(row["sealed_identity"]),
            expires_at=_dt(row["expires_at"]),
        )

    # --- consents --------------------------------------------------------------------

    async def append_consent(self, record: ConsentRecord) -> int:
        """Append a consent decision (its ``id`` is ignored); return the new id."""
        row = (
            record.subject,
            record.purpose,
            record.decision,
            _us(record.at),
            record.source,
            record.text_id,
            record.text_version,
            record.language,
            _us(record.expires_at),
        )
        return await self._write(
            lambda db: int(
                db.execute(
                    "INSERT INTO consents (subject, purpose, decision, at, source, text_id,"
                    " text_version, language, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                ).lastrowid
                or 0
            )
        )

    async def consents(self, subject: str) -> list[ConsentRecord]:
        """The subject's unexpired decisions, oldest first (ties by id)."""
        rows = await self._read(
            "SELECT * FROM consents WHERE subject = ? AND expires_at > ? ORDER BY at, id",
            subject,
            self._now(),
        )
        return [_consent(row) for row in rows]

    # --- quality samples -------------------------------------------------------------

    async def save_sample(self, sample: Sample) -> None:
        """Insert or replace the sample of ``sample.session``."""
        row = (sample.session, _us(sample.sampled_at), _us(sample.expires_at))
        await self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO samples (session, sampled_at, expires_at) VALUES (?, ?, ?)",
                row,
            )
        )

    async def samples(self) -> list[Sample]:
        """All unexpired samples, oldest first (ties by session)."""
        rows = await self._read(
            "SELECT * FROM samples WHERE expires_at > ? ORDER BY sampled_at, session",
            self._now(),
        )
        return [
            Sample(
                session=row["session"],
                sampled_at=_dt(row["sampled_at"]),
                expires_at=_dt(row["expires_at"]),
            )
            for row in rows
        ]

    async def delete_sample(self, session: str) -> bool:
        """Delete the conversation's sample; whether an unexpired one was there."""
        now = self._now()
        rows = await self._write(
            lambda db: db.execute(
                "DELETE FROM samples WHERE session = ? RETURNING expires_at", (session,)
            ).fetchall()
        )
        return any(row["expires_at"] > now for row in rows)

    # --- audit -----------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> int:
        """Append an audit entry (its ``id`` is ignored); return the new id."""
        row = (
            _us(entry.at),
            entry.action,
            json.dumps(entry.counts, sort_keys=True),
            entry.subject,
            entry.actor,
            entry.reason,
            _us(entry.expires_at),
        )
        return await self._write(
            lambda db: int(
                db.execute(
                    "INSERT INTO audit (at, action, counts, subject, actor, reason, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                ).lastrowid
                or 0
            )
        )

    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Unexpired audit entries with ``at >= since`` (all when ``None``), oldest
        first (ties by id)."""
        if since is None:
            rows = await self._read(
                "SELECT * FROM audit WHERE expires_at > ? ORDER BY at, id", self._now()
            )
        else:
            rows = await self._read(
                "SELECT * FROM audit WHERE at >= ? AND expires_at > ? ORDER BY at, id",
                _us(since),
                self._now(),
            )
        return [_audit_entry(row) for row in rows]

    # --- retention and erasure -------------------------------------------------------

    async def sweep(self, now: datetime) -> dict[RecordKind, int]:
        """Delete every record with ``expires_at <= now`` in one transaction; return
        the non-zero counts per kind. Concurrent sweeps (other processes included)
        are serialised by the write lock, so each record is counted once."""
        cutoff = _us(now)

        def delete_expired(db: sqlite3.Connection) -> dict[RecordKind, int]:
            counts: dict[RecordKind, int] = {}
            for kind in _TABLES:
                _delete(db, kind, "expires_at <= ?", cutoff, counts)
            return counts

        return await self._write(delete_expired)

    async def erase_session(self, session: str) -> dict[RecordKind, int]:
        """Delete the conversation, its transcript, vault, sample and deliveries, and
        the consents whose subject is ``session``, in one transaction; return the
        non-zero counts per kind (expired records not yet swept included)."""

        def erase(db: sqlite3.Connection) -> dict[RecordKind, int]:
            counts: dict[RecordKind, int] = {}
            _erase_session(db, session, counts)
            return counts

        return await self._write(erase)

    async def erase_user(self, user: str) -> dict[RecordKind, int]:
        """``erase_session`` for each of the user's conversations (expired ones
        included), plus the identity and the user's consents, in one transaction."""

        def erase(db: sqlite3.Connection) -> dict[RecordKind, int]:
            counts: dict[RecordKind, int] = {}
            rows = db.execute("SELECT session FROM conversations WHERE user = ?", (user,))
            for session in [str(row["session"]) for row in rows.fetchall()]:
                _erase_session(db, session, counts)
            _delete(db, RecordKind.IDENTITIES, "user = ?", user, counts)
            _delete(db, RecordKind.CONSENTS, "subject = ?", user, counts)
            return counts

        return await self._write(erase)
