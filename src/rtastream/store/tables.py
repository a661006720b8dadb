"""A session's decoded items as Arrow tables: the schema of the store's session files.

Samples (timestamped and periodic items) become one row per sample: `channel` (uint32),
`timestamp` (int64 ns since the epoch) and `value`, in the channel's own type when a bound
configuration gives it (uint8 ... float64), else the exact bytes of each sample
(fixed_size_binary of the sample's width, as the message carries it). One table per kind
and value type ("timestamped.float64", "periodic.bytes4"), sorted by channel then time
(stable: samples at one instant keep the order they were written in).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from rtastream.decoding import (
    DecodedItem,
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    TimeRangeItem,
    TimestampedItem,
)

SAMPLE_KINDS = ("timestamped", "periodic")
ROWS, EVENTS, HISTORY = "rows", "events", "history"

ROWS_SCHEMA = pa.schema(
    [
        ("timestamp", pa.int64()),
        ("channels", pa.list_(pa.uint32())),
        ("data", pa.binary()),  # the row's bytes: each channel's value, in channel order
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("timestamp", pa.int64()),
        ("definition_id", pa.uint32()),
        ("status_text", pa.string()),
        ("app_name", pa.string()),
        ("raw_data", pa.list_(pa.float64())),
    ]
)
HISTORY_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),  # the stream entry that carried the update
        ("json", pa.string()),  # the Session JSON exactly as streamed
    ]
)


def type_name(dtype: np.dtype | None, width: int) -> str:
    """The value type of a file: a numpy dtype name, or bytesN for samples of N bytes."""
    return dtype.name if dtype is not None else f"bytes{width}"


def arrow_type(name: str) -> pa.DataType:
    if name.startswith("bytes"):
        return pa.binary(int(name[5:]))
    return pa.from_numpy_dtype(np.dtype(name))


def sample_schema(name: str) -> pa.Schema:
    return pa.schema(
        [("channel", pa.uint32()), ("timestamp", pa.int64()), ("value", arrow_type(name))]
    )


@dataclass
class _Samples:
    """Samples of one kind and value type, item by item as they came (in stream order)."""

    channels: list[int] = field(default_factory=list)
    timestamps: list[np.ndarray] = field(default_factory=list)
    values: list[bytes] = field(default_factory=list)

    def table(self, name: str) -> pa.Table:
        """The samples sorted by channel, then time (stable). Items are put in channel order
        (a stable sort of the items, not of the samples); only when some channel's
        samples then go back in time are the samples themselves sorted."""
        order = sorted(range(len(self.channels)), key=self.channels.__getitem__)
        counts = np.array([len(self.timestamps[i]) for i in order], dtype=np.int64)
        channels = np.repeat(np.array([self.channels[i] for i in order], dtype=np.uint32), counts)
        timestamps = np.concatenate([self.timestamps[i] for i in order])
        data = b"".join([self.values[i] for i in order])
        kind = arrow_type(name)
        if name.startswith("bytes"):
            values = pa.Array.from_buffers(kind, len(timestamps), [None, pa.py_buffer(data)])
        else:
            values = pa.array(np.frombuffer(data, dtype=np.dtype(name).newbyteorder("<")))
        table = pa.table(
            [pa.array(channels), pa.array(timestamps), values], schema=sample_schema(name)
        )
        back = (np.diff(timestamps) < 0) & (channels[1:] == channels[:-1])
        if back.any():
            table = table.take(pa.array(np.lexsort((timestamps, channels))))
        return table


@dataclass
class SessionTables:
    """Everything a session's items say, gathered as they come (in stream order)."""

    dtypes: Mapping[int, np.dtype | None]
    samples: dict[tuple[str, str], _Samples] = field(default_factory=dict)
    rows: list[tuple[int, tuple[int, ...], bytes]] = field(default_factory=list)
    events: list[EventItem] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    time_range: tuple[int, int] | None = None

    def add(self, entry_id: str, items: Iterable[DecodedItem]) -> None:
        for item in items:
            if isinstance(item, (TimestampedItem, PeriodicItem)):
                self._add_samples(item)
            elif isinstance(item, RowItem):
                self.rows.append((item.timestamp, item.channel_ids, bytes(item.buffer)))
            elif isinstance(item, EventItem):
                self.events.append(item)
            elif isinstance(item, SessionJsonItem):
                self.history.append((entry_id, item.text))
            elif isinstance(item, TimeRangeItem):
                self.time_range = (item.start, item.end)

    def _add_samples(self, item: TimestampedItem | PeriodicItem) -> None:
        timestamps = np.asarray(item.timestamps, dtype=np.int64)
        if not len(timestamps):
            return
        data = bytes(item.buffer)
        width = len(data) // len(timestamps)
        dtype = self.dtypes.get(item.channel_id)
        if dtype is not None and dtype.itemsize != width:
            dtype = None  # the configuration disagrees with the message: keep the bytes
        kind = "timestamped" if isinstance(item, TimestampedItem) else "periodic"
        samples = self.samples.setdefault((kind, type_name(dtype, width)), _Samples())
        samples.channels.append(item.channel_id)
        samples.timestamps.append(timestamps)
        samples.values.append(data)

    def tables(self) -> dict[str, pa.Table]:
        """The session's tables by file stem: `<kind>.<type>`, rows, events, history."""
        found = {
            f"{kind}.{name}": samples.table(name)
            for (kind, name), samples in sorted(self.samples.items())
        }
        if self.rows:
            self.rows.sort(key=lambda row: row[0])  # stable: rows at one instant keep order
            timestamps, channels, data = zip(*self.rows, strict=True)
            found[ROWS] = pa.table(
                [pa.array(timestamps), pa.array(channels), pa.array(data)], schema=ROWS_SCHEMA
            )
        if self.events:
            events = sorted(self.events, key=lambda event: event.timestamp)
            found[EVENTS] = pa.table(
                [
                    pa.array([e.timestamp for e in events]),
                    pa.array([e.definition_id for e in events]),
                    pa.array([e.status_text for e in events]),
                    pa.array([e.app_name for e in events]),
                    pa.array([e.raw_data for e in events], type=pa.list_(pa.float64())),
                ],
                schema=EVENTS_SCHEMA,
            )
        if self.history:
            ids, texts = zip(*self.history, strict=True)
            found[HISTORY] = pa.table([pa.array(ids), pa.array(texts)], schema=HISTORY_SCHEMA)
        return found

    def sample_range(self) -> tuple[int, int] | None:
        """(first, last) timestamp of every sample, row and event."""
        ends = [(int(t.min()), int(t.max())) for s in self.samples.values() for t in s.timestamps]
        ends += [(row[0], row[0]) for row in self.rows]
        ends += [(e.timestamp, e.timestamp) for e in self.events]
        if not ends:
            return None
        return min(start for start, _ in ends), max(end for _, end in ends)


