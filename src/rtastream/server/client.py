"""One WebSocket client: its subscription, its bounded outgoing queue, its sender.

Live messages never wait: a client whose queue is full when one arrives is too slow and is
closed (1013, try again later), so no client can make the server's memory grow. Back-fill
waits for room instead, and leaves half the queue to the live edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web

from rtastream.server.subscription import Subscription

log = logging.getLogger("rtastream.server")

CLOSE_TRY_LATER = WSCloseCode.TRY_AGAIN_LATER  # 1013: too slow, or the server too loaded


class Client:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        queue_bytes: int,
        on_too_slow: Callable[[], None],
        since: int | None = None,
    ) -> None:
        self.ws = ws
        self.since = since  # back-fill leaves out what is timed wholly before it (ns)
        self.limit = queue_bytes
        self.on_too_slow = on_too_slow
        self.queue: deque[bytes] = deque()
        self.queued = 0  # bytes
        self.changed = asyncio.Event()  # something queued, sent, or the end
        self.subscription = Subscription()
        self.sent_time_range: tuple[int, int] | None = None
        self.backfills: set[asyncio.Task[None]] = set()
        self.ending = False  # the session ended: close once everything is sent
        self.sender: asyncio.Task[None] | None = None
        self.close_with: tuple[int, str] | None = None  # code and reason, once decided
        self.finished = asyncio.Event()  # close_with is set

    @property
    def closed(self) -> bool:
        return self.close_with is not None or self.ws.closed

    def start(self, first: bytes) -> None:
        """Send `first` before anything queued so far, then keep sending."""
        self.queue.appendleft(first)
        self.queued += len(first)
        self.sender = asyncio.create_task(self._send())

    def push(self, message: bytes) -> None:
        """Queue a live message; a client without room for it is closed as too slow."""
        if self.closed:
            return
        if self.queued + len(message) > self.limit:
            self._close_too_slow()
            return
        self.queue.append(message)
        self.queued += len(message)
        self.changed.set()

    async def push_paced(self, message: bytes) -> None:
        """Queue a back-fill message once the queue is at most half full."""
        while not self.closed and self.queued > self.limit // 2:
            self.changed.clear()
            await self.changed.wait()
        self.push(message)

    def end(self) -> None:
        """The session is over: close normally once back-fills and the queue are done."""
        self.ending = True
        self.changed.set()

    async def _send(self) -> None:
        while True:
            while self.queue:
                message = self.queue.popleft()
                await self.ws.send_bytes(message)
                self.queued -= len(message)
                self.changed.set()
            if self.ending and not self.backfills:
                self._close(WSCloseCode.OK, "session ended")
                return
            self.changed.clear()
            await self.changed.wait()

    def _close_too_slow(self) -> None:
        self.on_too_slow()
        log.warning("closing a client too slow to keep up: %d bytes queued", self.queued)
        self._close_now(CLOSE_TRY_LATER, f"too slow: outgoing queue over {self.limit} bytes")

    def refuse(self, reason: str) -> None:
        """Close at once with 1013: the server is too loaded to serve this client now."""
        log.warning("closing a client for load: %s", reason)
        self._close_now(CLOSE_TRY_LATER, f"server busy: {reason}")

    def fail(self, reason: str) -> None:
        """Close at once with 1011 (the server cannot go on serving this session)."""
        self._close_now(WSCloseCode.INTERNAL_ERROR, reason)

    def _close_now(self, code: int, reason: str) -> None:
        self.queue.clear()
        self.queued = 0
        self.changed.set()
        if self.sender is not None:
            self.sender.cancel()
        self._close(code, reason)

    def _close(self, code: int, reason: str) -> None:
        """Have converse() close the socket (a close reason has at most 123 bytes)."""
        if self.close_with is None:
            self.close_with = (code, reason[:123])
            self.finished.set()

    async def converse(self, on_request: Callable[[bytes], None]) -> None:
        """Pass the client's messages to `on_request` until the client closes, or close the
        socket once close_with is decided. The close is made here, where the messages are
        read: aiohttp cuts the connection without the close handshake when a socket is
        closed from another task while one waits for a message."""
        finished = asyncio.ensure_future(self.finished.wait())
        try:
            while True:
                incoming = asyncio.ensure_future(self.ws.receive())
                await asyncio.wait({incoming, finished}, return_when=asyncio.FIRST_COMPLETED)
                if not incoming.done():
                    incoming.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await incoming
                    assert self.close_with is not None
                    code, reason = self.close_with
                    await self.ws.close(code=code, message=reason.encode()[:123])
                    return
                message = incoming.result()
                if message.type == WSMsgType.BINARY:
                    try:
                        on_request(message.data)
                    except ValueError as exc:
                        self._close_now(WSCloseCode.INVALID_TEXT, str(exc))
                elif message.type == WSMsgType.TEXT:
                    self._close_now(
                        WSCloseCode.UNSUPPORTED_DATA, "messages are binary StreamRequests"
                    )
                else:  # the client closed, or the connection is gone
                    return
        finally:
            finished.cancel()

    async def stop(self) -> None:
        """The client left or was closed: stop sending. Back-fills see the socket closed
        and end after their read in progress."""
        self.changed.set()
        if self.sender is not None and not self.sender.done():
            self.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self.sender
