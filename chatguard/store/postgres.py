"""PostgreSQL behind the ``Store`` interface, through an asyncpg pool.

Several chatguard processes may share one database (and one schema):

* The schema is created and migrated by ``open()``: the scripts in ``MIGRATIONS``
  newer than the highest version in ``schema_version`` run in one transaction under
  a transaction-scoped advisory lock, so processes starting at once migrate once and
  the others find the work done.
* Transcript sequence numbers come from a counter row per conversation
  (``event_counters``), incremented by ``INSERT ... ON CONFLICT DO UPDATE ...
  RETURNING`` in the same statement that inserts the event: the row lock queues
  concurrent appends, and a failed append rolls its number back with it, so numbers
  have neither gaps nor duplicates.
* Placeholder numbers come from a counter row per conversation and entity type
  (``vault_counters``). An assignment locks the rows of its types (in one order for
  every caller) before it looks for known values, so a value never gets two
  placeholders and a number is never given twice.
* ``record_event`` is one statement (so one round trip and one implicit
  transaction): the delivery's row (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``
  the held one has expired) decides whether the event's and the conversation's
  inserts run at all. A concurrent insert of the same key waits for the first
  one's row lock and then finds it held, so exactly one of them writes. A held
  conversation only has its activity and expiry moved.
* ``update_dialogue`` is one ``UPDATE ... WHERE awaiting_since IS NOT DISTINCT FROM``
  the expected time: a second update of the row waits for the first one's row lock
  and then re-checks the condition on the new row (READ COMMITTED), so of two
  compare-and-sets on one question exactly one matches.
* Every table has an index on ``expires_at``; reads pass the injected clock's time
  and skip what has expired, ``sweep`` deletes it with ``DELETE ... RETURNING`` (a
  row deleted by a concurrent sweeper is not counted again).

Errors: failures to reach the server raise ``StoreUnavailableError``, any other
asyncpg failure ``StoreError``; their messages name the operation and PostgreSQL's
error class, never the server's text (which may quote stored rows).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

import asyncpg

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

__all__ = ["MIGRATIONS", "Migration", "PostgresStore"]

T = TypeVar("T")

# A lower-case SQL identifier: no quoting rules to get wrong in search_path or DDL.
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_CONNECT_TIMEOUT_S: Final = 10.0
_ACQUIRE_TIMEOUT_S: Final = 10.0
_CLOSE_TIMEOUT_S: Final = 10.0
_ATTEMPTS: Final = 5  # a transaction that lost a deadlock is tried again this often

# Errors that mean "the server cannot be reached or is going away", not "the request
# was wrong": the pipeline fails closed on them and may try again later.
_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError included
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# Transactions the server aborted to resolve a conflict; nothing was written.
_RETRYABLE: Final[tuple[type[BaseException], ...]] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: ``script`` takes version ``version - 1`` to ``version``.

    Scripts are applied in order, each once, and never edited once released: a change
    to the schema is a new migration at the end of ``MIGRATIONS``.
    """

    version: int
    description: str
    script: str


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "conversations, transcripts, vault, identities, consents, samples, audit",
        """
        CREATE TABLE conversations (
            session        text PRIMARY KEY,
            channel        text NOT NULL,
            user_pseudonym text,
            created_at     timestamptz NOT NULL,
            last_activity  timestamptz NOT NULL,
            expires_at     timestamptz NOT NULL
        );
        CREATE INDEX conversations_user_idx ON conversations (user_pseudonym, created_at);
        CREATE INDEX conversations_expires_at_idx ON conversations (expires_at);

        -- The last sequence number given in each conversation; its expiry is the
        -- latest of its events', so it goes when the last of them goes.
        CREATE TABLE event_counters (
            session    text PRIMARY KEY,
            last_seq   bigint NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX event_counters_expires_at_idx ON event_counters (expires_at);

        CREATE TABLE events (
            session    text NOT NULL,
            seq        bigint NOT NULL,
            at         timestamptz NOT NULL,
            direction  text NOT NULL,
            author     text NOT NULL,
            kind       text NOT NULL,
            text       text NOT NULL,
            feedback   text,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (session, seq)
        );
        CREATE INDEX events_at_idx ON events (at, session, seq);
        CREATE INDEX events_expires_at_idx ON events (expires_at);

        -- The highest placeholder number given per conversation and entity type;
        -- its expiry is the latest of its entries'.
        CREATE TABLE vault_counters (
            session     text NOT NULL,
            entity_type text NOT NULL,
            last_number integer NOT NULL,
            expires_at  timestamptz NOT NULL,
            PRIMARY KEY (session, entity_type)
        );
        CREATE INDEX vault_counters_expires_at_idx ON vault_counters (expires_at);

        CREATE TABLE vault (
            session      text NOT NULL,
            placeholder  text NOT NULL,
            entity_type  text NOT NULL,
            number       integer NOT NULL,
            digest       text NOT NULL,
            sealed_value bytea NOT NULL,
            expires_at   timestamptz NOT NULL,
            PRIMARY KEY (session, placeholder),
            UNIQUE (session, entity_type, digest)
        );
        CREATE INDEX vault_expires_at_idx ON vault (expires_at);

        CREATE TABLE identities (
            user_pseudonym  text PRIMARY KEY,
            sealed_identity bytea NOT NULL,
            expires_at      timestamptz NOT NULL
        );
        CREATE INDEX identities_expires_at_idx ON identities (expires_at);

        CREATE TABLE consents (
            id           bigserial PRIMARY KEY,
            subject      text NOT NULL,
            purpose      text NOT NULL,
            decision     text NOT NULL,
            at           timestamptz NOT NULL,
            source       text NOT NULL,
            text_id      text NOT NULL,
            text_version text NOT NULL,
            language     text NOT NULL,
            expires_at   timestamptz NOT NULL
        );
        CREATE INDEX consents_subject_idx ON consents (subject, at, id);
        CREATE INDEX consents_expires_at_idx ON consents (expires_at);

        CREATE TABLE samples (
            session    text PRIMARY KEY,
            sampled_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX samples_expires_at_idx ON samples (expires_at);

        CREATE TABLE audit (
            id         bigserial PRIMARY KEY,
            at         timestamptz NOT NULL,
            action     text NOT NULL,
            counts     jsonb NOT NULL,
            subject    text,
            actor      text,
            reason     text,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX audit_at_idx ON audit (at, id);
        CREATE INDEX audit_expires_at_idx ON audit (expires_at);
        """,
    ),
    Migration(
        2,
        "deliveries",
        """
        -- The keyed digest of each channel message recorded (record_event), so that
        -- a redelivery is recognised until expires_at.
        CREATE TABLE deliveries (
            key        text PRIMARY KEY,
            session    text NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX deliveries_session_idx ON deliveries (session);
        CREATE INDEX deliveries_expires_at_idx ON deliveries (expires_at);
        """,
    ),
    Migration(
        3,
        "the dialogue's state of a conversation: language, hand-over, awaiting, reference",
        """
        ALTER TABLE conversations
            ADD COLUMN language       text,
            ADD COLUMN handed_over_at timestamptz,
            ADD COLUMN awaiting       text,
            ADD COLUMN awaiting_since timestamptz,
            ADD COLUMN awaiting_until timestamptz,
            ADD COLUMN reference      text;
        CREATE INDEX conversations_reference_idx ON conversations (reference)
            WHERE reference IS NOT NULL;
        CREATE INDEX conversations_awaiting_idx ON conversations (awaiting_until, session)
            WHERE awaiting_until IS NOT NULL;
        -- Conversations handed over before the column existed carry the mark as a
        -- system event of their transcript (chatguard.handover.HANDED_OVER).
        UPDATE conversations AS c SET handed_over_at = e.first_at
        FROM (
            SELECT session, min(at) AS first_at FROM events
            WHERE author = 'system' AND text = 'handed over to a live agent'
            GROUP BY session
        ) AS e
        WHERE e.session = c.session;
        """,
    ),
)

