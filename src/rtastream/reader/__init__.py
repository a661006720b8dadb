"""Reading RTA sessions back from Redis: one session from its start, following it live, or
a whole stream; decoded items, per-channel arrays, bad entries reported and skipped.

The reading rules are written once as flows without I/O (flow.py, plans.py, records.py);
sync.py and aio.py drive them with redis-py and redis.asyncio. The queries about what Redis
holds are flows too: `run(client, list_sessions())`, `await run_async(client, read_session(id))`.
"""

from rtastream.reader.aio import AsyncSessionReader, AsyncStreamReader
from rtastream.reader.aio import run as run_async
from rtastream.reader.entries import (
    CLOSED_STATES,
    BadEntry,
    Entry,
    Series,
    collect,
    entry_time_ms,
    identity_of,
)
from rtastream.reader.plans import SessionNotFound
from rtastream.reader.records import (
    SessionRecord,
    StreamRecord,
    list_sessions,
    read_configuration,
    read_configurations,
    read_session,
    read_stream,
    scan_sessions,
    stream_names,
    stream_sessions,
)
from rtastream.reader.sync import SessionReader, StreamReader, run

__all__ = [
    "CLOSED_STATES",
    "AsyncSessionReader",
    "AsyncStreamReader",
    "BadEntry",
    "Entry",
    "Series",
    "SessionNotFound",
    "SessionReader",
    "SessionRecord",
    "StreamReader",
    "StreamRecord",
    "collect",
    "entry_time_ms",
    "identity_of",
    "list_sessions",
    "read_configuration",
    "read_configurations",
    "read_session",
    "read_stream",
    "run",
    "run_async",
    "scan_sessions",
    "stream_names",
    "stream_sessions",
]
