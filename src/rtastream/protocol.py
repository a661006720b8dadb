"""The protocol without I/O: the Redis commands each step of a session sends, and the
bookkeeping of what Redis has acknowledged. The sync and asyncio writers only move these
commands over a connection; everything they must agree on lives here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis.exceptions

from rtastream import _columns as columns
from rtastream import keys
from rtastream._native import Burst
from rtastream.errors import RedisCommandError, RedisUnavailable
from rtastream.session import Session, SessionState, TimeRange, now
from rtastream.sigterm import Terminated

Command = tuple[Any, ...]
"""A Redis command: its name and arguments (str, int or bytes)."""
Message = tuple[bytes, tuple[int, int] | None]
"""(compressed burst, (start, end) or None): what Burst.pack_with_time_ranges() gives."""

DEFAULT_FLUSH_INTERVAL = 0.1
"""Seconds between automatic flushes of live-buffered data (about 10 bursts a second)."""

# Returns only the stream's last-generated-id (XINFO STREAM's reply also holds the first and
# last entries, which are large here), or ARGV[1] when the stream does not exist. One key, so
# it runs on Redis Cluster too. pcall: an error (WRONGTYPE) is returned as the server gave it,
# where Redis 6 would wrap a raised one in "Error running script ...".
POSITION_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return ARGV[1] end
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if info['err'] then return info end
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return info[i + 1] end
end
return ARGV[1]
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def allocation_commands(stream: str, identity: str) -> list[Command]:
    """A new stream session id, the stream listed in `streams`, the stream's position, and
    the type of the session hash's key, checked before anything of the session is written."""
    return [
        ("INCRBY", keys.LAST_STREAM_SESSION_ID, 1),
        ("SADD", keys.STREAMS, stream),
        ("EVAL", POSITION_SCRIPT, 1, keys.stream_key(stream), keys.NO_STREAM_POSITION),
        ("TYPE", keys.session_key(identity)),
    ]


def parse_allocation(replies: Sequence[Any], identity: str) -> tuple[int, str]:
    session_id, _, position, kind = (r.decode() if isinstance(r, bytes) else r for r in replies)
    if str(kind) not in ("none", "hash"):
        key = keys.session_key(identity)
        raise RedisCommandError("HSET", key, redis.exceptions.ResponseError(
            f"WRONGTYPE Operation against a key holding the wrong kind of value (a {kind}; "
            f"found before opening, so nothing of this session was written)"))
    return int(session_id), str(position)


def session_model(identity: str, session: Session | Mapping[str, Any] | str | None) -> Session:
    if session is None:
        return Session(identity=identity)
    model = Session.coerce(session)
    if model.identity != identity:
        raise ValueError(f"session identity {model.identity!r} differs from identity {identity!r}")
    return model


def end_state(exc_type: type[BaseException] | None) -> SessionState:
    """The state a session ends in when its `with` block exits with this exception."""
    if exc_type is None:
        return SessionState.CLOSED
    # CancelledError is a BaseException; compare by name to keep asyncio out of the sync path.
    if issubclass(exc_type, (KeyboardInterrupt, Terminated)) or \
            exc_type.__name__ == "CancelledError":
        return SessionState.TRUNCATED
    return SessionState.FAILED


OPTIONS = ("session_ttl", "maxlen", "target", "flush_interval", "queue_size",
           "reconnect_timeout")
"""The writers' own keyword options (any other keyword goes to redis-py)."""


def validate_options(ttl: int, maxlen: int | None, target: int, flush_interval: float,
                     queue_size: int, reconnect_timeout: float) -> None:
    if not isinstance(ttl, int) or ttl < 1:
        raise ValueError(f"session_ttl must be a positive number of seconds, got {ttl!r}")
    if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 1):
        raise ValueError(f"maxlen must be None or a positive int, got {maxlen!r}")
    columns.target(target)
    if not flush_interval > 0:
        raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
    if not isinstance(queue_size, int) or queue_size < 1:
        raise ValueError(f"queue_size must be a positive int, got {queue_size!r}")
    if not reconnect_timeout >= 0:
        raise ValueError(f"reconnect_timeout must be >= 0 seconds, got {reconnect_timeout!r}")