# What sweep and erasure delete, in this order: a counter before the rows it numbers,
# so that an append or assignment waiting on the counter's lock finds both gone.
_SWEPT_TABLES: Final[tuple[tuple[str, RecordKind | None], ...]] = (
    ("event_counters", None),
    ("events", RecordKind.TRANSCRIPTS),
    ("vault_counters", None),
    ("vault", RecordKind.VAULT),
    ("samples", RecordKind.SAMPLES),
    ("deliveries", RecordKind.DELIVERIES),
    ("conversations", RecordKind.CONVERSATIONS),
    ("identities", RecordKind.IDENTITIES),
    ("consents", RecordKind.CONSENTS),
    ("audit", RecordKind.AUDIT),
)
# The tables keyed by a session pseudonym, in the same order.
_SESSION_TABLES: Final[tuple[tuple[str, RecordKind | None], ...]] = (
    ("event_counters", None),
    ("events", RecordKind.TRANSCRIPTS),
    ("vault_counters", None),
    ("vault", RecordKind.VAULT),
    ("samples", RecordKind.SAMPLES),
    ("deliveries", RecordKind.DELIVERIES),
    ("conversations", RecordKind.CONVERSATIONS),
)

_CONVERSATION_COLUMNS: Final = (
    "session, channel, user_pseudonym, created_at, last_activity, expires_at, language,"
    " handed_over_at, awaiting, awaiting_since, awaiting_until, reference"
)
# Every column of a conversation but ``session``: what an insert of one replaces.
_CONVERSATION_UPDATE: Final = ", ".join(
    f"{column} = EXCLUDED.{column}"
    for column in _CONVERSATION_COLUMNS.replace(" ", "").split(",")[1:]
)
_EVENT_COLUMNS: Final = "session, seq, at, direction, author, kind, text, feedback, expires_at"
_CONSENT_COLUMNS: Final = (
    "id, subject, purpose, decision, at, source, text_id, text_version, language, expires_at"
)
_AUDIT_COLUMNS: Final = "id, at, action, counts, subject, actor, reason, expires_at"