# --- channel types from configurations -----------------------------------------------

_CONFIG_TYPES = {
    "u8": "uint8",
    "s8": "int8",
    "u16": "uint16",
    "s16": "int16",
    "u32": "uint32",
    "s32": "int32",
    "f32": "float32",
    "f64": "float64",
}
"""RTA configuration channel types with a numpy twin (3f32, three floats, is kept as bytes)."""


def _config_channels(bound: Iterable[tuple[Any, int]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(channel id in the stream, channel) of bound configurations: (configuration JSON,
    channel offset) pairs. A configuration maps application names to applications, whose
    `channels` list `id`, `type`, `name`; a channel's id in the stream is its id plus the
    offset. Parts that are not shaped so are passed over."""
    for config, offset in bound:
        applications = config.values() if isinstance(config, dict) else ()
        for application in applications:
            channels = application.get("channels") if isinstance(application, dict) else None
            for channel in channels if isinstance(channels, list) else ():
                if isinstance(channel, dict) and isinstance(channel.get("id"), int):
                    yield channel["id"] + offset, channel


def bound_configurations(
    record: Mapping[str, Any], config: Callable[[str], str | None]
) -> list[tuple[Any, int]]:
    """(configuration JSON, channel offset) of each of a session record's bindings whose
    configuration `config` (identifier -> JSON text, or None) has and can read."""
    bound = []
    for binding in record.get("config_bindings", []):
        identifier = binding.get("identifier") if isinstance(binding, dict) else None
        text = config(identifier) if isinstance(identifier, str) else None
        if text is not None:
            try:
                bound.append((json.loads(text), int(binding.get("channelOffset", 0))))
            except ValueError:
                continue
    return bound


def channel_dtypes(bound: Iterable[tuple[Any, int]]) -> dict[int, np.dtype | None]:
    """Each channel's dtype in bound configurations (type default f64); None marks a type
    with no numpy twin."""
    found: dict[int, np.dtype | None] = {}
    for channel_id, channel in _config_channels(bound):
        name = _CONFIG_TYPES.get(str(channel.get("type", "f64")))
        found[channel_id] = np.dtype(name) if name else None
    return found


def channel_names(bound: Iterable[tuple[Any, int]]) -> dict[int, str]:
    """Each named channel's name in bound configurations."""
    return {
        channel_id: channel["name"]
        for channel_id, channel in _config_channels(bound)
        if isinstance(channel.get("name"), str)
    }
