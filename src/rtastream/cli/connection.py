"""Connecting to Redis from the command line: URL checks and one-line errors."""

from __future__ import annotations

import os

import redis

from rtastream import connection
from rtastream.connection import redact as redact  # the commands take it from here

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


def check_url(url: str) -> None:
    """Raise CliError (exit 2) when the URL cannot name a Redis server (the library's check:
    redis-py accepts some malformed URLs silently)."""
    try:
        connection.check_url(url, what="--redis URL")
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None


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
