"""How readers move through Redis, written once without I/O (sans-I/O).

A flow is a generator that yields `Commands` for its driver to run, and gets the replies
back (a list, one per command), a `Scan`, and gets the keys back, or `CLUSTERED`, and learns
whether the client is a Redis Cluster's; a reading flow also yields the `Entry` objects it
has read (the driver passes those on and sends back None).
The sync and asyncio readers are thin drivers over the same flows, so every reading rule
has one home.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from rtastream import keys
from rtastream.reader.entries import BadEntry, Entry, decode_entry, entry_header, text

T = TypeVar("T")


@dataclass(frozen=True)
class Commands:
    """Redis commands to run in one round trip (pipelined when more than one)."""

    commands: tuple[tuple[Any, ...], ...]
    raise_on_error: bool = True  # False: an error reply comes back in its place
    waits: float = 0.0  # seconds the reply may take by design (XREAD BLOCK's block)


@dataclass(frozen=True)
class Scan:
    """Every key matching `pattern`, on every node (a SCAN per master on a cluster): the
    reply is a list of keys."""

    pattern: str
    count: int  # keys per SCAN call


class Clustered:
    """The question whether the client is a Redis Cluster's: the reply is a bool."""


CLUSTERED = Clustered()

Flow = Generator[Commands | Scan | Clustered | Entry, Any, T]


def ask(
    *commands: tuple[Any, ...], raise_on_error: bool = True, waits: float = 0.0
) -> Flow[list[Any]]:
    replies: list[Any] = yield Commands(commands, raise_on_error, waits)
    return replies


def watch(flow: Flow[T], on_entry: Callable[[Entry], None]) -> Flow[T]:
    """The flow, calling `on_entry` with each entry it yields."""
    reply = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return cast(T, done.value)
        if isinstance(step, Entry):
            on_entry(step)
        reply = yield step


FIRST, NEW = "first", "new"


def check_start(start: str | int) -> str | int:
    """'first', 'new', or a positive number N (the last N messages)."""
    if start in (FIRST, NEW):
        return start
    if isinstance(start, int) and not isinstance(start, bool) and start > 0:
        return start
    raise ValueError(
        f"start must be 'first', 'new' or a positive number of messages, got {start!r}"
    )


def before(entry_id: str) -> str:
    """The greatest entry id below `entry_id` (XREAD reads after the id it is given)."""
    ms, seq = (int(part) for part in entry_id.split("-"))
    return f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{2**64 - 1}"


# The last entry id without sending the (large) payload back.
_LAST_ID = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return '' end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
return last and last[1] or ''
"""


def start_after(key: str, floor: str, only: int | None, start: str | int, batch: int) -> Flow[str]:
    """The entry id to read after so that reading starts at `start`: the first entry after
    `floor`, the next new one, or the last N entries (of stream session `only` if given)."""
    if start == FIRST:
        return floor
    if start == NEW:
        (last,) = yield from ask(("EVAL", _LAST_ID, 1, key))
        return text(last) or floor
    found, upper = 0, "+"
    while True:
        (entries,) = yield from ask(("XREVRANGE", key, upper, "(" + floor, "COUNT", batch))
        for entry_id, fields in entries:
            header = entry_header(fields)
            if only is None or (not isinstance(header, str) and header[0] == only):
                found += 1
                if found == start:
                    return before(text(entry_id))
        if len(entries) < batch:
            return floor
        upper = "(" + text(entries[-1][0])


def xread_entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The entries of an XREAD reply on one stream (RESP2 list or RESP3 map; None: none)."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [entry for entries in streams for entry in entries]


class Cursor:
    """Reads one stream forward after an entry id, keeping the entries of stream session
    `only` (None: every entry) and reporting the bad ones.

    With `only`, reading ends after the session's final Session JSON (a closed state).
    Following (XREAD BLOCK) also ends once `idle` (a flow run after each quiet block) says
    so; then what arrived meanwhile is read before the end. Reading ends at once, after
    the entry or the block in progress, when `stopped()` says so.
    """

    def __init__(
        self,
        stream: str,
        after: str,
        only: int | None,
        *,
        follow: bool,
        block_ms: int,
        batch: int,
        report: Callable[[BadEntry], None],
        stopped: Callable[[], bool],
        idle: Callable[[], Flow[bool]] | None = None,
    ) -> None:
        self.key = keys.stream_key(stream)
        self.last_id = after
        self.only = only
        self.follow = follow
        self.block_ms = block_ms
        self.batch = batch
        self.report = report
        self.stopped = stopped
        self.idle = idle
        self.ended = False

    def read(self) -> Flow[None]:
        while not self.stopped():
            block = ("BLOCK", self.block_ms) if self.follow else ()
            (reply,) = yield from ask(
                ("XREAD", "COUNT", self.batch, *block, "STREAMS", self.key, self.last_id),
                waits=self.block_ms / 1000 if self.follow else 0.0,
            )
            entries = xread_entries(reply)
            for entry_id, fields in entries:
                self.last_id = text(entry_id)
                entry = self.entry(self.last_id, fields)
                if entry is not None:
                    yield entry
                    if self.only is not None and entry.final_state:
                        self.ended = True
                        return
                    if self.stopped():
                        return
            if len(entries) < self.batch:
                if not self.follow:
                    return
                if not entries and self.idle is not None and (yield from self.idle()):
                    self.follow = False  # read what came meanwhile, then stop

    def entry(self, entry_id: str, fields: dict[bytes, bytes]) -> Entry | None:
        header = entry_header(fields)
        if isinstance(header, str):
            self.report(BadEntry(self.key, entry_id, header))
            return None
        session_id, data = header
        if self.only is not None and session_id != self.only:
            return None
        entry = decode_entry(self.key, entry_id, session_id, data)
        if isinstance(entry, BadEntry):
            self.report(entry)
            return None
        return entry
