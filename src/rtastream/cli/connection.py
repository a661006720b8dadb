"""Connecting to Redis from the command line: URL checks and one-line errors."""

from __future__ import annotations

import os
from typing import Any

import redis
import redis.cluster

from rtastream import connection
from rtastream.connection import redact as redact  # the commands take it from here
from rtastream.errors import RedisAuthenticationError, RedisRefused, RedisUnavailable

URL_ENV = "RTASTREAM_REDIS_URL"
FALLBACK_URL = "redis://localhost:6379/0"
CONNECT_TIMEOUT = 3.0  # seconds: an unreachable host should fail fast, not hang the tool


Client = redis.Redis | redis.cluster.RedisCluster


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


def connect(url: str, **options: Any) -> Client:
    """A client of the Redis at `url` (a RedisCluster when the node belongs to a cluster)
    that has answered, or CliError naming the URL and the cause; `options` are redis-py's."""
    check_url(url)
    try:
        return connection.client_for(url, socket_connect_timeout=CONNECT_TIMEOUT, **options)
    except ValueError as exc:
        raise CliError(f"bad --redis URL {redact(url)!r}: {exc}", code=2) from None
    except RedisAuthenticationError as exc:
        raise CliError(f"Redis at {redact(url)} refused the credentials: {exc.reason}") from None
    except RedisRefused as exc:  # a database it lacks
        raise CliError(f"Redis at {redact(url)} refused the connection: {exc.reason}") from None
    except (RedisUnavailable, redis.exceptions.RedisClusterException) as exc:
        reason = exc.reason if isinstance(exc, RedisUnavailable) else exc
        raise CliError(f"cannot reach Redis at {redact(url)}: {reason}") from None
