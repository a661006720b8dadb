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
  repeats). Of a session only Redis has: Redis alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

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
        part = await self.store.part(identity, kind, channels, start, end)
        if part is None:
            return await self.redis.read(identity, kind, channels, start, end)
        if part.after is None:
            return part.items
        return [*part.items, *await self.redis.edge(*part.after, kind)]
