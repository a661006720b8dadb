"""The Redis commands of a session, step by step: opening, data, updates, the end. No state
beyond one session's own (its model, ids and time range), no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

import redis.exceptions

from rtastream import _columns as columns
from rtastream import keys
from rtastream._native import Burst
from rtastream.errors import RedisCommandError
from rtastream.session import Session, SessionState, TimeRange, now

Command = tuple[Any, ...]
"""A Redis command: its name and arguments (str, int or bytes)."""
Message = tuple[bytes, tuple[int, int] | None]
"""(compressed burst, (start, end) or None): what Burst.pack_with_time_ranges() gives."""

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


# ARGV: the TTL, then the hash's field-value pairs. Nothing is written if the hash exists.
RESTORE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

COUNTER_SCRIPT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return n
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
        raise RedisCommandError(
            "HSET",
            key,
            redis.exceptions.ResponseError(
                f"WRONGTYPE Operation against a key holding the wrong kind of value (a {kind}; "
                f"found before opening, so nothing of this session was written)"
            ),
        )
    return int(session_id), str(position)


def command_key(command: Command) -> str:
    """The key a command works on (EVAL: its first KEYS entry)."""
    return str(command[3] if command[0] == "EVAL" else command[1])


def unsent_messages(commands: Iterable[Command]) -> list[bytes]:
    return [c[-1] for c in commands if c[0] == "XADD"]


class SessionCommands:
    """One session's model, ids and time range, and the commands of each of its steps."""

    def __init__(
        self,
        session: Session,
        stream: str,
        stream_session_id: int,
        position: str,
        *,
        ttl: int,
        maxlen: int | None,
        target: int,
    ) -> None:
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
        self._xadd = (
            "XADD",
            self.stream_key,
            *trim,
            "*",
            keys.ENTRY_ID,
            stream_session_id,
            keys.ENTRY_DATA,
        )
        self.messages = 0  # XADDs made so far: what a Redis that lost its data lost
        self.opened_ns = time.time_ns()
        self.touched = time.monotonic()  # when a command last refreshed lastUpdated
        self.final: Session | None = None  # the closed model, once its commands are sent
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
        if self.start is None or self.end is None:
            return None
        return self.start, self.end

    def opening(self) -> tuple[list[Command], list[Command]]:
        """The first message (a Session JSON update), then the session hash. Sent one after
        the other: a refused first message leaves no hash that looks live, and the hash
        starts afresh (no tStart/tEnd of an earlier session with this identity)."""
        if self.session.start_timestamp is None:
            self.session = self.session.replace(start_timestamp=self.session.timestamp)
        text = self._json_text()
        record = ("HSET", self.key, *self._record(text))
        return self._json_message(text), [("DEL", self.key), record, self._expire]

    def _json_message(self, text: str) -> list[Command]:
        """A stream message holding Session JSON alone (the first one of a session)."""
        burst = Burst()
        burst.session_json(text)
        messages = [(*self._xadd, message) for message, _ in self.pack(burst)]
        self.messages += len(messages)
        return messages

    def _record(self, text: str) -> list[Any]:
        """The whole session hash, as HSET's field-value pairs."""
        span = self.time_range()
        return [
            keys.STREAM_SESSION_ID,
            self.stream_session_id,
            keys.STREAM_NAME,
            self.stream,
            keys.STREAM_POSITION,
            self.position,
            keys.JSON,
            text,
            keys.LAST_UPDATED,
            self._now_ms(),
            *((keys.T_START, span[0], keys.T_END, span[1]) if span else ()),
        ]

    def restore(self) -> Command:
        """The session hash written again whole if Redis lost it (restarted empty): a script
        on its key that returns 1 if it did so, 0 if the hash was there."""
        record = self._record(self.session.to_json())
        return ("EVAL", RESTORE_SCRIPT, 1, self.key, self._expire[2], *record)

    def relisted(self) -> list[Command]:
        """After restore(): the stream listed in `streams` again, and a first message in
        it again (the current Session JSON alone), as opening() writes them."""
        return [("SADD", keys.STREAMS, self.stream), *self._json_message(self.session.to_json())]

    def counter_past(self) -> Command:
        """lastStreamSessionId moved up to this session's id (if below it), so that later
        sessions do not reuse it; returns the counter as it was."""
        return ("EVAL", COUNTER_SCRIPT, 1, keys.LAST_STREAM_SESSION_ID, self.stream_session_id)

    def pack(self, burst: Burst) -> list[Message]:
        """A burst as messages, packed with room up to twice the target: a burst just over
        the target goes as one message, not as a big one and a tiny one."""
        return burst.pack_with_time_ranges(min(2 * self.target, columns.MAX_MESSAGE))

    def data(self, messages: Iterable[Message | bytes]) -> list[Command]:
        """XADD each message; record the time range a message carries in the hash."""
        commands: list[Command] = []
        for message, span in list(map(_message, messages)):  # all checked before any is used
            commands.append((*self._xadd, message))
            self.messages += 1
            if span is not None:
                self.see(*span)
                commands.append(
                    (
                        "HSET",
                        self.key,
                        keys.T_START,
                        span[0],
                        keys.T_END,
                        span[1],
                        keys.LAST_UPDATED,
                        self._now_ms(),
                    )
                )
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
                    f"fields in details={{...}}"
                )
        if changes.get("identity", self.session.identity) != self.session.identity:
            raise ValueError("a session's identity cannot change (it names its Redis hash)")
        state = changes.pop("state", self.session.state)
        if SessionState.parse(state).is_closed:
            raise ValueError(
                "end a session by closing it (close(state) or leaving its "
                "with-block), not with update(state=...)"
            )
        self.session = self.session.transition(state, **changes)
        return self._json_update(final=False)

    def finish(self, state: SessionState) -> list[Command]:
        """The last message: Session JSON with the final state and time range."""
        if self.start is None:  # no data: the session spans its wall-clock lifetime
            self.see(self.opened_ns, max(self.opened_ns, time.time_ns()))
        end_timestamp = self.session.end_timestamp or now()
        before = self.session
        self.session = self.session.transition(state, end_timestamp=end_timestamp)
        commands = self._json_update(final=True)
        # The session is in its final state once Redis has it (ended()), not before: a
        # refused final write (out of memory) leaves it as Redis has it.
        self.final, self.session = self.session, before
        return commands

    def ended(self) -> None:
        """Redis acknowledged the final state."""
        assert self.final is not None
        self.session = self.final

    def _json_text(self) -> str:
        span = self.time_range()
        if span is not None:
            self.session = self.session.replace(time_range=TimeRange(*span))
        return self.session.to_json()

    def _json_update(self, final: bool) -> list[Command]:
        span = self.time_range()
        text = self._json_text()
        burst = Burst()
        if final and span is not None:
            burst.time_range(*span)
        burst.session_json(text)
        commands = self.data(self.pack(burst))
        commands.insert(-1, ("HSET", self.key, keys.JSON, text, keys.LAST_UPDATED, self._now_ms()))
        return commands

    def heartbeat(self) -> list[Command]:
        """lastUpdated refreshed with no data: the writer is alive (keys.HEARTBEAT_INTERVAL)."""
        return [("HSET", self.key, keys.LAST_UPDATED, self._now_ms()), self._expire]

    def heartbeat_due(self) -> float:
        """When the next heartbeat is due (monotonic), unless a command refreshes it first."""
        return self.touched + keys.HEARTBEAT_INTERVAL

    def _now_ms(self) -> int:
        """lastUpdated for a command refreshing it now."""
        self.touched = time.monotonic()
        return now_ms()


SESSION_PROPERTIES = frozenset(f.name for f in fields(Session))


def _message(item: Any) -> Message:
    """A (message, (start, end) or None) pair from what pack_with_time_ranges() or pack()
    gives."""
    if type(item) is bytes:
        return item, None
    if (
        type(item) is tuple
        and len(item) == 2
        and type(item[0]) is bytes
        and (item[1] is None or _is_span(item[1]))
    ):
        return item
    raise TypeError(
        "write_messages() takes messages as Burst.pack() gives them (bytes) or as "
        "pack_with_time_ranges() gives them ((bytes, (start, end) or None) pairs), "
        f"got {_shown(item)}"
    )


def _is_span(span: Any) -> bool:
    return (
        type(span) is tuple
        and len(span) == 2
        and all(type(t) is int for t in span)
        and span[0] <= span[1]
    )


def _shown(item: Any) -> str:
    text = repr(item)
    return f"{type(item).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
