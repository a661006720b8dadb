"""A session's tables in the store (rtastream.store.tables) as arrays per channel and as
decoded items again: what the REST chunker takes (rtastream.chunks), whether a request is
served from the tables or their ready chunks are written at compaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from rtastream.decoding import DecodedItem, EventItem, PeriodicItem, RowItem, TimestampedItem
from rtastream.reader.entries import Series


def series_of(table: pa.Table) -> dict[int, Series]:
    """A sample table (sorted by channel, then time) split per channel."""
    if table.num_rows == 0:
        return {}
    channels = table["channel"].to_numpy()
    timestamps = table["timestamp"].to_numpy()
    values = _values(table["value"].combine_chunks())
    cuts = np.flatnonzero(channels[1:] != channels[:-1]) + 1
    bounds = zip(np.r_[0, cuts], np.r_[cuts, len(channels)], strict=True)
    return {int(channels[a]): Series(timestamps[a:b], values[a:b]) for a, b in bounds}


def _values(array: pa.Array) -> np.ndarray:
    if pa.types.is_fixed_size_binary(array.type):
        width = array.type.byte_width
        data = array.buffers()[1]
        raw = np.frombuffer(data, dtype=f"V{width}", count=len(array) + array.offset)
        return raw[array.offset :]
    values: np.ndarray = array.to_numpy(zero_copy_only=False)
    return values


def buffer_of(values: np.ndarray) -> memoryview:
    """The samples' bytes as written: little-endian, no copy where they are already."""
    if values.dtype.kind != "V":
        values = values.astype(values.dtype.newbyteorder("<"), copy=False)
    return np.ascontiguousarray(values).view(np.uint8).data


def timestamped_items(channel_id: int, series: Series) -> Iterator[DecodedItem]:
    yield TimestampedItem(channel_id, series.timestamps, buffer_of(series.values))


def periodic_items(channel_id: int, series: Series) -> Iterator[DecodedItem]:
    """Runs at one interval: a run ends where the step between samples changes (the
    store keeps each sample's time; any cut into runs gives the same times). A lone
    sample, and one at the time of the sample before it, is a run of its own at the
    channel's smallest step: an interval must be > 0, and any gives it the same time."""
    times, data = series.timestamps, buffer_of(series.values)
    width = len(data) // max(1, len(times))
    steps = np.diff(times)
    positive = steps[steps > 0]
    lone = int(positive.min()) if len(positive) else 1
    repeated = np.flatnonzero(steps == 0) + 1
    cuts = np.flatnonzero(steps[1:] != steps[:-1]) + 2
    starts = sorted({0, *cuts.tolist(), *repeated.tolist(), *(repeated + 1).tolist()})
    starts = [a for a in starts if a < len(times)]
    for a, b in zip(starts, [*starts[1:], len(times)], strict=True):
        interval = int(steps[a]) if b - a > 1 else lone
        yield PeriodicItem(channel_id, int(times[a]), interval, b - a, data[a * width : b * width])


def table_items(table: Any) -> Iterator[DecodedItem]:
    """Rows or events, from their table in the store."""
    columns = table.to_pydict()
    if "channels" in columns:
        for t, ids, data in zip(
            columns["timestamp"], columns["channels"], columns["data"], strict=True
        ):
            yield RowItem(ids, t, data)
        return
    for t, definition, status, app, raw in zip(
        columns.get("timestamp", ()),
        columns.get("definition_id", ()),
        columns.get("status_text", ()),
        columns.get("app_name", ()),
        columns.get("raw_data", ()),
        strict=True,
    ):
        yield EventItem(definition, t, status, np.asarray(raw, dtype=np.float64), app)


def sample_items(kind: str, series: Mapping[int, Series]) -> list[DecodedItem]:
    """The items of a sample kind ("timestamped" or "periodic") holding `series`."""
    made = periodic_items if kind == "periodic" else timestamped_items
    return [item for channel_id, s in series.items() for item in made(channel_id, s)]
