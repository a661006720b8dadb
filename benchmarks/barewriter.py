"""The floor of encode-and-write: the same bytes to Redis with nothing around them.

Each burst's message (encoded by the caller with rtastream.Burst, as in the rtastream
variant) goes out as XADD + HSET + EXPIRE over a raw socket, one sendmsg per round; replies
are only counted (hiredis). No session records, no error reporting, no reconnects, no
back-pressure beyond the socket's. Two shapes:

- threaded: the caller hands each burst's commands to one sender thread through a queue,
  the shape rtastream's sync writer has (and issue 3 asks for);
- inline: the caller sends them itself, and reads whatever replies have arrived.

On a machine where redis-server shares the cores with the caller, the two shapes differ
by how many threads compete for them; the gap between them is the price of the I/O thread
there, not of anything rtastream does.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
import urllib.parse

import hiredis

from rtastream import keys
from rtastream.resp import pack_commands
from rtastream.writer.core import MAX_ROUND
from rtastream.writer.sync import send_all


class BareWriter:
    def __init__(self, url: str, stream: str, identity: str, threaded: bool) -> None:
        where = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((where.hostname, where.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()
        self.buffer = bytearray(1 << 16)
        self.owed = 0
        self.xadd = ("XADD", keys.stream_key(stream), "*", keys.ENTRY_ID, 1, keys.ENTRY_DATA)
        self.session_key = keys.session_key(identity)
        self.queue: queue.Queue[list | None] | None = None
        if threaded:
            self.queue = queue.Queue(64)
            self.thread = threading.Thread(target=self._send_queued, daemon=True)
            self.thread.start()

    def write(self, message: bytes, start: int, end: int) -> None:
        commands = [
            (*self.xadd, message),
            (
                "HSET",
                self.session_key,
                keys.T_START,
                start,
                keys.T_END,
                end,
                keys.LAST_UPDATED,
                time.time_ns() // 1_000_000,
            ),
            ("EXPIRE", self.session_key, keys.DEFAULT_SESSION_TTL),
        ]
        if self.queue is not None:
            self.queue.put(commands)
            return
        self._send(commands)
        self.sock.setblocking(False)
        try:
            self._read()
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)

    def flush(self) -> None:
        """Wait until Redis has answered everything written so far."""
        if self.queue is not None:
            self.queue.join()
        while self.owed:
            self._read()

    def close(self) -> None:
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
        self.sock.close()

    def _send(self, commands: list) -> None:
        send_all(self.sock, pack_commands(commands))
        self.owed += len(commands)

    def _send_queued(self) -> None:
        while (commands := self.queue.get()) is not None:
            taken = 1
            while taken < MAX_ROUND:  # take what else is queued into this round, as rtastream does
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.queue.put(None)
                    break
                commands += more
                taken += 1
            self._send(commands)
            while self.owed:
                self._read()
            for _ in range(taken):
                self.queue.task_done()

    def _read(self) -> None:
        n = self.sock.recv_into(self.buffer)
        if n == 0:
            raise ConnectionError("redis-server closed the connection")
        self.reader.feed(self.buffer, 0, n)
        while (reply := self.reader.gets()) is not False:
            if isinstance(reply, hiredis.ReplyError):
                raise reply
            self.owed -= 1
