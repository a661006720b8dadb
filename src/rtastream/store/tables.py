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


def stem_of(kind: str, dtype: np.dtype | None, width: int) -> str:
    """The file stem of a channel's samples of one kind and width: in its configured
    dtype, or as bytes when no configuration gives one or its size is not the width."""
    if dtype is not None and dtype.itemsize != width:
        dtype = None  # the configuration disagrees with the message: keep the bytes
    return f"{kind}.{type_name(dtype, width)}"


def typed(table: pa.Table, name: str) -> pa.Table:
    """A sample table whose values are bytes (fixed_size_binary) in value type `name`:
    the same buffer read as that type (samples are little-endian, as the messages carry
    them)."""
    if name.startswith("bytes"):
        return table
    raw = table["value"].combine_chunks()
    width = raw.type.byte_width
    data = np.frombuffer(raw.buffers()[1], dtype=np.uint8, count=(raw.offset + len(raw)) * width)
    values = data[raw.offset * width :].view(np.dtype(name).newbyteorder("<"))
    columns = [table["channel"], table["timestamp"], pa.array(values)]
    return pa.table(columns, schema=sample_schema(name))


@dataclass
class Samples:
    """Samples of one kind and width, item by item as they came (in stream order)."""

    width: int
    channels: list[int] = field(default_factory=list)
    timestamps: list[np.ndarray] = field(default_factory=list)
    values: list[bytes] = field(default_factory=list)

    def table(self) -> pa.Table:
        """The samples sorted by channel, then time (stable), their values as bytes
        (taken: see channel_tables)."""
        return pa.concat_tables([table for _, table in self.channel_tables()])

    def channel_tables(self) -> Iterator[tuple[int, pa.Table]]:
        """Each channel's samples sorted by time (stable), their values as bytes, in
        channel order. The samples are taken: each channel's are let go of once its table
        is made, so that the samples and their sorted copy are not all held at once."""
        items: dict[int, list[int]] = {}
        for i, channel in enumerate(self.channels):
            items.setdefault(channel, []).append(i)
        schema = sample_schema(type_name(None, self.width))
        for channel, found in sorted(items.items()):
            timestamps = np.concatenate([self.timestamps[i] for i in found])
            data = pa.py_buffer(b"".join([self.values[i] for i in found]))
            for i in found:
                self.timestamps[i], self.values[i] = _TAKEN, b""
            values = pa.Array.from_buffers(pa.binary(self.width), len(timestamps), [None, data])
            channels = pa.array(np.full(len(timestamps), channel, dtype=np.uint32))
            table = pa.table([channels, pa.array(timestamps), values], schema=schema)
            if (np.diff(timestamps) < 0).any():  # rare: the samples themselves are sorted
                table = table.take(pa.array(np.argsort(timestamps, kind="stable")))
            yield channel, table


_TAKEN = np.empty(0, dtype=np.int64)


@dataclass
class SessionTables:
    """Everything a session's items say, gathered as they come (in stream order)."""

    dtypes: Mapping[int, np.dtype | None]
    samples: dict[tuple[str, int], Samples] = field(default_factory=dict)
    held: int = 0  # bytes of the samples gathered
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
        kind = "timestamped" if isinstance(item, TimestampedItem) else "periodic"
        samples = self.samples.get((kind, width))
        if samples is None:
            samples = self.samples[kind, width] = Samples(width)
        samples.channels.append(item.channel_id)
        samples.timestamps.append(timestamps)
        samples.values.append(data)
        self.held += len(data) + timestamps.nbytes

    def take_samples(self) -> dict[tuple[str, int], Samples]:
        """The samples gathered so far, let go of here."""
        taken, self.samples, self.held = self.samples, {}, 0
        return taken

    def tables(self) -> dict[str, pa.Table]:
        """The session's tables by file stem: `<kind>.<type>`, rows, events, history."""
        found: dict[str, pa.Table] = {}
        for (kind, width), samples in sorted(self.samples.items()):
            table = samples.table()
            channels = table["channel"].to_numpy()
            present = np.unique(channels).tolist()
            stems = [stem_of(kind, self.dtypes.get(c), width) for c in present]
            for stem in sorted(set(stems)):
                mine = [c for c, s in zip(present, stems, strict=True) if s == stem]
                whole = len(mine) == len(present)
                part = table if whole else table.filter(np.isin(channels, mine))
                found[stem] = typed(part, stem.split(".", 1)[1])
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
