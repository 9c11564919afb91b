"""The store on Redis, for several chatguard processes sharing one server.

Key layout (``ns`` is the namespace, ``chatguard`` by default; every key starts
with ``ns:``). ``member`` is how a record is named in its kind's expiry index, and
each record lives under ``ns:<word>:<member>``:

============================================  ======  =============================================
key                                           type    holds
============================================  ======  =============================================
``ns:conv:{session}``                         hash    a conversation (member: ``session``)
``ns:user:{user}``                            zset    the user's sessions, score ``created_at``
``ns:ref:{reference}``                        zset    the sessions holding a privacy reference
                                                      (its digest), score ``created_at``
``ns:awaiting``                               zset    every session that awaits an answer,
                                                      score ``awaiting_until``
``ns:event:{session}:{seq}``                  hash    a transcript event (member: ``session:seq``)
``ns:events:{session}``                       zset    the conversation's seqs, score ``seq``
``ns:seq:{session}``                          string  the conversation's last seq (``INCR``)
``ns:events_by_time``                         zset    every event's member, score ``at``
``ns:vaultval:{session}:{type}:{n}``          hash    a vault entry (member: ``session:type:n``)
``ns:vault:{session}``                        hash    ``type NUL digest`` -> ``n``, for look-ups
``ns:ident:{user}``                           hash    an identity (member: ``user``)
``ns:consent:{subject}:{id}``                 hash    a consent decision (member: ``subject:id``)
``ns:consents:{subject}``                     zset    the subject's consent ids, score ``id``
``ns:consent_id``                             string  the last consent id (``INCR``)
``ns:sample:{session}``                       hash    a quality sample (member: ``session``)
``ns:samples``                                zset    every sample's session, score ``sampled_at``
``ns:delivery:{key}``                         hash    a delivery: its session (member: ``key``)
``ns:deliveries:{session}``                   zset    the session's delivery keys, score
                                                      ``expires_at``
``ns:audit:{id}``                             hash    an audit entry (member: ``id``)
``ns:audit_by_time``                          zset    every audit id, score ``at``
``ns:audit_id``                               string  the last audit id (``INCR``)
``ns:idx:{kind}``                             zset    expiry index of a kind: member, score
                                                      ``expires_at`` (kind: a ``RecordKind``)
============================================  ======  =============================================

Values: times are UTC epoch microseconds (exact as Redis scores, below 2**53),
text is UTF-8, sealed values are stored as the bytes they are (the client does
not decode replies). Entity types may not contain ``:`` (it separates the parts of
a vault member); sequence numbers and ids are digits, so ``session:seq`` and
``subject:id`` split unambiguously at their last ``:``.

Expiry. Every record key gets a native TTL from its ``expires_at``; the per-record
containers (``ns:user:*``, ``ns:ref:*``, ``ns:events:*``, ``ns:seq:*``, ``ns:vault:*``,
``ns:consents:*``, ``ns:deliveries:*``) get a TTL that only ever grows, to the longest of what they
index. The TTL is measured from the injected clock, not from Redis's clock::

    ttl = max(expires_at - clock.now(), 1 second)    (PEXPIRE, milliseconds)

so a record lives in Redis as long as the clock says it should, whichever year
the clock is in (a test's ``ManualClock`` included), and a record written already
expired is still indexed for the sweeper to count, a second before Redis drops it.
Reads compare ``expires_at`` with ``clock.now()`` and never return an expired
record, whether or not Redis has dropped it. Only the ``ns:idx:*`` indexes, the
time indexes (``ns:events_by_time``, ``ns:samples``, ``ns:audit_by_time``,
``ns:awaiting``) and the id counters have no TTL: ``sweep`` empties the indexes; the
counters hold no data.
A conversation that Redis drops before the sweeper reaches it leaves its session in
``ns:user:{user}`` until that container's own TTL ends (a delivery likewise in
``ns:deliveries:{session}``); reads ignore such entries.

Atomicity. Every write, and every read that spans several keys, is one Lua script,
so Redis runs it whole and alone: sequence numbers and placeholder numbers are
allocated inside the script that writes the record, ``record_event`` checks a
delivery and writes it with the event and the conversation's activity,
``update_dialogue`` compares ``awaiting_since`` and changes the dialogue's fields (and
their look-ups) in one script, so that of two compare-and-sets exactly one wins, and
``sweep`` removes an index member and its record together, so that concurrent
sweepers count each record once. A script does what can fail (a read of a key of
the wrong type) before its first write; Redis refuses a script whole when it is out
of memory.
The scripts name keys they derive from arguments, so the store needs a single Redis
server (or one primary), not Redis Cluster. The client does not retry commands on
its own: a write whose reply was lost is reported (``StoreUnavailableError``), not
sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, cast

import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

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

__all__ = ["MIN_TTL", "RedisStore"]

MIN_TTL: Final = timedelta(seconds=1)
"""The shortest native TTL a record gets, also when written already expired."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_SWEEP_BATCH: Final = 500  # records per sweep script, so Redis is never blocked long

