"""Live sessions and the stream readers that feed them.

One reader per stream (XREAD BLOCK on `stream:<name>`), shared by every client of every
session on it: each entry is decoded once, then handed to the clients of its session. A
client that widens its subscription gets the newly subscribed data back-filled from the
session's first message up to the entry the shared reader had passed on at that moment;
everything after that entry reaches it live. Overlap is possible, a gap is not.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import redis.exceptions

from rtastream import Burst, DecodedItem, SessionJsonItem, TimeRangeItem
from rtastream.reader import Entry
from rtastream.reader.aio import SessionReader, StreamReader, run
from rtastream.reader.flow import Flow, T
from rtastream.reader.retry import LASTING, Reconnecting
from rtastream.server import packing
from rtastream.server.client import Client
from rtastream.server.subscription import Subscription, reaches

log = logging.getLogger("rtastream.server")

TICK = 0.1  # seconds between time-range updates: 10 Hz at most
CLIENT_QUERIES = 64  # clients' Redis commands at once: below redis-py's pool of 100
QUERY_WAIT = 10.0  # seconds a client's command may wait for its turn before 1013
FEED_BLOCK = 0.25  # seconds an idle stream's XREAD waits: how soon a stopped reader ends
BACKFILL_BATCH = 16  # entries per read: ~1 MiB at the protocol's 64 KiB a message


class Busy(Exception):
    """A client's Redis command waited QUERY_WAIT seconds for its turn: too much load."""


def entry_after(a: str, b: str) -> bool:
    """Whether stream entry id a comes after b."""
    return tuple(map(int, a.split("-"))) > tuple(map(int, b.split("-")))


class LiveSession:
    """The clients of one session, and what has been passed on to them."""

    def __init__(self, hub: Hub, identity: str, stream: str, stream_session_id: int) -> None:
        self.hub = hub
        self.identity = identity
        self.stream = stream
        self.stream_session_id = stream_session_id
        self.clients: set[Client] = set()
        self.time_range: tuple[int, int] | None = None
        self.ended = False

    def dispatch(self, entry: Entry) -> None:
        """Hand one live entry to every client, filtered to its subscription."""
        time_range = next(
            (item for item in reversed(entry.items) if isinstance(item, TimeRangeItem)), None
        )
        if time_range is not None:
            self.time_range = (time_range.start, time_range.end)
        final = entry.final_state is not None
        if final:
            self.tick()  # the latest time range before the final state
        groups: dict[Subscription, list[Client]] = defaultdict(list)
        for client in self.clients:
            if not client.closed:
                groups[client.subscription].append(client)
        for subscription, clients in groups.items():
            messages, carries_range = self.messages_for(entry, subscription)
            for client in clients:
                for message in messages:
                    client.push(message)
                if carries_range:
                    client.sent_time_range = self.time_range
        if final:
            self.end()

    @staticmethod
    def messages_for(entry: Entry, subscription: Subscription) -> tuple[list[bytes], bool]:
        """(messages, whether they carry the entry's time range). The entry is passed on as
        it is when the subscription keeps all of it; a time range alone waits for tick()."""
        kept: list[DecodedItem] = []
        whole = True
        for item in entry.items:
            if isinstance(item, (SessionJsonItem, TimeRangeItem)) or subscription.wants(item):
                kept.append(item)
            else:
                whole = False
        if whole and any(not isinstance(i, TimeRangeItem) for i in entry.items):
            return [entry.data], True
        if all(isinstance(item, TimeRangeItem) for item in kept):
            return [], False
        return packing.pack(kept), any(isinstance(item, TimeRangeItem) for item in kept)

    def tick(self) -> None:
        """Send the latest time range to every client that has not had it yet."""
        if self.time_range is None:
            return
        message = None
        for client in self.clients:
            if not client.closed and client.sent_time_range != self.time_range:
                message = message or packing.time_range(*self.time_range)
                client.push(message)
                client.sent_time_range = self.time_range

    def end(self) -> None:
        self.ended = True
        for client in self.clients:
            client.end()

    def subscribe(self, client: Client, more: Subscription) -> None:
        """Widen the client's subscription; back-fill what it adds up to the live edge."""
        client.subscription, added = client.subscription.widen(more)
        if not added:
            return
        upto = self.hub.feeds[self.stream].passed_on
        task = asyncio.create_task(self.backfill(client, added, upto))
        client.backfills.add(task)
        task.add_done_callback(lambda done: self._backfilled(client, done))

    def _backfilled(self, client: Client, task: asyncio.Task[None]) -> None:
        client.backfills.discard(task)
        client.changed.set()  # an ending client may close now
        error = None if task.cancelled() else task.exception()
        if isinstance(error, Busy):
            client.refuse(str(error))
        elif error is not None:
            log.error("back-fill of session %s failed: %r", self.identity, error)

    async def backfill(self, client: Client, added: Subscription, upto: str) -> None:
        """The data and events `added` keeps, from the session's first message to `upto`,
        packed into messages of about 64 KiB; only items reaching the client's `since`."""
        reader = SessionReader(
            self.hub.redis,
            self.identity,
            follow=False,
            batch=BACKFILL_BATCH,
            reconnect_timeout=self.hub.reconnect_timeout,
        )
        burst = Burst()
        entries = reader.entries()
        while (entry := await self.hub.query(lambda: anext(entries, None))) is not None:
            if entry_after(entry.id, upto) or client.closed:
                break
            for item in entry.items:
                if added.wants(item) and (client.since is None or reaches(item, client.since)):
                    packing.add(burst, item)
            if burst.nbytes >= packing.TARGET:
                await self._flush(client, burst)
        await self._flush(client, burst)

    @staticmethod
    async def _flush(client: Client, burst: Burst) -> None:
        if len(burst):
            for message in burst.pack(packing.TARGET):
                await client.push_paced(message)
            burst.clear()


