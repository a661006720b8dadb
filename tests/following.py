"""A session reader following in a thread of its own, sync or asyncio, for the fault tests:
what it read, and what it ended with."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import rtastream


class Following(threading.Thread):
    """A reader following a session in a thread of its own: the entries it passed on, and
    the exception it ended with, if any (and when)."""

    def __init__(self, read: Callable[[Following], object]) -> None:
        super().__init__(daemon=True)
        self.read = read
        self.entries: list[rtastream.reader.Entry] = []
        self.error: BaseException | None = None
        self.ended_at: float | None = None
        self.reader: rtastream.SessionReader | rtastream.AsyncSessionReader | None = None

    def run(self) -> None:
        try:
            self.read(self)
        except BaseException as exc:
            self.error = exc
        self.ended_at = time.monotonic()

    def stop(self) -> None:
        """End a reader still following (the test failed): it must not outlive the test."""
        if self.reader is not None:
            self.reader.stop()
        self.join(timeout=10)


def follow_sync(url: str, identity: str, **options: float) -> Following:
    def read(following: Following) -> None:
        reader = rtastream.SessionReader(url, identity, **options)
        following.reader = reader
        with reader:
            following.entries.extend(reader.entries())

    return Following(read)


def follow_async(url: str, identity: str, **options: float) -> Following:
    async def read(following: Following) -> None:
        reader = rtastream.AsyncSessionReader(url, identity, **options)
        following.reader = reader
        async with reader:
            async for entry in reader.entries():
                following.entries.append(entry)

    return Following(lambda following: asyncio.run(read(following)))
