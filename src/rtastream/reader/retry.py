"""How readers ride through a lost Redis: a failover (Sentinel or Cluster), a restart.

Every command a reader sends only reads, so the step whose connection failed is simply asked
again, with backoff, until `reconnect_timeout` seconds have passed since the first failure;
then RedisUnavailable. A reading flow keeps its place (the last entry id it has passed on),
so after the outage it goes on from there: nothing is skipped, nothing read twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis.exceptions

from rtastream.connection import CONNECTION_ERRORS, address_of
from rtastream.errors import RedisRefused, RedisUnavailable
from rtastream.writer.core import Backoff

PASSING = (
    *CONNECTION_ERRORS,  # the connection lost or refused, Redis loading its data after a restart
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


class Reconnecting:
    """The backoff of one reader's outage: started by its first failure, ended by a reply."""

    def __init__(self, budget: float, stopped: Callable[[], bool]) -> None:
        self.budget = budget
        self.stopped = stopped
        self.backoff: Backoff | None = None

    def answered(self) -> None:
        self.backoff = None

    def pause(self, client: Any, error: Exception) -> float:
        """Seconds to wait before asking again; `error` raised as it is when waiting cannot
        help, and as RedisUnavailable past the budget (or once the reader is stopped)."""
        if isinstance(error, LASTING) or not isinstance(error, PASSING):
            raise error
        self.backoff = self.backoff or Backoff(self.budget, since=time.monotonic())
        delay = None if self.stopped() else self.backoff.next()
        if delay is None:
            reason = f"{str(error) or type(error).__name__} (for {self.budget:g} s)"
            raise RedisUnavailable(address(client), reason) from error
        return delay
