"""The sync driver: how the sync writer waits and does I/O.

Callers encode on their own thread (the native encoder releases the GIL) and queue their
batches in the core, waiting while the queue is full (back-pressure). One I/O thread per
connection sends its lane's rounds (one scatter-gather sendmsg, payloads never copied) and
feeds the replies to the core; one timer thread per buffer flushes live data that is due.
Everything that changes what is queued or in flight happens under one condition.

A buffer left open is ended at interpreter exit: every open session `truncated`, after what
was queued is written. One garbage-collected while open warns (ResourceWarning).
"""

from __future__ import annotations

import atexit
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, SupportsIndex

import redis

from rtastream._native import Burst
from rtastream.connection import CONNECT_ERRORS, CONNECTION_ERRORS, connect_failure
from rtastream.session import Session, SessionState
from rtastream.writer.base import BufferBase, SessionView
from rtastream.writer.binding import Binding, ConfigArgument
from rtastream.writer.commands import Command, Message
from rtastream.writer.core import (
    Lane,
    SessionCore,
    WriterCore,
    end_state,
    note_close_failure,
)
from rtastream.writer.internals import live_socket
from rtastream.writer.node import Node
from rtastream.writer.rounds import Batch, Tracker

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike

    from rtastream._native import _ChannelIds, _RawData, _RowBuffer, _Time

IOV_MAX = 512
"""Chunks per sendmsg call (Linux takes up to 1024)."""


def send_all(sock: socket.socket, chunks: list[bytes]) -> None:
    """Send with one sendmsg (scatter-gather) per IOV_MAX chunks: few system calls, one GIL
    release for a round, the payloads never copied."""
    views: list[bytes | memoryview] = list(chunks)
    i, n = 0, len(views)
    while i < n:
        sent = sock.sendmsg(views[i : i + IOV_MAX])
        while i < n and sent >= len(views[i]):
            sent -= len(views[i])
            i += 1
        if sent:  # a partial send: go on from inside this chunk
            views[i] = memoryview(views[i])[sent:]


class Link:
    """One connection: a socket redis-py has connected (TLS, AUTH, SELECT done), on which
    we send RESP chunks and receive replies."""

    def __init__(self, node: Node) -> None:
        self.conn = node.connection()
        try:
            self.conn.connect()
        except CONNECT_ERRORS as e:
            raise connect_failure(e, node) from e
        self.sock = live_socket(self.conn)
        self.scatter = hasattr(self.sock, "sendmsg") and not isinstance(self.sock, ssl.SSLSocket)

    def send(self, chunks: list[bytes]) -> None:
        if not self.scatter:  # TLS sockets (and Windows) have no sendmsg
            for chunk in chunks:
                self.sock.sendall(chunk)
        else:
            send_all(self.sock, chunks)

    def recv_into(self, buffer: bytearray) -> int:
        n = self.sock.recv_into(buffer)
        if n == 0:
            raise redis.ConnectionError("Redis closed the connection")
        return n

    def close(self) -> None:
        self.conn.disconnect()


def ask(node: Node, command: Command) -> Any:
    """One command's reply on a connection of its own (asking where keys live is rare), or
    the exception if it failed."""
    conn = node.connection()
    try:
        conn.connect()
        conn.send_command(*command)
        return conn.read_response()
    except CONNECT_ERRORS as e:
        return connect_failure(e, node)
    finally:
        conn.disconnect()


