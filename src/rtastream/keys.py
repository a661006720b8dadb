"""The Redis key layout of the RTA live stream: the one place that names keys and fields.

docs/protocol.md reads the public description as one Hash per session (`sessions:<identity>`);
if a Stream Service expects another layout, this module is what changes.
"""

from __future__ import annotations

STREAMS = "streams"
"""Set of every stream name (without the prefix); the trimmer trims only these."""

LAST_STREAM_SESSION_ID = "lastStreamSessionId"
"""Counter: INCRBY 1 gives a new stream session id."""

STREAM_PREFIX = "stream:"
SESSION_PREFIX = "sessions:"
CONFIG_PREFIX = "configs:"
"""rtastream's addition: `configs:<identifier>`, a string holding a configuration's JSON,
written once (SET NX) and never expiring, since it outlives every session bound to it."""

# Fields of a stream entry.
ENTRY_ID = "id"
ENTRY_DATA = "data"

# Fields of a session hash.
STREAM_SESSION_ID = "streamSessionId"
STREAM_NAME = "streamName"
STREAM_POSITION = "streamPosition"
LAST_UPDATED = "lastUpdated"
JSON = "json"
T_START = "tStart"
T_END = "tEnd"

DEFAULT_SESSION_TTL = 24 * 3600
"""Seconds a session hash lives after its last update."""

HEARTBEAT_INTERVAL = 2.0
"""Seconds: a writer refreshes an open session's `lastUpdated` at least this often, with or
without data (the heartbeat)."""

STALE_AFTER = 15.0
"""Seconds: an open session whose `lastUpdated` is older has lost its writer (killed, cut
off): `inspect` and `serve` show it as `stale`."""

ABANDON_AFTER = 4 * STALE_AFTER
"""Seconds: an open session with no heartbeat and no entry for this long is compacted by
`rtastream record` as `abandoned` (its writer is taken for gone)."""

NO_STREAM_POSITION = "0-0"


def stream_key(name: str) -> str:
    return STREAM_PREFIX + name


def session_key(identity: str) -> str:
    return SESSION_PREFIX + identity


def config_key(identifier: str) -> str:
    return CONFIG_PREFIX + identifier


def session_identity(key: str | bytes) -> str:
    """The identity of a `sessions:<identity>` key."""
    key = key.decode() if isinstance(key, bytes) else key
    if not key.startswith(SESSION_PREFIX):
        raise ValueError(f"{key!r} is not a session key")
    return key[len(SESSION_PREFIX) :]


SESSION_PATTERN = SESSION_PREFIX + "*"
"""SCAN pattern matching every session hash."""

CONFIG_PATTERN = CONFIG_PREFIX + "*"
"""SCAN pattern matching every published configuration."""

RECORDER_LEASE_PREFIX = "recorders:lease:"
"""String keys naming the recorder that writes a stream to a store (with an expiry)."""


def recorder_lease_key(stream: str) -> str:
    return RECORDER_LEASE_PREFIX + stream