class Feed:
    """The one reader of a stream, dispatching entries to the live sessions on it."""

    def __init__(self, hub: Hub, stream: str) -> None:
        self.hub = hub
        self.stream = stream
        self.reader = StreamReader(
            hub.feed_redis,
            stream,
            start="new",
            block=FEED_BLOCK,
            reconnect_timeout=hub.reconnect_timeout,
        )
        self.sessions: dict[int, LiveSession] = {}

    async def start(self) -> None:
        await self.reader.open()
        task = asyncio.create_task(self._run())
        self.hub.reading.add(task)  # until it ends, stopped or not: close() waits for it
        task.add_done_callback(self.hub.reading.discard)

    @property
    def passed_on(self) -> str:
        """Every entry of the stream up to this id has been handed to its clients."""
        return self.reader.last_id or "0-0"

    async def _run(self) -> None:
        try:
            async for entry in self.reader.entries():
                session = self.sessions.get(entry.stream_session_id)
                if session is not None:
                    session.dispatch(entry)
        except Exception as exc:  # Redis gone: say so to every client rather than go quiet
            log.error("reading stream:%s failed: %r", self.stream, exc)
            self.hub.retire(self)  # a client coming later starts a reader afresh
            for session in self.sessions.values():
                for client in session.clients:
                    client.fail(f"reading stream:{self.stream} failed: {exc}")

    def stop(self) -> None:
        """Stop reading within a block's time (cancelling a blocked XREAD would not do:
        redis.asyncio retries it)."""
        self.reader.stop()


class Hub:
    """Every live session and stream feed of one server.

    The feeds read with a Redis client of their own (`feed_redis`), so that clients can never
    starve them of connections. The clients' own commands (their session hash, back-fills)
    take turns through `query`, at most CLIENT_QUERIES at once on `redis`: however many
    clients come, they wait for a connection rather than exhaust the pool."""

    def __init__(
        self, redis: Any, feed_redis: Any, queue_bytes: int, reconnect_timeout: float
    ) -> None:
        self.redis = redis
        self.feed_redis = feed_redis
        self.reconnect_timeout = reconnect_timeout
        self.turns = asyncio.Semaphore(CLIENT_QUERIES)
        self.queue_bytes = queue_bytes
        self.feeds: dict[str, Feed] = {}
        self.sessions: dict[str, LiveSession] = {}
        self.lock = asyncio.Lock()  # joining and leaving start and stop feeds
        self.ticker: asyncio.Task[None] | None = None
        self.reading: set[asyncio.Task[None]] = set()  # the feeds' tasks
        self.slow_clients_closed = 0

    async def query(self, command: Callable[[], Awaitable[T]]) -> T:
        """Await a client's Redis command once its turn comes; Busy if it waits too long."""
        try:
            await asyncio.wait_for(self.turns.acquire(), QUERY_WAIT)
        except asyncio.TimeoutError:
            raise Busy(f"no turn for a Redis command in {QUERY_WAIT:g} s") from None
        try:
            return await command()
        except redis.exceptions.MaxConnectionsError as exc:  # the pool shared with others
            raise Busy(f"no Redis connection free ({exc})") from None
        finally:
            self.turns.release()

    async def ask(self, flow: Flow[T]) -> T:
        """A query flow (read_session(...)) run for a client, in its turn; asked again
        through an outage (a restart, LOADING) within reconnect_timeout, as the readers do."""
        # A pool exhausted by others is load (Busy), not an outage to wait through.
        lasting = (*LASTING, redis.exceptions.MaxConnectionsError)
        reconnecting = Reconnecting(self.reconnect_timeout, lambda: False, lasting)
        return await self.query(lambda: run(self.redis, flow, reconnecting))

    async def join(
        self, client: Client, identity: str, stream: str, stream_session_id: int
    ) -> LiveSession:
        async with self.lock:
            feed = self.feeds.get(stream)
            if feed is None:
                feed = Feed(self, stream)
                await feed.start()  # Redis failing: raised, and no feed is left behind
                self.feeds[stream] = feed
            live = self.sessions.get(identity)
            if live is None:
                live = self.sessions[identity] = LiveSession(
                    self, identity, stream, stream_session_id
                )
                feed.sessions[stream_session_id] = live
            live.clients.add(client)
            if self.ticker is None:
                self.ticker = asyncio.create_task(self._tick())
            return live

    def count_too_slow(self) -> None:
        self.slow_clients_closed += 1

    def retire(self, feed: Feed) -> None:
        """The feed failed: it and its live sessions are no longer joined (their clients
        are closed, and leave)."""
        if self.feeds.get(feed.stream) is feed:
            del self.feeds[feed.stream]
        for live in feed.sessions.values():
            if self.sessions.get(live.identity) is live:
                del self.sessions[live.identity]

    async def leave(self, client: Client, live: LiveSession) -> None:
        async with self.lock:
            live.clients.discard(client)
            if not live.clients and self.sessions.get(live.identity) is live:
                del self.sessions[live.identity]
                feed = self.feeds[live.stream]
                del feed.sessions[live.stream_session_id]
                if not feed.sessions:
                    del self.feeds[live.stream]
                    feed.stop()

    @property
    def clients(self) -> int:
        return sum(len(live.clients) for live in self.sessions.values())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            for live in list(self.sessions.values()):
                if not live.ended:
                    live.tick()

    async def close(self) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        for feed in self.feeds.values():
            feed.stop()
        await asyncio.gather(*self.reading)
