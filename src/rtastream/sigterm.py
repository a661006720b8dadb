"""SIGTERM (what `timeout`, systemd and `docker stop` send) ending sessions as Ctrl+C does.

By default SIGTERM kills Python at once: no `with` block exits, and every open session stays
`open` in Redis until its hash expires. After end_sessions_on_sigterm(), SIGTERM raises
Terminated in the main thread instead: the blocks it leaves end their sessions `truncated`,
and the process exits with status 143 (128 + SIGTERM) unless something catches it. Under
asyncio.run() it is raised between callbacks of the event loop; asyncio.run() then cancels
every task, so `async with` sessions end `truncated` too.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


class Terminated(SystemExit):
    """SIGTERM arrived. Like KeyboardInterrupt, it ends the sessions it interrupts
    `truncated`; uncaught, the process exits with status 143."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def end_sessions_on_sigterm() -> None:
    """From now on, SIGTERM raises Terminated in the main thread (call it from there)."""
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: FrameType | None) -> None:
    asyncio = sys.modules.get("asyncio")
    try:
        loop = asyncio.get_running_loop() if asyncio else None
    except RuntimeError:
        loop = None
    if loop is None:
        raise Terminated
    # Raised inside a callback, it would leave that callback's work half done (a reply
    # parsed but not recorded): raise it from a callback of its own.
    loop.call_soon_threadsafe(_raise_terminated)


def _raise_terminated() -> None:
    raise Terminated
