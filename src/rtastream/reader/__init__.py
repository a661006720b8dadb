"""Reading RTA sessions back from Redis: one session from its start, following it live, or
a whole stream; decoded items, per-channel arrays, bad entries reported and skipped.

The reading rules are written once as flows without I/O (flow.py, plans.py, records.py);
sync.py and aio.py drive them with redis-py and redis.asyncio.
"""

from rtastream.reader.aio import AsyncSessionReader, AsyncStreamReader
from rtastream.reader.entries import CLOSED_STATES, BadEntry, Entry, Series, collect
from rtastream.reader.plans import SessionNotFound
from rtastream.reader.records import SessionRecord, StreamRecord
from rtastream.reader.sync import SessionReader, StreamReader

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
]
