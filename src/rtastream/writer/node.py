"""One Redis server the writer reaches: named by the topologies, one lane per node."""

from __future__ import annotations

from typing import Any

from rtastream.connection import address_of


class Node:
    """One Redis server: its address (for messages) and how redis-py connects to it.

    `moves`: the server may stop being the master under the writer (Sentinel's), so a
    READONLY reply is taken for a lost connection and the topology is asked again.
    """

    moves = False

    def __init__(self, connection_class: type[Any], connection_kwargs: dict[str, Any]) -> None:
        self.address = address_of(connection_kwargs)
        self.connection_class = connection_class
        self.connection_kwargs = connection_kwargs

    def connection(self) -> Any:
        """A new redis-py connection object, not connected yet."""
        return self.connection_class(**self.connection_kwargs)
