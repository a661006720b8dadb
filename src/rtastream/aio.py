"""The asyncio twin of rtastream.writer: same shape, `async with` and `await`.

One I/O task per buffer sends queued batches in pipelines; the commands, lifecycle and
acknowledgement bookkeeping are rtastream.protocol's, shared with the sync writer.
Delivery is at-least-once, as in the sync writer: after a reconnect every command Redis had
not acknowledged is re-sent; past `reconnect_timeout` the session raises RedisUnavailable
whose `unsent` lists the messages not written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, SupportsIndex

import redis.asyncio
import redis.exceptions

from rtastream import keys
from rtastream._native import Burst
from rtastream.connection import (
    CONNECT_ERRORS,
    CONNECTION_ERRORS,
    address_of,
    connect_failure,
    pool_from_url,
)
from rtastream.live import LiveBurst
from rtastream.protocol import (
    DEFAULT_FLUSH_INTERVAL,
    OPTIONS,
    Backoff,
    Batch,
    Command,
    Message,
    Round,
    SessionCore,
    SessionView,
    Tracker,
    allocation_commands,
    end_state,
    parse_allocation,
    session_model,
    validate_options,
)
from rtastream.resp import pack_commands
from rtastream.session import Session, SessionState
from rtastream.writer import DEFAULT_TARGET, MAX_ROUND

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from rtastream._native import _ChannelIds, _RawData, _RowBuffer, _Time

__all__ = ["RedisStreamBuffer", "StreamSession"]


class _IOTask:
    """Owns one connection; sends queued batches in pipelines and reads their replies."""

    def __init__(self, pool: redis.asyncio.ConnectionPool, conn: Any, queue_size: int,
                 reconnect_timeout: float) -> None:
        self.address = address_of(pool.connection_kwargs)
        self.reconnect_timeout = reconnect_timeout
        self.pool = pool
        self.conn = conn
        self.queue: asyncio.Queue[Batch | None] = asyncio.Queue(queue_size)
        self.cond = asyncio.Condition()
        self.closed = False
        self.task = asyncio.create_task(self._run(), name="rtastream-io")

    @classmethod
    async def start(cls, pool: redis.asyncio.ConnectionPool, queue_size: int,
                    reconnect_timeout: float) -> _IOTask:
        try:
            conn = await pool.get_connection()
        except CONNECT_ERRORS as e:
            raise connect_failure(e, pool) from e
        return cls(pool, conn, queue_size, reconnect_timeout)

    async def submit(self, owner: Tracker, commands: list[Command],
                     keep_replies: bool = False) -> Batch:
        owner.check()
        if self.closed:
            raise RuntimeError("the RedisStreamBuffer is closed")
        batch = Batch(owner, commands, owner.submitted + 1, [] if keep_replies else None)
        await self.queue.put(batch)  # waits while the queue is full: back-pressure
        # Counted once queued, so a cancelled put leaves flush() nothing to wait for.
        owner.submitted = batch.seq
        return batch

    async def flush(self, owner: Tracker) -> None:
        async with self.cond:
            while not owner.idle:
                if self.task.done():
                    raise RuntimeError("the rtastream I/O task has stopped")
                try:
                    await asyncio.wait_for(self.cond.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
        owner.check()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.queue.put(None)
        await self.task
        await self.pool.release(self.conn)

    async def _run(self) -> None:
        stop = False
        while not stop:
            batches: list[Batch] = []
            item = await self.queue.get()
            while True:
                if item is None:
                    stop = True
                    break
                batches.append(item)
                if len(batches) >= MAX_ROUND or self.queue.empty():
                    break
                item = self.queue.get_nowait()
            if batches:
                await self._process(batches)

    async def _process(self, batches: list[Batch]) -> None:
        rnd = Round(batches)
        backoff: Backoff | None = None
        try:
            while rnd.pending():
                try:
                    await self._exchange(rnd)
                except CONNECTION_ERRORS as e:
                    await self.conn.disconnect()
                    backoff = backoff or Backoff(self.reconnect_timeout)
                    delay = backoff.next()
                    if delay is None:
                        rnd.fail(self.address, f"connection lost and not restored within "
                                               f"{self.reconnect_timeout} s ({e})")
                    else:
                        await asyncio.sleep(delay)
        except Exception as e:  # a bug here must reach the callers, not end the task
            for batch in batches:
                batch.owner.error = batch.owner.error or e
        async with self.cond:
            rnd.finish()
            self.cond.notify_all()

    async def _exchange(self, rnd: Round) -> None:
        conn = self.conn
        commands = rnd.pending()
        await conn.send_packed_command(pack_commands(commands), check_health=False)
        for _ in commands:
            try:
                reply = await conn.read_response()
            except redis.exceptions.ResponseError as e:
                reply = e
            rnd.reply(reply)


class RedisStreamBuffer:
    """asyncio twin of rtastream.RedisStreamBuffer; same arguments, `async with`."""

    def __init__(self, url: str = "redis://localhost:6379/0", *,
                 session_ttl: int = keys.DEFAULT_SESSION_TTL, maxlen: int | None = None,
                 target: int = DEFAULT_TARGET, flush_interval: float = DEFAULT_FLUSH_INTERVAL,
                 queue_size: int = 64, reconnect_timeout: float = 10.0, **options: Any) -> None:
        validate_options(session_ttl, maxlen, target, flush_interval, queue_size,
                         reconnect_timeout)
        self.pool = pool_from_url(redis.asyncio.ConnectionPool, url,
                                  {"socket_connect_timeout": 5.0, **options},
                                  caller="RedisStreamBuffer()", own=OPTIONS)
        self.session_ttl = session_ttl
        self.maxlen = maxlen
        self.target = target
        self.flush_interval = flush_interval
        self.queue_size = queue_size
        self.reconnect_timeout = reconnect_timeout
        self.address = address_of(self.pool.connection_kwargs)
        self._io: _IOTask | None = None
        self._sessions: set[StreamSession] = set()
        self._lock = asyncio.Lock()
        self._closed = False

    async def _started(self) -> _IOTask:
        async with self._lock:
            if self._closed:
                raise RuntimeError("the RedisStreamBuffer is closed")
            if self._io is None:
                self._io = await _IOTask.start(self.pool, self.queue_size,
                                               self.reconnect_timeout)
            return self._io

    def open_session(self, identity: str, stream: str,
                     session: Session | Mapping[str, Any] | str | None = None) -> Opening:
        """Start a session on stream `stream` (see rtastream.RedisStreamBuffer.open_session):
        `async with buffer.open_session(...) as session`, or `session = await ...`."""
        return Opening(self._open(identity, stream, session))

    async def _open(self, identity: str, stream: str,
                    session: Session | Mapping[str, Any] | str | None) -> StreamSession:
        model = session_model(identity, session)
        if not isinstance(stream, str) or not stream:
            raise ValueError(f"stream must be a non-empty str, got {stream!r}")
        if any(open_.identity == identity for open_ in list(self._sessions)):
            raise ValueError(f"session {identity!r} is already open in this buffer")
        io = await self._started()
        owner = Tracker(identity)
        allocation = await io.submit(owner, allocation_commands(stream, identity),
                                     keep_replies=True)
        await io.flush(owner)
        session_id, position = parse_allocation(allocation.replies, identity)
        core = SessionCore(model, stream, session_id, position, ttl=self.session_ttl,
                           maxlen=self.maxlen, target=self.target)
        for commands in core.opening():
            await io.submit(owner, commands)
            await io.flush(owner)
        stream_session = StreamSession(core, owner, io, self.flush_interval, self._sessions)
        self._sessions.add(stream_session)
        return stream_session

    async def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End every session still open (in `state`), then stop the I/O task."""
        first_error: BaseException | None = None
        for stream_session in list(self._sessions):
            try:
                await stream_session.close(state)
            except Exception as e:
                first_error = first_error or e
        async with self._lock:
            self._closed = True
            io, self._io = self._io, None
        if io is not None:
            await io.close()
        await self.pool.disconnect()
        if first_error is not None:
            raise first_error

    async def __aenter__(self) -> RedisStreamBuffer:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: Any) -> None:
        await _close_on_exit(self.close, exc_type, exc)


