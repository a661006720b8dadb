"""rtastream's errors, all RtaStreamError: the Redis writer's here (each one that loses data
lists it in `unsent`), IllegalTransition (session.py) and SessionNotFound (reader/plans.py)."""

from __future__ import annotations

import builtins

import redis.exceptions


class RtaStreamError(Exception):
    """The base of every error rtastream raises of its own (beside the ValueError, TypeError
    and RuntimeError of arguments and calls it refuses): one `except` catches them all."""


class RedisUnavailable(RtaStreamError, redis.exceptions.ConnectionError, builtins.ConnectionError):
    """Redis could not be reached (at open) or came back too late (mid-session).

    `unsent` holds the stream messages (compressed bursts) that were not acknowledged by
    Redis, in order; some of them may still have been written (delivery is at-least-once).
    """

    def __init__(self, address: str, reason: str, unsent: list[bytes] | None = None) -> None:
        super().__init__(address)  # one argument: OSError would read two as errno, strerror
        self.address = address
        self.reason = reason
        self.unsent: list[bytes] = unsent if unsent is not None else []

    def __str__(self) -> str:
        lost = f"; {len(self.unsent)} stream messages were not written" if self.unsent else ""
        return f"cannot reach Redis at {self.address}: {self.reason}{lost}"


class RedisRefused(RtaStreamError, redis.exceptions.ConnectionError):
    """Redis answered but refused the connection: credentials, a database it does not have.
    Waiting will not help, unlike RedisUnavailable."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(address)
        self.address = address
        self.reason = reason

    def __str__(self) -> str:
        return f"Redis at {self.address} refused the connection: {self.reason}"


class RedisAuthenticationError(RedisRefused, redis.exceptions.AuthenticationError):
    """Redis refused the credentials (missing, wrong, or a disabled user)."""


class RedisCommandError(RtaStreamError, redis.exceptions.ResponseError):
    """Redis refused a command (WRONGTYPE, OOM, READONLY, ...); `key` names the key ("" for
    a command without one: WAIT).

    `unsent` holds the stream messages of this session that were not written because of it.
    """

    def __init__(self, command: str, key: str, error: BaseException) -> None:
        super().__init__(command, key, str(error))
        self.command = command
        self.key = key
        self.error = error
        self.unsent: list[bytes] = []

    def __str__(self) -> str:
        lost = f"; {len(self.unsent)} stream messages were not written" if self.unsent else ""
        # redis-py turns some error prefixes (OOM, READONLY, ...) into classes: keep the name.
        kind = type(self.error).__name__
        reason = str(self.error) if kind == "ResponseError" else f"{kind}: {self.error}"
        on_key = f" on key {self.key!r}" if self.key else ""
        return f"Redis refused {self.command}{on_key}: {reason}{lost}"
