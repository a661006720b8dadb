"""Reading bursts back: messages into typed items, by the native decoder.

The wire format is parsed in C (cext/parse.c), with no protobuf objects. Sample values are
zero-copy, read-only views of the decompressed message; timestamps, a row's channel ids
and an event's raw data are computed the first time they are read. Corrupt input raises
ValueError. rtastream.reference.decode is the pure-Python twin, built on the official
protobuf classes: the tests hold the two to the same items.
"""

from __future__ import annotations

from typing import TypeAlias

from rtastream._native import (
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    TimeRangeItem,
    TimestampedItem,
    decode,
)

DecodedItem: TypeAlias = (
    TimestampedItem | PeriodicItem | RowItem | EventItem | TimeRangeItem | SessionJsonItem
)

__all__ = [
    "DecodedItem",
    "EventItem",
    "PeriodicItem",
    "RowItem",
    "SessionJsonItem",
    "TimeRangeItem",
    "TimestampedItem",
    "decode",
]
