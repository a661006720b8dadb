"""Reading RTA sessions back from Redis: one session from its start, following it live, or
a whole stream; decoded items, per-channel arrays, bad entries reported and skipped.

The reading rules are written once as flows without I/O (flow.py, plans.py, records.py);
sync.py and aio.py drive them with redis-py and redis.asyncio, under the same names:
`SessionReader`, `StreamReader` and `run` here, their asyncio twins in rtastream.reader.aio
(as rtastream.aio is the writer's). The queries about what Redis holds are flows too:
`run(client, list_sessions())`, `await rtastream.reader.aio.run(client, read_session(id))`.
"""

from rtastream.reader import aio
from rtastream.reader.entries import BadEntry, Entry, Series, collect
from rtastream.reader.plans import SessionNotFound
from rtastream.reader.records import (
    SessionRecord,
    StreamRecord,
    list_sessions,
    read_session,
    read_stream,
    scan_sessions,
    stream_names,
    stream_sessions,
)
from rtastream.reader.sync import SessionReader, StreamReader, run

# The asyncio twins' former names, deprecated: kept for one release.
AsyncSessionReader = aio.SessionReader
AsyncStreamReader = aio.StreamReader
run_async = aio.run

__all__ = [
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
    "aio",
    "collect",
    "list_sessions",
    "read_session",
    "read_stream",
    "run",
    "run_async",
    "scan_sessions",
    "stream_names",
    "stream_sessions",
]
