"""Redis Cluster: the slot map, the node of each key, and rounds that keep each key's order
through slot moves and failovers. No I/O: the drivers run discover() and send the rounds.

Order per key is the rule everything here serves (a session's XADDs reach its stream in
order, always):

- A key's commands are in flight on one lane at a time. A key with unacknowledged commands
  is pinned to the node they went to; its next commands follow them there, whatever the slot
  map says meanwhile. A redirection moves the pin, and the lane's waiting commands of that
  key move with it (WriterCore.round_done), behind what the new node's lane holds.
- In a round, each key's commands go as one MULTI/EXEC block: all of them run, or none. A
  node that refuses for now (CLUSTERDOWN while a failover settles, TRYAGAIN, LOADING) may
  accept the next command of the same pipeline; without the block a later XADD could run
  before an earlier one is sent again. A lane sends its next round only once this one is
  answered, so a refused block goes again before anything later of its key.

MOVED: the slot's new master is noted, and the key goes there. ASK (the slot is migrating
and the key is on the importing node, or new): the key goes to that node, each block after
ASKING, until its pin is released; then the slot map leads it back to the old master, which
sends it on (ASK) until the migration ends (MOVED). CLUSTERDOWN, TRYAGAIN, LOADING and lost
connections: the lane backs off, the core asks the cluster for its slot map again
(WriterCore.discovery), a master that is gone hands its keys to the slots' new masters, and
what was not acknowledged is sent again, within reconnect_timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import AskError, ExecAbortError, MovedError, ResponseError

from rtastream.connection import CLUSTER_OVER_UNIX
from rtastream.errors import RedisRefused, RedisUnavailable
from rtastream.writer.commands import Command, command_key
from rtastream.writer.node import Node
from rtastream.writer.rounds import NOT_NOW, Part, Round
from rtastream.writer.topology import Discovery, Route, Standalone, Topology


def detect(seed: Standalone, cluster: bool | None) -> Topology:
    """The topology for `cluster` (RedisStreamBuffer's option): False, the seed node alone;
    True, a cluster through it; None, whatever the seed node says it is when first asked."""
    if cluster is False:
        return seed
    db = seed.node.connection_kwargs.get("db", 0)
    if cluster and db:
        raise ValueError(
            f"cluster=True, but the url names database {db}: a Redis Cluster has database 0 "
            "only (drop it from the url)"
        )
    return Cluster(seed) if cluster else Detect(seed)


class Detect(Standalone):
    """One server until the seed node, asked, says it belongs to a cluster (INFO cluster)."""

    def __init__(self, seed: Standalone) -> None:
        self.node = seed.node
        self.seed = seed

    def discover(self, suspect: Node | None) -> Discovery[Topology]:
        info = yield self.node, ("INFO", "cluster")
        if isinstance(info, RedisUnavailable | RedisRefused):
            raise info
        if isinstance(info, Exception):
            raise RedisRefused(
                self.node.address,
                f"INFO cluster, which tells a cluster from a single server, failed ({info}): "
                "pass cluster=True or cluster=False",
            )
        if b"cluster_enabled:1" not in info:
            return self.seed
        return (yield from Cluster(self.seed).discover(None))


@dataclass(eq=False)
class Pin:
    """Where a key's unacknowledged commands went: its next ones follow them."""

    node: Node
    slot: int
    count: int = 0  # commands not acknowledged (nor failed) yet
    asking: bool = False  # the node is importing the key's slot: ASKING before each block


class Cluster:
    """Every master of a Redis Cluster, the slot each key hashes to, and the node of each
    slot; nodes() are the masters (one lane each)."""

    waits_for_replicas = False  # a block is settled (its key's pin let go) once answered

    def __init__(self, seed: Standalone) -> None:
        kwargs = seed.node.connection_kwargs
        if "path" in kwargs:
            raise RedisRefused(seed.node.address, CLUSTER_OVER_UNIX)
        self.seed = seed.node
        self.known: dict[str, Node] = {}  # every node seen, by address
        self.slots: list[Node] = [self.seed] * REDIS_CLUSTER_HASH_SLOTS
        self.masters: set[Node] = set()
        self.others: list[Node] = []  # replicas, asked where slots are when masters fail
        self.pins: dict[str, Pin] = {}

    def node(self, host: str, port: int) -> Node:
        """The node at host:port (an empty host: the seed's host, as the cluster means it)."""
        host = host or self.seed.connection_kwargs.get("host", "localhost")
        address = f"{host}:{port}"
        node = self.known.get(address)
        if node is None:
            kwargs = {**self.seed.connection_kwargs, "host": host, "port": port}
            node = self.known[address] = Node(self.seed.connection_class, kwargs)
        return node

    def nodes(self) -> list[Node]:
        return sorted(self.masters, key=lambda node: node.address)

    # -- where slots are --

    def discover(self, suspect: Node | None) -> Discovery[Topology]:
        """The slot map, from the first node that answers CLUSTER SLOTS: masters first,
        the seed, then replicas; `suspect` last."""
        candidates = [*self.nodes(), self.seed, *self.others]
        if suspect in candidates:
            candidates.remove(suspect)
            candidates.append(suspect)
        failures: list[tuple[Node, Exception]] = []
        for node in dict.fromkeys(candidates):
            reply = yield node, ("CLUSTER", "SLOTS")
            if not isinstance(reply, Exception):
                self.update(reply)
                return self
            failures.append((node, reply))
        told = "; ".join(f"{node.address}: {error}" for node, error in failures)
        if all(isinstance(error, ResponseError) for _, error in failures):  # e.g. no cluster
            raise RedisRefused(self.seed.address, f"CLUSTER SLOTS refused ({told})")
        raise RedisUnavailable(self.seed.address, f"no node of the cluster told its slots ({told})")

    def update(self, reply: list[Any]) -> None:
        """Take CLUSTER SLOTS' map. Slots no master holds now keep their last one: commands
        sent there are refused (CLUSTERDOWN) and tried again until one does."""
        others = []
        for start, end, master, *replicas in reply:
            node = self.node(master[0].decode(), int(master[1]))
            self.slots[start : end + 1] = [node] * (end + 1 - start)
            others += [self.node(r[0].decode(), int(r[1])) for r in replicas]
        self.masters = set(self.slots)
        self.others = [node for node in others if node not in self.masters]

    # -- where keys go --

    def route(self, commands: list[Command], *, again: bool = False) -> list[Route]:
        by_node: dict[Node, tuple[list[Command], list[int]]] = {}
        for i, command in enumerate(commands):
            key = command_key(command)
            pin = self.pins.get(key)
            if pin is None:
                slot = key_slot(key.encode())
                pin = self.pins[key] = Pin(self.slots[slot], slot)
            elif again and pin.node not in self.masters:  # its master is gone
                pin.node, pin.asking = self.slots[pin.slot], False
            if not again:
                pin.count += 1
            routed = by_node.setdefault(pin.node, ([], []))
            routed[0].append(command)
            routed[1].append(i)
        return [(node, routed, places) for node, (routed, places) in by_node.items()]

    def node_of(self, key: str) -> Node:
        pin = self.pins.get(key)
        return pin.node if pin is not None else self.slots[key_slot(key.encode())]

    def round(self, parts: list[Part], node: Node) -> Round:
        return ClusterRound(parts, self, node)

    def settled(self, key: str, count: int) -> None:
        """`count` commands of the key are acknowledged or failed."""
        pin = self.pins[key]
        pin.count -= count
        if pin.count == 0:
            del self.pins[key]

    def redirected(self, key: str, error: MovedError | AskError, source: Node) -> Node:
        """The node a MOVED or ASK reply sends the key to. MOVED: the slot's new master,
        where the keys of that slot pinned to the old one go too."""
        target = self.node(error.host, error.port)
        if not isinstance(error, MovedError):  # ASK (redis-py's MovedError is an AskError)
            pin = self.pins[key]
            pin.node, pin.asking = target, True
            return target
        self.slots[error.slot_id] = target
        self.masters = set(self.slots)
        for pin in self.pins.values():
            if pin.slot == error.slot_id and pin.node is source:
                pin.node, pin.asking = target, False
        return target


@dataclass(eq=False)
class Block:
    """One key's commands in a round (indices into the round's commands), sent as
    [ASKING] MULTI ... EXEC."""

    key: str
    indices: list[int]
    asking: bool

    def wire(self, commands: Sequence[Command]) -> list[Command]:
        ask: list[Command] = [("ASKING",)] if self.asking else []
        return [*ask, ("MULTI",), *(commands[i] for i in self.indices), ("EXEC",)]

    @property
    def replies(self) -> int:
        return len(self.indices) + 2 + self.asking


class ClusterRound(Round):
    """A round to one node of a cluster: a MULTI/EXEC block per key; a block refused
    with a redirection or for now becomes a leftover, to send again."""

    def __init__(self, parts: list[Part], cluster: Cluster, node: Node) -> None:
        super().__init__(parts)
        self.cluster = cluster
        self.node = node
        for command in self.dropped:
            cluster.settled(command_key(command), 1)
        by_key: dict[str, list[int]] = {}
        for i, command in enumerate(self.commands):
            by_key.setdefault(command_key(command), []).append(i)
        self.blocks = [Block(key, idx, cluster.pins[key].asking) for key, idx in by_key.items()]
        self.done = 0  # blocks answered
        self.heard: list[Any] = []  # replies to the block being answered
        self.left: list[tuple[Block, Node | None]] = []

    @property
    def answered(self) -> bool:
        return self.done == len(self.blocks)

    def pending(self) -> list[Command]:
        return [c for block in self.blocks[self.done :] for c in block.wire(self.commands)]

    def restart(self) -> None:
        self.heard = []

    def reply(self, value: Any) -> None:
        block = self.blocks[self.done]
        self.heard.append(value)
        if len(self.heard) < block.replies:
            return
        heard, self.heard = self.heard, []
        self.done += 1
        result = heard[-1]
        if isinstance(result, list):  # EXEC ran the block: one reply per command
            for i, value in zip(block.indices, result, strict=True):
                self.settle(i, value)
            self.cluster.settled(block.key, len(block.indices))
            return
        if isinstance(result, ExecAbortError):  # a command was refused when queued: why
            result = next((r for r in heard if isinstance(r, Exception)), result)
        if isinstance(result, AskError):  # or MovedError, a subclass
            self.left.append((block, self.cluster.redirected(block.key, result, self.node)))
        elif isinstance(result, NOT_NOW):
            self.refusal = result
            pinned = self.cluster.pins[block.key].node  # moved meanwhile: go there at once
            self.left.append((block, None if pinned is self.node else pinned))
        else:  # refused for good: each command fails with the reason
            for i in block.indices:
                self.settle(i, result)
            self.cluster.settled(block.key, len(block.indices))

    def fail(self, error: BaseException) -> None:
        for block in self.blocks[self.done :]:
            self.lose(block.indices, error)
            self.cluster.settled(block.key, len(block.indices))
        self.done = len(self.blocks)

    def rest(self) -> list[Part]:
        rest = self.parts_of(i for block in self.blocks[self.done :] for i in block.indices)
        self.done = len(self.blocks)
        return rest

    def leftovers(self) -> list[tuple[Part, Node | None]]:
        return [(part, node) for block, node in self.left for part in self.parts_of(block.indices)]
