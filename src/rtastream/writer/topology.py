"""Where keys live and how to reach them: the writer's connection factory.

A topology names the nodes a buffer writes to (one Lane, so one connection, per node),
routes each command to the node of its key, and says how a lane's round is sent and its
replies read (round()); it connects nothing itself. discover() asks the servers where keys
live, as a flow of commands the driver runs (before the first session, and before a lane in
trouble tries again). The drivers open the connections through redis-py
(`Node.connection()`, then its connect(): TCP or unix socket, TLS, AUTH/HELLO, SELECT) and
then speak RESP on the socket themselves.

Standalone is one server, every key on it. Redis Cluster is writer/cluster.py: the slot
map, each key pinned to the node its commands went to, a MULTI/EXEC block per key in a
round, MOVED/ASK/CLUSTERDOWN replies turned into commands queued again (Round.leftovers)
rather than errors. Sentinel is writer/sentinel.py: the one master, which discover() asks
the sentinels for; a master that moved (they name another one) retires its lane, and the
round's unacknowledged commands go to the new master's. With wait_replicas=N, every round
ends with WAIT N timeout (Round has the rule for what is sent again).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, Protocol, TypeVar

from rtastream.connection import pool_from_url
from rtastream.writer.commands import Command
from rtastream.writer.node import Node
from rtastream.writer.options import OPTIONS
from rtastream.writer.rounds import Part, Round

T = TypeVar("T")


Route = tuple[Node, list[Command], Sequence[int]]
"""Commands of a batch that go to one node, with their places in the batch."""

Discovery = Generator[tuple[Node, Command], Any, T]
"""Asking servers where keys live, without I/O: it yields (node, command) for the driver
to run on a connection of its own, and gets the reply back (an exception if it failed)."""


class Topology(Protocol):
    waits_for_replicas: bool  # its rounds may end with WAIT (wait_replicas)

    def nodes(self) -> list[Node]: ...

    def route(self, commands: list[Command], *, again: bool = False) -> list[Route]:
        """The commands split by node, in order (by each command's key); `again`: they
        were routed before (the lane they waited on hands them over)."""

    def round(self, parts: list[Part], node: Node) -> Round:
        """How the parts are sent to the node in one pipeline, and their replies read."""

    def discover(self, suspect: Node | None) -> Discovery[Topology]:
        """Ask the servers where keys live now (`suspect`'s connection failed: asked last);
        the topology to use from then on."""


class Standalone:
    """One Redis server: every key on one node."""

    waits_for_replicas = True

    def __init__(self, url: str, options: dict[str, Any], pool_class: type[Any]) -> None:
        pool = pool_from_url(
            pool_class,
            url,
            {"socket_connect_timeout": 5.0, **options},
            caller="RedisStreamBuffer()",
            own=OPTIONS,
        )
        self.node = Node(pool.connection_class, pool.connection_kwargs)

    def nodes(self) -> list[Node]:
        return [self.node]

    def route(self, commands: list[Command], *, again: bool = False) -> list[Route]:
        return [(self.node, commands, range(len(commands)))]

    def round(self, parts: list[Part], node: Node) -> Round:
        return Round(parts)

    def discover(self, suspect: Node | None) -> Discovery[Topology]:
        return self  # nothing to ask: one server holds every key
        yield  # unreachable: makes this a flow that asks nothing
