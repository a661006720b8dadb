"""A redis-server frozen: SIGSTOP keeps its connections up (the kernel still answers TCP) but
nothing is answered, as a server stalled by swapping or a debugger. Always resumed."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

from rtastream.redis_server import RedisServer


@contextlib.contextmanager
def frozen(server: RedisServer) -> Iterator[None]:
    """The server stopped (SIGSTOP) inside the block, resumed (SIGCONT) when it ends, however."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)