# An event appended with the next number of its conversation, ``SELECT seq FROM
# event`` its number. $1-$8: the event (``_event_args``); the counter (and so the
# event) is written only when ``{condition}`` holds.
_APPEND_EVENT_CTES: Final = f"""
counter AS (
    INSERT INTO event_counters AS c (session, last_seq, expires_at)
    SELECT $1, 1, $8 WHERE {{condition}}
    ON CONFLICT (session) DO UPDATE SET last_seq = c.last_seq + 1,
    expires_at = GREATEST(c.expires_at, EXCLUDED.expires_at)
    RETURNING last_seq
), event AS (
    INSERT INTO events ({_EVENT_COLUMNS})
    SELECT $1, last_seq, $2, $3, $4, $5, $6, $7, $8 FROM counter
    RETURNING seq
)"""
_APPEND_EVENT: Final = f"WITH {_APPEND_EVENT_CTES.format(condition='true')} SELECT seq FROM event"

# record_event's one statement. $1-$8: the event; $9-$19: the conversation but its
# session (``_conversation_args``); $20, $21: the delivery's key and expiry (NULL:
# none); $22: now. Each insert runs only when the one before it returned a row; the
# delivery's runs only with a key, and yields a row only when no unexpired delivery
# holds the key. A held conversation keeps every field but its activity and expiry.
_RECORD_EVENT: Final = f"""
WITH delivery AS (
    INSERT INTO deliveries AS d (key, session, expires_at)
    SELECT $20::text, $1, $21::timestamptz WHERE $20::text IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET session = EXCLUDED.session, expires_at = EXCLUDED.expires_at
    WHERE d.expires_at <= $22
    RETURNING 1
), {_APPEND_EVENT_CTES.format(condition="$20::text IS NULL OR EXISTS (SELECT FROM delivery)")},
conversation AS (
    INSERT INTO conversations AS c ({_CONVERSATION_COLUMNS})
    SELECT $1, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19
    WHERE EXISTS (SELECT FROM event)
    ON CONFLICT (session) DO UPDATE SET
    last_activity = GREATEST(c.last_activity, EXCLUDED.last_activity),
    expires_at = GREATEST(c.expires_at, EXCLUDED.expires_at)
)
SELECT seq FROM event
"""


