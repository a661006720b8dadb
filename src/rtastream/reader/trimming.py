"""What tells that Redis trimmed entries a reader had not read yet.

A stream is trimmed from its oldest entry on, so the entries ever removed are the first
`added - length` it was given (XINFO's entries-added, Redis 7.0 and later, minus XLEN).
Entries after the `before`-th were lost when more than `before` were ever removed. The
recorder asks this of what it reads (a gap report); the REST server of the Redis edge it
joins to the store's part (no silent hole).
"""

from __future__ import annotations

COUNTS = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('TYPE', KEYS[1]).ok ~= 'stream' then
  return {-1, 0}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then return {info[i + 1], redis.call('XLEN', KEYS[1])} end
end
return {-1, 0}
"""
"""(entries ever added, entries held) of a stream key; (-1, 0) when there is no stream or
Redis does not count (before 7.0). Run in one MULTI with a read, nothing can be trimmed
between the count and the read."""


def removed(added: int, length: int) -> int:
    """How many of the stream's first entries are gone."""
    return added - length


def trimmed_past(added: int, length: int, before: int) -> bool:
    """Whether entries after the `before`-th the stream was given were trimmed. Unknown
    counts (-1), and a stream given fewer than `before` (created anew: Redis restarted
    empty, a loss the recorder reports), say no."""
    return before <= added and removed(added, length) > before