# Shared by every script. Numbers that are times stay strings in Lua: Lua prints
# numbers with 14 significant digits, too few for epoch microseconds.
_PRELUDE: Final = """
local NS = ARGV[1]
local function key(...)
  return NS .. ':' .. table.concat({...}, ':')
end
-- Give a container at least ttl milliseconds to live; never shorten it.
local function extend(k, ttl)
  local current = redis.call('PTTL', k)
  if current == -1 or current < tonumber(ttl) then
    redis.call('PEXPIRE', k, ttl)
  end
end
-- Remove the record behind an index member, and the member from every index but
-- the expiry index (which the caller has already removed it from).
local function forget(kind, m)
  if kind == 'conversations' then
    local k = key('conv', m)
    local user, reference = unpack(redis.call('HMGET', k, 'user', 'reference'))
    if user then redis.call('ZREM', key('user', user), m) end
    if reference then redis.call('ZREM', key('ref', reference), m) end
    redis.call('ZREM', key('awaiting'), m)
    redis.call('DEL', k)
  elseif kind == 'transcripts' then
    local session, seq = string.match(m, '^(.*):(%d+)$')
    redis.call('DEL', key('event', m))
    redis.call('ZREM', key('events_by_time'), m)
    redis.call('ZREM', key('events', session), seq)
    if redis.call('EXISTS', key('events', session)) == 0 then
      redis.call('DEL', key('seq', session))
    end
  elseif kind == 'vault' then
    local session, etype, n = string.match(m, '^(.*):([^:]*):(%d+)$')
    local map = key('vault', session)
    local digest = redis.call('HGET', key('vaultval', m), 'digest')
    if digest then
      local field = etype .. '\\0' .. digest
      if redis.call('HGET', map, field) == n then redis.call('HDEL', map, field) end
    else  -- dropped by Redis already: find the look-up entry by type and number
      local held = redis.call('HGETALL', map)
      for i = 1, #held, 2 do
        if held[i + 1] == n and string.match(held[i], '^(.-)%z') == etype then
          redis.call('HDEL', map, held[i])
        end
      end
    end
    redis.call('DEL', key('vaultval', m))
  elseif kind == 'identities' then
    redis.call('DEL', key('ident', m))
  elseif kind == 'consents' then
    local subject, id = string.match(m, '^(.*):(%d+)$')
    redis.call('DEL', key('consent', m))
    redis.call('ZREM', key('consents', subject), id)
  elseif kind == 'samples' then
    redis.call('DEL', key('sample', m))
    redis.call('ZREM', key('samples'), m)
  elseif kind == 'deliveries' then
    local session = redis.call('HGET', key('delivery', m), 'session')
    if session then redis.call('ZREM', key('deliveries', session), m) end
    redis.call('DEL', key('delivery', m))
  elseif kind == 'audit' then
    redis.call('DEL', key('audit', m))
    redis.call('ZREM', key('audit_by_time'), m)
  end
end
-- Write a record's hash from the field, value pairs ARGV[first] .. ARGV[last]
-- (last: the end of ARGV when nil).
local function put(k, first, ttl, last)
  redis.call('DEL', k)
  redis.call('HSET', k, unpack(ARGV, first, last or #ARGV))
  redis.call('PEXPIRE', k, ttl)
end
-- A conversation from ARGV[at] on: session, user ('' for none), created_at,
-- expires_at, ttl, reference ('' for none), awaiting_until ('' for none), then its
-- fields up to ARGV[last]. The user and reference it had are read first.
local function conversation_at(at, last)
  local session = ARGV[at]
  local previous = redis.call('HMGET', key('conv', session), 'user', 'reference')
  return {session = session, user = ARGV[at + 1], created = ARGV[at + 2],
    expires = ARGV[at + 3], ttl = ARGV[at + 4], reference = ARGV[at + 5],
    awaiting_until = ARGV[at + 6], first = at + 7, last = last,
    previous = previous[1], previous_reference = previous[2]}
end
local function save_conversation(c)
  local k = key('conv', c.session)
  if c.previous and c.previous ~= c.user then
    redis.call('ZREM', key('user', c.previous), c.session)
  end
  if c.previous_reference and c.previous_reference ~= c.reference then
    redis.call('ZREM', key('ref', c.previous_reference), c.session)
  end
  put(k, c.first, c.ttl, c.last)
  redis.call('ZADD', key('idx', 'conversations'), c.expires, c.session)
  if c.user ~= '' then
    redis.call('ZADD', key('user', c.user), c.created, c.session)
    extend(key('user', c.user), c.ttl)
  end
  if c.reference ~= '' then
    redis.call('ZADD', key('ref', c.reference), c.created, c.session)
    extend(key('ref', c.reference), c.ttl)
  end
  if c.awaiting_until ~= '' then
    redis.call('ZADD', key('awaiting'), c.awaiting_until, c.session)
  else
    redis.call('ZREM', key('awaiting'), c.session)
  end
end
-- A held conversation's last activity and expiry moved to the given ones when later
-- (its TTLs with them, its other fields kept); a conversation not held is saved.
local function note_activity(c)
  local k = key('conv', c.session)
  local held_activity, held_expires = unpack(redis.call('HMGET', k, 'last_activity', 'expires_at'))
  if not held_expires then
    save_conversation(c)
    return
  end
  for i = c.first, c.last or #ARGV, 2 do
    if ARGV[i] == 'last_activity' and tonumber(ARGV[i + 1]) > tonumber(held_activity) then
      redis.call('HSET', k, 'last_activity', ARGV[i + 1])
    end
  end
  if tonumber(c.expires) > tonumber(held_expires) then
    redis.call('HSET', k, 'expires_at', c.expires)
    redis.call('PEXPIRE', k, c.ttl)
    redis.call('ZADD', key('idx', 'conversations'), c.expires, c.session)
    if c.previous and c.previous ~= '' then extend(key('user', c.previous), c.ttl) end
    if c.previous_reference then extend(key('ref', c.previous_reference), c.ttl) end
  end
end
-- Append an event from ARGV[at] on: session, at, expires_at, ttl, then its fields up
-- to ARGV[last]; returns its seq.
local function append_event(at, last)
  local session, time, expires, ttl = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local seq = redis.call('INCR', key('seq', session))
  local m = session .. ':' .. seq
  put(key('event', m), at + 4, ttl, last)
  redis.call('HSET', key('event', m), 'seq', seq)
  redis.call('ZADD', key('events', session), seq, seq)
  extend(key('events', session), ttl)
  extend(key('seq', session), ttl)
  redis.call('ZADD', key('idx', 'transcripts'), expires, m)
  redis.call('ZADD', key('events_by_time'), time, m)
  return seq
end
"""

