"""Reading what is in Redis right now: streams, session hashes, and one session's messages.

Everything here follows docs/protocol.md through rtastream.keys and decodes with
rtastream.decode, so the commands built on it are independent of the writer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from rtastream import (
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    SessionState,
    TimeRangeItem,
    TimestampedItem,
    decode,
    keys,
    unpack,
)

CLOSED_STATES = tuple(state.json_name for state in SessionState if state.is_closed)

# The first and last entry ids without sending the (large) payloads back to the client.
_STREAM_ENDS = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return {-1, '', ''} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
return {redis.call('XLEN', KEYS[1]), first and first[1] or '', last and last[1] or ''}
"""


def text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def entry_time_ms(entry_id: str) -> int:
    """The millisecond timestamp Redis put in a stream entry id ('1700000000000-0')."""
    return int(entry_id.split("-", 1)[0])


# --- streams -----------------------------------------------------------------------------

@dataclass
class StreamRecord:
    name: str
    length: int | None  # None: listed in `streams` but the key does not hold a stream
    first_id: str | None
    last_id: str | None
    memory: int | None

    def to_json(self) -> dict[str, Any]:
        def end(entry_id: str | None) -> dict[str, Any] | None:
            if entry_id is None:
                return None
            return {"id": entry_id, "time_ms": entry_time_ms(entry_id)}
        return {"name": self.name, "key": keys.stream_key(self.name),
                "exists": self.length is not None, "length": self.length,
                "first_entry": end(self.first_id), "last_entry": end(self.last_id),
                "memory_bytes": self.memory}


def stream_names(client: redis.Redis) -> list[str]:
    return sorted(text(name) for name in client.smembers(keys.STREAMS))


def read_stream(client: redis.Redis, name: str) -> StreamRecord:
    key = keys.stream_key(name)
    length, first, last = client.eval(_STREAM_ENDS, 1, key)
    if length < 0:
        return StreamRecord(name, None, None, None, None)
    return StreamRecord(name, length, text(first) or None, text(last) or None,
                        client.memory_usage(key))


def stream_exists(client: redis.Redis, name: str) -> bool:
    return (bool(client.sismember(keys.STREAMS, name))
            or client.type(keys.stream_key(name)) == b"stream")


# --- session hashes ----------------------------------------------------------------------

@dataclass
class SessionRecord:
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
    def stream_position(self) -> str:
        return self.fields.get(keys.STREAM_POSITION) or keys.NO_STREAM_POSITION

    @property
    def last_updated_ms(self) -> int | None:
        value = self.fields.get(keys.LAST_UPDATED)
        return int(value) if value and value.isdigit() else None

    @property
    def time_range(self) -> tuple[int, int] | None:
        start, end = self.fields.get(keys.T_START), self.fields.get(keys.T_END)
        if start is None or end is None:
            return None
        return int(start), int(end)

    @property
    def model(self) -> dict[str, Any]:
        """The session JSON as a dict; {} when the field is missing or not JSON."""
        try:
            model = json.loads(self.fields.get(keys.JSON) or "{}")
        except ValueError:
            return {}
        return model if isinstance(model, dict) else {}

    @property
    def state(self) -> str:
        if keys.JSON not in self.fields:
            return "(no json)"
        return str(self.model.get("state", "(no state)"))

    def age_s(self, now_ms: int) -> float | None:
        updated = self.last_updated_ms
        return None if updated is None else max(0.0, (now_ms - updated) / 1000)

    def to_json(self, now_ms: int) -> dict[str, Any]:
        time_range = self.time_range
        return {
            "identity": self.identity, "state": self.state,
            "identifier": self.model.get("identifier"), "stream": self.stream,
            "stream_session_id": self.stream_session_id, "stream_position": self.stream_position,
            "t_start": time_range[0] if time_range else None,
            "t_end": time_range[1] if time_range else None,
            "last_updated_ms": self.last_updated_ms, "age_s": self.age_s(now_ms), "ttl_s": self.ttl,
        }


def _record(identity: str, fields: dict[bytes, bytes], ttl: int) -> SessionRecord:
    decoded = {text(k): text(v) for k, v in fields.items()}
    return SessionRecord(identity, decoded, ttl if ttl >= 0 else None)


def read_session(client: redis.Redis, identity: str) -> SessionRecord | None:
    key = keys.session_key(identity)
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(key)
    pipe.ttl(key)
    fields, ttl = pipe.execute()
    return _record(identity, fields, ttl) if fields else None


