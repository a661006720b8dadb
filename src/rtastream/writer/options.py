"""The writer's own options, checked once."""

from __future__ import annotations

from dataclasses import dataclass, fields

from rtastream import _columns as columns
from rtastream import keys

DEFAULT_FLUSH_INTERVAL = 0.1
"""Seconds between automatic flushes of live-buffered data (about 10 bursts a second)."""


MIN_SOCKET_TIMEOUT = 1.0
"""Seconds: the least socket_timeout the writer sets (reconnect_timeout may be 0)."""


@dataclass(frozen=True)
class Options:
    """The writer's own options (RedisStreamBuffer's docstring says what each one does),
    checked once."""

    session_ttl: int = keys.DEFAULT_SESSION_TTL
    maxlen: int | None = None
    target: int = columns.DEFAULT_TARGET
    flush_interval: float = DEFAULT_FLUSH_INTERVAL
    queue_size: int = 64
    reconnect_timeout: float = 10.0
    cluster: bool | None = None
    wait_replicas: int = 0
    wait_timeout: float = 1.0

    def __post_init__(self) -> None:
        ttl, maxlen = self.session_ttl, self.maxlen
        if not isinstance(ttl, int) or ttl < 1:
            raise ValueError(f"session_ttl must be a positive number of seconds, got {ttl!r}")
        if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 1):
            raise ValueError(f"maxlen must be None or a positive int, got {maxlen!r}")
        columns.target(self.target)
        if not self.flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {self.flush_interval!r}")
        if not isinstance(self.queue_size, int) or self.queue_size < 1:
            raise ValueError(f"queue_size must be a positive int, got {self.queue_size!r}")
        if not self.reconnect_timeout >= 0:
            raise ValueError(
                f"reconnect_timeout must be >= 0 seconds, got {self.reconnect_timeout!r}"
            )
        if self.cluster not in (None, True, False):
            raise ValueError(f"cluster must be None, True or False, got {self.cluster!r}")
        if not isinstance(self.wait_replicas, int) or self.wait_replicas < 0:
            raise ValueError(f"wait_replicas must be an int >= 0, got {self.wait_replicas!r}")
        if not self.wait_timeout >= 0.001:  # WAIT takes milliseconds; 0 would wait forever
            raise ValueError(f"wait_timeout must be >= 0.001 seconds, got {self.wait_timeout!r}")

    def socket_timeout(self) -> float:
        """redis-py's socket_timeout unless given: a connection whose server keeps it open
        but stops answering (stopped, frozen) counts as lost after this long without a
        reply, which the reconnect budget counts from. WAIT's own wait is added to it."""
        wait = self.wait_timeout if self.wait_replicas else 0.0
        return max(self.reconnect_timeout, MIN_SOCKET_TIMEOUT) + wait

    def wait_command(self) -> tuple[str, int, int] | None:
        """The WAIT that ends every round, or None when not waiting for replicas."""
        if not self.wait_replicas:
            return None
        return ("WAIT", self.wait_replicas, round(self.wait_timeout * 1000))


OPTIONS = tuple(f.name for f in fields(Options))
"""The writers' own keyword options (any other keyword goes to redis-py)."""
