"""Sessions, configurations and data from the recorder's store (rtastream.store): a
closed session from its compacted files, an open one from its stream's committed segments.

Store I/O blocks (pyarrow, and S3 round trips): every call runs on a worker thread, so
the event loop, and the WebSocket clients it serves, never wait on a disk or a bucket.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from rtastream import keys
from rtastream.channels import Channels
from rtastream.decoding import DecodedItem
from rtastream.server.rest.sources import ITEM_TYPES, Blocks, Kind, Listed
from rtastream.store import Store
from rtastream.store.items import sample_items, table_items
from rtastream.store.segments import segment_position

REFRESH = 1.0
"""Seconds a listing of the store's sessions is kept before it is read again."""
INT64_MAX = 2**63 - 1
LISTED_IDS = 4096
"""Channel ranges spanning up to this many ids are passed to the store (its row-group
statistics then skip the rest); wider ones are read whole and filtered."""


@dataclass(frozen=True)
class Part:
    """What the store holds of a session's data. For an open session, `after` is where
    its stream's committed part ends: (stream, stream session id, last entry id, entries
    the stream was given up to it)."""

    items: list[DecodedItem]
    after: tuple[str, int, str, int] | None = None


def record_model(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Session JSON of a store's index record (None: none there, or not one)."""
    try:
        model = json.loads(record["json"]) if record is not None else None
    except (ValueError, TypeError, KeyError):
        return None
    return model if isinstance(model, dict) and model.get("identity") else None


class Index:
    """The store's sessions, listed once every REFRESH s at most. A complete record never
    changes again (rtastream.store): it is read once; only new and open ones are read
    again. A listing of 10 000 sessions is then one folder listing, not 10 000 files."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.complete: dict[str, Listed] = {}  # by folder name
        self.listed: list[Listed] = []
        self.read_at = -REFRESH
        self.lock = threading.Lock()  # one reader refreshes; the others wait for it

    def sessions(self) -> list[Listed]:
        with self.lock:
            if time.monotonic() - self.read_at >= REFRESH:
                names = self.store.files.list("sessions")
                found = (self.complete.get(name) or self._load(name) for name in names)
                self.listed = [listed for listed in found if listed is not None]
                self.read_at = time.monotonic()
            return self.listed

    def _load(self, name: str) -> Listed | None:
        record = self.store.session_by_name(name)
        model = record_model(record)
        if model is None or record is None:
            return None
        if record.get("complete"):
            listed = self.complete[name] = Listed(model)
            return listed
        return Listed(model, self._silent(record["stream"]))

    def _silent(self, stream: str) -> bool:
        """Whether nothing was recorded on an open session's stream for keys.STALE_AFTER s
        (by the time in its newest segment's last entry id, Redis's clock): as far as the
        store can tell, its writer or its recorder is gone. Listed as stale, as a session
        whose heartbeat stopped is, so that ATLAS is not sent to a stream that is silent."""
        names = self.store.segments(stream)
        if not names:
            return True
        last_ms = int(segment_position(names[-1])[0].split("-")[0])
        return time.time() * 1000 - last_ms > keys.STALE_AFTER * 1000


class StoreSource:
    """The three REST sources (sources.py) over a store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index = Index(store)

    async def sessions(self) -> list[Listed]:
        return await asyncio.to_thread(self.index.sessions)

    async def session(self, identity: str) -> dict[str, Any] | None:
        return record_model(await asyncio.to_thread(self.store.session, identity))

    async def has_config(self, identifier: str) -> bool:
        return await self.config(identifier) is not None

    async def config(self, identifier: str) -> bytes | None:
        text = await asyncio.to_thread(self.store.config, identifier)
        return text.encode() if text is not None else None

    async def read(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> list[DecodedItem] | None:
        """Only what the store holds (of an open session: up to its last commit)."""
        part = await self.part(identity, kind, channels, start, end)
        return None if part is None else part.items

    async def ready(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Blocks | None:
        def read() -> Blocks | None:
            record = self.store.session(identity)
            if record is None or record_model(record) is None:
                return None
            return self.store.ready_chunks(record, kind, channels, start, end)

        return await asyncio.to_thread(read)

    async def part(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Part | None:
        def read() -> Part | None:
            try:
                return self._part(identity, kind, channels, start, end)
            except FileNotFoundError:  # compacted meanwhile: segments pruned, files there
                return self._part(identity, kind, channels, start, end)

        return await asyncio.to_thread(read)

    def _part(
        self, identity: str, kind: Kind, channels: Channels | None, start: int, end: int
    ) -> Part | None:
        record = self.store.session(identity)
        if record is None or record_model(record) is None:
            return None
        if not record.get("complete"):
            return self._open_part(record, kind)
        lo, hi = (start or None), (end if end <= INT64_MAX else None)  # int64 columns
        if kind == "events" or kind == "row":
            stem = "events" if kind == "events" else "rows"
            return Part(list(table_items(self.store.table(identity, stem, None, lo, hi))))
        assert channels is not None
        series = self.store.read(identity, kind, _ids(channels), lo, hi)
        return Part(sample_items(kind, {c: s for c, s in series.items() if c in channels}))

    def _open_part(self, record: dict[str, Any], kind: Kind) -> Part:
        """The committed segments, as listed now: the last one's name is the stream
        position they reach, so what they hold and where Redis's part starts agree."""
        stream, session_id = record["stream"], int(record["stream_session_id"])
        names = self.store.segments(stream)
        position, before = segment_position(names[-1]) if names else (keys.NO_STREAM_POSITION, 0)
        wanted = ITEM_TYPES[kind]
        entries = self.store.entries(stream, session_id, names, identity=record["identity"])
        items = [item for entry in entries for item in entry.items if isinstance(item, wanted)]
        return Part(items, (stream, session_id, position, before))


def _ids(channels: Channels) -> list[int] | None:
    if sum(hi - lo + 1 for lo, hi in channels.ranges) > LISTED_IDS:
        return None
    return sorted({c for lo, hi in channels.ranges for c in range(lo, hi + 1)})
