"""A redis-server that stops serving for a while, deterministically: frozen (SIGSTOP keeps its
connections up, the kernel still answers TCP, but nothing is answered, as a server stalled by
swapping or a debugger; always resumed), or loading its dataset (every command but a few
answered -LOADING, as after the restart of a persistent Redis)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

import redis

from rtastream.redis_server import RedisServer
from waiting import wait_until

DEBUG = ["--enable-debug-command", "yes"]
"""redis-server arguments for loading(): DEBUG RELOAD is refused otherwise."""

FILLER_KEYS = 20_000


@contextlib.contextmanager
def frozen(server: RedisServer) -> Iterator[None]:
    """The server stopped (SIGSTOP) inside the block, resumed (SIGCONT) when it ends, however."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def loading(server: RedisServer, seconds: float) -> Iterator[threading.Thread]:
    """The server loading its dataset for about `seconds` (at least) inside the block: DEBUG
    RELOAD (save, then load again) of a dataset padded with FILLER_KEYS keys, each loaded
    with a delay (key-load-delay, µs), and clients served -LOADING meanwhile (every 1 KiB
    loaded). The block starts once the server answers LOADING; yields the thread running
    the reload, which the block may join to wait for the end of the loading."""
    r = redis.Redis.from_url(server.url)
    with r.pipeline(transaction=False) as pipe:
        for start in range(0, FILLER_KEYS, 1000):
            pipe.mset({f"filler:{i}": "x" for i in range(start, start + 1000)})
        pipe.execute()
    r.config_set("key-load-delay", round(seconds * 1e6 / FILLER_KEYS))
    r.config_set("loading-process-events-interval-bytes", 1024)
    reloader = redis.Redis.from_url(server.url, socket_timeout=seconds + 60)
    reload = threading.Thread(target=reloader.execute_command, args=("DEBUG", "RELOAD"))
    reload.start()
    probe = redis.Redis.from_url(server.url, retry=None)
    wait_until(lambda: loading_now(probe), timeout=10, what="the server to answer LOADING")
    began = time.monotonic()
    try:
        yield reload
    finally:
        reload.join(timeout=seconds + 30)
        for client in (probe, reloader, r):
            client.close()
    assert time.monotonic() - began >= seconds / 2, "the loading was shorter than asked"


def loading_now(r: redis.Redis) -> bool:
    """Whether the server answers LOADING."""
    try:
        r.ping()
    except redis.exceptions.BusyLoadingError:
        return True
    return False
