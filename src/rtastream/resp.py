"""RESP2 for the writers' pipelines.

`pack_commands` is the native packer (cext/_resp.pyx) the writers use; `pack_commands_py`
is its pure-Python twin, the reference the tests hold it to. Both give the same chunks:
small pieces joined, each bytes argument of BIG_ARG bytes or more (a stream message) left
as its own chunk, the caller's object, never copied (redis-py's hiredis packer copies a
payload about three times).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rtastream._resp import BIG_ARG, pack_commands

__all__ = ["BIG_ARG", "pack_commands", "pack_commands_py"]


def pack_commands_py(commands: Iterable[tuple[Any, ...]]) -> list[bytes]:
    out: list[bytes] = []
    small: list[bytes] = []
    for command in commands:
        small.append(b"*%d\r\n" % len(command))
        for arg in command:
            kind = type(arg)
            if kind is str:
                arg = arg.encode()
            elif kind is int:
                arg = b"%d" % arg
            elif kind is not bytes:
                raise TypeError(
                    f"a Redis command argument must be str, int or bytes, "
                    f"got {kind.__name__}: {arg!r}"
                )
            elif len(arg) >= BIG_ARG:
                small.append(b"$%d\r\n" % len(arg))
                out += (b"".join(small), arg)
                small = [b"\r\n"]
                continue
            small += (b"$%d\r\n" % len(arg), arg, b"\r\n")
    out.append(b"".join(small))
    return out
