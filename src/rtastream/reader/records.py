"""What Redis holds about streams and sessions: the `streams` set, stream ends, session hashes.

Each query is a flow (see flow.py), run by the sync or the asyncio driver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from rtastream import keys
from rtastream.configuration import Bound, Configuration
from rtastream.reader.entries import (
    CLOSED_STATES,
    Entry,
    decode_entry,
    entry_time_ms,
    identity_of,
    text,
)
from rtastream.reader.flow import CLUSTERED, Flow, Scan, ask

# Length, first and last entry ids without sending the (large) payloads back.
_STREAM_ENDS = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return {-1, '', ''} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
return {redis.call('XLEN', KEYS[1]), first and first[1] or '', last and last[1] or ''}
"""


@dataclass(frozen=True)
class StreamRecord:
    name: str
    length: int | None  # None: the key does not hold a stream
    first_id: str | None
    last_id: str | None
    memory: int | None

    def to_json(self) -> dict[str, Any]:
        def end(entry_id: str | None) -> dict[str, Any] | None:
            if entry_id is None:
                return None
            return {"id": entry_id, "time_ms": entry_time_ms(entry_id)}

        return {
            "name": self.name,
            "key": keys.stream_key(self.name),
            "exists": self.length is not None,
            "length": self.length,
            "first_entry": end(self.first_id),
            "last_entry": end(self.last_id),
            "memory_bytes": self.memory,
        }


def stream_names() -> Flow[list[str]]:
    """Every stream listed in the `streams` set, sorted."""
    (names,) = yield from ask(("SMEMBERS", keys.STREAMS))
    return sorted(text(name) for name in names)


def read_stream(name: str) -> Flow[StreamRecord]:
    key = keys.stream_key(name)
    (ends,) = yield from ask(("EVAL", _STREAM_ENDS, 1, key))
    length, first, last = ends
    if length < 0:
        return StreamRecord(name, None, None, None, None)
    (memory,) = yield from ask(("MEMORY", "USAGE", key))
    return StreamRecord(name, length, text(first) or None, text(last) or None, memory)


@dataclass(frozen=True)
class SessionRecord:
    """A session hash (`sessions:<identity>`) as it is now."""

    identity: str
    fields: dict[str, str]
    ttl: int | None  # seconds left; None: the hash never expires

    @property
    def stream(self) -> str | None:
        return self.fields.get(keys.STREAM_NAME)

    @property
    def stream_session_id(self) -> str | None:
        return self.fields.get(keys.STREAM_SESSION_ID)

    @property
    def location(self) -> tuple[str, int] | None:
        """(stream name, stream session id) of its messages; None when the hash lacks them."""
        stream, session_id = self.stream, self.stream_session_id
        if stream is None or session_id is None or not session_id.isdigit():
            return None
        return stream, int(session_id)

    @property
    def stream_position(self) -> str:
        return self.fields.get(keys.STREAM_POSITION) or keys.NO_STREAM_POSITION

    @property
    def last_updated_ms(self) -> int | None:
        value = self.fields.get(keys.LAST_UPDATED)
        return int(value) if value and value.isdigit() else None

    @property
    def time_range(self) -> tuple[int, int] | None:
        start, end = self.fields.get(keys.T_START), self.fields.get(keys.T_END)
        try:
            return (int(start), int(end)) if start is not None and end is not None else None
        except ValueError:
            return None

    @property
    def json(self) -> str | None:
        """The latest Session JSON as streamed; None until the session is streamable."""
        return self.fields.get(keys.JSON)

    @property
    def model(self) -> dict[str, Any]:
        """The Session JSON as a dict; {} when the field is missing or not JSON."""
        try:
            model = json.loads(self.json or "{}")
        except ValueError:
            return {}
        return model if isinstance(model, dict) else {}

    def with_json(self, session_json: str) -> SessionRecord:
        """This record with a newer Session JSON (one read from the stream)."""
        return replace(self, fields={**self.fields, keys.JSON: session_json})

    @property
    def state(self) -> str:
        if self.json is None:
            return "(no json)"
        return str(self.model.get("state", "(no state)"))

    def is_stale(self, now_ms: int) -> bool:
        """Not ended, but its writer's heartbeat (lastUpdated) is older than
        keys.STALE_AFTER: the writer is gone (killed, cut off) or stuck."""
        age = self.age_s(now_ms)
        live = self.json is not None and self.state not in CLOSED_STATES
        return live and age is not None and age > keys.STALE_AFTER

    def state_at(self, now_ms: int) -> str:
        """The state to show: `stale` for a stale session (is_stale), else its state."""
        return "stale" if self.is_stale(now_ms) else self.state

    def age_s(self, now_ms: int) -> float | None:
        updated = self.last_updated_ms
        return None if updated is None else max(0.0, (now_ms - updated) / 1000)

    def to_json(self, now_ms: int) -> dict[str, Any]:
        time_range = self.time_range
        return {
            "identity": self.identity,
            "state": self.state,
            "stale": self.is_stale(now_ms),
            "identifier": self.model.get("identifier"),
            "stream": self.stream,
            "stream_session_id": self.stream_session_id,
            "stream_position": self.stream_position,
            "t_start": time_range[0] if time_range else None,
            "t_end": time_range[1] if time_range else None,
            "last_updated_ms": self.last_updated_ms,
            "age_s": self.age_s(now_ms),
            "ttl_s": self.ttl,
        }


def _record(identity: str, fields: dict[bytes, bytes], ttl: int) -> SessionRecord:
    decoded = {text(k): text(v) for k, v in fields.items()}
    return SessionRecord(identity, decoded, ttl if ttl >= 0 else None)


