"""The sync Redis writer: a buffer (one connection, one I/O thread) and its sessions.

Callers encode on their own thread (the native encoder releases the GIL) and hand commands
to the I/O thread through a bounded queue, which blocks them when Redis falls behind. The
I/O thread sends everything queued as one pipeline (no transaction, one scatter-gather
sendmsg, payloads never copied) and reads the replies.

Delivery is at-least-once: when the connection drops, the I/O thread reconnects with
backoff and re-sends every command Redis had not acknowledged, so a burst may appear twice
in a stream (readers see duplicates, never gaps). If Redis stays away longer than
`reconnect_timeout`, the session raises RedisUnavailable whose `unsent` lists the messages
not written.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, SupportsIndex

import redis

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

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from rtastream._native import _ChannelIds, _RawData, _RowBuffer, _Time

DEFAULT_TARGET = 64 * 1024
MAX_ROUND = 256
"""Most batches sent in one pipeline before reading their replies."""


class _IOThread:
    """Owns one connection; sends queued batches in pipelines and reads their replies."""

    def __init__(self, pool: redis.ConnectionPool, queue_size: int,
                 reconnect_timeout: float) -> None:
        self.address = address_of(pool.connection_kwargs)
        self.reconnect_timeout = reconnect_timeout
        self.pool = pool
        try:
            self.conn = pool.get_connection()
        except CONNECT_ERRORS as e:
            raise connect_failure(e, pool) from e
        self.queue: queue.Queue[Batch | None] = queue.Queue(queue_size)
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="rtastream-io", daemon=True)
        self.thread.start()

    def submit(self, owner: Tracker, commands: list[Command], keep_replies: bool = False) -> Batch:
        owner.check()
        if self.closed:
            raise RuntimeError("the RedisStreamBuffer is closed")
        batch = Batch(owner, commands, owner.submitted + 1, [] if keep_replies else None)
        self.queue.put(batch)  # blocks while the queue is full: back-pressure
        # Counted once queued, so an interrupted put (Ctrl+C) leaves flush() nothing to wait for.
        with self.cond:
            owner.submitted = batch.seq
        return batch

    def flush(self, owner: Tracker) -> None:
        with self.cond:
            while not self.cond.wait_for(lambda: owner.idle, timeout=1.0):
                if not self.thread.is_alive():
                    raise RuntimeError("the rtastream I/O thread has stopped")
        owner.check()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.queue.put(None)
        self.thread.join()
        self.pool.release(self.conn)

    def _run(self) -> None:
        stop = False
        while not stop:
            batches: list[Batch] = []
            item = self.queue.get()
            while True:
                if item is None:
                    stop = True
                    break
                batches.append(item)
                if len(batches) >= MAX_ROUND:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            if batches:
                self._process(batches)

    def _process(self, batches: list[Batch]) -> None:
        rnd = Round(batches)
        backoff: Backoff | None = None
        try:
            while rnd.pending():
                try:
                    self._exchange(rnd)
                except CONNECTION_ERRORS as e:
                    self.conn.disconnect()
                    backoff = backoff or Backoff(self.reconnect_timeout)
                    delay = backoff.next()
                    if delay is None:
                        rnd.fail(self.address, f"connection lost and not restored within "
                                               f"{self.reconnect_timeout} s ({e})")
                    else:
                        time.sleep(delay)
        except Exception as e:  # a bug here must reach the callers, not kill the thread
            for batch in batches:
                batch.owner.error = batch.owner.error or e
        with self.cond:
            rnd.finish()
            self.cond.notify_all()

    def _exchange(self, rnd: Round) -> None:
        conn = self.conn
        commands = rnd.pending()
        _send(conn, pack_commands(commands))
        for _ in commands:
            try:
                reply = conn.read_response()
            except redis.exceptions.ResponseError as e:
                reply = e
            rnd.reply(reply)


IOV_MAX = 512
"""Chunks per sendmsg call (Linux takes up to 1024)."""


def _send(conn: redis.Connection, chunks: list[bytes]) -> None:
    """Send a pipeline with one sendmsg (scatter-gather) per IOV_MAX chunks: few system
    calls, and one GIL release for the whole round instead of one per chunk. The payloads
    are never copied. TLS sockets (and Windows) have no sendmsg: there redis-py sends the
    chunks one by one."""
    if conn._sock is None:  # redis-py's own attribute; connect() does TLS, AUTH, SELECT
        conn.connect()
    sock = conn._sock
    if isinstance(sock, ssl.SSLSocket) or not hasattr(sock, "sendmsg"):
        conn.send_packed_command(chunks, check_health=False)
        return
    i, n = 0, len(chunks)
    while i < n:
        sent = sock.sendmsg(chunks[i:i + IOV_MAX])
        while i < n and sent >= len(chunks[i]):
            sent -= len(chunks[i])
            i += 1
        if sent:  # a partial send: go on from inside this chunk
            chunks[i] = memoryview(chunks[i])[sent:]


class RedisStreamBuffer:
    """Writes RTA live-stream sessions into Redis.

    Delivery is at-least-once: after a dropped connection the writer reconnects with backoff
    and re-sends what Redis had not acknowledged (a burst may then appear twice, never out of
    order or missing). Past `reconnect_timeout` the session raises RedisUnavailable, whose
    `unsent` lists the messages not written. Redis refusing a command raises
    RedisCommandError naming the key.

    `url` is any redis-py URL (redis://, rediss://, unix://, user, password, db); `options`
    go to redis-py's ConnectionPool.from_url. Nothing connects until the first session.

    session_ttl: seconds a session hash lives after its last update.
    maxlen: approximate MAXLEN trimming on every XADD (off when None).
    target: uncompressed bytes per stream message (bursts are split near it).
    flush_interval: seconds between automatic flushes of live-buffered rows and blocks.
    queue_size: batches waiting for the I/O thread before writers block.
    reconnect_timeout: seconds to keep reconnecting after the connection drops.
    """

    def __init__(self, url: str = "redis://localhost:6379/0", *,
                 session_ttl: int = keys.DEFAULT_SESSION_TTL, maxlen: int | None = None,
                 target: int = DEFAULT_TARGET, flush_interval: float = DEFAULT_FLUSH_INTERVAL,
                 queue_size: int = 64, reconnect_timeout: float = 10.0, **options: Any) -> None:
        validate_options(session_ttl, maxlen, target, flush_interval, queue_size,
                         reconnect_timeout)
        self.pool = pool_from_url(redis.ConnectionPool, url,
                                  {"socket_connect_timeout": 5.0, **options},
                                  caller="RedisStreamBuffer()", own=OPTIONS)
        self.session_ttl = session_ttl
        self.maxlen = maxlen
        self.target = target
        self.flush_interval = flush_interval
        self.queue_size = queue_size
        self.reconnect_timeout = reconnect_timeout
        self.address = address_of(self.pool.connection_kwargs)
        self._io: _IOThread | None = None
        self._sessions: set[StreamSession] = set()
        self._lock = threading.Lock()
        self._closed = False

    def _started(self) -> _IOThread:
        with self._lock:
            if self._closed:
                raise RuntimeError("the RedisStreamBuffer is closed")
            if self._io is None:
                self._io = _IOThread(self.pool, self.queue_size, self.reconnect_timeout)
            return self._io

    def open_session(self, identity: str, stream: str,
                     session: Session | Mapping[str, Any] | str | None = None) -> StreamSession:
        """Start a session on stream `stream`: new stream session id, session hash, and a
        first Session JSON message. `session` defaults to Session(identity) in state open."""
        model = session_model(identity, session)
        if not isinstance(stream, str) or not stream:
            raise ValueError(f"stream must be a non-empty str, got {stream!r}")
        if any(open_.identity == identity for open_ in list(self._sessions)):
            raise ValueError(f"session {identity!r} is already open in this buffer")
        io = self._started()
        owner = Tracker(identity)
        allocation = io.submit(owner, allocation_commands(stream, identity),
                               keep_replies=True)
        io.flush(owner)
        session_id, position = parse_allocation(allocation.replies, identity)
        core = SessionCore(model, stream, session_id, position, ttl=self.session_ttl,
                           maxlen=self.maxlen, target=self.target)
        for commands in core.opening():
            io.submit(owner, commands)
            io.flush(owner)
        stream_session = StreamSession(core, owner, io, self.flush_interval, self._sessions)
        self._sessions.add(stream_session)
        return stream_session

    def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
        """End every session still open (in `state`), then stop the I/O thread."""
        first_error: BaseException | None = None
        for stream_session in list(self._sessions):
            try:
                stream_session.close(state)
            except Exception as e:
                first_error = first_error or e
        with self._lock:
            self._closed = True
            io, self._io = self._io, None
        if io is not None:
            io.close()
        self.pool.disconnect()
        if first_error is not None:
            raise first_error

    def __enter__(self) -> RedisStreamBuffer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        _close_on_exit(self.close, exc_type, exc)


def _close_on_exit(close: Any, exc_type: type[BaseException] | None,
                   exc: BaseException | None) -> None:
    """Close in the state the exit calls for; a close failure during an exception is added
    to that exception as a note rather than hiding it."""
    if exc is None:
        close(end_state(None))
        return
    try:
        close(end_state(exc_type))
    except Exception as e:
        if hasattr(exc, "add_note"):
            exc.add_note(f"rtastream could not end the session: {e!r}")


class StreamSession(SessionView):
    """One session on a stream. Use as a context manager: leaving it normally closes the
    session, KeyboardInterrupt truncates it, any other exception fails it (and propagates).

    write()/write_messages() send whole bursts; timestamped()/periodic()/row()/event()
    buffer live data and flush it every `flush_interval` or when a burst reaches `target`.
    A Redis error is raised by the next call or by flush(). Not for use from several
    threads at once, except that the automatic flush runs on a timer thread.
    """

    def __init__(self, core: SessionCore, owner: Tracker, io: _IOThread, flush_interval: float,
                 registry: set[StreamSession]) -> None:
        self._core = core
        self._owner = owner
        self._io = io
        self._interval = flush_interval
        self._registry = registry
        self._live = LiveBurst(core.target)
        self._lock = threading.Lock()  # the live burst and the core
        self._flush_lock = threading.RLock()  # keeps batches in order
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._closed = False

    def write(self, burst: Burst) -> None:
        """Send a Burst's messages (encoded here, on the caller's thread)."""
        self.write_messages(self._core.pack(burst))

    def write_messages(self, messages: Iterable[Message | bytes]) -> None:
        """Send pre-packed messages: (message, (start, end) or None) pairs as
        pack_with_time_ranges() gives them (a time range is recorded in the session hash),
        or bare messages as pack() gives them."""
        self._check()
        messages = list(messages)
        with self._flush_lock:
            self._flush_live()
            with self._lock:
                commands = self._core.data(messages)
            if commands:
                self._io.submit(self._owner, commands)

    def timestamped(self, channel_ids: SupportsIndex | _ChannelIds, timestamps: ArrayLike,
                    values: ArrayLike) -> None:
        """Buffer samples of channels sharing their timestamps (ns since the epoch, or
        datetime64): values 1-D (channel_ids one int) or 2-D (channels, samples). Merged
        with the previous call for the same channels; refused (ValueError) if it starts
        before where that call ended."""
        self._check()
        with self._lock:
            self._live.timestamped(channel_ids, timestamps, values)
            full = self._live.full
        self._added(full)

    def periodic(self, channel_id: SupportsIndex, start: _Time, interval: SupportsIndex,
                 values: ArrayLike) -> None:
        """Buffer a regular series of one channel: samples at start, start + interval,
        ... (ns). Merged with the previous call for the channel if it continues it; refused
        (ValueError) if it starts before where that call ended."""
        self._check()
        with self._lock:
            self._live.periodic(channel_id, start, interval, values)
            full = self._live.full
        self._added(full)

    def row(self, channel_ids: _ChannelIds, timestamp: _Time, buffer: _RowBuffer) -> None:
        """Buffer one row of several channels at one instant: `buffer` holds each channel's
        value in channel order, each of its own width (bytes-like, or a one-row structured
        array). Rows may come in any time order."""
        self._check()
        with self._lock:
            self._live.row(channel_ids, timestamp, buffer)
            full = self._live.full
        self._added(full)

    def event(self, definition_id: SupportsIndex, timestamp: _Time, status_text: str = "",
              raw_data: _RawData = (), app_name: str = "") -> None:
        """Buffer an event (any time order)."""
        self._check()
        with self._lock:
            self._live.event(definition_id, timestamp, status_text, raw_data, app_name)
            full = self._live.full
        self._added(full)

    def update(self, **changes: Any) -> None:
        """Stream a Session JSON update with these Session properties changed."""
        self._check()
        with self._flush_lock:
            self._flush_live()
            with self._lock:
                commands = self._core.update(changes)
            self._io.submit(self._owner, commands)

    def flush(self) -> None:
        """Send buffered data and wait until Redis has acknowledged everything so far."""
        self._check()
        with self._flush_lock:
            self._flush_live()
        self._io.flush(self._owner)

    def close(self, state: SessionState | str = SessionState.CLOSED) -> None:
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
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        with self._flush_lock:
            self._flush_live()
            with self._lock:
                commands = self._core.finish(state)
            self._io.submit(self._owner, commands)
        self._io.flush(self._owner)
        if unseen is not None:
            raise unseen

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        _close_on_exit(self.close, exc_type, exc)

    def _check(self) -> None:
        if self._closed:
            raise RuntimeError(f"session {self.identity!r} is {self.state.json_name}")
        self._owner.check()

    def _added(self, full: bool) -> None:
        if self._timer is None:
            self._timer = threading.Thread(target=self._tick, daemon=True,
                                           name=f"rtastream-flush-{self.identity}")
            self._timer.start()
        if full:
            with self._flush_lock:
                self._flush_live()

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._flush_lock:
                    self._flush_live()
            except Exception as e:  # raised to the caller by its next call
                self._owner.error = self._owner.error or e

    def _flush_live(self) -> None:
        """Pack the live burst (outside the lock, so rows keep coming) and queue it."""
        with self._lock:
            burst = self._live.take(self._core)
        if burst is None:
            return
        try:
            messages = self._core.pack(burst)
        finally:
            with self._lock:
                self._live.give_back(burst)
        with self._lock:
            commands = self._core.data(messages)
        self._io.submit(self._owner, commands)
