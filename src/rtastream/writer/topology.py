"""Where keys live and how to reach them: the writer's connection factory.

A topology names the nodes a buffer writes to (one Lane, so one connection, per node) and
routes each command to the node of its key; it connects nothing itself. The drivers open the
connections through redis-py (`Node.connection()`, then its connect(): TCP or unix socket,
TLS, AUTH/HELLO, SELECT) and then speak RESP on the socket themselves.

Standalone is the one topology today: one server, every key on it. The others plug in here:

- Redis Cluster: nodes() lists the masters (discovered with CLUSTER SHARDS through any seed
  node), route() splits a batch by its keys' slots' masters (commands.command_key() names
  each command's key; CRC16 of the key, 16384 slots). MOVED,
  ASK and TRYAGAIN replies reach the core as error replies (MovedError, AskError,
  TryAgainError from redis-py's parser): the core's Round.reply is where they become "refresh
  the slot map and re-queue this command, and every later command of the same stream, on the
  new node's lane" instead of a RedisCommandError, so that order per stream is kept.
- Sentinel: nodes() is the one master, found through the sentinels; a dropped connection or a
  READONLY reply (a demoted master) makes the core ask the topology to discover the master
  again before the driver reconnects (WriterCore.connection_lost), and the round's
  unacknowledged commands are re-sent to the new master. With wait_replicas=N, every round
  ends with WAIT N timeout, and the core counts the round as acknowledged only when the WAIT
  reply says enough replicas have it (otherwise: re-send, or fail past the budget).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rtastream.connection import address_of, pool_from_url
from rtastream.writer.commands import Command
from rtastream.writer.options import OPTIONS


class Node:
    """One Redis server: its address (for messages) and how redis-py connects to it."""

    def __init__(self, connection_class: type[Any], connection_kwargs: dict[str, Any]) -> None:
        self.address = address_of(connection_kwargs)
        self.connection_class = connection_class
        self.connection_kwargs = connection_kwargs

    def connection(self) -> Any:
        """A new redis-py connection object, not connected yet."""
        return self.connection_class(**self.connection_kwargs)


Route = tuple["Node", list[Command], Sequence[int]]
"""Commands of a batch that go to one node, with their places in the batch."""


class Topology(Protocol):
    def nodes(self) -> list[Node]: ...

    def route(self, commands: list[Command]) -> list[Route]:
        """The batch's commands split by node, in order (by each command's key)."""


class Standalone:
    """One Redis server: every key on one node."""

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

    def route(self, commands: list[Command]) -> list[Route]:
        return [(self.node, commands, range(len(commands)))]