def list_sessions(client: redis.Redis) -> list[SessionRecord]:
    """Every session hash, by identity. Keys of another type are skipped."""
    names = sorted({text(k) for k in client.scan_iter(match=keys.SESSION_PATTERN, count=1000)})
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(name)
        pipe.ttl(name)
    replies = pipe.execute(raise_on_error=False)
    records = []
    for name, fields, ttl in zip(names, replies[::2], replies[1::2]):
        if isinstance(fields, dict) and fields:
            records.append(_record(keys.session_identity(name), fields, ttl))
    return records


# --- one session's messages --------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    entry_id: str
    stream_session_id: str
    data: bytes


def session_messages(client: redis.Redis, session: SessionRecord,
                     batch: int = 200) -> Iterator[Message]:
    """The session's entries in its stream, after its streamPosition, oldest first."""
    key = keys.stream_key(session.stream or "")
    wanted = session.stream_session_id
    start = "(" + session.stream_position
    while True:
        entries = client.xrange(key, min=start, max="+", count=batch)
        for entry_id, fields in entries:
            message = to_message(entry_id, fields)
            if message.stream_session_id == wanted:
                yield message
        if len(entries) < batch:
            return
        start = "(" + text(entries[-1][0])


def to_message(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Message:
    session_id = text(fields.get(keys.ENTRY_ID.encode())) or ""
    return Message(text(entry_id), session_id, fields.get(keys.ENTRY_DATA.encode(), b""))


# --- statistics --------------------------------------------------------------------------

KINDS = {TimestampedItem: "timestamped", PeriodicItem: "periodic", RowItem: "row",
         EventItem: "event", TimeRangeItem: "time_range", SessionJsonItem: "session_json"}


@dataclass
class ChannelStats:
    kinds: set[str] = field(default_factory=set)
    samples: int = 0
    nbytes: int = 0
    first: int | None = None
    last: int | None = None

    def add(self, kind: str, samples: int, nbytes: int, first: int, last: int) -> None:
        self.kinds.add(kind)
        self.samples += samples
        self.nbytes += nbytes
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)

    def merge(self, other: ChannelStats) -> None:
        self.kinds |= other.kinds
        self.samples += other.samples
        self.nbytes += other.nbytes
        for t in (other.first, other.last):
            if t is not None:
                self.first = t if self.first is None else min(self.first, t)
                self.last = t if self.last is None else max(self.last, t)

    @property
    def span_ns(self) -> int:
        return (self.last - self.first) if self.first is not None else 0

    @property
    def rate_hz(self) -> float | None:
        """Samples per second over the channel's span (None below two distinct times)."""
        return (self.samples - 1) * 1e9 / self.span_ns if self.span_ns > 0 else None


@dataclass
class MessageSummary:
    """One stream entry decoded: what `tail` prints and what session statistics add up."""

    message: Message
    raw: int
    kinds: Counter[str]
    channels: dict[int, ChannelStats]
    events: list[EventItem]
    states: list[str]
    time_range: tuple[int, int] | None  # the last StreamTimeRange it carries

    @property
    def compressed(self) -> int:
        return len(self.message.data)

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.channels.values())

    @property
    def data_span(self) -> tuple[int, int] | None:
        """First and last sample time over every channel in the message."""
        firsts = [c.first for c in self.channels.values() if c.first is not None]
        lasts = [c.last for c in self.channels.values() if c.last is not None]
        return (min(firsts), max(lasts)) if firsts else None


