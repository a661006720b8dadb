"""Connecting to Redis from the command line: URL checks and one-line errors."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import redis

URL_ENV = "RTASTREAM_REDIS_URL"
FALLBACK_URL = "redis://localhost:6379/0"
CONNECT_TIMEOUT = 3.0  # seconds: an unreachable host should fail fast, not hang the tool


class CliError(Exception):
    """A failure reported as one line on stderr; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def default_url() -> str:
    return os.environ.get(URL_ENV) or FALLBACK_URL


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def check_url(url: str) -> None:
    """Raise CliError (exit 2) when the URL cannot name a Redis server.

    redis-py accepts some malformed URLs silently (a non-numeric database is ignored),
    so the parts are checked here first.
    """
    shown = redact(url)
    try:
        parts = urlsplit(url)
        parts.port  # raises on a non-numeric or out-of-range port
    except ValueError as exc:
        raise CliError(f"bad --redis URL {shown!r}: {exc}", code=2) from None
    if parts.scheme == "unix":
        if not parts.path:
            raise CliError(f"bad --redis URL {shown!r}: unix:// needs a socket path", code=2)
        return
    if parts.scheme not in ("redis", "rediss"):
        raise CliError(
            f"bad --redis URL {shown!r}: expected redis://HOST[:PORT][/DB], rediss://... "
            "or unix:///PATH", code=2)
    if not parts.hostname:
        raise CliError(f"bad --redis URL {shown!r}: no host", code=2)
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise CliError(f"bad --redis URL {shown!r}: database {db!r} is not a number", code=2)


def connect(url: str) -> redis.Redis:
    """A client that has answered PING, or CliError naming the URL and the cause."""
    check_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
    except ValueError as exc:
        raise CliError(f"bad --redis URL {redact(url)!r}: {exc}", code=2) from None
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        client.close()
        raise CliError(f"Redis at {redact(url)} refused the credentials: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        client.close()
        raise CliError(f"cannot reach Redis at {redact(url)}: {exc}") from None
    return client
