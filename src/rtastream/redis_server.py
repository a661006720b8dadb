"""A private redis-server for the demo and the tests: loopback or unix socket, temp dir.

Never listens beyond this machine: it binds 127.0.0.1 (or only a unix socket), keeps
nothing on disk and is stopped when the context ends.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis

# Which server to start: a name on PATH or a path, e.g. valkey-server or a build of
# another Redis version (CI runs the suite against several).
SERVER_ENV = "RTASTREAM_REDIS_SERVER"


def server_binary() -> str | None:
    """The server binary to start: $RTASTREAM_REDIS_SERVER, else redis-server; None if absent."""
    return shutil.which(os.environ.get(SERVER_ENV) or "redis-server")


def missing_server_message() -> str:
    chosen = os.environ.get(SERVER_ENV)
    if chosen:
        return f"${SERVER_ENV} is {chosen!r}, which is neither an executable file nor on PATH"
    return (
        "no redis-server found on PATH; install one (Debian/Ubuntu: apt-get install "
        "redis-server, macOS: brew install redis) or pass --redis URL to use a running server"
    )


PORT_TRIES = 5


class PortTaken(Exception):
    """Another process bound the port between its pick and the server's start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """redis-server in a temporary directory. `url` is what a client connects to.

    stop() and start() keep the same address, so a test can take Redis away mid-session
    and bring it back. sentinel=True starts a Sentinel instead.
    """

    def __init__(
        self,
        *,
        unix_socket: bool = False,
        port: int | None = None,
        binary: str | None = None,
        args: Sequence[str] = (),
        sentinel: bool = False,
        pick_port: Callable[[], int] | None = None,
    ) -> None:
        found = binary or server_binary()
        if found is None:
            raise FileNotFoundError(missing_server_message())
        self.binary: str = found
        self.dir = Path(tempfile.mkdtemp(prefix="rtastream-redis-"))
        self.unix_socket = unix_socket
        # A port picked here is picked again if another process takes it before the server
        # binds it (parallel test workers); a port given is kept.
        self._pick_port = None if unix_socket or port else (pick_port or free_port)
        self.port = port or (self._pick_port() if self._pick_port else 0)
        self.socket_path = self.dir / "redis.sock"
        self.args = list(args)  # more server options, e.g. a cluster node's
        self.sentinel = sentinel  # a Sentinel, with a configuration file of its own
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.unix_socket:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        for _ in range(PORT_TRIES - 1):
            try:
                return self._start(timeout)
            except PortTaken:
                assert self._pick_port is not None
                self.port = self._pick_port()
        return self._start(timeout)

    def _start(self, timeout: float) -> RedisServer:
        options = {
            "--port": str(self.port),
            "--bind": "127.0.0.1",
            "--dir": str(self.dir),
            "--save": "",
            "--appendonly": "no",
            "--protected-mode": "yes",
            "--daemonize": "no",
            "--loglevel": "warning",
        }
        args = [self.binary, *(word for pair in options.items() for word in pair), *self.args]
        if self.sentinel:  # it needs a configuration file, which it rewrites
            config = self.dir / "sentinel.conf"
            config.touch()
            args[1:1] = [str(config), "--sentinel"]
        if self.unix_socket:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        log = open(self.dir / "redis.log", "ab")
        # Own session: Ctrl+C in the terminal must reach the demo (which then closes its
        # session as truncated), not kill the server under it.
        self.process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                self.process = None
                said = self.log_tail()
                if self._pick_port is not None and "Address already in use" in said:
                    raise PortTaken(self.port)
                raise RuntimeError(f"redis-server exited at start: {said}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server did not answer within {timeout} s")
            time.sleep(0.02)
        return self

    def _answers(self) -> bool:
        """Whether our server (not another process on the same port: its process id is
        checked) answers PING, which it does once it has loaded its data."""
        assert self.process is not None
        try:
            if self.unix_socket:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                address: str | tuple[str, int] = str(self.socket_path)
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                address = ("127.0.0.1", self.port)
            with s:
                s.settimeout(0.5)
                s.connect(address)
                s.sendall(b"INFO server\r\nPING\r\n")
                replies = s.makefile("rb")
                size = replies.readline()  # INFO's bulk reply: $<length>, then the text
                if not size.startswith(b"$"):
                    return False
                info = replies.read(int(size[1:]) + 2)
                ours = f"process_id:{self.process.pid}\r\n".encode() in info
                return ours and replies.readline() == b"+PONG\r\n"  # not -LOADING
        except (OSError, ValueError):  # not up yet, or not a Redis
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(
                (self.dir / "redis.log").read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


CLUSTER_SLOTS = 16384
BUS_OFFSET = 10000  # a cluster node's bus listens on its port + 10000 (so port <= 55535)


def free_cluster_port() -> int:
    """A loopback port whose cluster bus port (port + 10000) is free too. Both come from
    below Linux's ephemeral range (32768 up), where clients' own sockets do not land."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20000, 32768 - BUS_OFFSET)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + BUS_OFFSET))
        except OSError:
            continue
        return port


