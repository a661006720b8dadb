"""What a session reader and a stream reader do, as flows (their drivers do the I/O), and
the read-only view both flavours of reader give of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rtastream import keys
from rtastream.decoding import SessionJsonItem
from rtastream.errors import RtaStreamError
from rtastream.reader.entries import CLOSED_STATES, BadEntry, Entry
from rtastream.reader.flow import Cursor, Flow, check_start, start_after, watch
from rtastream.reader.records import SessionRecord, read_session
from rtastream.reader.retry import Reconnecting, client_options

log = logging.getLogger("rtastream.reader")

BadEntryHandler = Callable[[BadEntry], None]


class SessionNotFound(RtaStreamError, LookupError):
    """No session hash under that identity, or one that does not say where its stream is."""


def log_bad_entry(bad: BadEntry) -> None:
    log.warning("%s", bad)


class Plan:
    """Options, where reading starts, and what was seen: one stream read forward, keeping
    the entries of stream session `only` (None: all)."""

    def __init__(
        self,
        *,
        start: str | int,
        follow: bool = True,
        block: float = 1.0,
        batch: int = 200,
        reconnect_timeout: float = 10.0,
        on_bad_entry: BadEntryHandler | None = None,
    ) -> None:
        self.start = check_start(start)
        if not block > 0:
            raise ValueError(f"block must be a positive number of seconds, got {block!r}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch!r}")
        if not reconnect_timeout >= 0:
            raise ValueError(f"reconnect_timeout must be >= 0 seconds, got {reconnect_timeout!r}")
        self.follow = follow
        self.block_ms = max(1, round(block * 1000))
        self.batch = batch
        self.on_bad_entry = on_bad_entry or log_bad_entry
        self.skipped = 0  # bad entries reported and skipped so far
        self.stopping = False
        self.stream = ""
        self.only: int | None = None
        self.after: str | None = None  # where reading starts, once opened
        self.cursor: Cursor | None = None
        self.reconnecting = Reconnecting(reconnect_timeout, lambda: self.stopping)

    def opening(self) -> Flow[None]:
        """Find where reading starts."""
        self.after = yield from start_after(
            keys.stream_key(self.stream), keys.NO_STREAM_POSITION, None, self.start, self.batch
        )

    def reading(self) -> Flow[None]:
        assert self.after is not None, "opening() comes first"
        self.cursor = Cursor(
            self.stream,
            self.after,
            self.only,
            follow=self.follow,
            block_ms=self.block_ms,
            batch=self.batch,
            report=self.report,
            stopped=lambda: self.stopping,
            idle=self.idle,
        )
        yield from self.cursor.read()

    def idle(self) -> Flow[bool]:
        """After a quiet block: whether to stop following. A stream is followed for ever."""
        return False
        yield  # unreachable: makes this a flow that asks Redis nothing

    def report(self, bad: BadEntry) -> None:
        self.skipped += 1
        self.on_bad_entry(bad)

    def client_options(self, *, asynchronous: bool) -> dict[str, Any]:
        """redis-py options for a client made for this plan (from a URL)."""
        return client_options(
            self.block_ms / 1000, self.reconnecting.budget, asynchronous=asynchronous
        )

    @property
    def last_id(self) -> str | None:
        """The last entry id read (every entry up to it has been passed on or skipped), or
        where reading starts; None before opening."""
        return self.cursor.last_id if self.cursor is not None else self.after


class SessionPlan(Plan):
    """One session: from its streamPosition, its entries only, until its final state."""

    def __init__(self, identity: str, **options: Any) -> None:
        super().__init__(**options)
        self.identity = identity
        self.session: SessionRecord | None = None  # as last known: the one source of state
        self.hash_gone = False

    def opening(self) -> Flow[None]:
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
        self.stream, self.only = record.location
        self.after = yield from start_after(
            keys.stream_key(self.stream), record.stream_position, self.only, self.start, self.batch
        )
        self.session = record

    @property
    def state(self) -> str | None:
        if self.hash_gone:
            return "(hash gone)"
        return self.session.state if self.session is not None else None

    def reading(self) -> Flow[None]:
        yield from watch(super().reading(), self.seen)

    def seen(self, entry: Entry) -> None:
        assert self.session is not None, "opening() comes first"
        for item in entry.items:
            if isinstance(item, SessionJsonItem):
                self.session = self.session.with_json(item.text)

    def idle(self) -> Flow[bool]:
        """Whether the hash says the session is over (closed, or gone) although its final
        Session JSON was not read: trimmed away, or never written."""
        record = yield from read_session(self.identity)
        if record is None:
            self.hash_gone = True
            return True
        self.session = record
        return record.state in CLOSED_STATES


class StreamPlan(Plan):
    """A whole stream, every session in it (`tail STREAM`, the server's shared reader)."""

    def __init__(self, stream: str, **options: Any) -> None:
        super().__init__(**options)
        self.stream = stream


class ReaderView:
    """What both flavours of reader show of their plan (they differ only in their I/O)."""

    _plan: Plan

    @property
    def skipped(self) -> int:
        """Bad entries reported and skipped so far."""
        return self._plan.skipped

    @property
    def last_id(self) -> str | None:
        """The last entry id read: every entry up to it has been passed on or skipped."""
        return self._plan.last_id

    def stop(self) -> None:
        """Stop reading: iteration ends after the entry in hand, or within `block` seconds
        when waiting (callable from another thread; a blocked command is never cut)."""
        self._plan.stopping = True


class SessionView(ReaderView):
    _plan: SessionPlan

    @property
    def identity(self) -> str:
        return self._plan.identity

    @property
    def state(self) -> str | None:
        """The session's latest state: from its hash, then from each Session JSON read."""
        return self._plan.state

    def _window_plan(self) -> SessionPlan:
        """A fresh plan that reads the session as Redis holds it now, from its start."""
        plan = self._plan
        return SessionPlan(
            plan.identity,
            start="first",
            follow=False,
            batch=plan.batch,
            reconnect_timeout=plan.reconnecting.budget,
            on_bad_entry=plan.report,
        )
