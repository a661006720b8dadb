"""rtastream: stream live telemetry into Redis in the McLaren RTA protocol.

The native Burst encodes numpy columns into LZ4-compressed StreamDataBurst messages;
the writer appends them to Redis Streams and keeps the session records correct.
"""

from rtastream._native import Burst, compress, decompress, unpack
from rtastream._version import __version__
from rtastream.configuration import Configuration
from rtastream.decoding import (
    DecodedItem,
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    TimeRangeItem,
    TimestampedItem,
    decode,
)
from rtastream.errors import (
    RedisAuthenticationError,
    RedisCommandError,
    RedisRefused,
    RedisUnavailable,
    RtaStreamError,
)
from rtastream.reader import (
    AsyncSessionReader,  # deprecated: rtastream.aio.SessionReader
    SessionNotFound,
    SessionReader,
)
from rtastream.session import IllegalTransition, Session, SessionState
from rtastream.sigterm import Terminated, end_sessions_on_sigterm
from rtastream.writer import RedisStreamBuffer, StreamSession

__all__ = [
    "AsyncSessionReader",
    "Burst",
    "Configuration",
    "DecodedItem",
    "EventItem",
    "IllegalTransition",
    "PeriodicItem",
    "RedisAuthenticationError",
    "RedisCommandError",
    "RedisRefused",
    "RedisStreamBuffer",
    "RedisUnavailable",
    "RtaStreamError",
    "RowItem",
    "Session",
    "SessionJsonItem",
    "SessionNotFound",
    "SessionReader",
    "SessionState",
    "StreamSession",
    "Terminated",
    "TimeRangeItem",
    "TimestampedItem",
    "__version__",
    "compress",
    "decompress",
    "decode",
    "end_sessions_on_sigterm",
    "unpack",
]
