"""The redis-py internals the writers rely on, all here: the drivers let redis-py connect
(TCP or unix socket, TLS, AUTH/HELLO, SELECT), then take the connection over, and the core
parses replies into redis-py's own exception classes. None of this is redis-py's public
API, so each accessor checks what it gets and, if a redis-py release changed it, raises
RedisInternalsChanged naming the attribute and the release; tests/writer/test_redis_internals.py
checks every one against the installed redis-py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import redis
import redis.exceptions


class RedisInternalsChanged(RuntimeError):
    """This redis-py release changed something the writers rely on."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"redis-py {redis.__version__} changed {what}, which rtastream's writers rely "
            f"on: use a redis-py release rtastream supports (see pyproject.toml)"
        )


def error_parser() -> Callable[[str], redis.exceptions.ResponseError]:
    """redis-py's parser of an error reply's text into its exception classes
    (ReadOnlyError, OutOfMemoryError, ...)."""
    try:
        from redis._parsers import BaseParser

        parse: Callable[[str], redis.exceptions.ResponseError] = BaseParser.parse_error
    except (ImportError, AttributeError):
        raise RedisInternalsChanged("redis._parsers.BaseParser.parse_error") from None
    return parse


def live_socket(conn: Any) -> socket.socket:
    """The socket of a connected sync redis-py Connection."""
    sock = getattr(conn, "_sock", None)
    if not isinstance(sock, socket.socket):
        raise RedisInternalsChanged("Connection._sock (the connected socket)")
    return sock


def transport_of(conn: Any) -> asyncio.Transport:
    """The transport of a connected asyncio redis-py Connection."""
    transport = getattr(getattr(conn, "_writer", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise RedisInternalsChanged("asyncio Connection._writer.transport")
    return transport


def release_streams(conn: Any) -> None:
    """The asyncio Connection forgets its stream reader and writer: its transport was
    taken over and is closed by the writer, not by redis-py."""
    if not (hasattr(conn, "_writer") and hasattr(conn, "_reader")):
        raise RedisInternalsChanged("asyncio Connection._reader and _writer")
    conn._writer = conn._reader = None