class SessionCore:
    """One open session: its model, ids and time range, and the commands for each step.

    Not thread-safe; the sync writer holds a lock around it.
    """

    def __init__(self, session: Session, stream: str, stream_session_id: int, position: str,
                 *, ttl: int, maxlen: int | None, target: int) -> None:
        self.session = session
        self.stream = stream
        self.stream_session_id = stream_session_id
        self.position = position
        self.key = keys.session_key(session.identity)
        self.stream_key = keys.stream_key(stream)
        self.target = target
        self._expire = ("EXPIRE", self.key, ttl)
        # XADD up to the payload; approximate trimming is cheap for Redis (whole nodes only).
        trim = ("MAXLEN", "~", maxlen) if maxlen else ()
        self._xadd = ("XADD", self.stream_key, *trim, "*", keys.ENTRY_ID, stream_session_id,
                      keys.ENTRY_DATA)
        self.opened_ns = time.time_ns()
        preset = session.time_range
        self.start: int | None = preset.start_time if preset else None
        self.end: int | None = preset.end_time if preset else None

    @property
    def state(self) -> SessionState:
        return self.session.state

    def see(self, start: int, end: int) -> None:
        """Widen the session's time range to cover [start, end]."""
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)

    def time_range(self) -> tuple[int, int] | None:
        if self.start is None:
            return None
        return self.start, self.end

    def opening(self) -> tuple[list[Command], list[Command]]:
        """The first message (a Session JSON update), then the session hash. Sent one after
        the other: a refused first message leaves no hash that looks live, and the hash
        starts afresh (no tStart/tEnd of an earlier session with this identity)."""
        if self.session.start_timestamp is None:
            self.session = self.session.replace(start_timestamp=self.session.timestamp)
        text = self._json_text()
        burst = Burst()
        burst.session_json(text)
        first = [(*self._xadd, message) for message, _ in self.pack(burst)]
        record = ("HSET", self.key, keys.STREAM_SESSION_ID, self.stream_session_id,
                  keys.STREAM_NAME, self.stream, keys.STREAM_POSITION, self.position,
                  keys.JSON, text, keys.LAST_UPDATED, now_ms())
        return first, [("DEL", self.key), record, self._expire]

    def pack(self, burst: Burst) -> list[Message]:
        """A burst as messages, packed with room up to twice the target: a burst just over
        the target goes as one message, not as a big one and a tiny one."""
        return burst.pack_with_time_ranges(min(2 * self.target, columns.MAX_MESSAGE))

    def data(self, messages: Iterable[Message | bytes]) -> list[Command]:
        """XADD each message; record the time range a message carries in the hash."""
        commands: list[Command] = []
        for message, span in list(map(_message, messages)):  # all checked before any is used
            commands.append((*self._xadd, message))
            if span is not None:
                self.see(*span)
                commands.append(("HSET", self.key, keys.T_START, span[0], keys.T_END, span[1],
                                 keys.LAST_UPDATED, now_ms()))
        if commands:
            commands.append(self._expire)
        return commands

    def update(self, changes: dict[str, Any]) -> list[Command]:
        """A Session JSON update with the changed properties (a state change is checked)."""
        for name in changes:
            if name not in SESSION_PROPERTIES:
                raise TypeError(
                    f"update() got an unexpected keyword argument {name!r}: it takes Session "
                    f"properties ({', '.join(sorted(SESSION_PROPERTIES))}); put your own "
                    f"fields in details={{...}}")
        if changes.get("identity", self.session.identity) != self.session.identity:
            raise ValueError("a session's identity cannot change (it names its Redis hash)")
        state = changes.pop("state", self.session.state)
        if SessionState.parse(state).is_closed:
            raise ValueError("end a session by closing it (close(state) or leaving its "
                             "with-block), not with update(state=...)")
        self.session = self.session.transition(state, **changes)
        return self._json_update(final=False)

    def finish(self, state: SessionState) -> list[Command]:
        """The last message: Session JSON with the final state and time range."""
        if self.start is None:  # no data: the session spans its wall-clock lifetime
            self.see(self.opened_ns, max(self.opened_ns, time.time_ns()))
        end_timestamp = self.session.end_timestamp or now()
        self.session = self.session.transition(state, end_timestamp=end_timestamp)
        return self._json_update(final=True)

    def _json_text(self) -> str:
        span = self.time_range()
        if span is not None:
            self.session = self.session.replace(time_range=TimeRange(*span))
        return self.session.to_json()

    def _json_update(self, final: bool) -> list[Command]:
        span = self.time_range()
        text = self._json_text()
        burst = Burst()
        if final:
            burst.time_range(*span)
        burst.session_json(text)
        commands = self.data(self.pack(burst))
        commands.insert(-1, ("HSET", self.key, keys.JSON, text, keys.LAST_UPDATED, now_ms()))
        return commands


SESSION_PROPERTIES = frozenset(f.name for f in fields(Session))