def summarize(message: Message) -> MessageSummary:
    raw = unpack(message.data)
    kinds: Counter[str] = Counter()
    channels: dict[int, ChannelStats] = {}
    events: list[EventItem] = []
    states: list[str] = []
    time_range = None
    for item in decode(raw, compressed=False):
        kind = KINDS[type(item)]
        kinds[kind] += 1
        if isinstance(item, TimestampedItem) and len(item.timestamps):
            stats = channels.setdefault(item.channel_id, ChannelStats())
            stats.add(kind, len(item.timestamps), len(item.buffer),
                      int(item.timestamps.min()), int(item.timestamps.max()))
        elif isinstance(item, PeriodicItem) and item.samples:
            stats = channels.setdefault(item.channel_id, ChannelStats())
            stats.add(kind, item.samples, len(item.buffer), item.start,
                      item.start + item.interval * (item.samples - 1))
        elif isinstance(item, RowItem):
            for channel_id in item.channel_ids:  # a row's buffer mixes widths: no bytes per channel
                channels.setdefault(channel_id, ChannelStats()).add(
                    kind, 1, 0, item.timestamp, item.timestamp)
        elif isinstance(item, EventItem):
            events.append(item)
        elif isinstance(item, TimeRangeItem):
            time_range = (item.start, item.end)
        elif isinstance(item, SessionJsonItem):
            try:
                model = item.json()
                states.append(str(model.get("state", "?")) if isinstance(model, dict) else "?")
            except ValueError:
                states.append("(bad json)")
    return MessageSummary(message, len(raw), kinds, channels, events, states, time_range)


@dataclass
class EventStats:
    count: int = 0
    first: int | None = None
    last: int | None = None
    last_status: str = ""


@dataclass
class SessionStats:
    """What one session's messages add up to."""

    messages: int = 0
    data_bursts: int = 0  # messages carrying samples or events (not only JSON or time range)
    raw_sizes: list[int] = field(default_factory=list)
    compressed_sizes: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    channels: dict[int, ChannelStats] = field(default_factory=dict)
    events: dict[int, EventStats] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    first_entry: str | None = None
    last_entry: str | None = None
    starts_with_json: bool = False
    time_range: tuple[int, int] | None = None

    def add(self, summary: MessageSummary) -> None:
        if self.messages == 0:
            self.first_entry = summary.message.entry_id
            self.starts_with_json = bool(summary.kinds["session_json"])
        self.last_entry = summary.message.entry_id
        self.messages += 1
        if summary.channels or summary.events:
            self.data_bursts += 1
        self.raw_sizes.append(summary.raw)
        self.compressed_sizes.append(summary.compressed)
        self.kinds.update(summary.kinds)
        for channel_id, stats in summary.channels.items():
            self.channels.setdefault(channel_id, ChannelStats()).merge(stats)
        for event in summary.events:
            stats = self.events.setdefault(event.definition_id, EventStats())
            stats.count += 1
            if stats.first is None or event.timestamp < stats.first:
                stats.first = event.timestamp
            if stats.last is None or event.timestamp >= stats.last:
                stats.last, stats.last_status = event.timestamp, event.status_text
        self.states.extend(summary.states)
        if summary.time_range is not None:
            self.time_range = summary.time_range

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.channels.values())

    @property
    def raw(self) -> int:
        return sum(self.raw_sizes)

    @property
    def compressed(self) -> int:
        return sum(self.compressed_sizes)

    @property
    def ratio(self) -> float | None:
        return self.raw / self.compressed if self.compressed else None

    @property
    def final_state(self) -> str | None:
        return self.states[-1] if self.states else None

    def to_json(self) -> dict[str, Any]:
        def sizes(values: list[int]) -> dict[str, Any]:
            if not values:
                return {"total": 0, "min": None, "mean": None, "max": None}
            return {"total": sum(values), "min": min(values), "mean": sum(values) / len(values),
                    "max": max(values)}
        return {
            "messages": self.messages, "data_bursts": self.data_bursts,
            "first_entry": self.first_entry, "last_entry": self.last_entry,
            "starts_with_session_json": self.starts_with_json,
            "states": self.states, "final_state": self.final_state,
            "items": dict(sorted(self.kinds.items())),
            "samples": self.samples,
            "raw_bytes": sizes(self.raw_sizes), "compressed_bytes": sizes(self.compressed_sizes),
            "compression_ratio": self.ratio,
            "streamed_time_range": list(self.time_range) if self.time_range else None,
            "channels": {
                str(cid): {"kinds": sorted(c.kinds), "samples": c.samples, "bytes": c.nbytes,
                           "first": c.first, "last": c.last, "span_ns": c.span_ns,
                           "rate_hz": c.rate_hz}
                for cid, c in sorted(self.channels.items())},
            "events": {
                str(eid): {"count": e.count, "first": e.first, "last": e.last,
                           "last_status_text": e.last_status}
                for eid, e in sorted(self.events.items())},
        }


def session_stats(client: redis.Redis, session: SessionRecord) -> SessionStats:
    stats = SessionStats()
    for message in session_messages(client, session):
        stats.add(summarize(message))
    return stats
