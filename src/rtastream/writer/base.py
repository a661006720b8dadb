"""What the sync and asyncio writers share above the core: the buffer's constructor and the
session's read-only view. Only how each waits differs, in sync.py and aio.py."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from rtastream import _columns as columns
from rtastream import keys
from rtastream.connection import is_sentinel_url
from rtastream.session import Session, SessionState
from rtastream.writer.cluster import detect
from rtastream.writer.core import SessionCore, WriterCore
from rtastream.writer.options import DEFAULT_FLUSH_INTERVAL, Options
from rtastream.writer.sentinel import SentinelMaster
from rtastream.writer.topology import Standalone, Topology


class BufferBase:
    """Writes RTA live-stream sessions into Redis.

    Delivery is at-least-once: after a dropped connection the writer reconnects with backoff
    and re-sends what Redis had not acknowledged (a burst may then appear twice, never out of
    order or missing). Past `reconnect_timeout` the session raises RedisUnavailable, whose
    `unsent` lists the messages not written. Redis refusing a command raises
    RedisCommandError naming the key.

    `url` is a redis-py URL (redis://, rediss://, unix://, user, password, db); `options`
    are redis-py's connection options (socket_timeout, ssl_ca_certs, ...). A malformed URL
    or an unknown keyword is refused here. Nothing connects until the first session. Any node
    of a Redis Cluster will do: the writer then writes to every master, each command to the
    master of its key (docs/cluster.md). A Sentinel URL,
    redis+sentinel://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]
    (rediss+sentinel:// for TLS), names the sentinels: the writer writes to the master they
    name, and after a failover to the new one (docs/high-availability.md); sentinel_kwargs
    are the redis-py options for the sentinels' own connections.

    session_ttl: seconds a session hash lives after its last update.
    maxlen: approximate MAXLEN trimming on every XADD (off when None).
    target: uncompressed bytes per stream message (bursts are split near it).
    flush_interval: seconds between automatic flushes of live-buffered rows and blocks.
    queue_size: batches waiting to be sent before writers wait.
    reconnect_timeout: seconds to keep reconnecting after the connection drops (or while a
        cluster refuses for now: a failover, a slot moving; or while too few replicas have
        a round, see wait_replicas), counted from Redis's last reply. A server that keeps
        the connection but stops answering (stopped, frozen) is a dropped connection once
        socket_timeout passes without a reply: by default reconnect_timeout (at least 1 s;
        plus wait_timeout with wait_replicas).
    cluster: None asks the server when first connecting (INFO cluster) whether it is a
        cluster node; True or False says so without asking.
    wait_replicas: with N > 0, every pipeline round ends with WAIT N, and counts as
        acknowledged (flush() returns, its queue slots are freed) only once N replicas have
        it; asked again until reconnect_timeout, then RedisUnavailable with `unsent`.
    wait_timeout: seconds each WAIT waits for the replicas.
    """

    _pool_class: ClassVar[type[Any]]  # redis-py's pool of the flavour: it parses the URL
    _driver: ClassVar[type[Any]]  # how the flavour waits and does I/O, given the core

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        session_ttl: int = keys.DEFAULT_SESSION_TTL,
        maxlen: int | None = None,
        target: int = columns.DEFAULT_TARGET,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        queue_size: int = 64,
        reconnect_timeout: float = 10.0,
        cluster: bool | None = None,
        wait_replicas: int = 0,
        wait_timeout: float = 1.0,
        **options: Any,
    ) -> None:
        self.options = Options(
            session_ttl,
            maxlen,
            target,
            flush_interval,
            queue_size,
            reconnect_timeout,
            cluster,
            wait_replicas,
            wait_timeout,
        )
        options = {"socket_timeout": self.options.socket_timeout(), **options}
        topology: Topology
        if is_sentinel_url(url):
            if cluster:
                raise ValueError("cluster=True, but a Sentinel URL names a master, not a cluster")
            topology = SentinelMaster(url, options, self._pool_class)
        else:
            topology = detect(Standalone(url, options, self._pool_class), cluster)
        self._core = WriterCore(self.options, topology)
        self._io = self._driver(self._core)
        self._started = False  # set once connected

    @property
    def address(self) -> str:
        """Where the buffer writes (never the password)."""
        return ", ".join(node.address for node in self._core.topology.nodes())

    def __repr__(self) -> str:
        state = "closed" if self._core.closed else f"{len(self._core.sessions)} sessions open"
        return f"<{type(self).__module__}.{type(self).__name__} {self.address}, {state}>"

    def __del__(self) -> None:
        # As a file does: resources held and never released are worth a warning.
        if getattr(self, "_started", False) and not self._core.closed:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)


class SessionView:
    """What a session tells about itself, the same for the sync and asyncio sessions."""

    _core: SessionCore

    @property
    def identity(self) -> str:
        return self._core.commands.session.identity

    @property
    def stream(self) -> str:
        return self._core.commands.stream

    @property
    def stream_session_id(self) -> int:
        return self._core.commands.stream_session_id

    @property
    def stream_position(self) -> str:
        return self._core.commands.position

    @property
    def session(self) -> Session:
        return self._core.commands.session

    @property
    def state(self) -> SessionState:
        return self._core.commands.state