def _message(item: Any) -> Message:
    """A (message, (start, end) or None) pair from what pack_with_time_ranges() or pack()
    gives."""
    if type(item) is bytes:
        return item, None
    if (type(item) is tuple and len(item) == 2 and type(item[0]) is bytes
            and (item[1] is None or _is_span(item[1]))):
        return item
    raise TypeError(
        "write_messages() takes messages as Burst.pack() gives them (bytes) or as "
        "pack_with_time_ranges() gives them ((bytes, (start, end) or None) pairs), "
        f"got {_shown(item)}")


def _is_span(span: Any) -> bool:
    return (type(span) is tuple and len(span) == 2 and all(type(t) is int for t in span)
            and span[0] <= span[1])


def _shown(item: Any) -> str:
    text = repr(item)
    return f"{type(item).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


class SessionView:
    """What a session tells about itself, the same for the sync and asyncio sessions."""

    _core: SessionCore

    @property
    def identity(self) -> str:
        return self._core.session.identity

    @property
    def stream(self) -> str:
        return self._core.stream

    @property
    def stream_session_id(self) -> int:
        return self._core.stream_session_id

    @property
    def stream_position(self) -> str:
        return self._core.position

    @property
    def session(self) -> Session:
        return self._core.session

    @property
    def state(self) -> SessionState:
        return self._core.state


# ---- What is in flight: shared by the sync I/O thread and the asyncio I/O task. ----

@dataclass(eq=False)
class Tracker:
    """One session's (or the buffer's) batches: how many were submitted, how many Redis has
    answered, and the first error, which the session raises on its next call."""

    name: str
    submitted: int = 0
    done: int = 0
    error: BaseException | None = None
    raised: BaseException | None = None  # the error check() last raised to the caller

    @property
    def idle(self) -> bool:
        return self.done >= self.submitted

    def check(self) -> None:
        if self.error is not None:
            self.raised = self.error
            raise self.error

    def take_error(self) -> BaseException | None:
        """Clear the error, so that closing writes the final state whatever went wrong
        before; return it unless the caller has already seen it."""
        error, self.error = self.error, None
        return None if error is self.raised else error


@dataclass(eq=False)
class Batch:
    owner: Tracker
    commands: list[Command]
    seq: int
    replies: list[Any] | None = None  # kept only when someone needs them


def command_key(command: Command) -> str:
    """The key a command works on (EVAL: its first KEYS entry)."""
    return command[3] if command[0] == "EVAL" else command[1]


def unsent_messages(commands: Iterable[Command]) -> list[bytes]:
    return [c[-1] for c in commands if c[0] == "XADD"]


@dataclass(eq=False)
class Round:
    """Batches sent in one pipeline; replies arrive in order, so `acked` commands are done
    and the rest are re-sent after a reconnect."""

    batches: list[Batch]
    commands: list[Command] = field(init=False)
    where: list[Batch] = field(init=False)
    acked: int = 0

    def __post_init__(self) -> None:
        self.commands, self.where = [], []
        for batch in self.batches:
            if batch.owner.error is not None:  # that session already failed: do not write
                self._lose(batch.owner, batch.commands)
                continue
            self.commands += batch.commands
            self.where += [batch] * len(batch.commands)

    def pending(self) -> list[Command]:
        return self.commands[self.acked:]

    def reply(self, value: Any) -> None:
        command, batch = self.commands[self.acked], self.where[self.acked]
        self.acked += 1
        if isinstance(value, redis.exceptions.ResponseError):
            if batch.owner.error is None:
                batch.owner.error = RedisCommandError(command[0], command_key(command), value)
            self._lose(batch.owner, [command])
        elif batch.replies is not None:
            batch.replies.append(value)

    def fail(self, address: str, reason: str) -> None:
        """Redis stayed away: every command not acknowledged is lost, reported per session."""
        for command, batch in zip(self.pending(), self.where[self.acked:]):
            if batch.owner.error is None:
                batch.owner.error = RedisUnavailable(address, reason)
            self._lose(batch.owner, [command])
        self.acked = len(self.commands)

    def finish(self) -> None:
        for batch in self.batches:
            batch.owner.done = max(batch.owner.done, batch.seq)

    @staticmethod
    def _lose(owner: Tracker, commands: Iterable[Command]) -> None:
        unsent = getattr(owner.error, "unsent", None)
        if unsent is not None:
            unsent += unsent_messages(commands)


class Backoff:
    """Delays between reconnect attempts: doubling from `first` up to `cap`, until `budget`
    seconds have passed since the first failure; then None."""

    def __init__(self, budget: float, first: float = 0.02, cap: float = 1.0) -> None:
        self.deadline = time.monotonic() + budget
        self.delay = first
        self.cap = cap

    def next(self) -> float | None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        delay, self.delay = min(self.delay, left), min(self.delay * 2, self.cap)
        return delay