# ARGV: ns, session, user ('' for none), created_at, expires_at, ttl, reference ('' for
# none), awaiting_until ('' for none), fields...
_SAVE_CONVERSATION: Final = """
save_conversation(conversation_at(2))
"""

# ARGV: ns, session, at, expires_at, ttl, fields...; returns the new seq.
_APPEND_EVENT: Final = """
return append_event(2)
"""

# ARGV: ns, now, delivery key ('' for none), its expires_at, its ttl, n, then the
# event (session, at, expires_at, ttl, fields) in the n arguments that follow, then
# the conversation (as _SAVE_CONVERSATION's). Returns the event's seq, or nil when
# an unexpired delivery with the key is held (and then writes nothing).
_RECORD_EVENT: Final = """
local now, delivery, expires, ttl, n = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local session = ARGV[7]
local conversation = conversation_at(7 + n)
if delivery ~= '' then
  local k = key('delivery', delivery)
  local held_until = redis.call('HGET', k, 'expires_at')
  if held_until and tonumber(held_until) > tonumber(now) then return false end
  local held = redis.call('HGET', k, 'session')
  if held and held ~= session then redis.call('ZREM', key('deliveries', held), delivery) end
  redis.call('DEL', k)
  redis.call('HSET', k, 'session', session, 'expires_at', expires)
  redis.call('PEXPIRE', k, ttl)
  redis.call('ZADD', key('deliveries', session), expires, delivery)
  extend(key('deliveries', session), ttl)
  redis.call('ZADD', key('idx', 'deliveries'), expires, delivery)
end
local seq = append_event(7, 6 + n)
note_activity(conversation)
return seq
"""

# ARGV: ns, session, now, expectation ('any', 'none' or 'at'), the expected
# awaiting_since (for 'at'), then (field, '1' set or '0' clear, value) per change.
# Returns 1 when the unexpired conversation met the expectation and was changed.
_UPDATE_DIALOGUE: Final = """
local session, now, mode, expected = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local k = key('conv', session)
local expires, since, reference, created = unpack(
  redis.call('HMGET', k, 'expires_at', 'awaiting_since', 'reference', 'created_at'))
if not expires or tonumber(expires) <= now then return 0 end
if (mode == 'none' and since) or (mode == 'at' and since ~= expected) then return 0 end
for i = 6, #ARGV, 3 do
  local name, set, value = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2]
  if set then redis.call('HSET', k, name, value) else redis.call('HDEL', k, name) end
  if name == 'awaiting_until' then
    if set then
      redis.call('ZADD', key('awaiting'), value, session)
    else
      redis.call('ZREM', key('awaiting'), session)
    end
  elseif name == 'reference' then
    if reference and not (set and reference == value) then
      redis.call('ZREM', key('ref', reference), session)
    end
    if set then
      redis.call('ZADD', key('ref', value), created, session)
      local ttl = redis.call('PTTL', k)
      if ttl > 0 then extend(key('ref', value), ttl) end
    end
  end
end
return 1
"""

# ARGV: ns, session, now, expires_at, ttl, then (entity_type, digest, sealed) per
# request; returns the placeholder number of each request.
_ASSIGN_PLACEHOLDERS: Final = """
local session, now, expires, ttl = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local map = key('vault', session)
local highest = {}
local held = redis.call('HGETALL', map)
for i = 1, #held, 2 do
  local etype = string.match(held[i], '^(.-)%z')
  local n = tonumber(held[i + 1])
  if n > (highest[etype] or 0) then highest[etype] = n end
end
local numbers = {}
for i = 6, #ARGV, 3 do
  local etype, digest, sealed = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local field = etype .. '\\0' .. digest
  local n = redis.call('HGET', map, field)
  local fresh = true
  if n then
    local m = session .. ':' .. etype .. ':' .. n
    local current = redis.call('HGET', key('vaultval', m), 'expires_at')
    if current and tonumber(current) > now then
      fresh = false
      if tonumber(expires) > tonumber(current) then
        redis.call('HSET', key('vaultval', m), 'expires_at', expires)
        redis.call('PEXPIRE', key('vaultval', m), ttl)
        redis.call('ZADD', key('idx', 'vault'), expires, m)
      end
    else
      -- expired (or dropped by Redis): replaced by an entry with a fresh number
      redis.call('DEL', key('vaultval', m))
      redis.call('ZREM', key('idx', 'vault'), m)
    end
  end
  if fresh then
    n = (highest[etype] or 0) + 1
    highest[etype] = n
    local m = session .. ':' .. etype .. ':' .. n
    local k = key('vaultval', m)
    redis.call('DEL', k)
    redis.call('HSET', k, 'session', session, 'entity_type', etype, 'digest', digest,
      'n', n, 'sealed_value', sealed, 'expires_at', expires)
    redis.call('PEXPIRE', k, ttl)
    redis.call('ZADD', key('idx', 'vault'), expires, m)
    redis.call('HSET', map, field, n)
  end
  numbers[#numbers + 1] = tonumber(n)
end
extend(map, ttl)
return numbers
"""

# ARGV: ns, user, expires_at, ttl, fields...
_SAVE_IDENTITY: Final = """
local user, expires, ttl = ARGV[2], ARGV[3], ARGV[4]
put(key('ident', user), 5, ttl)
redis.call('ZADD', key('idx', 'identities'), expires, user)
"""

# ARGV: ns, subject, expires_at, ttl, fields...; returns the new id.
_APPEND_CONSENT: Final = """
local subject, expires, ttl = ARGV[2], ARGV[3], ARGV[4]
local id = redis.call('INCR', key('consent_id'))
local m = subject .. ':' .. id
put(key('consent', m), 5, ttl)
redis.call('HSET', key('consent', m), 'id', id)
redis.call('ZADD', key('consents', subject), id, id)
extend(key('consents', subject), ttl)
redis.call('ZADD', key('idx', 'consents'), expires, m)
return id
"""

