"""The store and Redis as one source: what rtastream serve --store serves with a Redis.

The rules, each the simplest that is exact:

- Sessions: a session known to either is listed. Where both know it, the closed copy wins
  (a closed session never opens again), and between copies equally open or closed Redis's
  (the store's is a copy Redis had at the recorder's last commit: never newer).
- Configurations: from Redis, else from the store (a configuration never changes under
  its identifier, so either copy is the same).
- Data of a session the store has closed (compacted): the store's files alone. Of a
  session the store has open: the store's committed segments up to the stream position
  they reach, then Redis's entries of the session after that position. The recorder
  writes a segment and its position in one atomic step, and stream entry ids only grow, so
  each entry of the session is on exactly one side: no sample missing, none twice
  (deduplicating by channel and time would instead drop samples a channel legitimately
  repeats). One race is left: the recorder commits past the store's part and Redis trims
  what it committed before the edge is read; the edge would then start later than the
  part ends. So once the edge is read, Redis's counts are asked (rtastream.reader.
  trimming): if nothing after the part's end was ever trimmed, every read of the edge saw
  every entry there, and the join is whole; else both are read again (a 503 after
  JOIN_TRIES). Of a session only Redis has: Redis alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from rtastream.channels import Channels
from rtastream.decoding import DecodedItem
from rtastream.reader.entries import CLOSED_STATES
from rtastream.server.rest.sources import Blocks, Kind, Listed, RedisSource
from rtastream.server.rest.stored import StoreSource


def _closed(model: dict[str, Any]) -> bool:
    return model.get("state") in CLOSED_STATES


def newer(stored: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The copy of one session's Session JSON to serve (see the module's rules)."""
    return stored if _closed(stored) and not _closed(live) else live


def merged(stored: list[Listed], live: list[Listed]) -> list[Listed]:
    """Every session of either listing once, its copy chosen by newer()."""
    found = {entry.model["identity"]: entry for entry in stored}
    for entry in live:
        known = found.get(entry.model["identity"])
        if known is None or newer(known.model, entry.model) is entry.model:
            found[entry.model["identity"]] = entry
    return list(found.values())


JOIN_TRIES = 3
"""Reads of the store's part and Redis's edge before a request gives up (503)."""


class JoinedSource:
    """The three REST sources over a store and a Redis, joined by the module's rules."""

    def __init__(self, store: StoreSource, redis: RedisSource) -> None:
        self.store = store
        self.redis = redis

    async def sessions(self) -> list[Listed]:
        stored, live = await asyncio.gather(self.store.sessions(), self.redis.sessions())
        return merged(stored, live)

    async def session(self, identity: str) -> dict[str, Any] | None:
        stored, live = await asyncio.gather(
            self.store.session(identity), self.redis.session(identity)
        )
        if stored is None or live is None:
            return stored or live
        return newer(stored, live)

    async def has_config(self, identifier: str) -> bool:
        return await self.redis.has_config(identifier) or await self.store.has_config(identifier)

    async def config(self, identifier: str) -> bytes | None:
        return await self.redis.config(identifier) or await self.store.config(identifier)

    async def ready(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Blocks | None:
        """Only a session the store has closed has ready chunks: its files alone serve it."""
        return await self.store.ready(identity, kind, channels, start, end)

    async def read(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Sequence[DecodedItem] | None:
        for _ in range(JOIN_TRIES):
            part = await self.store.part(identity, kind, channels, start, end)
            if part is None:
                return await self.redis.read(identity, kind, channels, start, end)
            if part.after is None:
                return part.items
            stream, session_id, position, before = part.after
            edge = await self.redis.edge(stream, session_id, position, kind)
            if not await self.redis.trimmed_past(stream, before):
                return [*part.items, *edge]
        raise web.HTTPServiceUnavailable(
            text=f"session {identity}: Redis trimmed stream {stream} past {position} while the "
            f"store was read, {JOIN_TRIES} times; try again"
        )
