"""The writer's sans-I/O core driven as h11 is tested: no socket, no server. A Script plays
the driver: it runs the core's discovery flows against scripted answers, takes a lane's
round as the RESP bytes the lane would send (read back with hiredis, as a server would),
and feeds replies in as RESP bytes, errors spelled as Redis spells them on the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hiredis
import redis

from rtastream.writer.cluster import Cluster
from rtastream.writer.core import Lane, WriterCore
from rtastream.writer.node import Node
from rtastream.writer.options import Options
from rtastream.writer.rounds import Batch, Tracker
from rtastream.writer.topology import Standalone, Topology

SEED = "redis://127.0.0.1:7000/0"


class Err(str):
    """An error reply, as the server writes it after the '-': "MOVED 42 127.0.0.1:7001"."""


def resp(value: Any) -> bytes:
    """One reply in RESP2: Err, a simple string (str), an integer, bulk bytes, nil, an array."""
    if isinstance(value, Err):
        return b"-" + value.encode() + b"\r\n"
    if isinstance(value, str):
        return b"+" + value.encode() + b"\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if value is None:
        return b"$-1\r\n"
    return b"*%d\r\n" % len(value) + b"".join(resp(v) for v in value)


def block(*replies: Any, asking: bool = False) -> list[Any]:
    """A MULTI/EXEC block's replies when it ran: [OK (ASKING)], OK, QUEUED each, EXEC's."""
    return [*(["OK"] if asking else []), "OK", *["QUEUED"] * len(replies), list(replies)]


def refused(error: str, commands: int, *, asking: bool = False) -> list[Any]:
    """A block whose first command was refused when queued (MOVED, ASK, TRYAGAIN, ...)."""
    queued = [Err(error), *["QUEUED"] * (commands - 1)]
    abort = Err("EXECABORT Transaction discarded because of previous errors.")
    return [*(["OK"] if asking else []), "OK", *queued, abort]


def slots(*ranges: tuple[int, int, int]) -> list[Any]:
    """CLUSTER SLOTS' reply for (first slot, last slot, master port) ranges on 127.0.0.1."""
    return [[first, last, [b"127.0.0.1", port, b"id"]] for first, last, port in ranges]


def xadd(key: str, message: bytes) -> tuple[Any, ...]:
    return ("XADD", key, "*", "data", message)


class Script:
    """A WriterCore and what it sent; `answer` gives the reply to a discovery command."""

    def __init__(self, topology: Topology, answer: Callable[[Node, Any], Any], **options: Any):
        self.core = WriterCore(Options(**options), topology)
        self.answer = answer
        self.asked: list[tuple[str, Any]] = []  # (address, command) of every discovery step

    def discover(self, lane: Lane | None = None) -> None:
        steps, reply = self.core.discovery(lane), None
        while True:
            try:
                node, command = steps.send(reply)
            except StopIteration:
                return
            self.asked.append((node.address, command))
            reply = self.answer(node, command)

    def lane(self, port: int) -> Lane:
        [lane] = [
            lane for node, lane in self.core.lanes.items() if node.address.endswith(f":{port}")
        ]
        return lane

    def submit(self, owner: Tracker, *commands: Any, replies: bool = False) -> Batch:
        batch = Batch(owner, list(commands), [None] * len(commands) if replies else None)
        self.core.submit(batch)
        return batch

    def send(self, lane: Lane) -> list[tuple[bytes, ...]]:
        """The lane's round as the server reads it (the lane's round taken if it has none)."""
        self.core.take_round(lane)
        reader = hiredis.Reader()
        reader.feed(b"".join(lane.outgoing()))
        sent = []
        while (command := reader.gets()) is not False:
            sent.append(tuple(command))
        return sent

    def reply(self, lane: Lane, *replies: Any) -> bool:
        """Feed replies (one byte at a time: a reply cut anywhere must wait for the rest);
        True once the round is answered."""
        data = b"".join(resp(r) for r in replies)
        done = False
        for i in range(len(data)):
            done = lane.received(data[i : i + 1])
        return done

    def done(self, lane: Lane) -> float | None:
        return self.core.round_done(lane)


def standalone(**options: Any) -> Script:
    script = Script(Standalone(SEED, {}, redis.ConnectionPool), _no_questions, **options)
    script.discover()
    return script


def cluster(layout: list[Any], **options: Any) -> Script:
    """A cluster whose CLUSTER SLOTS answer is `layout` (a list: change it to move slots)."""
    topology = Cluster(Standalone(SEED, {}, redis.ConnectionPool))
    script = Script(topology, lambda node, command: layout, **options)
    script.discover()
    return script


def _no_questions(node: Node, command: Any) -> Any:
    raise AssertionError(f"a single server is asked nothing, got {command!r} for {node.address}")