class Threads:
    """The driver of one buffer: an I/O thread per lane and a timer thread, started with the
    first session, all coordinated by one condition around the core."""

    def __init__(self, core: WriterCore) -> None:
        self.core = core
        self.cond = threading.Condition()
        self.links: dict[Lane, Link] = {}
        self.threads: dict[Lane | None, threading.Thread] = {}  # None: the timer's
        self.stopping = False

    def start(self) -> None:
        """Find the nodes and connect every lane (here, so that an unreachable Redis raises
        at once), and start the threads; a lane made later gets its thread at once."""
        self._discover(None)
        for lane in self.core.lanes.values():
            self.links[lane] = Link(lane.node)
        for lane in self.core.lanes.values():
            self._spawn_io(lane)
        self.core.on_lane = self._spawn_io
        self._spawn(self._timer, None, "rtastream-timer")
        _OPEN.add(self)

    def _spawn_io(self, lane: Lane) -> None:
        self._spawn(self._io, lane, f"rtastream-io-{lane.node.address}")

    def _spawn(self, run: Callable[[Any], None], lane: Lane | None, name: str) -> None:
        thread = threading.Thread(target=run, args=(lane,), name=name, daemon=True)
        thread.start()
        self.threads[lane] = thread

    def _discover(self, lane: Lane | None) -> None:
        """Run the core's discovery: its steps under the condition, the I/O outside."""
        steps = self.core.discovery(lane)
        reply = None
        while True:
            with self.cond:
                try:
                    node, command = steps.send(reply)
                except StopIteration:
                    return
            reply = ask(node, command)

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
            threads = list(self.threads.values())
        for thread in threads:
            thread.join()
        for link in self.links.values():
            link.close()
        _OPEN.discard(self)

    # -- what callers call, on their own threads --

    def submit(self, batch: Batch) -> None:
        with self.cond:
            while not self.core.has_room:
                self.cond.wait()
            self.core.submit(batch)
            self.cond.notify_all()

    def wait(self, owner: Tracker) -> None:
        """Until Redis has answered every batch of `owner`; then raise its error, if any."""
        self._settle(owner)
        owner.check()

    def _settle(self, owner: Tracker) -> None:
        with self.cond:
            while owner.pending:
                if not self.cond.wait(1.0) and not all(t.is_alive() for t in self.threads.values()):
                    raise RuntimeError("an rtastream I/O thread has stopped")

    def open(
        self,
        identity: str,
        stream: str,
        session: Session | Mapping[str, Any] | str | None,
        config: ConfigArgument | None = None,
        channel_offset: int = 0,
    ) -> SessionCore:
        with self.cond:
            opening = self.core.opening(
                identity, stream, session, threading.Lock(), config, channel_offset
            )
            if not self.threads:
                self.start()
        steps = iter(opening)
        while True:
            with self.cond:  # the last step registers the session, which the timer reads
                batch = next(steps, None)
            if batch is None:
                assert opening.session is not None
                with self.cond:  # the timer learns the session's heartbeat
                    self.cond.notify_all()
                return opening.session
            self.submit(batch)
            self.wait(batch.owner)

    def queue(self, session: SessionCore, commands: list[Command]) -> None:
        """Queue what a call of the session gives, under the session's guard (its lock keeps
        the session's batches in order against the timer's)."""
        if commands:
            self.submit(Batch(session.owner, commands))

    def added(self, session: SessionCore) -> None:
        """After a data call, under the session's guard: queue what it leaves to send."""
        commands, first = session.added()
        if commands:
            self.submit(Batch(session.owner, commands))
        if first:
            with self.cond:  # the timer may be asleep with no deadline
                self.cond.notify_all()

    def end(self, session: SessionCore, state: SessionState | str) -> None:
        with session.guard:
            commands = session.closing(state)
            if commands is None:
                return
            self.submit(Batch(session.owner, commands))
        self._settle(session.owner)
        with self.cond:
            self.core.ended(session)

    def close(self, state: SessionState | str) -> None:
        """End every session still open (in `state`), then stop the threads."""
        first_error: Exception | None = None
        for session in list(self.core.sessions.values()):
            try:
                self.end(session, state)
            except Exception as e:
                first_error = first_error or e
        with self.cond:
            self.core.closed = True
        if self.threads:
            self.stop()
        if first_error is not None:
            raise first_error

    # -- the threads --

    def _timer(self, _: None) -> None:
        while True:
            with self.cond:
                while not self.stopping and not (due := self.core.due_sessions()):
                    deadline = self.core.next_due()
                    self.cond.wait(None if deadline is None else deadline - time.monotonic())
                if self.stopping:
                    return
            for session in due:
                try:
                    with session.guard:
                        self.queue(session, session.tick())
                except Exception as e:  # raised to the caller by its next call
                    session.owner.error = session.owner.error or e

    def _io(self, lane: Lane) -> None:
        buffer = bytearray(1 << 16)
        while True:
            with self.cond:
                while self.core.take_round(lane) is None and not (self.stopping or lane.retired):
                    self.cond.wait()
                if lane.round is None:
                    if lane.retired:  # its commands went to other lanes
                        del self.threads[lane]
                        link = self.links.pop(lane, None)
                        if link is not None:
                            link.close()
                    return
                self.cond.notify_all()  # room in the queue
            try:
                self._exchange(lane, buffer)
            except Exception as e:  # a bug here must reach the callers, not kill the thread
                with self.cond:
                    self.core.abort(lane, e)
            with self.cond:
                self.cond.notify_all()

    def _exchange(self, lane: Lane, buffer: bytearray) -> None:
        """Send the lane's round and read its replies. After trouble (a lost connection, a
        refusal for now), wait as the core says, ask where keys live now, and send again
        what is left (reconnecting if need be)."""
        trouble = False
        while lane.round is not None:
            delay = None
            try:
                if trouble:
                    self._discover(lane)
                    trouble = False
                    if lane.retired:
                        return
                link = self.links.get(lane) or self.links.setdefault(lane, Link(lane.node))
                if lane.round.pending():
                    link.send(lane.outgoing())
                    while not lane.received(buffer, 0, link.recv_into(buffer)):
                        pass
                with self.cond:
                    delay = self.core.round_done(lane)
                    self.cond.notify_all()  # redirected commands may wait on other lanes
            except CONNECTION_ERRORS as e:
                dropped = self.links.pop(lane, None)
                if dropped is not None:
                    dropped.close()
                with self.cond:
                    delay = self.core.connection_lost(lane, e)
            if delay is not None:
                time.sleep(delay)
                trouble = True


