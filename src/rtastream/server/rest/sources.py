"""Where the REST resources come from: small interfaces, and their Redis implementations.

The recorder's store implements the same three (server/rest/stored.py), and
server/rest/join.py joins the two: sessions from either, an open session's data from the
store up to its committed position and from Redis after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import redis.asyncio

from rtastream import keys
from rtastream.channels import Channels
from rtastream.decoding import DecodedItem, EventItem, PeriodicItem, RowItem, TimestampedItem
from rtastream.reader import SessionRecord, read_session, scan_sessions
from rtastream.reader.aio import drive
from rtastream.reader.flow import Cursor
from rtastream.reader.plans import log_bad_entry
from rtastream.reader.trimming import COUNTS, trimmed_past
from rtastream.server.hub import Hub

Kind = Literal["timestamped", "periodic", "row", "events"]
ITEM_TYPES: dict[Kind, type] = {
    "timestamped": TimestampedItem,
    "periodic": PeriodicItem,
    "row": RowItem,
    "events": EventItem,
}
RedisClient = redis.asyncio.Redis | redis.asyncio.RedisCluster
BATCH = 200  # stream entries a read asks for
Blocks = Iterator[bytes]
"""A response body made as it is sent: each next() (on a worker thread) makes a block."""


@dataclass(frozen=True)
class Listed:
    """A session as listed: its Session JSON, and whether its writer's heartbeat stopped
    (not ended, but `lastUpdated` older than keys.STALE_AFTER)."""

    model: dict[str, Any]
    stale: bool = False


class SessionSource(Protocol):
    async def sessions(self) -> list[Listed]:
        """Every session."""

    async def session(self, identity: str) -> dict[str, Any] | None:
        """One session's Session JSON, or None if unknown."""


class ConfigSource(Protocol):
    async def has_config(self, identifier: str) -> bool: ...

    async def config(self, identifier: str) -> bytes | None:
        """The configuration's JSON text, or None if unknown."""


class DataSource(Protocol):
    async def read(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Sequence[DecodedItem] | None:
        """Items of `kind` holding every sample of `channels` (None for events) timed in
        [start, end] (they may hold more: the caller cuts); None for an unknown session."""

    async def ready(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Blocks | None:
        """The response body from chunks cut and compressed before (a closed session's, in
        the store), in blocks; None when there are none: then read() and chunk."""


@dataclass(frozen=True)
class Sources:
    sessions: SessionSource
    configs: ConfigSource
    data: DataSource


def session_model(record: SessionRecord) -> dict[str, Any] | None:
    """The Session JSON of a streamable session (one whose hash has a json field)."""
    if record.json is None:
        return None
    model = record.model
    return model if model.get("identity") else None


class RedisSource:
    """Sessions from their hashes, configurations from `configs:<identifier>` strings, data
    from the session's stream, as long as Redis holds them. Every command waits for its
    turn in the hub, as each WebSocket client's do (Busy past the wait: 503)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.client: RedisClient = hub.redis

    async def sessions(self) -> list[Listed]:
        # SCAN (every master of a cluster): the page asks every 2 s, and finding sessions
        # from the streams' messages costs Redis far more (each entry read whole).
        records = await self.hub.ask(scan_sessions())
        now_ms = int(time.time() * 1000)
        return [
            Listed(model, record.is_stale(now_ms))
            for record in records
            if (model := session_model(record)) is not None
        ]

    async def session(self, identity: str) -> dict[str, Any] | None:
        record = await self.hub.ask(read_session(identity))
        return None if record is None else session_model(record)

    async def has_config(self, identifier: str) -> bool:
        kind = await self.hub.query(lambda: self.client.type(keys.config_key(identifier)))
        return kind in (b"string", "string")  # another type is not a configuration

    async def config(self, identifier: str) -> bytes | None:
        try:
            value = await self.hub.query(lambda: self.client.get(keys.config_key(identifier)))
        except redis.ResponseError:  # WRONGTYPE: not a configuration
            return None
        return value if isinstance(value, bytes) else None

    async def read(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Sequence[DecodedItem] | None:
        record = await self.hub.ask(read_session(identity))
        if record is None or session_model(record) is None:
            return None
        if record.location is None:
            return []
        return await self.edge(*record.location, record.stream_position, kind)

    async def ready(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Blocks | None:
        return None  # Redis holds entries, not chunks

    async def trimmed_past(self, stream: str, before: int) -> bool:
        """Whether Redis has trimmed entries of `stream` after the `before`-th it was given
        (rtastream.reader.trimming)."""
        key = keys.stream_key(stream)
        added, length = await self.hub.query(lambda: self.client.eval(COUNTS, 1, key))
        return trimmed_past(int(added), int(length), before)

    async def edge(
        self, stream: str, stream_session_id: int, after: str, kind: Kind
    ) -> list[DecodedItem]:
        """Items of `kind` of a stream session, from the entries after entry id `after` up
        to its final Session JSON (or the stream's end): all Redis holds of it past there."""
        cursor = Cursor(
            stream,
            after,
            stream_session_id,
            follow=False,
            block_ms=1,
            batch=BATCH,
            report=log_bad_entry,
            stopped=lambda: False,
        )
        wanted = ITEM_TYPES[kind]

        async def items() -> list[DecodedItem]:
            entries = drive(self.client, cursor.read())
            return [
                item async for entry in entries for item in entry.items if isinstance(item, wanted)
            ]

        return await self.hub.query(items)