def _migration_lock_key(schema: str) -> int:
    """The advisory lock that serialises migrations of one schema (a signed 64-bit int)."""
    digest = hashlib.sha256(f"chatguard.migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresStore(Store):
    """The state of chatguard in a PostgreSQL schema, shared safely by several processes.

    ``url`` is an asyncpg DSN (``postgresql://user@host:port/db``); ``schema`` is the
    schema that holds the tables (a lower-case SQL identifier, created if missing);
    ``clock`` decides what has expired for reads. The store keeps the contract of
    :class:`~chatguard.store.base.Store`.
    """

    def __init__(self, url: str, clock: Clock, schema: str = "chatguard") -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(
                "store schema: must be a lower-case SQL identifier "
                "(letters, digits and underscores, at most 63 characters)"
            )
        self._url = url
        self._clock = clock
        self._schema = schema
        self._pool: Any = None  # asyncpg.Pool once open
        self._opening = asyncio.Lock()  # one pool even when open() is awaited twice at once

    @property
    def schema(self) -> str:
        """The schema that holds this store's tables."""
        return self._schema

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, create the schema if missing and apply the migrations it lacks.

        Idempotent; safe when several processes open the same schema at once (one of
        them migrates, the others wait for it and find the schema up to date).
        """
        async with self._opening:
            if self._pool is not None:
                return
            with _mapped_errors("open"):
                pool = await asyncpg.create_pool(
                    self._url,
                    min_size=1,
                    max_size=10,
                    timeout=_CONNECT_TIMEOUT_S,
                    server_settings={"search_path": self._schema, "application_name": "chatguard"},
                )
            try:
                with _mapped_errors("migrate"):
                    async with pool.acquire(timeout=_ACQUIRE_TIMEOUT_S) as conn:
                        await self._migrate(conn)
            except BaseException:
                await _close_pool(pool)
                raise
            self._pool = pool

    async def _migrate(self, conn: Any) -> None:
        """Bring the schema to the last version of ``MIGRATIONS`` in one transaction."""
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1)", _migration_lock_key(self._schema)
            )
            # The schema name is a validated identifier (see __init__).
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{self._schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY,"
                " description text NOT NULL,"
                " applied_at timestamptz NOT NULL)"
            )
            current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                await conn.execute(migration.script)
                await conn.execute(
                    "INSERT INTO schema_version (version, description, applied_at)"
                    " VALUES ($1, $2, $3)",
                    migration.version,
                    migration.description,
                    self._clock.now(),
                )

    async def close(self) -> None:
        """Close the pool's connections; idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await _close_pool(pool)

    async def ping(self) -> None:
        """Return if the server answers, else raise ``StoreUnavailableError``."""
        try:
            await self._fetchval("ping", "SELECT 1")
        except StoreUnavailableError:
            raise
        except StoreError as exc:
            raise StoreUnavailableError("PostgreSQL store: ping failed") from exc

    # --- conversations ---------------------------------------------------------------

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert the conversation, or replace the one with the same ``session``."""
        await self._execute(
            "save_conversation",
            f"INSERT INTO conversations ({_CONVERSATION_COLUMNS})"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            f" ON CONFLICT (session) DO UPDATE SET {_CONVERSATION_UPDATE}",
            conversation.session,
            *_conversation_args(conversation),
        )

    async def get_conversation(self, session: str) -> Conversation | None:
        """The unexpired conversation under ``session``, or ``None``."""
        rows = await self._fetch(
            "get_conversation",
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE session = $1 AND expires_at > $2",
            session,
            self._clock.now(),
        )
        return _conversation(rows[0]) if rows else None

    async def conversations_of(self, user: str) -> list[Conversation]:
        """The unexpired conversations of a channel-user pseudonym, oldest first."""
        rows = await self._fetch(
            "conversations_of",
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE user_pseudonym = $1 AND expires_at > $2 ORDER BY created_at, session",
            user,
            self._clock.now(),
        )
        return [_conversation(row) for row in rows]

    async def conversation_by_reference(self, reference: str) -> Conversation | None:
        """The one unexpired conversation holding ``reference``, else ``None`` (also
        when two hold it); through the partial index on ``reference``."""
        rows = await self._fetch(
            "conversation_by_reference",
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE reference = $1 AND expires_at > $2 LIMIT 2",
            reference,
            self._clock.now(),
        )
        return _conversation(rows[0]) if len(rows) == 1 else None

    async def conversations_awaiting(self, until: datetime, limit: int) -> list[Conversation]:
        """Up to ``limit`` unexpired conversations due by ``until``, earliest deadline
        first (ties by session); through the partial index on ``awaiting_until``."""
        require_positive_limit(limit)
        rows = await self._fetch(
            "conversations_awaiting",
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE awaiting_until IS NOT NULL AND awaiting_until <= $1 AND expires_at > $2"
            " ORDER BY awaiting_until, session LIMIT $3",
            until,
            self._clock.now(),
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
        """One ``UPDATE`` of the changed columns, conditioned on the expectation (see
        the module's promises: of concurrent compare-and-sets exactly one matches)."""
        changes = require_change(change)
        names = [name for name in DIALOGUE_FIELDS if name in changes]
        args: list[object] = [session, self._clock.now(), *(changes[name] for name in names)]
        # Column names come from DIALOGUE_FIELDS, never from input.
        assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(names, 3))
        condition = "session = $1 AND expires_at > $2"
        if expect_awaiting_since is not KEEP:
            args.append(expect_awaiting_since)
            condition += f" AND awaiting_since IS NOT DISTINCT FROM ${len(args)}::timestamptz"
        updated = await self._fetchval(
            "update_dialogue",
            f"WITH changed AS (UPDATE conversations SET {assignments} WHERE {condition}"
            " RETURNING 1) SELECT count(*) FROM changed",
            *args,
        )
        return bool(updated == 1)

    # --- transcripts -----------------------------------------------------------------

    async def append_event(self, event: TranscriptEvent) -> int:
        """Append ``event`` and return its sequence number (1, 2, ... per conversation,
        without gaps or duplicates under concurrent appends from several processes)."""
        # One statement, so one implicit transaction: the counter's row lock queues
        # concurrent appends, and a failed insert takes its number back with it.
        seq = await self._fetchval("append_event", _APPEND_EVENT, *_event_args(event))
        return int(seq)

    async def record_event(
        self,
        event: TranscriptEvent,
        conversation: Conversation,
        *,
        delivery: Delivery | None = None,
    ) -> int | None:
        """Append ``event``, note the conversation's activity (inserting it when
        absent) and record ``delivery`` in one statement; ``None`` (nothing written)
        when the delivery was recorded before and has not expired. Numbers as
        ``append_event``; of concurrent calls with one key, from any process, exactly
        one writes."""
        require_one_session(event, conversation)
        seq = await self._fetchval(
            "record_event",
            _RECORD_EVENT,
            *_event_args(event),
            *_conversation_args(conversation),
            None if delivery is None else delivery.key,
            None if delivery is None else delivery.expires_at,
            self._clock.now(),
        )
        return None if seq is None else int(seq)

    async def events(self, session: str) -> list[TranscriptEvent]:
        """The conversation's unexpired events in ``seq`` order."""
        rows = await self._fetch(
            "events",
            f"SELECT {_EVENT_COLUMNS} FROM events"
            " WHERE session = $1 AND expires_at > $2 ORDER BY seq",
            session,
            self._clock.now(),
        )
        return [_event(row) for row in rows]

    async def events_between(self, since: datetime, until: datetime) -> list[TranscriptEvent]:
        """Every conversation's unexpired events with ``since <= at < until``, ordered by
        ``(at, session, seq)``."""
        rows = await self._fetch(
            "events_between",
            f"SELECT {_EVENT_COLUMNS} FROM events"
            " WHERE at >= $1 AND at < $2 AND expires_at > $3 ORDER BY at, session, seq",
            since,
            until,
            self._clock.now(),
        )
        return [_event(row) for row in rows]

    # --- placeholder vault -----------------------------------------------------------

    async def assign_placeholders(
        self, session: str, requests: Sequence[VaultRequest], expires_at: datetime
    ) -> list[str]:
        """One placeholder per request, in order, atomically; a value the conversation
        has gets its placeholder again (its expiry moved to ``expires_at`` if later),
        a new one ``<TYPE_n>`` numbered after the type's highest.

        Safe under concurrent assignments from several processes: one value never gets
        two placeholders and one placeholder never names two values.
        """
        if not requests:
            return []
        now = self._clock.now()

        async def assign(conn: Any) -> list[str]:
            types = sorted({request.entity_type for request in requests})
            # Lock the conversation's counters of these types, always in sorted order
            # (no deadlock between two assignments); until commit, no other
            # assignment can add a value of these types to the conversation.
            counters = await conn.fetch(
                "INSERT INTO vault_counters AS c (session, entity_type, last_number, expires_at)"
                " SELECT $1, t.entity_type, 0, $3"
                " FROM unnest($2::text[]) WITH ORDINALITY AS t(entity_type, position)"
                " ORDER BY t.position"
                " ON CONFLICT (session, entity_type) DO UPDATE SET"
                " expires_at = GREATEST(c.expires_at, EXCLUDED.expires_at)"
                " RETURNING entity_type, last_number",
                session,
                types,
                expires_at,
            )
            last_number: dict[str, int] = {
                row["entity_type"]: row["last_number"] for row in counters
            }
            known_rows = await conn.fetch(
                "SELECT v.entity_type, v.digest, v.placeholder FROM vault AS v"
                " JOIN unnest($2::text[], $3::text[]) AS r(entity_type, digest)"
                " USING (entity_type, digest)"
                " WHERE v.session = $1",
                session,
                [request.entity_type for request in requests],
                [request.digest for request in requests],
            )
            existing: dict[tuple[str, str], str] = {
                (row["entity_type"], row["digest"]): row["placeholder"] for row in known_rows
            }
            assigned: dict[tuple[str, str], str] = {}
            refreshed: dict[tuple[str, str], bytes] = {}
            fresh: list[tuple[str, str, int, str, bytes]] = []
            placeholders: list[str] = []
            for request in requests:
                key = (request.entity_type, request.digest)
                placeholder = existing.get(key) or assigned.get(key)
                if placeholder is None:
                    number = last_number[request.entity_type] + 1
                    last_number[request.entity_type] = number
                    placeholder = format_placeholder(request.entity_type, number)
                    assigned[key] = placeholder
                    fresh.append(
                        (
                            placeholder,
                            request.entity_type,
                            number,
                            request.digest,
                            request.sealed_value,
                        )
                    )
                elif key in existing:
                    refreshed.setdefault(key, request.sealed_value)
                placeholders.append(placeholder)
            if refreshed:
                # An entry that has expired but is not swept yet is stored anew: the
                # value just came again, sealed now, with the new expiry.
                await conn.execute(
                    "UPDATE vault AS v SET"
                    " sealed_value = CASE WHEN v.expires_at <= $2"
                    "  THEN r.sealed_value ELSE v.sealed_value END,"
                    " expires_at = CASE WHEN v.expires_at <= $2"
                    "  THEN $3 ELSE GREATEST(v.expires_at, $3) END"
                    " FROM unnest($4::text[], $5::text[], $6::bytea[])"
                    "  AS r(entity_type, digest, sealed_value)"
                    " WHERE v.session = $1 AND v.entity_type = r.entity_type"
                    "  AND v.digest = r.digest",
                    session,
                    now,
                    expires_at,
                    [key[0] for key in refreshed],
                    [key[1] for key in refreshed],
                    list(refreshed.values()),
                )
            if fresh:
                await conn.execute(
                    "INSERT INTO vault (session, placeholder, entity_type, number, digest,"
                    " sealed_value, expires_at)"
                    " SELECT $1, r.placeholder, r.entity_type, r.number, r.digest,"
                    " r.sealed_value, $2"
                    " FROM unnest($3::text[], $4::text[], $5::integer[], $6::text[],"
                    " $7::bytea[]) AS r(placeholder, entity_type, number, digest, sealed_value)",
                    session,
                    expires_at,
                    [entry[0] for entry in fresh],
                    [entry[1] for entry in fresh],
                    [entry[2] for entry in fresh],
                    [entry[3] for entry in fresh],
                    [entry[4] for entry in fresh],
                )
                await conn.execute(
                    "UPDATE vault_counters AS c SET last_number = r.last_number"
                    " FROM unnest($2::text[], $3::integer[]) AS r(entity_type, last_number)"
                    " WHERE c.session = $1 AND c.entity_type = r.entity_type",
                    session,
                    list(last_number),
                    list(last_number.values()),
                )
            return placeholders

        return await self._transaction("assign_placeholders", assign)

    async def vault_entries(
        self, session: str, placeholders: Collection[str] | None = None
    ) -> list[VaultEntry]:
        """The conversation's unexpired entries (only those ``placeholders``, when
        given), by entity type and number."""
        query = (
            "SELECT session, placeholder, entity_type, digest, sealed_value, expires_at"
            " FROM vault WHERE session = $1 AND expires_at > $2"
        )
        args: list[object] = [session, self._clock.now()]
        if placeholders is not None:
            query += " AND placeholder = ANY($3::text[])"
            args.append(list(placeholders))
        rows = await self._fetch("vault_entries", query + " ORDER BY entity_type, number", *args)
        return [
            VaultEntry(
                session=row["session"],
                placeholder=row["placeholder"],
                entity_type=row["entity_type"],
                digest=row["digest"],
                sealed_value=bytes(row["sealed_value"]),
                expires_at=row["expires_at"],
            )
            for row in rows
        ]

    # --- identities ------------------------------------------------------------------

    async def save_identity(self, identity: Identity) -> None:
        """Insert or replace the identity of ``identity.user``."""
        await self._execute(
            "save_identity",
            "INSERT INTO identities (user_pseudonym, sealed_identity, expires_at)"
            " VALUES ($1, $2, $3)"
            " ON CONFLICT (user_pseudonym) DO UPDATE SET"
            " sealed_identity = EXCLUDED.sealed_identity, expires_at = EXCLUDED.expires_at",
            identity.user,
            identity.sealed_identity,
            identity.expires_at,
        )

    async def get_identity(self, user: str) -> Identity | None:
        """The unexpired sealed channel identity behind a user pseudonym, or ``None``."""
        rows = await self._fetch(
            "get_identity",
            "SELECT user_pseudonym, sealed_identity, expires_at FROM identities"
            " WHERE user_pseudonym = $1 AND expires_at > $2",
            user,
            self._clock.now(),
        )
        if not rows:
            return None
        row = rows[0]
        return Identity(
            user=row["user_pseudonym"],
            sealed_identity=bytes(row["sealed_identity"]),
            expires_at=row["expires_at"],
        )

    # --- consents --------------------------------------------------------------------

    async def append_consent(self, record: ConsentRecord) -> int:
        """Append a consent decision (``record.id`` is ignored); return its id."""
        consent_id = await self._fetchval(
            "append_consent",
            "INSERT INTO consents (subject, purpose, decision, at, source, text_id,"
            " text_version, language, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            record.subject,
            record.purpose,
            record.decision,
            record.at,
            record.source,
            record.text_id,
            record.text_version,
            record.language,
            record.expires_at,
        )
        return int(consent_id)

    async def consents(self, subject: str) -> list[ConsentRecord]:
        """The subject's unexpired decisions, oldest first (ties by id)."""
        rows = await self._fetch(
            "consents",
            f"SELECT {_CONSENT_COLUMNS} FROM consents"
            " WHERE subject = $1 AND expires_at > $2 ORDER BY at, id",
            subject,
            self._clock.now(),
        )
        return [
            ConsentRecord(
                subject=row["subject"],
                purpose=row["purpose"],
                decision=row["decision"],
                at=row["at"],
                source=row["source"],
                text_id=row["text_id"],
                text_version=row["text_version"],
                language=row["language"],
                expires_at=row["expires_at"],
                id=row["id"],
            )
            for row in rows
        ]

    # --- quality samples -------------------------------------------------------------

    async def save_sample(self, sample: Sample) -> None:
        """Insert or replace the sample of ``sample.session``."""
        await self._execute(
            "save_sample",
            "INSERT INTO samples (session, sampled_at, expires_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (session) DO UPDATE SET"
            " sampled_at = EXCLUDED.sampled_at, expires_at = EXCLUDED.expires_at",
            sample.session,
            sample.sampled_at,
            sample.expires_at,
        )

    async def samples(self) -> list[Sample]:
        """All unexpired samples, oldest first (ties by session)."""
        rows = await self._fetch(
            "samples",
            "SELECT session, sampled_at, expires_at FROM samples"
            " WHERE expires_at > $1 ORDER BY sampled_at, session",
            self._clock.now(),
        )
        return [
            Sample(
                session=row["session"], sampled_at=row["sampled_at"], expires_at=row["expires_at"]
            )
            for row in rows
        ]

    async def delete_sample(self, session: str) -> bool:
        """Delete the conversation's sample; whether there was an unexpired one."""
        deleted = await self._fetch(
            "delete_sample",
            "DELETE FROM samples WHERE session = $1 RETURNING expires_at",
            session,
        )
        now = self._clock.now()
        return any(row["expires_at"] > now for row in deleted)

    # --- audit -----------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> int:
        """Append an audit entry (``entry.id`` is ignored); return its id."""
        audit_id = await self._fetchval(
            "append_audit",
            "INSERT INTO audit (at, action, counts, subject, actor, reason, expires_at)"
            " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) RETURNING id",
            entry.at,
            entry.action,
            json.dumps(entry.counts, sort_keys=True),
            entry.subject,
            entry.actor,
            entry.reason,
            entry.expires_at,
        )
        return int(audit_id)

    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Unexpired audit entries with ``at >= since`` (all when ``None``), oldest
        first (ties by id)."""
        rows = await self._fetch(
            "audit_entries",
            f"SELECT {_AUDIT_COLUMNS} FROM audit"
            " WHERE expires_at > $1 AND ($2::timestamptz IS NULL OR at >= $2)"
            " ORDER BY at, id",
            self._clock.now(),
            since,
        )
        return [
            AuditEntry(
                at=row["at"],
                action=row["action"],
                expires_at=row["expires_at"],
                counts={str(kind): int(n) for kind, n in json.loads(row["counts"]).items()},
                subject=row["subject"],
                actor=row["actor"],
                reason=row["reason"],
                id=row["id"],
            )
            for row in rows
        ]

    # --- retention and erasure -------------------------------------------------------

    async def sweep(self, now: datetime) -> dict[RecordKind, int]:
        """Delete every record with ``expires_at <= now``, in one transaction; return
        how many of each kind this call deleted (kinds with none are absent).

        Concurrent sweeps each count only the rows they deleted themselves.
        """

        async def delete_expired(conn: Any) -> dict[RecordKind, int]:
            counts: dict[RecordKind, int] = {}
            for table, kind in _SWEPT_TABLES:
                # Table names come from _SWEPT_TABLES, never from input.
                deleted = await conn.fetchval(
                    f"WITH gone AS (DELETE FROM {table} WHERE expires_at <= $1 RETURNING 1)"
                    " SELECT count(*) FROM gone",
                    now,
                )
                if kind is not None and deleted:
                    counts[kind] = int(deleted)
            return counts

        return await self._transaction("sweep", delete_expired)

    async def erase_session(self, session: str) -> dict[RecordKind, int]:
        """Delete everything held under a session pseudonym, expired or not, in one
        transaction: the conversation, its transcript, vault and sample, and the
        consents whose subject it is. Returns the counts per kind (none: absent)."""

        async def erase(conn: Any) -> dict[RecordKind, int]:
            counts: dict[RecordKind, int] = {}
            await _erase_sessions(conn, [session], counts)
            await _delete_counted(
                conn, "consents", "subject", [session], RecordKind.CONSENTS, counts
            )
            return counts

        return await self._transaction("erase_session", erase)

    async def erase_user(self, user: str) -> dict[RecordKind, int]:
        """Delete, in one transaction, everything of every conversation of a user
        pseudonym (expired or not), the consents whose subject is one of those sessions
        or the user, and the identity. Returns the counts per kind (none: absent)."""

        async def erase(conn: Any) -> dict[RecordKind, int]:
            counts: dict[RecordKind, int] = {}
            rows = await conn.fetch(
                "SELECT session FROM conversations WHERE user_pseudonym = $1 ORDER BY session",
                user,
            )
            sessions = [row["session"] for row in rows]
            await _erase_sessions(conn, sessions, counts)
            await _delete_counted(
                conn, "consents", "subject", [*sessions, user], RecordKind.CONSENTS, counts
            )
            await _delete_counted(
                conn, "identities", "user_pseudonym", [user], RecordKind.IDENTITIES, counts
            )
            return counts

        return await self._transaction("erase_user", erase)

    # --- plumbing --------------------------------------------------------------------

    def _require_pool(self) -> Any:
        if self._pool is None:
            raise StoreError("PostgreSQL store: not open (call open() first)")
        return self._pool

    async def _fetch(self, operation: str, query: str, *args: object) -> list[Any]:
        pool = self._require_pool()
        with _mapped_errors(operation):
            async with pool.acquire(timeout=_ACQUIRE_TIMEOUT_S) as conn:
                rows: list[Any] = await conn.fetch(query, *args)
                return rows

    async def _fetchval(self, operation: str, query: str, *args: object) -> Any:
        pool = self._require_pool()
        with _mapped_errors(operation):
            async with pool.acquire(timeout=_ACQUIRE_TIMEOUT_S) as conn:
                return await conn.fetchval(query, *args)

    async def _execute(self, operation: str, query: str, *args: object) -> None:
        pool = self._require_pool()
        with _mapped_errors(operation):
            async with pool.acquire(timeout=_ACQUIRE_TIMEOUT_S) as conn:
                await conn.execute(query, *args)

    async def _transaction(self, operation: str, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction; again, from the start, when the server
        aborted it to resolve a deadlock or serialisation conflict."""
        pool = self._require_pool()
        with _mapped_errors(operation):
            for attempt in range(1, _ATTEMPTS + 1):
                try:
                    async with (
                        pool.acquire(timeout=_ACQUIRE_TIMEOUT_S) as conn,
                        conn.transaction(),
                    ):
                        return await work(conn)
                except _RETRYABLE:
                    if attempt == _ATTEMPTS:
                        raise
        raise AssertionError("unreachable")  # the loop returns or raises


async def _erase_sessions(conn: Any, sessions: list[str], counts: dict[RecordKind, int]) -> None:
    """Delete every row keyed by one of ``sessions``, counters first."""
    for table, kind in _SESSION_TABLES:
        await _delete_counted(conn, table, "session", sessions, kind, counts)


async def _delete_counted(
    conn: Any,
    table: str,
    column: str,
    keys: list[str],
    kind: RecordKind | None,
    counts: dict[RecordKind, int],
) -> None:
    """Delete the rows of ``table`` whose ``column`` is one of ``keys``; add the number
    to ``counts[kind]`` (counters, ``kind`` None, are not counted)."""
    if not keys:
        return
    # Table and column names are constants of this module, never input.
    deleted = await conn.fetchval(
        f"WITH gone AS (DELETE FROM {table} WHERE {column} = ANY($1::text[]) RETURNING 1)"
        " SELECT count(*) FROM gone",
        keys,
    )
    if kind is not None and deleted:
        counts[kind] = counts.get(kind, 0) + int(deleted)


@contextmanager
def _mapped_errors(operation: str) -> Iterator[None]:
    """Translate asyncpg's and the network's errors into chatguard's, without their
    text: the server's messages may quote stored rows."""
    try:
        yield
    except StoreError:
        raise
    except _UNAVAILABLE as exc:
        raise StoreUnavailableError(
            f"PostgreSQL store unavailable during {operation} ({_describe(exc)})"
        ) from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
        raise StoreError(f"PostgreSQL store failed during {operation} ({_describe(exc)})") from None


def _describe(exc: BaseException) -> str:
    """The error's class and SQLSTATE, nothing of its message."""
    sqlstate = getattr(exc, "sqlstate", None)
    name = type(exc).__name__
    return f"{name}, SQLSTATE {sqlstate}" if isinstance(sqlstate, str) else name


async def _close_pool(pool: Any) -> None:
    """Close gracefully, and forcibly when that takes too long."""
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT_S):
            await pool.close()
    except (*_UNAVAILABLE, asyncpg.PostgresError, asyncpg.InterfaceError):
        pool.terminate()