_OPEN: set[Threads] = set()
"""Drivers with threads running, ended at interpreter exit."""


@atexit.register
def _end_open_buffers() -> None:
    for threads in list(_OPEN):
        try:
            threads.close(SessionState.TRUNCATED)
        except Exception as e:
            print(f"rtastream: at exit, could not end every session: {e}", file=sys.stderr)


class RedisStreamBuffer(BufferBase):
    __doc__ = BufferBase.__doc__
    _pool_class = redis.ConnectionPool
    _driver = Threads
    _io: Threads

    def open_session(
        self,
        identity: str,
        stream: str,
        session: Session | Mapping[str, Any] | str | None = None,
        *,
        config: ConfigArgument | None = None,
        channel_offset: int = 0,
    ) -> StreamSession:
        """Start a session on stream `stream`: new stream session id, first Session JSON
        message, session hash. `session` (a Session, its JSON or a mapping of it) defaults
        to Session(identity) in state open.

        `config` (a rtastream.configuration.Configuration, or RTA configuration JSON as
        text or parsed) is checked first (ValueError, nothing written), published once at
        `configs:<identifier>`, and bound in the Session JSON with `channel_offset` (added to
        its channel ids); every data call is then checked against it (docs/configuration.md)."""
        core = self._io.open(identity, stream, session, config, channel_offset)
        self._started = True
        return StreamSession(self, core)

    def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End every session still open (in `state`), then stop the I/O threads."""
        self._io.close(state)

    def __enter__(self) -> RedisStreamBuffer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        _close_on_exit(self.close, exc_type, exc)


def _close_on_exit(
    close: Callable[[SessionState], None],
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
) -> None:
    if exc is None:
        close(end_state(None))
        return
    try:
        close(end_state(exc_type))
    except Exception as e:
        note_close_failure(exc, e)


class StreamSession(SessionView):
    """One session on a stream. Use as a context manager: leaving it normally closes the
    session, KeyboardInterrupt (or Terminated, see end_sessions_on_sigterm) truncates it,
    any other exception fails it (and propagates).

    write()/write_messages() send whole bursts; timestamped()/periodic()/row()/event()
    and the column methods periodics()/rows()/events() buffer live data, flushed every
    `flush_interval` or when a burst reaches `target`.
    A Redis error is raised by the next call or by flush(). Not for use from several
    threads at once (the buffer's timer thread flushes live data safely).
    """

    def __init__(self, buffer: RedisStreamBuffer, core: SessionCore) -> None:
        self._buffer = buffer  # the buffer lives as long as its sessions are used
        self._io = buffer._io
        self._core = core

    def write(self, burst: Burst) -> None:
        """Send a Burst's messages (encoded here, on the caller's thread)."""
        self.write_messages(self._core.pack(burst))

    def write_messages(self, messages: Iterable[Message | bytes]) -> None:
        """Send pre-packed messages: (message, (start, end) or None) pairs as
        pack_with_time_ranges() gives them (a time range is recorded in the session hash),
        or bare messages as pack() gives them."""
        given = list(messages)
        with self._core.guard:
            self._io.queue(self._core, self._core.write(given))

    def timestamped(
        self, channel_ids: SupportsIndex | _ChannelIds, timestamps: ArrayLike, values: ArrayLike
    ) -> None:
        """Buffer samples of channels sharing their timestamps (ns since the epoch, or
        datetime64): values 1-D (channel_ids one int) or 2-D (channels, samples). Merged
        with the previous call for the same channels; refused (ValueError) if it starts
        before where that call ended."""
        with self._core.guard:
            self._core.calls().timestamped(channel_ids, timestamps, values)
            self._io.added(self._core)

    def periodic(
        self, channel_id: SupportsIndex, start: _Time, interval: SupportsIndex, values: ArrayLike
    ) -> None:
        """Buffer a regular series of one channel: samples at start, start + interval,
        ... (ns). Merged with the previous call for the channel if it continues it; refused
        (ValueError) if it starts before where that call ended."""
        with self._core.guard:
            self._core.calls().periodic(channel_id, start, interval, values)
            self._io.added(self._core)

    def periodics(
        self, channel_ids: _ChannelIds, start: _Time, interval: SupportsIndex, values: ArrayLike
    ) -> None:
        """Buffer regular series of several channels sampled alike: values 2-D (channels,
        samples) at start, start + interval, ... (ns). Each channel is merged and refused as
        by periodic(); merged only with a call for the same channels."""
        with self._core.guard:
            self._core.calls().periodics(channel_ids, start, interval, values)
            self._io.added(self._core)

    def row(self, channel_ids: _ChannelIds, timestamp: _Time, buffer: _RowBuffer) -> None:
        """Buffer one row of several channels at one instant: `buffer` holds each channel's
        value in channel order, each of its own width (bytes-like, or a one-row structured
        array). Rows may come in any time order."""
        with self._core.guard:
            self._core.calls().row(channel_ids, timestamp, buffer)
            self._io.added(self._core)

    def rows(self, channel_ids: _ChannelIds, timestamps: ArrayLike, values: ArrayLike) -> None:
        """Buffer one row per timestamp, all of the same channels: values 2-D (instants,
        channels) of one dtype, or structured, one record per instant and one field per
        channel. Rows may come in any time order."""
        with self._core.guard:
            self._core.calls().rows(channel_ids, timestamps, values)
            self._io.added(self._core)

    def event(
        self,
        definition_id: SupportsIndex,
        timestamp: _Time,
        status_text: str = "",
        raw_data: _RawData = (),
        app_name: str = "",
    ) -> None:
        """Buffer an event (any time order)."""
        with self._core.guard:
            self._core.calls().event(definition_id, timestamp, status_text, raw_data, app_name)
            self._io.added(self._core)

    def events(
        self,
        definition_ids: _ChannelIds,
        timestamps: ArrayLike,
        status_texts: str | Sequence[str] = "",
        raw_data: ArrayLike = (),
        app_names: str | Sequence[str] = "",
    ) -> None:
        """Buffer one event per timestamp (any time order): definition_ids one per event,
        status_texts and app_names one str for all or one per event, raw_data 2-D (events,
        numbers)."""
        with self._core.guard:
            self._core.calls().events(definition_ids, timestamps, status_texts, raw_data, app_names)
            self._io.added(self._core)

    def update(
        self, *, config: ConfigArgument | None = None, channel_offset: int = 0, **changes: Any
    ) -> None:
        """Stream a Session JSON update with these Session properties changed. With
        `config`, the configuration is checked, published and bound (as open_session's) and
        the data calls checked against it from now on."""
        bound = None if config is None else Binding(config, channel_offset)
        with self._core.guard:
            self._io.queue(self._core, self._core.update(changes, bound))

    def flush(self) -> None:
        """Send buffered data and wait until Redis has acknowledged everything so far."""
        with self._core.guard:
            self._io.queue(self._core, self._core.flush())
        self._io.wait(self._core.owner)

    def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End the session: the last message is Session JSON with `state` and the time range.
        After an error it tries the connection again; it raises if it cannot write the final
        state, or with an error not raised yet (after writing it)."""
        self._io.end(self._core, state)

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        _close_on_exit(self.close, exc_type, exc)
