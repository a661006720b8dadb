"""Where the REST resources come from: small interfaces, and their Redis implementations.

A durable store of recorded sessions plugs in by implementing the same three interfaces
(for instance, sessions from the store and from Redis, newest copy winning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import redis.asyncio

from rtastream import keys
from rtastream.decoding import DecodedItem, EventItem, PeriodicItem, RowItem, TimestampedItem
from rtastream.reader import (
    AsyncSessionReader,
    SessionNotFound,
    SessionRecord,
    read_session,
    run_async,
    scan_sessions,
)
from rtastream.server.rest.channels import Channels

Kind = Literal["timestamped", "periodic", "row", "events"]
ITEM_TYPES: dict[Kind, type] = {
    "timestamped": TimestampedItem,
    "periodic": PeriodicItem,
    "row": RowItem,
    "events": EventItem,
}
RedisClient = redis.asyncio.Redis | redis.asyncio.RedisCluster


class SessionSource(Protocol):
    async def sessions(self) -> list[dict[str, Any]]:
        """Every session's Session JSON."""

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
    from the session's stream, as long as Redis holds them."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client

    async def sessions(self) -> list[dict[str, Any]]:
        # SCAN (every master of a cluster): the page asks every 2 s, and finding sessions
        # from the streams' messages costs Redis far more (each entry read whole).
        records = await run_async(self.client, scan_sessions())
        return [m for m in map(session_model, records) if m is not None]

    async def session(self, identity: str) -> dict[str, Any] | None:
        record = await run_async(self.client, read_session(identity))
        return None if record is None else session_model(record)

    async def has_config(self, identifier: str) -> bool:
        kind = await self.client.type(keys.config_key(identifier))
        return kind in (b"string", "string")  # another type is not a configuration

    async def config(self, identifier: str) -> bytes | None:
        try:
            value = await self.client.get(keys.config_key(identifier))
        except redis.ResponseError:  # WRONGTYPE: not a configuration
            return None
        return value if isinstance(value, bytes) else None

    async def read(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Sequence[DecodedItem] | None:
        record = await run_async(self.client, read_session(identity))
        if record is None or session_model(record) is None:
            return None
        if record.location is None:
            return []
        wanted = ITEM_TYPES[kind]
        reader = AsyncSessionReader(self.client, identity, follow=False)
        try:
            return [item async for item in reader if isinstance(item, wanted)]
        except SessionNotFound:  # its hash expired meanwhile
            return None