class LocalCluster:
    """A private Redis Cluster on loopback for the tests and benchmarks: `masters` masters
    sharing the 16384 slots evenly, each with `replicas` replicas, every node a RedisServer
    in its own temporary directory. Ready (cluster_state:ok on every node, every replica
    in sync) once start() returns; close() stops every node.

    `node_timeout` (ms) is how long a silent node takes to be failed over.
    """

    def __init__(
        self,
        masters: int = 3,
        replicas: int = 0,
        *,
        node_timeout: int = 2000,
        binary: str | None = None,
    ) -> None:
        options = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(node_timeout),
            "--repl-diskless-sync-delay",
            "0",
        ]  # replicas in sync at once, not in 5 s
        self.servers = [
            RedisServer(pick_port=free_cluster_port, binary=binary, args=options)
            for _ in range(masters * (1 + replicas))
        ]
        self.master_count = masters

    @property
    def url(self) -> str:
        """A URL of one node (any node leads a cluster client to every other)."""
        return self.servers[0].url

    def start(self, timeout: float = 30.0) -> LocalCluster:
        try:
            for server in self.servers:
                server.start()
            self._form()
            self.wait_ok(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _form(self) -> None:
        masters, replicas = self.servers[: self.master_count], self.servers[self.master_count :]
        share = -(-CLUSTER_SLOTS // self.master_count)
        for i, master in enumerate(masters):
            _command(master, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            slots = range(i * share, min((i + 1) * share, CLUSTER_SLOTS))
            _command(master, "CLUSTER", "ADDSLOTS", *slots)
        for server in self.servers[1:]:
            _command(self.servers[0], "CLUSTER", "MEET", "127.0.0.1", server.port)
        self._wait(
            lambda: all(_known_nodes(s) == len(self.servers) for s in self.servers),
            10.0,
            "every node to know every other",
        )
        ids = [_command(master, "CLUSTER", "MYID").decode() for master in masters]
        for i, replica in enumerate(replicas):
            _command(replica, "CLUSTER", "REPLICATE", ids[i % self.master_count])

    def running(self) -> list[RedisServer]:
        return [s for s in self.servers if s.process is not None and s.process.poll() is None]

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every running node says cluster_state:ok, they agree on which master holds
        which slots, and every replica is in sync with its master."""
        self._wait(self._settled, timeout, "the cluster to settle")

    def _settled(self) -> bool:
        views = []
        for server in self.running():
            try:
                if b"cluster_state:ok" not in _command(server, "CLUSTER", "INFO"):
                    return False
                replication = _command(server, "INFO", "replication")
                if replication["role"] != "master" and (
                    replication.get("master_link_status") != "up"
                    or replication.get("master_sync_in_progress")
                ):
                    return False
                slots = _command(server, "CLUSTER", "SLOTS")
                views.append(sorted((start, end, node[1]) for start, end, node, *_ in slots))
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                return False
        return all(view == views[0] for view in views)

    def master_of(self, slot: int) -> RedisServer:
        """The running node that holds `slot` now."""
        for start, end, node, *_ in _command(self.running()[0], "CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return next(s for s in self.servers if s.port == node[1])
        raise LookupError(f"no node holds slot {slot}")

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)

    def close(self) -> None:
        for server in self.servers:
            server.close()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _command(server: RedisServer, *command: object) -> Any:
    """One command's reply from a node."""
    client: Any = redis.Redis(port=server.port, socket_timeout=5)
    with client:
        return client.execute_command(*command)


def _known_nodes(server: RedisServer) -> int:
    """Nodes the node knows and has finished the handshake with."""
    lines = _command(server, "CLUSTER", "NODES").decode().splitlines()
    return sum("handshake" not in line and "noaddr" not in line for line in lines)
