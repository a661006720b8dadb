"""Types of the compiled RESP packer (cext/_resp.pyx)."""

from collections.abc import Iterable, Sequence

BIG_ARG: int
"""A bytes argument at least this long is sent as its own chunk, never copied."""

def pack_commands(commands: Iterable[Sequence[str | int | bytes]]) -> list[bytes]:
    """RESP2 for a pipeline of commands, as chunks for one scatter-gather send."""