def read_session(identity: str) -> Flow[SessionRecord | None]:
    """The session's hash, or None when there is none (or the key is not a hash)."""
    key = keys.session_key(identity)
    fields, ttl = yield from ask(("HGETALL", key), ("TTL", key), raise_on_error=False)
    if not isinstance(fields, dict) or not fields:
        return None
    return _record(identity, fields, ttl)


def read_configuration(identifier: str) -> Flow[bytes | None]:
    """The JSON text published at `configs:<identifier>`, or None."""
    (text,) = yield from ask(("GET", keys.config_key(identifier)))
    return text if isinstance(text, bytes) else None


def read_configurations(session: SessionRecord) -> Flow[list[Bound]]:
    """The configurations the session's Session JSON binds, with their channel offsets,
    from `configs:<identifier>`; a binding whose configuration Redis does not hold (one
    published elsewhere) is left out."""
    bindings = [
        (b["identifier"], int(b.get("channelOffset", 0)))
        for b in session.model.get("configBindings") or ()
        if isinstance(b, dict) and isinstance(b.get("identifier"), str)
    ]
    commands = [("GET", keys.config_key(identifier)) for identifier, _ in bindings]
    replies = (yield from ask(*commands)) if commands else []
    return [
        Bound(Configuration.from_json(reply), offset)
        for (_, offset), reply in zip(bindings, replies, strict=True)
        if reply is not None
    ]


def read_sessions(identities: list[str]) -> Flow[list[SessionRecord]]:
    """The hashes of these sessions that exist, in the same order (one pipeline: on a
    cluster, each command goes to its key's node)."""
    names = [keys.session_key(identity) for identity in identities]
    commands = [command for name in names for command in (("HGETALL", name), ("TTL", name))]
    replies = (yield from ask(*commands, raise_on_error=False)) if commands else []
    return [
        _record(identity, fields, ttl)
        for identity, fields, ttl in zip(identities, replies[::2], replies[1::2], strict=True)
        if isinstance(fields, dict) and fields
    ]


def list_sessions(batch: int = 100, from_streams: bool | None = None) -> Flow[list[SessionRecord]]:
    """The session hashes, by identity, found the way that suits the deployment: SCAN on a
    single Redis (scan_sessions(): about 0.5 µs of Redis CPU per key), the listed streams'
    Session JSON messages on a Redis Cluster, where scanning the keyspace is discouraged.
    `from_streams` True or False forces either.

    From the streams: each stream in `streams` is read for its Session JSON messages, which
    name their sessions (stream_sessions(), `batch` entries a call). A hash whose Session
    JSON messages are all trimmed away, or whose stream is not listed, is not found. Redis
    reads every entry whole: about 0.3 ms of CPU per 56 KiB entry, some 3 s for a stream
    at the trimmer's 10 000 entries, so nothing that asks often should use it."""
    if from_streams is None:
        from_streams = yield CLUSTERED
    if not from_streams:
        return (yield from scan_sessions())
    identities: set[str] = set()
    for name in (yield from stream_names()):
        identities.update((yield from stream_sessions(name, batch)).values())
    return (yield from read_sessions(sorted(identities)))


def scan_sessions(batch: int = 1000) -> Flow[list[SessionRecord]]:
    """Every session hash, by identity: SCAN over the whole keyspace (on a cluster, of every
    master). Keys of another type are skipped."""
    found = yield Scan(keys.SESSION_PATTERN, batch)
    return (yield from read_sessions(sorted({keys.session_identity(key) for key in found})))


SMALL_MESSAGE = 16 * 1024
"""Bytes (compressed) up to which a stream message may be a Session JSON update: those are
far smaller than data bursts near the protocol's 64 KiB (a small data burst comes back too,
and names nobody)."""

# The entries after ARGV[1] (at most ARGV[2]) of stream sessions not named yet (ARGV[4...])
# whose data is at most ARGV[3] bytes: {last entry id looked at, entries looked at, {{stream
# session id, data}...}}. Run on the stream's node, so large messages never leave it.
_UNNAMED = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return {'', 0, {}} end
local named = {}
for i = 4, #ARGV do named[ARGV[i]] = true end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
local found = {}
for _, entry in ipairs(entries) do
  local id, data
  local fields = entry[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'id' then id = fields[j + 1] end
    if fields[j] == 'data' then data = fields[j + 1] end
  end
  if id and data and not named[id] and #data <= tonumber(ARGV[3]) then
    found[#found + 1] = {id, data}
  end
end
local last = entries[#entries]
return {last and last[1] or '', #entries, found}
"""


def stream_sessions(name: str, batch: int = 100) -> Flow[dict[int, str]]:
    """The identity of each stream session of stream `name`, read from its Session JSON
    messages: the stream is walked on its node, `batch` entries at a time, and only small
    messages of sessions not named yet come back (see SMALL_MESSAGE)."""
    key = keys.stream_key(name)
    names: dict[int, str] = {}
    after = keys.NO_STREAM_POSITION
    while True:
        ((last, looked, found),) = yield from ask(
            ("EVAL", _UNNAMED, 1, key, after, batch, SMALL_MESSAGE, *names)
        )
        for session_id, data in found:
            identity = _identity(key, data)
            if identity is not None and session_id.isdigit():
                names.setdefault(int(session_id), identity)
        if looked < batch:
            return names
        after = text(last)


def _identity(key: str, data: bytes) -> str | None:
    """The identity a Session JSON update in this message names, if it has one."""
    entry = decode_entry(key, "", 0, data)
    return identity_of(entry.items) if isinstance(entry, Entry) else None