# ARGV: ns, session, sampled_at, expires_at, ttl, fields...
_SAVE_SAMPLE: Final = """
local session, sampled, expires, ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
put(key('sample', session), 6, ttl)
redis.call('ZADD', key('samples'), sampled, session)
redis.call('ZADD', key('idx', 'samples'), expires, session)
"""

# ARGV: ns, session, now; returns 1 when an unexpired sample was deleted.
_DELETE_SAMPLE: Final = """
local session, now = ARGV[2], tonumber(ARGV[3])
local expires = redis.call('HGET', key('sample', session), 'expires_at')
redis.call('ZREM', key('idx', 'samples'), session)
forget('samples', session)
if expires and tonumber(expires) > now then return 1 end
return 0
"""

# ARGV: ns, at, expires_at, ttl, fields...; returns the new id.
_APPEND_AUDIT: Final = """
local at, expires, ttl = ARGV[2], ARGV[3], ARGV[4]
local id = redis.call('INCR', key('audit_id'))
put(key('audit', id), 5, ttl)
redis.call('HSET', key('audit', id), 'id', id)
redis.call('ZADD', key('audit_by_time'), at, id)
redis.call('ZADD', key('idx', 'audit'), expires, id)
return id
"""

# ARGV: ns, kind, now, limit; returns how many records of the kind it deleted.
_SWEEP: Final = """
local kind, now, limit = ARGV[2], ARGV[3], ARGV[4]
local idx = key('idx', kind)
local members = redis.call('ZRANGEBYSCORE', idx, '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(members) do
  redis.call('ZREM', idx, m)
  forget(kind, m)
end
return #members
"""

# Erasure counts a record when its member leaves its expiry index, so a record is
# counted once whether erasure or the sweeper gets to it, and also when Redis has
# already dropped its key.
_ERASE_PRELUDE: Final = """
local counts = {}
local function drop(kind, m)
  if redis.call('ZREM', key('idx', kind), m) == 1 then
    counts[kind] = (counts[kind] or 0) + 1
  end
  forget(kind, m)
end
local function erase_consents(subject)
  local k = key('consents', subject)
  for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do drop('consents', subject .. ':' .. id) end
  redis.call('DEL', k)
end
local function erase_session(session)
  drop('conversations', session)
  local events = key('events', session)
  for _, seq in ipairs(redis.call('ZRANGE', events, 0, -1)) do
    drop('transcripts', session .. ':' .. seq)
  end
  redis.call('DEL', events, key('seq', session))
  local map = key('vault', session)
  local held = redis.call('HGETALL', map)
  for i = 1, #held, 2 do
    drop('vault', session .. ':' .. string.match(held[i], '^(.-)%z') .. ':' .. held[i + 1])
  end
  redis.call('DEL', map)
  drop('samples', session)
  local deliveries = key('deliveries', session)
  for _, m in ipairs(redis.call('ZRANGE', deliveries, 0, -1)) do
    local owner = redis.call('HGET', key('delivery', m), 'session')
    if (not owner) or owner == session then drop('deliveries', m) end
  end
  redis.call('DEL', deliveries)
  erase_consents(session)
end
local function result()
  local flat = {}
  for kind, n in pairs(counts) do
    flat[#flat + 1] = kind
    flat[#flat + 1] = n
  end
  return flat
end
"""

# ARGV: ns, session; returns kind, count, kind, count, ...
_ERASE_SESSION: Final = """
erase_session(ARGV[2])
return result()
"""

# ARGV: ns, user; returns kind, count, kind, count, ...
_ERASE_USER: Final = """
local user = ARGV[2]
local sessions = key('user', user)
for _, session in ipairs(redis.call('ZRANGE', sessions, 0, -1)) do
  local owner = redis.call('HGET', key('conv', session), 'user')
  if (not owner) or owner == user then erase_session(session) end
end
redis.call('DEL', sessions)
drop('identities', user)
erase_consents(user)
return result()
"""

# ARGV: ns, index key, record key prefix, min score, max score; returns, for each
# member of the index in score order, the member and its record's fields (empty
# when Redis has dropped the record).
_LIST: Final = """
local members = redis.call('ZRANGEBYSCORE', ARGV[2], ARGV[4], ARGV[5])
local out = {}
for _, m in ipairs(members) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGETALL', ARGV[3] .. m)
end
return out
"""

# ARGV: ns, until, now, limit; returns, for up to limit unexpired conversations whose
# awaiting_until is at most until, in deadline order, the session and its fields.
_AWAITING: Final = """
local due, now, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out, found, offset = {}, 0, 0
while found < limit do
  local batch = redis.call('ZRANGEBYSCORE', key('awaiting'), '-inf', due, 'LIMIT', offset, 100)
  for _, session in ipairs(batch) do
    local k = key('conv', session)
    local expires = redis.call('HGET', k, 'expires_at')
    if found < limit and expires and tonumber(expires) > now then
      out[#out + 1] = session
      out[#out + 1] = redis.call('HGETALL', k)
      found = found + 1
    end
  end
  if #batch < 100 then break end
  offset = offset + #batch
end
return out
"""

# ARGV: ns, session; returns the fields of each of the conversation's vault entries.
_LIST_VAULT: Final = """
local session = ARGV[2]
local held = redis.call('HGETALL', key('vault', session))
local out = {}
for i = 1, #held, 2 do
  local etype = string.match(held[i], '^(.-)%z')
  out[#out + 1] = redis.call('HGETALL', key('vaultval', session, etype, held[i + 1]))
end
return out
"""

