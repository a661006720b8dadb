"""A lease in Redis per stream, so that two recorders never write the same stream.

The lease is a string key (keys.recorder_lease_key) holding the recorder's name, set with an
expiry and renewed by its holder before every write to the store. A recorder that dies
stops renewing; after `ttl` seconds another takes the stream over, from the position the
store holds.
"""

from __future__ import annotations

from typing import Any

from rtastream import keys

# Take the lease if nobody holds it, renew it if we do: 1 when held by us after the call.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """The lease on one stream, for recorder `holder`."""

    def __init__(self, client: Any, stream: str, holder: str, ttl: float) -> None:
        self.client = client
        self.key = keys.recorder_lease_key(stream)
        self.holder = holder
        self.ttl_ms = max(1, round(ttl * 1000))

    def take(self) -> bool:
        """Take or renew the lease: whether this recorder holds it now."""
        return bool(self.client.eval(_TAKE, 1, self.key, self.holder, self.ttl_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.holder)
