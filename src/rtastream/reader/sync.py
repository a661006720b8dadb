"""The blocking readers: `SessionReader` and `StreamReader` drive the flows with redis-py."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import Any, cast

import redis
from redis.cluster import RedisCluster

from rtastream.configuration import Bound, channel_dtypes
from rtastream.connection import client_for
from rtastream.decoding import DecodedItem
from rtastream.reader.entries import DTypes, Entry, Series, collect
from rtastream.reader.flow import Clustered, Commands, Flow, Scan, T
from rtastream.reader.plans import (
    BadEntryHandler,
    Plan,
    ReaderView,
    SessionPlan,
    SessionView,
    StreamPlan,
)
from rtastream.reader.records import SessionRecord, read_configurations
from rtastream.reader.retry import PASSING, Reconnecting


def execute(client: Any, step: Commands | Scan | Clustered) -> Any:
    if isinstance(step, Clustered):
        return isinstance(client, RedisCluster)
    if isinstance(step, Scan):
        return list(client.scan_iter(match=step.pattern, count=step.count))
    if len(step.commands) == 1 and step.raise_on_error:
        return [client.execute_command(*step.commands[0])]
    pipe = client.pipeline(transaction=False)
    for command in step.commands:
        pipe.execute_command(*command)
    return list(pipe.execute(raise_on_error=step.raise_on_error))


def ask(client: Any, step: Commands | Scan | Clustered, reconnecting: Reconnecting | None) -> Any:
    """execute(), asked again through an outage when `reconnecting` says so. A cluster's
    slot map is read again before each new attempt: redis-py's (sync) RedisCluster would go on
    asking a dead master long after its replica took over."""
    while True:
        if reconnecting is not None:
            reconnecting.asking(step.waits if isinstance(step, Commands) else 0.0)
        try:
            reply = execute(client, step)
        except Exception as error:
            if reconnecting is None:
                raise
            time.sleep(reconnecting.pause(client, error))
            if isinstance(client, RedisCluster):
                with contextlib.suppress(*PASSING):  # still away: the next attempt says so
                    client.nodes_manager.initialize()
        else:
            if reconnecting is not None:
                reconnecting.answered()
            return reply


def run(client: Any, flow: Flow[T], reconnecting: Reconnecting | None = None) -> T:
    """Run a flow that reads no entries (a query) to its result."""
    reply = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return cast(T, done.value)
        assert not isinstance(step, Entry), "a query yields no entries"
        reply = ask(client, step, reconnecting)


def drive(
    client: Any, flow: Flow[Any], reconnecting: Reconnecting | None = None
) -> Iterator[Entry]:
    """Run a reading flow, passing its entries on."""
    reply = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration:
            return
        if isinstance(step, Entry):
            reply = None
            yield step
        else:
            reply = ask(client, step, reconnecting)


def check_client(client: Any) -> None:
    if client.get_connection_kwargs().get("decode_responses"):
        raise ValueError(
            "the Redis client decodes responses to str; messages are binary: "
            "create it with decode_responses=False"
        )


class _Reader(ReaderView):
    def __init__(self, source: str | redis.Redis | RedisCluster, plan: Plan) -> None:
        self._plan = plan
        if isinstance(source, str):
            options = plan.client_options(asynchronous=False)
            self._client, self._owned = client_for(source, **options), True
        else:
            check_client(source)
            self._client, self._owned = source, False

    def open(self) -> None:
        """Find where reading starts (done by the first read otherwise): what the stream
        receives from then on is read."""
        if self._plan.after is None:
            run(self._client, self._plan.opening(), self._plan.reconnecting)

    def entries(self) -> Iterator[Entry]:
        """The stream entries (messages), decoded."""
        self.open()
        return drive(self._client, self._plan.reading(), self._plan.reconnecting)

    def close(self) -> None:
        """Close the connection if the reader made it (from a URL)."""
        if self._owned:
            self._client.close()

    def __enter__(self) -> Any:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SessionReader(SessionView, _Reader):
    """Reads one RTA session from Redis: from its first message (its `streamPosition`),
    keeping the entries with its stream session id, then following the leading edge
    (XREAD BLOCK) until its final Session JSON (closed, truncated, failed, abandoned).

        with rtastream.SessionReader("redis://localhost:6379/0", "run-42") as reader:
            for item in reader:          # decoded items, in stream order
                ...

    `redis` is a URL (of any node, for a Redis Cluster; a Sentinel URL too) or a redis-py
    client (Redis or RedisCluster, decode_responses=False). `start` is "first"
    (the session's first message), "new" (only messages from now on) or N (its last N
    messages). With follow=False, reading stops at the stream's current end. Each bad entry
    (foreign fields, corrupt data) is passed to `on_bad_entry` (default: a warning on the
    "rtastream.reader" logger) and skipped. Raises SessionNotFound when there is no such
    session hash. A lost connection (a failover, a restart) is ridden through: the command
    is asked again, with backoff, and reading goes on after the last entry it passed on;
    only after `reconnect_timeout` seconds without an answer does it raise RedisUnavailable.
    So does a frozen Redis (stopped, its connections kept up) once no reply has come for
    `reconnect_timeout` (plus `block` while following): a reader made from a URL sets that
    socket timeout; a client passed in keeps its own (give it `socket_timeout`).
    """

    def __init__(
        self,
        redis: str | redis.Redis | RedisCluster,
        identity: str,
        *,
        start: str | int = "first",
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        reconnect_timeout: float = 10.0,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        options = dict(
            start=start,
            follow=follow,
            block=block,
            batch=batch,
            reconnect_timeout=reconnect_timeout,
        )
        super().__init__(redis, SessionPlan(identity, on_bad_entry=on_bad_entry, **options))

    def __enter__(self) -> SessionReader:
        self.open()
        return self

    @property
    def session(self) -> SessionRecord:
        """The session as last known: its hash when the reader opened, with the Session JSON
        of each update read since (its `state` is the reader's)."""
        self.open()
        assert self._plan.session is not None
        return self._plan.session

    def __iter__(self) -> Iterator[DecodedItem]:
        for entry in self.entries():
            yield from entry.items

    def configurations(self) -> list[Bound]:
        """The configurations the session is bound to (as its hash says now), each with
        its channel offset; see rtastream.configuration.session_channels for names, units
        and types by channel."""
        self.open()
        return run(self._client, read_configurations(self.session))

    def window(
        self,
        dtype: DTypes | None = None,
        start: int | None = None,
        end: int | None = None,
        channels: Iterable[int] | None = None,
    ) -> dict[int, Series]:
        """Per-channel arrays of the samples in [start, end] (ns) that Redis holds now, from
        the session's first message; see rtastream.reader.collect for `dtype` and order.
        Without `dtype`, each channel's configured type (channels no configuration types
        are left out)."""
        if dtype is None:
            dtype = channel_dtypes(self.configurations())
        plan = self._window_plan()
        run(self._client, plan.opening(), plan.reconnecting)
        entries = drive(self._client, plan.reading(), plan.reconnecting)
        items = (item for entry in entries for item in entry.items)
        return collect(items, dtype, start, end, channels)


class StreamReader(_Reader):
    """Reads a whole stream, every session in it: from its first entry ("first"), from now
    ("new", the default) or its last N entries, following it (XREAD BLOCK) unless
    follow=False. A stream that does not exist yet is waited for."""

    def __init__(
        self,
        redis: str | redis.Redis | RedisCluster,
        stream: str,
        *,
        start: str | int = "new",
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        reconnect_timeout: float = 10.0,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        options = dict(
            start=start,
            follow=follow,
            block=block,
            batch=batch,
            reconnect_timeout=reconnect_timeout,
        )
        super().__init__(redis, StreamPlan(stream, on_bad_entry=on_bad_entry, **options))

    def __enter__(self) -> StreamReader:
        self.open()
        return self

    def __iter__(self) -> Iterator[Entry]:
        return self.entries()
