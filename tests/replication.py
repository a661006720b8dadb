"""Redis with replicas for the tests: a Sentinel deployment on loopback (one master, two
replicas, three sentinels; quorum 2, down-after-milliseconds 1000), each server a RedisServer
in its own directory, and either writer's session behind blocking calls. Every wait polls
with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import redis
import redis.sentinel

import rtastream.aio
from rtastream.redis_server import RedisServer
from waiting import wait_until

SERVICE = "rta"
# A replica re-synced after a failover gets the data at once (Redis waits 5 s by default, for
# more replicas to share the transfer).
SERVER_ARGS = ["--repl-diskless-sync-delay", "0"]
WRITERS = [rtastream.RedisStreamBuffer, rtastream.aio.RedisStreamBuffer]


RESTARTING = (redis.ConnectionError, redis.TimeoutError)
"""What a server being failed over answers meanwhile: for wait_until, not yet."""


def client(server: RedisServer) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=5)


def replica_args(master: RedisServer) -> list[str]:
    return [*SERVER_ARGS, "--replicaof", "127.0.0.1", str(master.port)]


def wait_for_replicas(master: RedisServer, count: int, timeout: float = 20.0) -> None:
    """Until `count` replicas have a write made now: after a full sync, a replica may get
    the first writes only a second later."""
    with redis.Redis(port=master.port) as c:
        c.publish("replication-check", "")  # a write, propagated to the replicas
        got = c.execute_command("WAIT", count, int(timeout * 1000))
    if got < count:
        raise TimeoutError(f"{got} of {count} replicas of {master.url} in sync after {timeout} s")


class SentinelGroup:
    """Started by `with`; `url` is the redis+sentinel:// URL of its service."""

    def __init__(self, replicas: int = 2, sentinels: int = 3) -> None:
        self.servers: list[RedisServer] = []
        self.sentinels: list[RedisServer] = []
        self.replica_count, self.sentinel_count = replicas, sentinels

    def __enter__(self) -> SentinelGroup:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, timeout: float = 30.0) -> None:
        master = self._server(SERVER_ARGS)
        for _ in range(self.replica_count):
            self._server(replica_args(master))
        for _ in range(self.sentinel_count):
            self.sentinels.append(RedisServer(sentinel=True).start())
        self._monitor(master)
        wait_for_replicas(master, self.replica_count, timeout)
        wait_until(
            self._sentinels_ready, timeout, "the sentinels to know the group", ignoring=RESTARTING
        )

    def _server(self, args: list[str]) -> RedisServer:
        self.servers.append(RedisServer(args=args))
        return self.servers[-1].start()

    def _monitor(self, master: RedisServer) -> None:
        for sentinel in self.sentinels:
            with client(sentinel) as c:
                quorum = self.sentinel_count // 2 + 1
                c.execute_command("SENTINEL", "MONITOR", SERVICE, "127.0.0.1", master.port, quorum)
                c.execute_command(
                    "SENTINEL",
                    "SET",
                    SERVICE,
                    "down-after-milliseconds",
                    1000,
                    "failover-timeout",
                    10000,
                )

    def _sentinels_ready(self) -> bool:
        """Every sentinel knows the replicas and the other sentinels (a failover needs both)."""
        wanted = (self.replica_count, self.sentinel_count - 1)
        for sentinel in self.sentinels:
            with redis.Redis(port=sentinel.port, decode_responses=True) as c:
                state = c.sentinel_master(SERVICE)
            if (state["num-slaves"], state["num-other-sentinels"]) != wanted:
                return False
        return True

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def master(self) -> RedisServer:
        """The server the sentinels name as master now."""
        sentinel = redis.sentinel.Sentinel([("127.0.0.1", s.port) for s in self.sentinels])
        try:
            _, port = sentinel.discover_master(SERVICE)
        finally:
            sentinel.close()
        return next(s for s in self.servers if s.port == port)

    def wait_for_new_master(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """The new master, once the sentinels name one other than `old`."""
        return wait_until(
            lambda: (m := self.master()) is not old and m,
            timeout,
            "a failover",
            ignoring=RESTARTING,
        )

    def kill(self, server: RedisServer) -> None:
        """SIGKILL: no goodbye to its clients or replicas."""
        assert server.process is not None
        server.process.kill()
        server.process.wait()

    def failover(self) -> None:
        """A planned switch, as an operator asks for it."""
        with client(self.sentinels[0]) as c:
            c.execute_command("SENTINEL", "FAILOVER", SERVICE)

    def switch_by_hand(self, demote_old: bool) -> tuple[RedisServer, RedisServer]:
        """Make a replica the master without a failover (a switch at once, no waiting for
        Sentinel's timers): the sentinels forget the group, the replica is promoted, the
        other replicas follow it (the old master too if `demote_old`: it then answers writes
        with READONLY; else it stays a master without replicas), and the sentinels monitor
        the new master. The promoted replica has every write made before (the test's
        writes are not lost in the switch). Returns (old master, new master)."""
        old = self.master()
        wait_for_replicas(old, self.replica_count)
        new = next(s for s in self.servers if s is not old)
        for sentinel in self.sentinels:
            with client(sentinel) as c:
                c.execute_command("SENTINEL", "REMOVE", SERVICE)
        with client(new) as c:
            c.replicaof("NO", "ONE")
        followers = [s for s in self.servers if s is not new and (demote_old or s is not old)]
        for server in followers:
            with client(server) as c:
                c.replicaof("127.0.0.1", new.port)
        self._monitor(new)
        return old, new

    def close(self) -> None:
        servers = self.sentinels + self.servers
        for server in servers:  # all at once: a master that stops waits for its replicas
            if server.process is not None:
                server.process.terminate()
        for server in servers:
            server.close()


class Blocking:
    """An asyncio session's coroutine methods as blocking calls, each running its event loop
    until it returns."""

    def __init__(self, loop: asyncio.AbstractEventLoop, session: Any) -> None:
        self.loop, self.session = loop, session

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.session, name)
        if not callable(value):
            return value
        return lambda *args, **kwargs: self.loop.run_until_complete(value(*args, **kwargs))


@contextlib.contextmanager
def session_of(
    writer: type, url: str, identity: str, stream: str = "car-1", **options: Any
) -> Iterator[Any]:
    """A session of either writer with blocking calls, closed `closed` at the end."""
    if writer is rtastream.RedisStreamBuffer:
        with writer(url, **options) as buffer, buffer.open_session(identity, stream) as session:
            yield session
        return
    loop = asyncio.new_event_loop()
    buffer = writer(url, **options)
    try:
        session = loop.run_until_complete(buffer.open_session(identity, stream))
        try:
            yield Blocking(loop, session)
        except BaseException as exc:  # as `async with` would end it
            loop.run_until_complete(session.__aexit__(type(exc), exc, None))
            raise
        loop.run_until_complete(session.close())
    finally:
        loop.run_until_complete(buffer.close())
        loop.close()