async def _close_on_exit(close: Any, exc_type: type[BaseException] | None,
                         exc: BaseException | None) -> None:
    if exc is None:
        await close(end_state(None))
        return
    try:
        await close(end_state(exc_type))
    except Exception as e:
        if hasattr(exc, "add_note"):
            exc.add_note(f"rtastream could not end the session: {e!r}")


class Opening:
    """A session being opened: await it for the StreamSession, or use it directly in
    `async with` (which closes the session on the way out), as asyncpg's pool.acquire()."""

    def __init__(self, opening: Coroutine[Any, Any, StreamSession]) -> None:
        self._opening = opening
        self._session: StreamSession | None = None

    def __await__(self) -> Generator[Any, None, StreamSession]:
        return self._opening.__await__()

    async def __aenter__(self) -> StreamSession:
        self._session = await self._opening
        return self._session

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: Any) -> None:
        assert self._session is not None
        await self._session.__aexit__(exc_type, exc, tb)


class StreamSession(SessionView):
    """asyncio twin of rtastream.StreamSession: every method is a coroutine. Leaving
    `async with` normally closes the session; cancellation (or KeyboardInterrupt) truncates
    it; any other exception fails it."""

    def __init__(self, core: SessionCore, owner: Tracker, io: _IOTask, flush_interval: float,
                 registry: set[StreamSession]) -> None:
        self._core = core
        self._owner = owner
        self._io = io
        self._interval = flush_interval
        self._registry = registry
        self._live = LiveBurst(core.target)
        self._flush_lock = asyncio.Lock()  # keeps batches in order (the timer task flushes too)
        self._timer: asyncio.Task | None = None
        self._closed = False

    async def write(self, burst: Burst) -> None:
        """Send a Burst's messages (encoded here, in the caller's task)."""
        await self.write_messages(self._core.pack(burst))

    async def write_messages(self, messages: Iterable[Message | bytes]) -> None:
        """Send pre-packed messages (as the sync session)."""
        self._check()
        messages = list(messages)
        async with self._flush_lock:
            await self._flush_live()
            commands = self._core.data(messages)
            if commands:
                await self._io.submit(self._owner, commands)

    async def timestamped(self, channel_ids: SupportsIndex | _ChannelIds, timestamps: ArrayLike,
                          values: ArrayLike) -> None:
        """Buffer samples of channels sharing their timestamps (as the sync session)."""
        self._check()
        self._live.timestamped(channel_ids, timestamps, values)
        await self._added()

    async def periodic(self, channel_id: SupportsIndex, start: _Time, interval: SupportsIndex,
                       values: ArrayLike) -> None:
        """Buffer a regular series of one channel (as the sync session)."""
        self._check()
        self._live.periodic(channel_id, start, interval, values)
        await self._added()

    async def row(self, channel_ids: _ChannelIds, timestamp: _Time, buffer: _RowBuffer) -> None:
        """Buffer one row of several channels at one instant (as the sync session)."""
        self._check()
        self._live.row(channel_ids, timestamp, buffer)
        await self._added()

    async def event(self, definition_id: SupportsIndex, timestamp: _Time, status_text: str = "",
                    raw_data: _RawData = (), app_name: str = "") -> None:
        """Buffer an event (as the sync session)."""
        self._check()
        self._live.event(definition_id, timestamp, status_text, raw_data, app_name)
        await self._added()

    async def update(self, **changes: Any) -> None:
        """Stream a Session JSON update with these Session properties changed."""
        self._check()
        async with self._flush_lock:
            await self._flush_live()
            await self._io.submit(self._owner, self._core.update(changes))

    async def flush(self) -> None:
        """Send buffered data and wait until Redis has acknowledged everything so far."""
        self._check()
        async with self._flush_lock:
            await self._flush_live()
        await self._io.flush(self._owner)

    async def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End the session: the last message is Session JSON with `state` and the time range."""
        if self._closed:
            return
        state = SessionState.parse(state)
        if not state.is_closed:
            raise ValueError(f"close needs a closed state (closed, truncated, failed, "
                             f"abandoned), got {state.json_name}")
        self._closed = True
        self._registry.discard(self)
        unseen = self._owner.take_error()  # raised once the final state is written
        if self._timer is not None:
            self._timer.cancel()
            try:
                await self._timer
            except asyncio.CancelledError:
                pass
        async with self._flush_lock:
            await self._flush_live()
            await self._io.submit(self._owner, self._core.finish(state))
        await self._io.flush(self._owner)
        if unseen is not None:
            raise unseen

    async def __aenter__(self) -> StreamSession:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: Any) -> None:
        await _close_on_exit(self.close, exc_type, exc)

    def _check(self) -> None:
        if self._closed:
            raise RuntimeError(f"session {self.identity!r} is {self.state.json_name}")
        self._owner.check()

    async def _added(self) -> None:
        if self._timer is None:
            self._timer = asyncio.create_task(self._tick(), name=f"rtastream-flush-{self.identity}")
        if self._live.full:
            async with self._flush_lock:
                await self._flush_live()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                async with self._flush_lock:
                    await self._flush_live()
            except Exception as e:  # raised to the caller by its next call
                self._owner.error = self._owner.error or e

    async def _flush_live(self) -> None:
        burst = self._live.take(self._core)
        if burst is None:
            return
        try:
            messages = self._core.pack(burst)
        finally:
            self._live.give_back(burst)
        await self._io.submit(self._owner, self._core.data(messages))
