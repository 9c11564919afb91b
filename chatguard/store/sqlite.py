"""The embedded default store: one SQLite file through aiosqlite.

Durability: WAL journal with ``synchronous=FULL``, so a write is on disk when its
coroutine returns; every write is one transaction (``BEGIN IMMEDIATE``, which takes
the write lock up front, so read-modify-writes such as sequence numbers and
placeholder numbering are serialised between processes too). Times are stored as
UTC epoch microseconds (sortable integers) and come back as aware UTC datetimes.
Expiry: reads filter on ``expires_at > now``; ``sweep`` deletes, using an index on
``expires_at`` per table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from chatguard.clock import Clock
from chatguard.errors import ConfigurationError, StoreError, StoreUnavailableError
from chatguard.redact.vault import format_placeholder
from chatguard.store.base import Store
from chatguard.store.records import (
    AuditEntry,
    Author,
    ConsentRecord,
    Conversation,
    Direction,
    EventKind,
    Identity,
    RecordKind,
    Sample,
    TranscriptEvent,
    VaultEntry,
    VaultRequest,
)

__all__ = ["SqliteStore"]

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
)

# The table that holds each record kind, in the order sweep and erasure report them.
_TABLES: dict[RecordKind, str] = {
    RecordKind.CONVERSATIONS: "conversations",
    RecordKind.TRANSCRIPTS: "events",
    RecordKind.VAULT: "vault",
    RecordKind.IDENTITIES: "identities",
    RecordKind.CONSENTS: "consents",
    RecordKind.SAMPLES: "samples",
    RecordKind.AUDIT: "audit",
}

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


def _try_open(path: str) -> None:
    """Open and close ``path``; raises what opening it raises."""
    sqlite3.connect(path).close()


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


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        session=row["session"],
        channel=row["channel"],
        user=row["user"],
        created_at=_dt(row["created_at"]),
        last_activity=_dt(row["last_activity"]),
        expires_at=_dt(row["expires_at"]),
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


class SqliteStore(Store):
    """The :class:`~chatguard.store.base.Store` contract on one SQLite file.

    Several processes may open the same file (writes are serialised by SQLite's
    write lock, waiting up to ``busy_timeout`` seconds before
    ``StoreUnavailableError``); within a process one connection is shared and its
    operations run one at a time.
    """

    def __init__(self, url: str, clock: Clock, *, busy_timeout: float = 5.0) -> None:
        self._path = _path_from_url(url)
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._lock = asyncio.Lock()
        self._db: aiosqlite.Connection | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (created if absent), set WAL and durable commits, and bring
        the schema up to date; ``StoreUnavailableError`` if the file cannot be opened."""
        async with self._lock:
            if self._db is not None:
                return
            with _translated_errors():
                # Fail here, in a plain thread, if the file cannot be opened: a failed
                # aiosqlite.connect leaves its worker thread to report to the loop later.
                await asyncio.to_thread(_try_open, self._path)
                db = await aiosqlite.connect(
                    self._path, timeout=self._busy_timeout, isolation_level=None
                )
                try:
                    db.row_factory = sqlite3.Row
                    await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                    await db.execute("PRAGMA journal_mode = WAL")
                    await db.execute("PRAGMA synchronous = FULL")
                    await db.execute("PRAGMA foreign_keys = ON")
                    await self._migrate(db)
                except BaseException:
                    await db.close()
                    raise
            self._db = db

    @staticmethod
    async def _migrate(db: aiosqlite.Connection) -> None:
        await db.execute("BEGIN IMMEDIATE")
        try:
            await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            async with db.execute("SELECT MAX(version) FROM schema_version") as cursor:
                row = await cursor.fetchone()
            current = int(row[0]) if row is not None and row[0] is not None else 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"SQLite store has schema version {current}, newer than this chatguard "
                    f"({len(MIGRATIONS)})"
                )
            for version in range(current, len(MIGRATIONS)):
                for statement in MIGRATIONS[version]:
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")

    async def close(self) -> None:
        """Close the connection; idempotent."""
        async with self._lock:
            db, self._db = self._db, None
            if db is not None:
                with _translated_errors():
                    await db.close()

    async def ping(self) -> None:
        """Return if the file answers a query, else raise ``StoreUnavailableError``."""
        async with self._read() as db:
            await db.execute("SELECT 1")

    # --- transactions ----------------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreUnavailableError("SQLite store is not open")
        return self._db

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for reads, exclusive to the caller meanwhile (so that no
        read sees another task's uncommitted write)."""
        async with self._lock:
            db = self._connection()
            with _translated_errors():
                yield db

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction holding SQLite's write lock from its start;
        committed on normal exit, rolled back on any exception (a failed commit
        included)."""
        async with self._lock:
            db = self._connection()
            with _translated_errors():
                await db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await db.execute("ROLLBACK")
                    raise

    async def _rows(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._read() as db, db.execute(sql, tuple(parameters)) as cursor:
            return list(await cursor.fetchall())

    def _now(self) -> int:
        return _us(self._clock.now())

    # --- conversations ---------------------------------------------------------------

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert the conversation, or replace the one with the same ``session``."""
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO conversations"
                " (session, channel, user, created_at, last_activity, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation.session,
                    conversation.channel,
                    conversation.user,
                    _us(conversation.created_at),
                    _us(conversation.last_activity),
                    _us(conversation.expires_at),
                ),
            )

    async def get_conversation(self, session: str) -> Conversation | None:
        """The unexpired conversation under ``session``, or ``None``."""
        rows = await self._rows(
            "SELECT * FROM conversations WHERE session = ? AND expires_at > ?",
            (session, self._now()),
        )
        return _conversation(rows[0]) if rows else None

    async def conversations_of(self, user: str) -> list[Conversation]:
        """The user's unexpired conversations, oldest first (ties by session)."""
        rows = await self._rows(
            "SELECT * FROM conversations WHERE user = ? AND expires_at > ?"
            " ORDER BY created_at, session",
            (user, self._now()),
        )
        return [_conversation(row) for row in rows]

    # --- transcripts -----------------------------------------------------------------

    async def append_event(self, event: TranscriptEvent) -> int:
        """Append ``event`` with the next sequence number of its conversation."""
        async with self._write() as db:
            async with db.execute(
                "INSERT INTO events"
                " (session, seq, at, direction, author, kind, feedback, text, expires_at)"
                " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?"
                " FROM events WHERE session = ? RETURNING seq",
                (
                    event.session,
                    _us(event.at),
                    event.direction.value,
                    event.author.value,
                    event.kind.value,
                    event.feedback,
                    event.text,
                    _us(event.expires_at),
                    event.session,
                ),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:  # pragma: no cover - RETURNING always yields the new row
                raise StoreError("SQLite store did not return the new event's sequence number")
            return int(row[0])

    async def events(self, session: str) -> list[TranscriptEvent]:
        """The conversation's unexpired events in ``seq`` order."""
        rows = await self._rows(
            "SELECT * FROM events WHERE session = ? AND expires_at > ? ORDER BY seq",
            (session, self._now()),
        )
        return [_event(row) for row in rows]

    async def events_between(self, since: datetime, until: datetime) -> list[TranscriptEvent]:
        """Unexpired events with ``since <= at < until``, ordered by ``(at, session, seq)``."""
        rows = await self._rows(
            "SELECT * FROM events WHERE at >= ? AND at < ? AND expires_at > ?"
            " ORDER BY at, session, seq",
            (_us(since), _us(until), self._now()),
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
        expiry = _us(expires_at)
        async with self._write() as db:
            now = self._now()
            placeholders: list[str] = []
            for request in requests:
                async with db.execute(
                    "SELECT number, expires_at FROM vault"
                    " WHERE session = ? AND entity_type = ? AND digest = ?",
                    (session, request.entity_type, request.digest),
                ) as cursor:
                    existing = await cursor.fetchone()
                if existing is not None and existing["expires_at"] > now:
                    number = int(existing["number"])
                    await db.execute(
                        "UPDATE vault SET expires_at = MAX(expires_at, ?)"
                        " WHERE session = ? AND entity_type = ? AND number = ?",
                        (expiry, session, request.entity_type, number),
                    )
                else:
                    async with db.execute(
                        "SELECT COALESCE(MAX(number), 0) + 1 FROM vault"
                        " WHERE session = ? AND entity_type = ?",
                        (session, request.entity_type),
                    ) as cursor:
                        row = await cursor.fetchone()
                    number = int(row[0]) if row is not None else 1
                    await db.execute(
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

    async def vault_entries(
        self, session: str, placeholders: Collection[str] | None = None
    ) -> list[VaultEntry]:
        """The conversation's unexpired entries (only those ``placeholders``, when
        given), ordered by type and number."""
        rows = await self._rows(
            "SELECT * FROM vault WHERE session = ? AND expires_at > ? ORDER BY entity_type, number",
            (session, self._now()),
        )
        entries = [_vault_entry(row) for row in rows]
        if placeholders is None:
            return entries
        wanted = set(placeholders)
        return [entry for entry in entries if entry.placeholder in wanted]

    # --- identities ------------------------------------------------------------------

    async def save_identity(self, identity: Identity) -> None:
        """Insert or replace the identity of ``identity.user``."""
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO identities (user, sealed_identity, expires_at)"
                " VALUES (?, ?, ?)",
                (identity.user, identity.sealed_identity, _us(identity.expires_at)),
            )

    async def get_identity(self, user: str) -> Identity | None:
        """The unexpired sealed identity behind ``user``, or ``None``."""
        rows = await self._rows(
            "SELECT * FROM identities WHERE user = ? AND expires_at > ?", (user, self._now())
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
        async with (
            self._write() as db,
            db.execute(
                "INSERT INTO consents (subject, purpose, decision, at, source, text_id,"
                " text_version, language, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.subject,
                    record.purpose,
                    record.decision,
                    _us(record.at),
                    record.source,
                    record.text_id,
                    record.text_version,
                    record.language,
                    _us(record.expires_at),
                ),
            ) as cursor,
        ):
            return int(cursor.lastrowid or 0)

    async def consents(self, subject: str) -> list[ConsentRecord]:
        """The subject's unexpired decisions, oldest first (ties by id)."""
        rows = await self._rows(
            "SELECT * FROM consents WHERE subject = ? AND expires_at > ? ORDER BY at, id",
            (subject, self._now()),
        )
        return [_consent(row) for row in rows]

    # --- quality samples -------------------------------------------------------------

    async def save_sample(self, sample: Sample) -> None:
        """Insert or replace the sample of ``sample.session``."""
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO samples (session, sampled_at, expires_at) VALUES (?, ?, ?)",
                (sample.session, _us(sample.sampled_at), _us(sample.expires_at)),
            )

    async def samples(self) -> list[Sample]:
        """All unexpired samples, oldest first (ties by session)."""
        rows = await self._rows(
            "SELECT * FROM samples WHERE expires_at > ? ORDER BY sampled_at, session",
            (self._now(),),
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
        async with self._write() as db:
            async with db.execute(
                "DELETE FROM samples WHERE session = ? RETURNING expires_at", (session,)
            ) as cursor:
                rows = await cursor.fetchall()
            now = self._now()
            return any(row["expires_at"] > now for row in rows)

    # --- audit -----------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> int:
        """Append an audit entry (its ``id`` is ignored); return the new id."""
        async with (
            self._write() as db,
            db.execute(
                "INSERT INTO audit (at, action, counts, subject, actor, reason, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _us(entry.at),
                    entry.action,
                    json.dumps(entry.counts, sort_keys=True),
                    entry.subject,
                    entry.actor,
                    entry.reason,
                    _us(entry.expires_at),
                ),
            ) as cursor,
        ):
            return int(cursor.lastrowid or 0)

    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Unexpired audit entries with ``at >= since`` (all when ``None``), oldest
        first (ties by id)."""
        if since is None:
            rows = await self._rows(
                "SELECT * FROM audit WHERE expires_at > ? ORDER BY at, id", (self._now(),)
            )
        else:
            rows = await self._rows(
                "SELECT * FROM audit WHERE at >= ? AND expires_at > ? ORDER BY at, id",
                (_us(since), self._now()),
            )
        return [_audit_entry(row) for row in rows]

    # --- retention and erasure -------------------------------------------------------

    async def sweep(self, now: datetime) -> dict[RecordKind, int]:
        """Delete every record with ``expires_at <= now`` in one transaction; return
        the non-zero counts per kind. Concurrent sweeps (other processes included)
        are serialised by the write lock, so each record is counted once."""
        cutoff = _us(now)
        counts: dict[RecordKind, int] = {}
        async with self._write() as db:
            for kind, table in _TABLES.items():
                sql = f"DELETE FROM {table} WHERE expires_at <= ?"
                async with db.execute(sql, (cutoff,)) as cursor:
                    if cursor.rowcount > 0:
                        counts[kind] = cursor.rowcount
        return counts

    async def erase_session(self, session: str) -> dict[RecordKind, int]:
        """Delete the conversation, its transcript, vault and sample, and the
        consents whose subject is ``session``, in one transaction; return the
        non-zero counts per kind (expired records not yet swept included)."""
        counts: dict[RecordKind, int] = {}
        async with self._write() as db:
            await self._erase_session(db, session, counts)
        return counts

    async def erase_user(self, user: str) -> dict[RecordKind, int]:
        """``erase_session`` for each of the user's conversations (expired ones
        included), plus the identity and the user's consents, in one transaction."""
        counts: dict[RecordKind, int] = {}
        async with self._write() as db:
            async with db.execute("SELECT session FROM conversations WHERE user = ?", (user,)) as c:
                sessions = [str(row["session"]) for row in await c.fetchall()]
            for session in sessions:
                await self._erase_session(db, session, counts)
            await self._delete(db, RecordKind.IDENTITIES, "user = ?", user, counts)
            await self._delete(db, RecordKind.CONSENTS, "subject = ?", user, counts)
        return counts

    async def _erase_session(
        self, db: aiosqlite.Connection, session: str, counts: dict[RecordKind, int]
    ) -> None:
        for kind in (
            RecordKind.CONVERSATIONS,
            RecordKind.TRANSCRIPTS,
            RecordKind.VAULT,
            RecordKind.SAMPLES,
        ):
            await self._delete(db, kind, "session = ?", session, counts)
        await self._delete(db, RecordKind.CONSENTS, "subject = ?", session, counts)

    @staticmethod
    async def _delete(
        db: aiosqlite.Connection,
        kind: RecordKind,
        condition: str,
        value: str,
        counts: dict[RecordKind, int],
    ) -> None:
        sql = f"DELETE FROM {_TABLES[kind]} WHERE {condition}"
        async with db.execute(sql, (value,)) as cursor:
            if cursor.rowcount > 0:
                counts[kind] = counts.get(kind, 0) + cursor.rowcount