_WRITES: Final = {
    "save_conversation": _SAVE_CONVERSATION,
    "append_event": _APPEND_EVENT,
    "record_event": _RECORD_EVENT,
    "update_dialogue": _UPDATE_DIALOGUE,
    "assign_placeholders": _ASSIGN_PLACEHOLDERS,
    "save_identity": _SAVE_IDENTITY,
    "append_consent": _APPEND_CONSENT,
    "save_sample": _SAVE_SAMPLE,
    "delete_sample": _DELETE_SAMPLE,
    "append_audit": _APPEND_AUDIT,
    "sweep": _SWEEP,
    "erase_session": _ERASE_PRELUDE + _ERASE_SESSION,
    "erase_user": _ERASE_PRELUDE + _ERASE_USER,
}
_READS: Final = {"list": _LIST, "list_vault": _LIST_VAULT, "awaiting": _AWAITING}

# A script with a shebang is refused whole when Redis is out of memory, instead of
# failing after some of its writes; ``no-writes`` lets reads run on a replica.
_SCRIPTS: Final = {
    **{name: "#!lua\n" + _PRELUDE + body for name, body in _WRITES.items()},
    **{name: "#!lua flags=no-writes\n" + _PRELUDE + body for name, body in _READS.items()},
}

_Fields = dict[bytes, bytes]
_Value = str | bytes | int


def _us(moment: datetime) -> int:
    """``moment`` as UTC epoch microseconds; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the store takes timezone-aware datetimes only")
    return (moment - _EPOCH) // _MICROSECOND


def _dt(microseconds: int) -> datetime:
    """Epoch microseconds back to an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=microseconds)


def _optional_us(moment: datetime | None) -> int | None:
    return None if moment is None else _us(moment)


def _pairs(fields: Mapping[str, _Value | None]) -> list[_Value]:
    """``fields`` flattened for a script's ``put``; ``None`` values are left out."""
    flat: list[_Value] = []
    for name, value in fields.items():
        if value is not None:
            flat += [name, value]
    return flat


def _hash(flat: Sequence[bytes]) -> _Fields:
    """A flat ``HGETALL`` reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _text(fields: _Fields, name: str) -> str:
    return fields[name.encode()].decode()


def _optional_text(fields: _Fields, name: str) -> str | None:
    value = fields.get(name.encode())
    return None if value is None else value.decode()


def _time(fields: _Fields, name: str) -> datetime:
    return _dt(int(fields[name.encode()]))


def _optional_time(fields: _Fields, name: str) -> datetime | None:
    value = fields.get(name.encode())
    return None if value is None else _dt(int(value))


def _conversation(session: str, fields: _Fields) -> Conversation:
    return Conversation(
        session=session,
        channel=_text(fields, "channel"),
        user=_optional_text(fields, "user"),
        created_at=_time(fields, "created_at"),
        last_activity=_time(fields, "last_activity"),
        expires_at=_time(fields, "expires_at"),
        language=_optional_text(fields, "language"),
        handed_over_at=_optional_time(fields, "handed_over_at"),
        awaiting=_optional_text(fields, "awaiting"),
        awaiting_since=_optional_time(fields, "awaiting_since"),
        awaiting_until=_optional_time(fields, "awaiting_until"),
        reference=_optional_text(fields, "reference"),
    )


def _event(session: str, fields: _Fields) -> TranscriptEvent:
    return TranscriptEvent(
        session=session,
        seq=int(fields[b"seq"]),
        at=_time(fields, "at"),
        direction=Direction(_text(fields, "direction")),
        author=Author(_text(fields, "author")),
        text=_text(fields, "text"),
        kind=EventKind(_text(fields, "kind")),
        feedback=_optional_text(fields, "feedback"),
        expires_at=_time(fields, "expires_at"),
    )


def _vault_entry(fields: _Fields) -> VaultEntry:
    entity_type = _text(fields, "entity_type")
    return VaultEntry(
        session=_text(fields, "session"),
        placeholder=format_placeholder(entity_type, int(fields[b"n"])),
        entity_type=entity_type,
        digest=_text(fields, "digest"),
        sealed_value=fields[b"sealed_value"],
        expires_at=_time(fields, "expires_at"),
    )


def _consent(subject: str, fields: _Fields) -> ConsentRecord:
    return ConsentRecord(
        id=int(fields[b"id"]),
        subject=subject,
        purpose=_text(fields, "purpose"),
        decision=_text(fields, "decision"),
        at=_time(fields, "at"),
        source=_text(fields, "source"),
        text_id=_text(fields, "text_id"),
        text_version=_text(fields, "text_version"),
        language=_text(fields, "language"),
        expires_at=_time(fields, "expires_at"),
    )


def _audit_entry(fields: _Fields) -> AuditEntry:
    counts = json.loads(fields[b"counts"])
    return AuditEntry(
        id=int(fields[b"id"]),
        at=_time(fields, "at"),
        action=_text(fields, "action"),
        counts={str(kind): int(n) for kind, n in counts.items()},
        subject=_optional_text(fields, "subject"),
        actor=_optional_text(fields, "actor"),
        reason=_optional_text(fields, "reason"),
        expires_at=_time(fields, "expires_at"),
    )


def _counts(flat: Sequence[bytes | int]) -> dict[RecordKind, int]:
    """A script's ``kind, count, ...`` reply as counts per kind."""
    return {
        RecordKind(cast(bytes, kind).decode()): int(n)
        for kind, n in zip(flat[::2], flat[1::2], strict=True)
    }


@contextlib.contextmanager
def _translated_errors(operation: str) -> Iterator[None]:
    """Redis errors as chatguard's store errors, named by operation and error type.

    Redis's messages never quote stored values, but only the error type is kept in
    ours so that nothing stored can reach a log through an error.
    """
    try:
        yield
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as error:
        raise StoreUnavailableError(
            f"Redis store unavailable during {operation} ({type(error).__name__})"
        ) from error
    except redis_errors.RedisError as error:
        raise StoreError(f"Redis store failed during {operation} ({type(error).__name__})") from (
            error
        )


