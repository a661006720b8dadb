"""What a session reader and a stream reader do, as flows (their drivers do the I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rtastream import keys
from rtastream.reader.entries import CLOSED_STATES, BadEntry, Entry
from rtastream.reader.flow import Cursor, Flow, check_start, start_after, watch
from rtastream.reader.records import SessionRecord, read_session

log = logging.getLogger("rtastream.reader")

BadEntryHandler = Callable[[BadEntry], None]


class SessionNotFound(LookupError):
    """No session hash under that identity, or one that does not say where its stream is."""


def log_bad_entry(bad: BadEntry) -> None:
    log.warning("%s", bad)


class Plan:
    """Options and what was seen, shared by both readers of both flavours."""

    def __init__(
        self,
        start: str | int,
        follow: bool,
        block: float,
        batch: int,
        on_bad_entry: BadEntryHandler | None,
    ) -> None:
        self.start = check_start(start)
        if not block > 0:
            raise ValueError(f"block must be a positive number of seconds, got {block!r}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch!r}")
        self.follow = follow
        self.block_ms = max(1, round(block * 1000))
        self.batch = batch
        self.on_bad_entry = on_bad_entry or log_bad_entry
        self.skipped = 0
        """Bad entries reported and skipped so far."""
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True

    def stopped(self) -> bool:
        return self.stopping

    def report(self, bad: BadEntry) -> None:
        self.skipped += 1
        self.on_bad_entry(bad)


class SessionPlan(Plan):
    """One session: from its streamPosition, its entries only, until its final state."""

    def __init__(
        self,
        identity: str,
        start: str | int = "first",
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        super().__init__(start, follow, block, batch, on_bad_entry)
        self.identity = identity
        self.session: SessionRecord | None = None
        self.state: str | None = None
        self.after = keys.NO_STREAM_POSITION  # where reading starts, once opened

    def opening(self) -> Flow[SessionRecord]:
        """Read the session hash and find where reading starts."""
        record = yield from read_session(self.identity)
        if record is None:
            raise SessionNotFound(
                f"unknown session {self.identity!r}: no hash at {keys.session_key(self.identity)}"
            )
        if record.location is None:
            raise SessionNotFound(
                f"session {self.identity!r} has no {keys.STREAM_NAME} or numeric "
                f"{keys.STREAM_SESSION_ID} field: it cannot be located in a stream"
            )
        stream, only = record.location
        self.after = yield from start_after(
            keys.stream_key(stream), record.stream_position, only, self.start, self.batch
        )
        self.session = record
        self.state = record.state
        return record

    def reading(self) -> Flow[None]:
        assert self.session is not None and self.session.location, "opening() comes first"
        stream, only = self.session.location
        cursor = Cursor(
            stream,
            self.after,
            only,
            follow=self.follow,
            block_ms=self.block_ms,
            batch=self.batch,
            report=self.report,
            stopped=self.stopped,
            idle=self.ended_meanwhile,
        )
        yield from watch(cursor.read(), self.seen)

    def seen(self, entry: Entry) -> None:
        for state in entry.states:
            self.state = state

    def ended_meanwhile(self) -> Flow[bool]:
        """Whether the hash says the session is over (closed, or gone) although its final
        Session JSON was not read: trimmed away, or never written."""
        record = yield from read_session(self.identity)
        if record is None:
            self.state = "(hash gone)"
            return True
        self.state = record.state
        return record.state in CLOSED_STATES


class StreamPlan(Plan):
    """A whole stream, every session in it (`tail STREAM`, the server's shared reader)."""

    def __init__(
        self,
        stream: str,
        start: str | int = "new",
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        super().__init__(start, follow, block, batch, on_bad_entry)
        self.stream = stream
        self.after: str | None = None  # where reading starts, once opened
        self.cursor: Cursor | None = None

    def opening(self) -> Flow[str]:
        """Find where reading starts."""
        self.after = yield from start_after(
            keys.stream_key(self.stream), keys.NO_STREAM_POSITION, None, self.start, self.batch
        )
        return self.after

    def reading(self) -> Flow[None]:
        assert self.after is not None, "opening() comes first"
        self.cursor = Cursor(
            self.stream,
            self.after,
            None,
            follow=self.follow,
            block_ms=self.block_ms,
            batch=self.batch,
            report=self.report,
            stopped=self.stopped,
        )
        yield from self.cursor.read()

    @property
    def last_id(self) -> str | None:
        """The last entry id read (every entry up to it has been passed on or skipped), or
        where reading starts; None before opening."""
        return self.cursor.last_id if self.cursor is not None else self.after
