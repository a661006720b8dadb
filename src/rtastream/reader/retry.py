"""How readers ride through a lost Redis: a failover (Sentinel or Cluster), a restart.

Every command a reader sends only reads, so the step whose connection failed is simply asked
again, with backoff, until `reconnect_timeout` seconds have passed since the reply was due
(when the step was asked; for XREAD BLOCK, once its block is over); then RedisUnavailable. A
frozen Redis (stopped, TCP kept up) answers nothing: the socket timeout of the clients the
readers make (client_options) ends the wait, once the budget has passed since the reply was
due, so the step fails at once. Redis loading its data (LOADING, after a restart) passes too.
A reading flow keeps its place (the last entry id it has passed on), so after the outage it
goes on from there: nothing is skipped, nothing read twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis.asyncio.retry
import redis.backoff
import redis.exceptions
import redis.retry

from rtastream.connection import CONNECTION_ERRORS, address_of
from rtastream.errors import RedisRefused, RedisUnavailable
from rtastream.writer.core import Backoff
from rtastream.writer.options import MIN_SOCKET_TIMEOUT

PASSING = (
    *CONNECTION_ERRORS,  # lost, refused, timed out; LOADING too (redis-py's is a ConnectionError)
    redis.exceptions.ClusterError,  # CLUSTERDOWN, MASTERDOWN: a failover under way
    redis.exceptions.TryAgainError,  # a slot moving
    redis.exceptions.SlotNotCoveredError,  # the slot's master gone, no replica promoted yet
)
"""Failures that pass once Redis (or its new master) is back."""

LASTING = (RedisRefused, redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)
"""Connection failures that waiting will not mend (credentials, permissions)."""


def address(client: Any) -> str:
    """Where a redis-py client connects, for messages (a cluster: its startup nodes)."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return "Redis Cluster at " + ",".join(client.nodes_manager.startup_nodes)
    service = getattr(pool, "service_name", None)
    if service is not None:  # a SentinelConnectionPool
        return f"the master of Sentinel service {service!r}"
    return address_of(pool.connection_kwargs)


def client_options(block: float, budget: float, *, asynchronous: bool) -> dict[str, Any]:
    """redis-py options for a client a reader makes: a reply not come within XREAD's `block`
    plus the reconnect budget (at least MIN_SOCKET_TIMEOUT, as the writers) times out, and
    redis-py does not ask again itself (each of its attempts would wait that long again, past
    the budget): the reader does, within the budget."""
    module: Any = redis.asyncio.retry if asynchronous else redis.retry
    return {
        "socket_timeout": block + max(budget, MIN_SOCKET_TIMEOUT),
        "retry": module.Retry(redis.backoff.NoBackoff(), 0),
    }


class Reconnecting:
    """The backoff of one reader's outage: from when the failed step's reply was due, ended
    by a reply."""

    def __init__(
        self,
        budget: float,
        stopped: Callable[[], bool],
        lasting: tuple[type[Exception], ...] = LASTING,
    ) -> None:
        self.budget = budget
        self.stopped = stopped
        self.lasting = lasting  # raised at once
        self.backoff: Backoff | None = None
        self.due = time.monotonic()  # when the reply to the step asked last was due

    def asking(self, waits: float) -> None:
        """A step is asked; its reply may take `waits` seconds (XREAD BLOCK's block)."""
        if self.backoff is None:  # in an outage, the budget goes on from the first failure
            self.due = time.monotonic() + waits

    def answered(self) -> None:
        self.backoff = None

    def pause(self, client: Any, error: Exception) -> float:
        """Seconds to wait before asking again; `error` raised as it is when waiting cannot
        help, and as RedisUnavailable past the budget (or once the reader is stopped)."""
        if isinstance(error, self.lasting) or not isinstance(error, PASSING):
            raise error
        self.backoff = self.backoff or Backoff(self.budget, since=min(self.due, time.monotonic()))
        delay = None if self.stopped() else self.backoff.next()
        if delay is None:
            reason = f"{str(error) or type(error).__name__} (for {self.budget:g} s)"
            raise RedisUnavailable(address(client), reason) from error
        return delay
