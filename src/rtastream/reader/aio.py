"""The asyncio readers: the same flows as the blocking ones, driven with redis.asyncio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

import redis.asyncio

from rtastream.decoding import DecodedItem
from rtastream.reader.entries import DTypes, Entry, Series, collect
from rtastream.reader.flow import Commands, Flow, T
from rtastream.reader.plans import BadEntryHandler, Plan, SessionPlan, StreamPlan
from rtastream.reader.records import SessionRecord
from rtastream.reader.sync import check_client


async def execute(client: Any, step: Commands) -> list[Any]:
    if len(step.commands) == 1 and step.raise_on_error:
        return [await client.execute_command(*step.commands[0])]
    pipe = client.pipeline(transaction=False)
    for command in step.commands:
        pipe.execute_command(*command)
    return list(await pipe.execute(raise_on_error=step.raise_on_error))


async def run(client: Any, flow: Flow[T]) -> T:
    reply = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return cast(T, done.value)
        assert isinstance(step, Commands), "a query yields commands only"
        reply = await execute(client, step)


async def drive(client: Any, flow: Flow[Any]) -> AsyncIterator[Entry]:
    reply = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration:
            return
        if isinstance(step, Commands):
            reply = await execute(client, step)
        else:
            reply = None
            yield step


def connect(source: str | redis.asyncio.Redis) -> tuple[redis.asyncio.Redis, bool]:
    if isinstance(source, str):
        return redis.asyncio.Redis.from_url(source), True
    check_client(source)
    return source, False


class _Reader:
    _plan: Plan

    def __init__(self, source: str | redis.asyncio.Redis) -> None:
        self._client, self._owned = connect(source)

    async def close(self) -> None:
        if self._owned:
            await self._client.aclose()

    def stop(self) -> None:
        """Stop reading: iteration ends after the entry in hand, or within `block` seconds
        when waiting (callable from another thread; a blocked command is never cut)."""
        self._plan.stop()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncSessionReader(_Reader):
    """The asyncio twin of SessionReader (same arguments):

    async with rtastream.AsyncSessionReader(url, "run-42") as reader:
        async for item in reader:
            ...
    """

    def __init__(
        self,
        redis: str | redis.asyncio.Redis,
        identity: str,
        *,
        start: str | int = "first",
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        self._plan: SessionPlan = SessionPlan(identity, start, follow, block, batch, on_bad_entry)
        super().__init__(redis)

    async def __aenter__(self) -> AsyncSessionReader:
        await self.open()
        return self

    async def open(self) -> SessionRecord:
        session = self._plan.session
        if session is None:
            session = await run(self._client, self._plan.opening())
        return session

    @property
    def identity(self) -> str:
        return self._plan.identity

    @property
    def session(self) -> SessionRecord | None:
        """The session hash as it was when the reader opened (None before)."""
        return self._plan.session

    @property
    def state(self) -> str | None:
        return self._plan.state

    @property
    def skipped(self) -> int:
        return self._plan.skipped

    async def entries(self) -> AsyncIterator[Entry]:
        await self.open()
        async for entry in drive(self._client, self._plan.reading()):
            yield entry

    async def __aiter__(self) -> AsyncIterator[DecodedItem]:
        async for entry in self.entries():
            for item in entry.items:
                yield item

    async def window(
        self,
        dtype: DTypes,
        start: int | None = None,
        end: int | None = None,
        channels: Iterable[int] | None = None,
    ) -> dict[int, Series]:
        plan = SessionPlan(self.identity, "first", False, 1.0, self._plan.batch, self._plan.report)
        await run(self._client, plan.opening())
        items = [
            item async for entry in drive(self._client, plan.reading()) for item in entry.items
        ]
        return collect(items, dtype, start, end, channels)


class AsyncStreamReader(_Reader):
    """The asyncio twin of StreamReader."""

    def __init__(
        self,
        redis: str | redis.asyncio.Redis,
        stream: str,
        *,
        start: str | int = "new",
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        self._plan: StreamPlan = StreamPlan(stream, start, follow, block, batch, on_bad_entry)
        super().__init__(redis)

    async def __aenter__(self) -> AsyncStreamReader:
        await self.open()
        return self

    async def open(self) -> str:
        after = self._plan.after
        if after is None:
            after = await run(self._client, self._plan.opening())
        return after

    @property
    def skipped(self) -> int:
        return self._plan.skipped

    @property
    def last_id(self) -> str | None:
        """The last entry id read: every entry up to it has been passed on or skipped."""
        return self._plan.last_id

    async def entries(self) -> AsyncIterator[Entry]:
        await self.open()
        async for entry in drive(self._client, self._plan.reading()):
            yield entry

    def __aiter__(self) -> AsyncIterator[Entry]:
        return self.entries()
