"""The asyncio driver: how the asyncio writer waits and does I/O.

redis-py opens each connection (TCP or unix socket, TLS, AUTH/HELLO, SELECT); then the
connection's transport is handed to our own asyncio.Protocol, which writes the lane's rounds
and feeds the replies to the core as they arrive (hiredis parses them), with no task, timeout
or future per reply. Callers' tasks encode and queue; a round goes out as soon as the lane is
free, the next one when its replies are in. One timer task per buffer flushes live data.

A buffer left open is ended when its event loop shuts down under asyncio.run() (which closes
the loop's async generators, one of which is the buffer's): every open session `truncated`,
after what was queued is written. Once the loop is gone, nothing can be written. One
garbage-collected while open warns (ResourceWarning). Under asyncio.run(), cancellation (also
by SIGTERM with end_sessions_on_sigterm) ends `async with` sessions `truncated`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, SupportsIndex

import redis.asyncio

from rtastream._native import Burst
from rtastream.connection import CONNECT_ERRORS, connect_failure
from rtastream.session import Session, SessionState
from rtastream.writer.base import BufferBase, SessionView
from rtastream.writer.binding import Binding, ConfigArgument
from rtastream.writer.commands import Command, Message
from rtastream.writer.core import (
    Lane,
    NodeMoved,
    SessionCore,
    WriterCore,
    end_state,
    note_close_failure,
)
from rtastream.writer.internals import release_streams, transport_of
from rtastream.writer.node import Node
from rtastream.writer.rounds import Batch, Tracker

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike

    from rtastream._native import _ChannelIds, _RawData, _RowBuffer, _Time

__all__ = ["Opening", "RedisStreamBuffer", "StreamSession"]


async def ask(node: Node, command: Command) -> Any:
    """One command's reply on a connection of its own (asking where keys live is rare), or
    the exception if it failed."""
    conn = node.connection()
    try:
        await conn.connect()
        await conn.send_command(*command)
        return await conn.read_response()
    except CONNECT_ERRORS as e:
        return connect_failure(e, node)
    finally:
        await conn.disconnect()


class LaneProtocol(asyncio.Protocol):
    """One connection's transport, taken over from redis-py once connected."""

    def __init__(self, loop: Loop, lane: Lane, conn: Any) -> None:
        self.loop, self.lane = loop, lane
        self.conn = conn  # kept: its __del__ would close the transport
        self.transport = transport_of(conn)
        self.transport.set_protocol(self)
        self.outbox: deque[bytes] = deque()  # chunks waiting for the transport to drain
        self.paused = False
        self.closed_for: Exception | None = None  # why we closed it, if we did
        self.timeout: float | None = conn.socket_timeout  # no reply for this long: lost
        self.deadline: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self._disarm()
        if not self.loop.received(self.lane, data):
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        release_streams(self.conn)  # closed here, not by redis-py
        exc = exc or self.closed_for or ConnectionError("Redis closed the connection")
        self.loop.lost(self.lane, exc)

    def write(self, chunks: list[bytes]) -> None:
        """Chunk by chunk, as the transport drains: write() sends each from our bytes when
        the socket takes it, and copies only what it must keep (writelines() would join
        every chunk first on Python < 3.12)."""
        self.outbox.extend(chunks)
        self._drain()
        self._arm()

    def _arm(self) -> None:
        """Replies are due: none within `timeout` and the connection counts as lost (as
        the sync driver's socket timeout: a stopped server keeps the connection open)."""
        if self.deadline is None and self.timeout:
            loop = asyncio.get_running_loop()
            self.deadline = loop.call_later(self.timeout, self._timed_out)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _timed_out(self) -> None:
        self.deadline = None
        self.closed_for = TimeoutError(f"no reply within {self.timeout} s")
        self.transport.abort()  # close() would first wait to send what is buffered

    def _drain(self) -> None:
        while self.outbox and not self.paused:
            self.transport.write(self.outbox.popleft())  # may call pause_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._drain()

    def close(self, why: Exception | None = None) -> None:
        self.closed_for = why
        self.transport.close()  # connection_lost() follows


