"""Sentinel: the master that the sentinels name for a service, every key on it. No I/O: the
drivers run discover() and send the rounds.

discover() asks the sentinels in turn (SENTINEL MASTER <service>) and takes the first that
names a master it does not see down, as redis-py's Sentinel.discover_master does; that
sentinel is asked first next time. The core asks before the first session and whenever a
lane is in trouble: a lost connection, a READONLY reply (the master was demoted: NodeMoved),
a WAIT that counted too few replicas. When the sentinels name another master, the old one's
lane is retired and what it held goes to the new master's lane (WriterCore.discovery).
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from rtastream.connection import check_url, parse_sentinel_url, sentinel_options
from rtastream.errors import RedisRefused, RedisUnavailable
from rtastream.writer.commands import Command
from rtastream.writer.node import Node
from rtastream.writer.topology import Discovery, Route, Standalone, Topology


class SentinelMaster(Standalone):
    """The master of a redis+sentinel:// URL's service; no node until discover()."""

    def __init__(self, url: str, options: dict[str, Any], pool_class: type[Any]) -> None:
        check_url(url)
        parsed = parse_sentinel_url(url)
        # The master's connection options, checked as a redis:// URL's with a stand-in host.
        options = dict(options)
        given = options.pop("sentinel_kwargs", None)
        super().__init__(parsed.master_url, options, pool_class)
        self.template = self.node
        connection_class = self.node.connection_class  # TLS to the sentinels too, if rediss
        kwargs = {**self.node.connection_kwargs, "sentinel_kwargs": given}
        sentinel_kwargs = sentinel_options(kwargs, tls=False)
        self.sentinels = [
            Node(connection_class, {**sentinel_kwargs, "host": host, "port": port})
            for host, port in parsed.sentinels
        ]
        try:
            self.sentinels[0].connection()  # not connected: only its options are checked
        except TypeError as e:
            raise TypeError(f"RedisStreamBuffer() sentinel_kwargs: {e}") from None
        self.service = parsed.service
        self.address = parsed.address
        self.master: Node | None = None

    def nodes(self) -> list[Node]:
        return [] if self.master is None else [self.master]

    def route(self, commands: list[Command], *, again: bool = False) -> list[Route]:
        assert self.master is not None, "discover() finds the master first"
        return [(self.master, commands, range(len(commands)))]

    def discover(self, suspect: Node | None) -> Discovery[Topology]:
        failures: list[tuple[Node, Any, str]] = []
        for sentinel in list(self.sentinels):
            reply = yield sentinel, ("SENTINEL", "MASTER", self.service)
            problem = _master_problem(reply)
            if problem is None:
                self.sentinels.remove(sentinel)
                self.sentinels.insert(0, sentinel)
                state = _state(reply)
                self.master = self._node(state["ip"], int(state["port"]))
                return self
            failures.append((sentinel, reply, problem))
        told = "; ".join(f"{sentinel.address}: {problem}" for sentinel, _, problem in failures)
        reason = f"no sentinel names a master for {self.service!r} ({told})"
        if all(isinstance(reply, ResponseError) for _, reply, _ in failures):  # no such service
            raise RedisRefused(self.address, reason)
        raise RedisUnavailable(self.address, reason)

    def _node(self, host: str, port: int) -> Node:
        """The master at host:port (the current one if it has not moved)."""
        if self.master is not None and self.master.address == f"{host}:{port}":
            return self.master
        kwargs = {**self.template.connection_kwargs, "host": host, "port": port}
        node = Node(self.template.connection_class, kwargs)
        node.moves = True
        return node


def _state(reply: Any) -> dict[str, str]:
    """SENTINEL MASTER's reply (a flat list, or a map in RESP3) as text."""
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
    return {_text(k): _text(v) for k, v in pairs}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _master_problem(reply: Any) -> str | None:
    """Why this sentinel's answer names no master to write to, or None."""
    if isinstance(reply, Exception):
        return str(reply)
    state = _state(reply)
    flags = set(state.get("flags", "").split(","))
    if "master" not in flags or flags & {"s_down", "o_down"}:
        return f"it sees {state.get('ip')}:{state.get('port')} as {state.get('flags')}"
    return None