class RedisStore(Store):
    """The :class:`~chatguard.store.base.Store` contract on one Redis server.

    Promises, beyond the contract: every key starts with ``namespace:``, so several
    deployments (or test runs) share a server without meeting; every record key and
    per-record container carries a native TTL (see the module docstring for the
    rule), so Redis drops expired data even when no sweeper runs, and ``sweep`` only
    has to clean the indexes and count; any number of processes may use one server
    at once.
    """

    def __init__(self, url: str, clock: Clock, namespace: str = "chatguard") -> None:
        if not namespace:
            raise ValueError("the Redis store needs a non-empty namespace")
        self._url = url
        self._clock = clock
        self._ns = namespace
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._opening = asyncio.Lock()

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and check that Redis answers (``StoreUnavailableError`` if not);
        Redis needs no schema. Idempotent, also when called concurrently."""
        async with self._opening:
            if self._client is None:
                await self._connect()

    async def _connect(self) -> None:
        try:
            # Options in the URL's query (``?max_connections=...``) override these.
            pool = aioredis.BlockingConnectionPool.from_url(
                self._url,
                max_connections=50,
                timeout=10,  # seconds a command waits for a free connection
                decode_responses=False,
                socket_connect_timeout=5.0,
                socket_timeout=10.0,
                health_check_interval=30,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError:  # its message may quote the URL, password included
            raise ConfigurationError(
                "store.url: not a valid Redis URL (redis://host:port/db)"
            ) from None
        client = aioredis.Redis.from_pool(pool)
        try:
            with _translated_errors("open"):
                await client.ping()
        except BaseException:
            await client.aclose()
            raise
        self._scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}
        self._client = client

    async def close(self) -> None:
        """Close the connections; idempotent."""
        client, self._client = self._client, None
        self._scripts = {}
        if client is not None:
            with _translated_errors("close"):
                await client.aclose()

    async def ping(self) -> None:
        """Return if Redis answers, else raise ``StoreUnavailableError``."""
        with _translated_errors("ping"):
            await self._connection().ping()

    # --- helpers ---------------------------------------------------------------------

    def _connection(self) -> aioredis.Redis:
        if self._client is None:
            raise StoreUnavailableError("Redis store is not open")
        return self._client

    def _key(self, *parts: str) -> str:
        return ":".join((self._ns, *parts))

    def _now(self) -> int:
        return _us(self._clock.now())

    def _ttl_ms(self, expires_at: datetime) -> int:
        """Milliseconds from the clock's now to ``expires_at``, at least ``MIN_TTL``."""
        remaining_us = _us(expires_at) - self._now()
        return max(-(-remaining_us // 1000), MIN_TTL // timedelta(milliseconds=1))

    async def _run(self, script: str, *args: _Value) -> object:
        """Run one of the store's scripts; its namespace is always ``ARGV[1]``."""
        self._connection()
        with _translated_errors(script):
            result: object = await self._scripts[script](args=[self._ns, *args])
            return result

    async def _list(
        self, index: str, prefix: str, low: str = "-inf", high: str = "+inf"
    ) -> list[tuple[str, _Fields]]:
        """Each index member in score order with its record's fields; members whose
        record Redis has dropped are left out (they are expired)."""
        reply = cast(list[bytes | list[bytes]], await self._run("list", index, prefix, low, high))
        records: list[tuple[str, _Fields]] = []
        for member, flat in zip(reply[::2], reply[1::2], strict=True):
            fields = _hash(cast(list[bytes], flat))
            if fields:
                records.append((cast(bytes, member).decode(), fields))
        return records

    def _live(self, fields: _Fields, now: int) -> bool:
        return bool(fields) and int(fields[b"expires_at"]) > now

    # --- conversations ---------------------------------------------------------------

    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert the conversation, or replace the one with the same ``session``
        (moving it between users' indexes when its ``user`` changed)."""
        await self._run("save_conversation", *self._conversation_args(conversation))

    def _conversation_args(self, conversation: Conversation) -> list[_Value]:
        """A conversation as the scripts take it (see ``_SAVE_CONVERSATION``)."""
        expires = _us(conversation.expires_at)
        awaiting_until = _optional_us(conversation.awaiting_until)
        return [
            conversation.session,
            conversation.user or "",
            _us(conversation.created_at),
            expires,
            self._ttl_ms(conversation.expires_at),
            conversation.reference or "",
            "" if awaiting_until is None else awaiting_until,
            *_pairs(
                {
                    "channel": conversation.channel,
                    "user": conversation.user,
                    "created_at": _us(conversation.created_at),
                    "last_activity": _us(conversation.last_activity),
                    "expires_at": expires,
                    "language": conversation.language,
                    "handed_over_at": _optional_us(conversation.handed_over_at),
                    "awaiting": conversation.awaiting,
                    "awaiting_since": _optional_us(conversation.awaiting_since),
                    "awaiting_until": awaiting_until,
                    "reference": conversation.reference,
                }
            ),
        ]

    async def get_conversation(self, session: str) -> Conversation | None:
        """The unexpired conversation under ``session``, or ``None``."""
        with _translated_errors("get_conversation"):
            fields = cast(_Fields, await self._connection().hgetall(self._key("conv", session)))
        return _conversation(session, fields) if self._live(fields, self._now()) else None

    async def conversations_of(self, user: str) -> list[Conversation]:
        """The user's unexpired conversations, oldest first (ties by session)."""
        now = self._now()
        found = [
            _conversation(session, fields)
            for session, fields in await self._list(self._key("user", user), self._key("conv", ""))
            if self._live(fields, now) and fields.get(b"user") == user.encode()
        ]
        return sorted(found, key=lambda c: (c.created_at, c.session))

    async def conversation_by_reference(self, reference: str) -> Conversation | None:
        """The one unexpired conversation holding ``reference``, else ``None`` (also
        when two hold it); through the reference's own set ``ns:ref:{reference}``."""
        now = self._now()
        found = [
            _conversation(session, fields)
            for session, fields in await self._list(
                self._key("ref", reference), self._key("conv", "")
            )
            if self._live(fields, now) and fields.get(b"reference") == reference.encode()
        ]
        return found[0] if len(found) == 1 else None

    async def conversations_awaiting(self, until: datetime, limit: int) -> list[Conversation]:
        """Up to ``limit`` unexpired conversations due by ``until``, earliest deadline
        first (ties by session); through the index ``ns:awaiting`` in one script."""
        require_positive_limit(limit)
        reply = cast(
            list[bytes | list[bytes]],
            await self._run("awaiting", _us(until), self._now(), limit),
        )
        return [
            _conversation(cast(bytes, session).decode(), _hash(cast(list[bytes], flat)))
            for session, flat in zip(reply[::2], reply[1::2], strict=True)
        ]

    async def update_dialogue(
        self,
        session: str,
        change: DialogueChange,
        *,
        expect_awaiting_since: datetime | Keep | None = KEEP,
    ) -> bool:
        """The expectation checked and the changed fields written (with the look-ups
        of ``awaiting_until`` and ``reference``) in one script, which Redis runs
        alone: of concurrent compare-and-sets, from any process, exactly one wins."""
        changes = require_change(change)
        args: list[_Value] = []
        for name in DIALOGUE_FIELDS:
            if name in changes:
                value = changes[name]
                if value is None:
                    args += [name, "0", ""]
                else:
                    args += [name, "1", _us(value) if isinstance(value, datetime) else str(value)]
        if expect_awaiting_since is KEEP:
            expectation: list[_Value] = ["any", ""]
        elif expect_awaiting_since is None:
            expectation = ["none", ""]
        else:
            expectation = ["at", _us(expect_awaiting_since)]
        done = await self._run("update_dialogue", session, self._now(), *expectation, *args)
        return done == 1

    # --- transcripts -----------------------------------------------------------------

    async def append_event(self, event: TranscriptEvent) -> int:
        """Append ``event`` with the next sequence number of its conversation, taken
        and written in one script, so concurrent appends from any process never share
        or skip a number."""
        seq = await self._run("append_event", *self._event_args(event))
        return int(cast(int, seq))

    def _event_args(self, event: TranscriptEvent) -> list[_Value]:
        """An event as the scripts take it (see ``_APPEND_EVENT``)."""
        at, expires = _us(event.at), _us(event.expires_at)
        return [
            event.session,
            at,
            expires,
            self._ttl_ms(event.expires_at),
            *_pairs(
                {
                    "at": at,
                    "direction": event.direction.value,
                    "author": event.author.value,
                    "text": event.text,
                    "kind": event.kind.value,
                    "feedback": event.feedback,
                    "expires_at": expires,
                }
            ),
        ]

    async def record_event(
        self,
        event: TranscriptEvent,
        conversation: Conversation,
        *,
        delivery: Delivery | None = None,
    ) -> int | None:
        """Append ``event``, note the conversation's activity (saving it when absent)
        and record ``delivery`` in one script; ``None`` (nothing written) when the
        delivery was recorded before and has not expired. Redis runs the script
        alone, so of concurrent calls with one key, from any process, exactly one
        writes."""
        require_one_session(event, conversation)
        event_args = self._event_args(event)
        delivery_args: list[_Value] = ["", 0, 0]
        if delivery is not None:
            delivery_args = [
                delivery.key,
                _us(delivery.expires_at),
                self._ttl_ms(delivery.expires_at),
            ]
        seq = await self._run(
            "record_event",
            self._now(),
            *delivery_args,
            len(event_args),
            *event_args,
            *self._conversation_args(conversation),
        )
        return None if seq is None else int(cast(int, seq))

    async def events(self, session: str) -> list[TranscriptEvent]:
        """The conversation's unexpired events in ``seq`` order."""
        now = self._now()
        records = await self._list(self._key("events", session), self._key("event", session, ""))
        return [_event(session, fields) for _, fields in records if self._live(fields, now)]

    async def events_between(self, since: datetime, until: datetime) -> list[TranscriptEvent]:
        """Unexpired events with ``since <= at < until``, ordered by ``(at, session, seq)``."""
        now = self._now()
        records = await self._list(
            self._key("events_by_time"), self._key("event", ""), str(_us(since)), f"({_us(until)}"
        )
        found = [
            _event(member.rpartition(":")[0], fields)
            for member, fields in records
            if self._live(fields, now)
        ]
        return sorted(found, key=lambda e: (e.at, e.session, e.seq))

    # --- placeholder vault -----------------------------------------------------------

    async def assign_placeholders(
        self, session: str, requests: Sequence[VaultRequest], expires_at: datetime
    ) -> list[str]:
        """One placeholder per request, in order, in one script.

        An expired entry is never given out again: a request that matches one gets
        a fresh number and replaces it. A new number is one more than the highest the
        conversation holds for the type, so numbers are not reused while an entry
        with that number is held.
        """
        if not requests:
            return []
        args: list[_Value] = []
        for request in requests:
            if ":" in request.entity_type or "\0" in request.entity_type:
                raise ValueError("an entity type may not contain ':' or NUL")
            if "\0" in request.digest:
                raise ValueError("a digest may not contain NUL")
            args += [request.entity_type, request.digest, request.sealed_value]
        numbers = await self._run(
            "assign_placeholders",
            session,
            self._now(),
            _us(expires_at),
            self._ttl_ms(expires_at),
            *args,
        )
        return [
            format_placeholder(request.entity_type, int(number))
            for request, number in zip(requests, cast(list[int], numbers), strict=True)
        ]

    async def vault_entries(
        self, session: str, placeholders: Collection[str] | None = None
    ) -> list[VaultEntry]:
        """The conversation's unexpired entries (only those ``placeholders``, when
        given), ordered by type and number."""
        now = self._now()
        reply = cast(list[list[bytes]], await self._run("list_vault", session))
        held = sorted(
            (fields for fields in map(_hash, reply) if self._live(fields, now)),
            key=lambda fields: (fields[b"entity_type"], int(fields[b"n"])),
        )
        entries = [_vault_entry(fields) for fields in held]
        if placeholders is None:
            return entries
        wanted = set(placeholders)
        return [entry for entry in entries if entry.placeholder in wanted]

    # --- identities ------------------------------------------------------------------

    async def save_identity(self, identity: Identity) -> None:
        """Insert or replace the identity of ``identity.user``."""
        expires = _us(identity.expires_at)
        await self._run(
            "save_identity",
            identity.user,
            expires,
            self._ttl_ms(identity.expires_at),
            *_pairs({"sealed_identity": identity.sealed_identity, "expires_at": expires}),
        )

    async def get_identity(self, user: str) -> Identity | None:
        """The unexpired sealed identity behind ``user``, or ``None``."""
        with _translated_errors("get_identity"):
            fields = cast(_Fields, await self._connection().hgetall(self._key("ident", user)))
        if not self._live(fields, self._now()):
            return None
        return Identity(
            user=user,
            sealed_identity=fields[b"sealed_identity"],
            expires_at=_time(fields, "expires_at"),
        )

    # --- consents --------------------------------------------------------------------

    async def append_consent(self, record: ConsentRecord) -> int:
        """Append a consent decision (its ``id`` is ignored); return the new id,
        unique in the namespace."""
        expires = _us(record.expires_at)
        new_id = await self._run(
            "append_consent",
            record.subject,
            expires,
            self._ttl_ms(record.expires_at),
            *_pairs(
                {
                    "purpose": record.purpose,
                    "decision": record.decision,
                    "at": _us(record.at),
                    "source": record.source,
                    "text_id": record.text_id,
                    "text_version": record.text_version,
                    "language": record.language,
                    "expires_at": expires,
                }
            ),
        )
        return int(cast(int, new_id))

    async def consents(self, subject: str) -> list[ConsentRecord]:
        """The subject's unexpired decisions, oldest first (ties by id)."""
        now = self._now()
        records = await self._list(
            self._key("consents", subject), self._key("consent", subject, "")
        )
        found = [_consent(subject, fields) for _, fields in records if self._live(fields, now)]
        return sorted(found, key=lambda c: (c.at, c.id))

    # --- quality samples -------------------------------------------------------------

    async def save_sample(self, sample: Sample) -> None:
        """Insert or replace the sample of ``sample.session``."""
        sampled, expires = _us(sample.sampled_at), _us(sample.expires_at)
        await self._run(
            "save_sample",
            sample.session,
            sampled,
            expires,
            self._ttl_ms(sample.expires_at),
            *_pairs({"sampled_at": sampled, "expires_at": expires}),
        )

    async def samples(self) -> list[Sample]:
        """All unexpired samples, oldest first (ties by session)."""
        now = self._now()
        found = [
            Sample(
                session=session,
                sampled_at=_time(fields, "sampled_at"),
                expires_at=_time(fields, "expires_at"),
            )
            for session, fields in await self._list(self._key("samples"), self._key("sample", ""))
            if self._live(fields, now)
        ]
        return sorted(found, key=lambda s: (s.sampled_at, s.session))

    async def delete_sample(self, session: str) -> bool:
        """Delete the conversation's sample; whether an unexpired one was there."""
        deleted = await self._run("delete_sample", session, self._now())
        return bool(deleted)

    # --- audit -----------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> int:
        """Append an audit entry (its ``id`` is ignored); return the new id, unique
        in the namespace."""
        at, expires = _us(entry.at), _us(entry.expires_at)
        new_id = await self._run(
            "append_audit",
            at,
            expires,
            self._ttl_ms(entry.expires_at),
            *_pairs(
                {
                    "at": at,
                    "action": entry.action,
                    "counts": json.dumps(entry.counts, sort_keys=True),
                    "subject": entry.subject,
                    "actor": entry.actor,
                    "reason": entry.reason,
                    "expires_at": expires,
                }
            ),
        )
        return int(cast(int, new_id))

    async def audit_entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Unexpired audit entries with ``at >= since`` (all when ``None``), oldest
        first (ties by id)."""
        now = self._now()
        low = "-inf" if since is None else str(_us(since))
        records = await self._list(self._key("audit_by_time"), self._key("audit", ""), low)
        found = [_audit_entry(fields) for _, fields in records if self._live(fields, now)]
        return sorted(found, key=lambda e: (e.at, e.id))

    # --- retention and erasure -------------------------------------------------------

    async def sweep(self, now: datetime) -> dict[RecordKind, int]:
        """Delete every record with ``expires_at <= now`` and its index entries;
        return the non-zero counts per kind.

        Records Redis has already dropped are counted too (their index entries are
        still there), so every expired record is counted by exactly one sweep, also
        when several processes sweep at once: each batch removes index entries and
        records in one script.
        """
        cutoff = _us(now)
        counts: dict[RecordKind, int] = {}
        for kind in RecordKind:
            while True:
                deleted = int(cast(int, await self._run("sweep", kind.value, cutoff, _SWEEP_BATCH)))
                if deleted:
                    counts[kind] = counts.get(kind, 0) + deleted
                if deleted < _SWEEP_BATCH:
                    break
        return counts

    async def erase_session(self, session: str) -> dict[RecordKind, int]:
        """Delete the conversation, its transcript, vault and sample, and the
        consents whose subject is ``session``, and its deliveries, in one script;
        return the non-zero counts per kind (expired records not yet swept included)."""
        return _counts(cast(list[bytes | int], await self._run("erase_session", session)))

    async def erase_user(self, user: str) -> dict[RecordKind, int]:
        """``erase_session`` for each of the user's conversations (expired ones not yet
        swept included), plus the identity and the user's consents, in one script."""
        return _counts(cast(list[bytes | int], await self._run("erase_user", user)))
