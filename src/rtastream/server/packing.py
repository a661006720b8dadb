"""Server messages: decoded items packed again by the native encoder.

A channel's dtype lives in configuration, not in the message; an unsigned integer of the
sample's width carries its bytes exactly, so items are re-encoded without knowing it.
"""

from __future__ import annotations

import logging

import numpy as np

from rtastream import (
    Burst,
    DecodedItem,
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    TimeRangeItem,
    TimestampedItem,
)

TARGET = 65536  # bytes of StreamDataBurst before compression, as the protocol asks
log = logging.getLogger("rtastream.server")


def _raw(buffer: bytes | memoryview, samples: int) -> np.ndarray | None:
    """The samples as unsigned integers of their width (None: no whole width)."""
    size = memoryview(buffer).nbytes
    if samples <= 0 or size % samples or size // samples not in (1, 2, 4, 8):
        return None
    return np.frombuffer(buffer, dtype=f"<u{size // samples}")


def add(burst: Burst, item: DecodedItem) -> None:
    """Append one decoded item to the burst as it was (items without samples carry nothing)."""
    if isinstance(item, TimestampedItem):
        values = _raw(item.buffer, len(item.timestamps))
        if values is not None:
            burst.timestamped(item.channel_id, item.timestamps, values)
        elif len(item.timestamps):
            log.warning(
                "channel %d: %d bytes for %d samples is no sample width; not sent",
                item.channel_id,
                memoryview(item.buffer).nbytes,
                len(item.timestamps),
            )
    elif isinstance(item, PeriodicItem):
        values = _raw(item.buffer, item.samples)
        if values is not None:
            burst.periodic(item.channel_id, item.start, item.interval, values)
        elif item.samples:
            log.warning(
                "channel %d: %d bytes for %d samples is no sample width; not sent",
                item.channel_id,
                memoryview(item.buffer).nbytes,
                item.samples,
            )
    elif isinstance(item, RowItem):
        burst.row(list(item.channel_ids), item.timestamp, bytes(item.buffer))
    elif isinstance(item, EventItem):
        burst.event(
            item.definition_id, item.timestamp, item.status_text, item.raw_data, item.app_name
        )
    elif isinstance(item, TimeRangeItem):
        burst.time_range(item.start, item.end)
    elif isinstance(item, SessionJsonItem):
        burst.session_json(item.text)


def pack(items: list[DecodedItem]) -> list[bytes]:
    """The items as messages of about TARGET bytes each before compression."""
    burst = Burst()
    for item in items:
        add(burst, item)
    return burst.pack(TARGET) if len(burst) else []


def session_json(text: str) -> bytes:
    burst = Burst()
    burst.session_json(text)
    return burst.pack(TARGET)[0]


def time_range(start: int, end: int) -> bytes:
    burst = Burst()
    burst.time_range(start, end)
    return burst.pack(TARGET)[0]