def _conversation(row: Any) -> Conversation:
    return Conversation(
        session=row["session"],
        channel=row["channel"],
        user=row["user_pseudonym"],
        created_at=row["created_at"],
        last_activity=row["last_activity"],
        expires_at=row["expires_at"],
        language=row["language"],
        handed_over_at=row["handed_over_at"],
        awaiting=row["awaiting"],
        awaiting_since=row["awaiting_since"],
        awaiting_until=row["awaiting_until"],
        reference=row["reference"],
    )


def _conversation_args(conversation: Conversation) -> tuple[object, ...]:
    """A conversation's columns after ``session``, in ``_CONVERSATION_COLUMNS`` order."""
    return (
        conversation.channel,
        conversation.user,
        conversation.created_at,
        conversation.last_activity,
        conversation.expires_at,
        conversation.language,
        conversation.handed_over_at,
        conversation.awaiting,
        conversation.awaiting_since,
        conversation.awaiting_until,
        conversation.reference,
    )


def _event_args(event: TranscriptEvent) -> tuple[object, ...]:
    """An event as ``$1``-``$8`` of the statements that append one."""
    return (
        event.session,
        event.at,
        event.direction.value,
        event.author.value,
        event.kind.value,
        event.text,
        event.feedback,
        event.expires_at,
    )


def _event(row: Any) -> TranscriptEvent:
    return TranscriptEvent(
        session=row["session"],
        at=row["at"],
        direction=Direction(row["direction"]),
        author=Author(row["author"]),
        text=row["text"],
        expires_at=row["expires_at"],
        kind=EventKind(row["kind"]),
        feedback=row["feedback"],
        seq=row["seq"],
    )
