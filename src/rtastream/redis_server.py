"""A private redis-server for the demo and the tests: loopback or unix socket, temp dir.

Never listens beyond this machine: it binds 127.0.0.1 (or only a unix socket), keeps
nothing on disk and is stopped when the context ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

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
    return ("no redis-server found on PATH; install one (Debian/Ubuntu: apt-get install "
            "redis-server, macOS: brew install redis) or pass --redis URL to use a running server")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server in a temporary directory. `url` is what a client connects to.

    stop() and start() keep the same address, so a test can take Redis away mid-session
    and bring it back.
    """

    def __init__(self, *, unix_socket: bool = False, port: int | None = None,
                 binary: str | None = None) -> None:
        self.binary = binary or server_binary()
        if self.binary is None:
            raise FileNotFoundError(missing_server_message())
        self.dir = Path(tempfile.mkdtemp(prefix="rtastream-redis-"))
        self.unix_socket = unix_socket
        self.port = 0 if unix_socket else (port or free_port())
        self.socket_path = self.dir / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.unix_socket:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        args = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.dir), "--save", "", "--appendonly", "no",
            "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
        ]
        if self.unix_socket:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        log = open(self.dir / "redis.log", "ab")
        # Own session: Ctrl+C in the terminal must reach the demo (which then closes its
        # session as truncated), not kill the server under it.
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server did not answer within {timeout} s")
            time.sleep(0.02)
        return self

    def _answers(self) -> bool:
        try:
            if self.unix_socket:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                address: object = str(self.socket_path)
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                address = ("127.0.0.1", self.port)
            with s:
                s.settimeout(0.5)
                s.connect(address)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
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
            return "\n".join((self.dir / "redis.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
