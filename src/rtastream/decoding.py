"""Reading bursts back: messages into typed items with numpy columns.

Decoding uses the official protobuf classes, never the native encoder, so whatever reads
Redis through this module is an independent check of what the encoder wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
from google.protobuf.message import DecodeError

from rtastream._native import unpack
from rtastream._proto import net_stream_pb2 as stream


def _samples(buffer: bytes, dtype: Any) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.itemsize == 0 or len(buffer) % dtype.itemsize:
        raise ValueError(f"a {len(buffer)}-byte buffer does not hold whole {dtype} samples")
    return np.frombuffer(buffer, dtype=dtype.newbyteorder("<"))


@dataclass(frozen=True)
class TimestampedItem:
    channel_id: int
    timestamps: np.ndarray  # int64 ns since the epoch
    buffer: bytes = field(repr=False)

    def values(self, dtype: Any) -> np.ndarray:
        """The samples as the channel's dtype (it lives in configuration, not the message)."""
        return _samples(self.buffer, dtype)


@dataclass(frozen=True)
class PeriodicItem:
    channel_id: int
    start: int
    interval: int
    samples: int
    buffer: bytes = field(repr=False)

    @property
    def timestamps(self) -> np.ndarray:
        return self.start + self.interval * np.arange(self.samples, dtype=np.int64)

    def values(self, dtype: Any) -> np.ndarray:
        return _samples(self.buffer, dtype)


@dataclass(frozen=True)
class RowItem:
    channel_ids: tuple[int, ...]
    timestamp: int
    buffer: bytes = field(repr=False)

    def values(self, dtype: Any) -> np.ndarray:
        """The row as a one-element structured array of the given (packed) dtype."""
        return _samples(self.buffer, dtype)


@dataclass(frozen=True)
class EventItem:
    definition_id: int
    timestamp: int
    status_text: str
    raw_data: np.ndarray  # float64
    app_name: str


@dataclass(frozen=True)
class TimeRangeItem:
    start: int
    end: int


@dataclass(frozen=True)
class SessionJsonItem:
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


DecodedItem = Union[TimestampedItem, PeriodicItem, RowItem, EventItem, TimeRangeItem, SessionJsonItem]


def _timestamps(data: Any) -> np.ndarray:
    # int64 arithmetic wraps like the encoder's: the true timestamps always fit int64.
    deltas = np.array(data.timestamp_deltas, dtype=np.int64)
    with np.errstate(over="ignore"):
        return data.start_timestamp + np.cumsum(deltas * data.timestamp_deltas_scale, dtype=np.int64)


def _item(entry: stream.StreamData) -> DecodedItem:
    kind = entry.WhichOneof("data")
    if kind == "timestamped_data":
        d = entry.timestamped_data
        return TimestampedItem(d.channel_id, _timestamps(d), d.buffer)
    if kind == "periodic_data":
        d = entry.periodic_data
        return PeriodicItem(d.channel_id, d.start_timestamp, d.interval, d.samples, d.buffer)
    if kind == "row_data":
        d = entry.row_data
        return RowItem(tuple(d.channel_ids), d.timestamp, d.buffer)
    if kind == "event":
        d = entry.event
        raw = np.array(d.raw_data, dtype=np.float64)
        return EventItem(d.event_definition_id, d.timestamp, d.status_text, raw, d.app_name)
    if kind == "time_range":
        return TimeRangeItem(entry.time_range.start_time, entry.time_range.end_time)
    if kind == "session_json":
        return SessionJsonItem(entry.session_json)
    raise ValueError("burst holds a StreamData with no data set")


def parse(data: bytes) -> stream.StreamDataBurst:
    """An uncompressed StreamDataBurst as the protobuf message."""
    burst = stream.StreamDataBurst()
    try:
        burst.ParseFromString(bytes(data))
    except DecodeError as exc:
        raise ValueError(f"not a valid StreamDataBurst: {exc}") from None
    return burst


def decode(message: Any, *, compressed: bool = True) -> list[DecodedItem]:
    """The items of one message, in order.

    `message` is what the writer put in Redis (an LZ4 raw block), the uncompressed bytes
    with compressed=False, or a StreamDataBurst protobuf message.
    """
    if isinstance(message, stream.StreamDataBurst):
        burst = message
    else:
        burst = parse(unpack(message) if compressed else message)
    return [_item(entry) for entry in burst.data]