class Loop:
    """The driver of one buffer on the event loop: a protocol per lane, a timer task."""

    def __init__(self, core: WriterCore) -> None:
        self.core = core
        self.links: dict[Lane, LaneProtocol] = {}
        self.waiters: list[asyncio.Future[None]] = []
        self.timer: asyncio.Task[None] | None = None
        self.timer_wake: asyncio.Future[None] | None = None
        self.retrying: dict[Lane, asyncio.Task[None]] = {}  # a lane's wait, then reconnect
        self.starting = asyncio.Lock()
        self.ending = self._end_at_shutdown()
        self.ended_by_shutdown = False

    async def start(self) -> None:
        """Find the nodes and connect every lane (so that an unreachable Redis raises at
        once), start the timer."""
        await self._discover(None)
        for lane in self.core.lanes.values():
            self.links[lane] = await self._connect(lane)
        self.timer = asyncio.create_task(self._tick(), name="rtastream-timer")
        await self.ending.asend(None)  # the loop now tracks it, and closes it at shutdown

    async def _discover(self, lane: Lane | None) -> None:
        steps = self.core.discovery(lane)
        reply = None
        while True:
            try:
                node, command = steps.send(reply)
            except StopIteration:
                return
            reply = await ask(node, command)

    async def _end_at_shutdown(self) -> AsyncGenerator[None, None]:
        """Suspended until the loop's shutdown_asyncgens() closes it, or it is dropped."""
        try:
            yield
        finally:
            self.ended_by_shutdown = True
            if not self.core.closed:
                await self.close(SessionState.TRUNCATED)

    async def _connect(self, lane: Lane) -> LaneProtocol:
        conn = lane.node.connection()
        try:
            await conn.connect()
        except CONNECT_ERRORS as e:
            raise connect_failure(e, lane.node) from e
        return LaneProtocol(self, lane, conn)

    # -- waiting: every change to what is queued or in flight wakes every waiter --

    def _changed(self) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.waiters.clear()

    async def _change(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        await waiter

    async def submit(self, batch: Batch) -> None:
        while not self.core.has_room:
            await self._change()
        self.core.submit(batch)
        self._pump_all()

    async def wait(self, owner: Tracker) -> None:
        """Until Redis has answered every batch of `owner`; then raise its error, if any."""
        while owner.pending:
            await self._change()
        owner.check()

    # -- I/O, in the protocol's callbacks --

    def _pump(self, lane: Lane) -> None:
        """Send the lane's next round if the lane is free."""
        if lane.round is not None or self.core.take_round(lane) is None:
            return
        self._changed()  # room in the queue
        self._send(lane)

    def _pump_all(self) -> None:
        for lane in list(self.core.lanes.values()):
            self._pump(lane)

    def _send(self, lane: Lane) -> None:
        assert lane.round is not None
        link = self.links.get(lane)
        if not lane.round.pending():
            self._done(lane)
        elif link is not None:
            link.write(lane.outgoing())
        else:
            self._retry_later(lane, 0.0, trouble=lane.lost)  # lost while idle: check first

    def received(self, lane: Lane, data: bytes) -> bool:
        """Replies for the lane's round; False while it waits for more."""
        try:
            if not lane.received(data):
                return False
            self._done(lane)
        except NodeMoved as e:  # as a lost connection: ask where the master is, reconnect
            self.links[lane].close(e)
        except Exception as e:  # a bug here must reach the callers, not hang them
            self.core.abort(lane, e)
            self._changed()
        return True

    def _done(self, lane: Lane) -> None:
        delay = self.core.round_done(lane)
        self._changed()
        if delay is not None:
            self._retry_later(lane, delay, trouble=True)
        self._pump_all()  # this lane's next round, and what was redirected to others

    def lost(self, lane: Lane, error: Exception) -> None:
        self.links.pop(lane, None)
        if lane not in self.retrying:
            self._trouble(lane, error)
        else:  # it reconnects once its wait is over, to send what this one was told again
            self.core.disconnected(lane)

    def _trouble(self, lane: Lane, error: Exception) -> None:
        delay = self.core.connection_lost(lane, error)
        self._changed()
        if delay is not None:
            self._retry_later(lane, delay, trouble=True)
        else:
            self._pump(lane)

    def _retry_later(self, lane: Lane, delay: float, trouble: bool) -> None:
        self.retrying[lane] = asyncio.create_task(self._retry(lane, delay, trouble))

    async def _retry(self, lane: Lane, delay: float, trouble: bool) -> None:
        """After `delay`, send the lane's round again: after trouble, once the core has
        asked where keys live now; on a new connection if the last one is gone."""
        await asyncio.sleep(delay)
        try:
            if trouble:
                await self._discover(lane)
            if not lane.retired and lane not in self.links:
                self.links[lane] = await self._connect(lane)
        except Exception as e:  # the core decides: try again later, or give up
            del self.retrying[lane]
            self._trouble(lane, e)
            return
        del self.retrying[lane]
        if lane.retired:  # its commands went to other lanes
            link = self.links.pop(lane, None)
            if link is not None:
                link.close()
            self._changed()
            self._pump_all()
        else:
            self._send(lane)

    # -- sessions --

    async def open(
        self,
        identity: str,
        stream: str,
        session: Session | Mapping[str, Any] | str | None,
        config: ConfigArgument | None = None,
        channel_offset: int = 0,
    ) -> SessionCore:
        opening = self.core.opening(
            identity, stream, session, contextlib.nullcontext(), config, channel_offset
        )
        async with self.starting:  # sessions opened at once by several tasks share the start
            if self.timer is None:
                await self.start()
        for batch in opening:
            await self.submit(batch)
            await self.wait(batch.owner)
        assert opening.session is not None
        self._wake_timer()  # it learns the session's heartbeat
        return opening.session

    async def queue(self, session: SessionCore, commands: list[Command]) -> None:
        """Queue what a call of the session gives."""
        if commands:
            await self.submit(Batch(session.owner, commands))

    async def added(self, session: SessionCore) -> None:
        """After a data call: queue what it leaves to send."""
        commands, first = session.added()
        if first:
            self._wake_timer()
        if commands:
            await self.submit(Batch(session.owner, commands))

    async def end(self, session: SessionCore, state: SessionState | str) -> None:
        commands = session.closing(state)
        if commands is None:
            return
        await self.submit(Batch(session.owner, commands))
        while session.owner.pending:
            await self._change()
        self.core.ended(session)

    async def close(self, state: SessionState | str) -> None:
        """End every session still open (in `state`), then close the connections."""
        first_error: Exception | None = None
        for session in list(self.core.sessions.values()):
            try:
                await self.end(session, state)
            except Exception as e:
                first_error = first_error or e
        self.core.closed = True
        if self.timer is not None:
            self.timer.cancel()
        for link in list(self.links.values()):  # each close() ends in lost(), which pops it
            link.close()
        if not self.ended_by_shutdown:  # closed by the caller: the loop has nothing to end
            await self.ending.aclose()
        if first_error is not None:
            raise first_error

    def _wake_timer(self) -> None:
        """The timer learns of a new deadline (it may be sooner than the one it sleeps to)."""
        if self.timer_wake is not None and not self.timer_wake.done():
            self.timer_wake.set_result(None)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            deadline = self.core.next_due()
            self.timer_wake = loop.create_future()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            await asyncio.wait([self.timer_wake], timeout=timeout)  # or woken sooner
            for session in self.core.due_sessions():
                try:
                    await self.queue(session, session.tick())
                except Exception as e:  # raised to the caller by its next call
                    session.owner.error = session.owner.error or e


class RedisStreamBuffer(BufferBase):
    __doc__ = "asyncio twin of rtastream.RedisStreamBuffer: the same arguments, `async with`."
    _pool_class = redis.asyncio.ConnectionPool
    _driver = Loop
    _io: Loop

    def open_session(
        self,
        identity: str,
        stream: str,
        session: Session | Mapping[str, Any] | str | None = None,
        *,
        config: ConfigArgument | None = None,
        channel_offset: int = 0,
    ) -> Opening:
        """Start a session on stream `stream` (see rtastream.RedisStreamBuffer.open_session,
        `config` and `channel_offset` too): `async with buffer.open_session(...) as session`,
        or `session = await ...`."""
        return Opening(self._open(identity, stream, session, config, channel_offset))

    async def _open(
        self,
        identity: str,
        stream: str,
        session: Session | Mapping[str, Any] | str | None,
        config: ConfigArgument | None,
        channel_offset: int,
    ) -> StreamSession:
        core = await self._io.open(identity, stream, session, config, channel_offset)
        self._started = True
        return StreamSession(self, core)

    async def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End every session still open (in `state`), then close the connections."""
        await self._io.close(state)

    async def __aenter__(self) -> RedisStreamBuffer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        await _close_on_exit(self.close, exc_type, exc)


async def _close_on_exit(
    close: Callable[[SessionState], Coroutine[Any, Any, None]],
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
) -> None:
    if exc is None:
        await close(end_state(None))
        return
    try:
        await close(end_state(exc_type))
    except Exception as e:
        note_close_failure(exc, e)


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

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        assert self._session is not None
        await self._session.__aexit__(exc_type, exc, tb)


class StreamSession(SessionView):
    """asyncio twin of rtastream.StreamSession: every method is a coroutine. Leaving
    `async with` normally closes the session; cancellation (or KeyboardInterrupt) truncates
    it; any other exception fails it."""

    def __init__(self, buffer: RedisStreamBuffer, core: SessionCore) -> None:
        self._buffer = buffer  # the buffer lives as long as its sessions are used
        self._io = buffer._io
        self._core = core

    async def write(self, burst: Burst) -> None:
        """Send a Burst's messages (encoded here, in the caller's task)."""
        await self.write_messages(self._core.pack(burst))

    async def write_messages(self, messages: Iterable[Message | bytes]) -> None:
        """Send pre-packed messages (as the sync session)."""
        await self._io.queue(self._core, self._core.write(list(messages)))

    async def timestamped(
        self, channel_ids: SupportsIndex | _ChannelIds, timestamps: ArrayLike, values: ArrayLike
    ) -> None:
        """Buffer samples of channels sharing their timestamps (as the sync session)."""
        self._core.calls().timestamped(channel_ids, timestamps, values)
        await self._io.added(self._core)

    async def periodic(
        self, channel_id: SupportsIndex, start: _Time, interval: SupportsIndex, values: ArrayLike
    ) -> None:
        """Buffer a regular series of one channel (as the sync session)."""
        self._core.calls().periodic(channel_id, start, interval, values)
        await self._io.added(self._core)

    async def periodics(
        self, channel_ids: _ChannelIds, start: _Time, interval: SupportsIndex, values: ArrayLike
    ) -> None:
        """Buffer regular series of several channels sampled alike (as the sync session)."""
        self._core.calls().periodics(channel_ids, start, interval, values)
        await self._io.added(self._core)

    async def row(self, channel_ids: _ChannelIds, timestamp: _Time, buffer: _RowBuffer) -> None:
        """Buffer one row of several channels at one instant (as the sync session)."""
        self._core.calls().row(channel_ids, timestamp, buffer)
        await self._io.added(self._core)

    async def rows(
        self, channel_ids: _ChannelIds, timestamps: ArrayLike, values: ArrayLike
    ) -> None:
        """Buffer one row per timestamp, all of the same channels (as the sync session)."""
        self._core.calls().rows(channel_ids, timestamps, values)
        await self._io.added(self._core)

    async def event(
        self,
        definition_id: SupportsIndex,
        timestamp: _Time,
        status_text: str = "",
        raw_data: _RawData = (),
        app_name: str = "",
    ) -> None:
        """Buffer an event (as the sync session)."""
        self._core.calls().event(definition_id, timestamp, status_text, raw_data, app_name)
        await self._io.added(self._core)

    async def events(
        self,
        definition_ids: _ChannelIds,
        timestamps: ArrayLike,
        status_texts: str | Sequence[str] = "",
        raw_data: ArrayLike = (),
        app_names: str | Sequence[str] = "",
    ) -> None:
        """Buffer one event per timestamp (as the sync session)."""
        self._core.calls().events(definition_ids, timestamps, status_texts, raw_data, app_names)
        await self._io.added(self._core)

    async def update(
        self, *, config: ConfigArgument | None = None, channel_offset: int = 0, **changes: Any
    ) -> None:
        """Stream a Session JSON update (as the sync session's update, `config` too)."""
        bound = None if config is None else Binding(config, channel_offset)
        await self._io.queue(self._core, self._core.update(changes, bound))

    async def flush(self) -> None:
        """Send buffered data and wait until Redis has acknowledged everything so far."""
        await self._io.queue(self._core, self._core.flush())
        await self._io.wait(self._core.owner)

    async def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End the session (as the sync session's close)."""
        await self._io.end(self._core, state)

    async def __aenter__(self) -> StreamSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        await _close_on_exit(self.close, exc_type, exc)
