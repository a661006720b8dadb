"""The asyncio readers: the same flows as the blocking ones, driven with redis.asyncio, under
the same names (rtastream.aio.SessionReader is the twin of rtastream.SessionReader)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

import redis.asyncio

from rtastream.configuration import Bound, channel_dtypes
from rtastream.connection import async_client_for
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
from rtastream.reader.retry import Reconnecting
from rtastream.reader.sync import check_client


async def execute(client: Any, step: Commands | Scan | Clustered) -> Any:
    if isinstance(step, Clustered):
        return isinstance(client, redis.asyncio.RedisCluster)
    if isinstance(step, Scan):
        return [key async for key in client.scan_iter(match=step.pattern, count=step.count)]
    if len(step.commands) == 1 and step.raise_on_error:
        return [await client.execute_command(*step.commands[0])]
    pipe = client.pipeline(transaction=False)
    for command in step.commands:
        pipe.execute_command(*command)
    return list(await pipe.execute(raise_on_error=step.raise_on_error))


async def ask(
    client: Any, step: Commands | Scan | Clustered, reconnecting: Reconnecting | None
) -> Any:
    while True:
        if reconnecting is not None:
            reconnecting.asking(step.waits if isinstance(step, Commands) else 0.0)
        try:
            reply = await execute(client, step)
        except Exception as error:
            if reconnecting is None:
                raise
            # (redis.asyncio's RedisCluster reads the slot map again by itself)
            await asyncio.sleep(reconnecting.pause(client, error))
        else:
            if reconnecting is not None:
                reconnecting.answered()
            return reply


async def run(client: Any, flow: Flow[T], reconnecting: Reconnecting | None = None) -> T:
    reply = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return cast(T, done.value)
        assert not isinstance(step, Entry), "a query yields no entries"
        reply = await ask(client, step, reconnecting)


async def drive(
    client: Any, flow: Flow[Any], reconnecting: Reconnecting | None = None
) -> AsyncIterator[Entry]:
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
            reply = await ask(client, step, reconnecting)


Client = redis.asyncio.Redis | redis.asyncio.RedisCluster


class _Reader(ReaderView):
    def __init__(self, source: str | Client, plan: Plan) -> None:
        self._plan = plan
        self._client: Client | None = None
        if isinstance(source, str):
            self._url, self._owned = source, True  # connected when first used
        else:
            check_client(source)
            self._client, self._owned = source, False

    async def _connected(self) -> Client:
        if self._client is None:
            options = self._plan.client_options(asynchronous=True)
            self._client = await async_client_for(self._url, **options)
        return self._client

    async def open(self) -> None:
        if self._plan.after is None:
            await run(await self._connected(), self._plan.opening(), self._plan.reconnecting)

    async def entries(self) -> AsyncIterator[Entry]:
        await self.open()
        client = await self._connected()
        async for entry in drive(client, self._plan.reading(), self._plan.reconnecting):
            yield entry

    async def close(self) -> None:
        if self._owned and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Any:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class SessionReader(SessionView, _Reader):
    """The asyncio twin of SessionReader (same arguments):

    async with rtastream.aio.SessionReader(url, "run-42") as reader:
        async for item in reader:
            ...
    """

    def __init__(
        self,
        redis: str | Client,
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

    async def __aenter__(self) -> SessionReader:
        await self.open()
        return self

    @property
    def session(self) -> SessionRecord | None:
        """The session as last known, as SessionReader.session (None before opening)."""
        return self._plan.session

    async def __aiter__(self) -> AsyncIterator[DecodedItem]:
        async for entry in self.entries():
            for item in entry.items:
                yield item

    async def configurations(self) -> list[Bound]:
        """The configurations the session is bound to (as SessionReader.configurations)."""
        await self.open()
        assert self._plan.session is not None
        return await run(await self._connected(), read_configurations(self._plan.session))

    async def window(
        self,
        dtype: DTypes | None = None,
        start: int | None = None,
        end: int | None = None,
        channels: Iterable[int] | None = None,
    ) -> dict[int, Series]:
        if dtype is None:
            dtype = channel_dtypes(await self.configurations())
        plan = self._window_plan()
        client = await self._connected()
        await run(client, plan.opening(), plan.reconnecting)
        entries = drive(client, plan.reading(), plan.reconnecting)
        items = [item async for entry in entries for item in entry.items]
        return collect(items, dtype, start, end, channels)


class StreamReader(_Reader):
    """The asyncio twin of StreamReader."""

    def __init__(
        self,
        redis: str | Client,
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

    async def __aenter__(self) -> StreamReader:
        await self.open()
        return self

    def __aiter__(self) -> AsyncIterator[Entry]:
        return self.entries()
