"""`application/vnd.mat.protobuf+chunked`: samples cut into chunks, and chunks framed for
the wire. Sans-I/O.

Chunk boundaries depend only on the data, never on the request, so they are stable once a
session is closed: time is cut into buckets of BUCKET_NS aligned on the epoch, and a
bucket's samples of one channel into pieces of a fixed count (from the sample width) so a
list stays near LIST_BUDGET bytes. A request gets every piece that overlaps its range
(rounded outwards, as RTA's data operations specify), in ascending time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rtastream._native import Burst, compress
from rtastream._proto import model_data_pb2 as model
from rtastream._proto import net_chunks_pb2
from rtastream.channels import Channels
from rtastream.decoding import DecodedItem, EventItem, PeriodicItem, RowItem, TimestampedItem

BUCKET_NS = 10 * 10**9  # RTA asks for lists of 1 to 100 s
SAMPLES_PER_RESULT = 128  # RTA: SHOULD be up to 128, MUST NOT exceed 10 000
LIST_BUDGET = 64 * 1024  # RTA: SHOULD be up to 64 KiB before compression
LZ4 = 1  # the compression mode of every chunk
BLOCK = 1 << 20
"""Bytes of response gathered before they are handed on (one write per chunk costs more,
and a response holds about two blocks at a time)."""


@dataclass(frozen=True)
class Chunk:
    """One data list, serialized: `start` and `end` are its first and last sample times."""

    start: int
    end: int
    channel_ids: tuple[int, ...]
    payload: bytes


def frame(chunks: Iterable[Chunk]) -> Iterator[bytes]:
    """Each chunk on the wire: a 4-byte little-endian header length, the
    ChunkTransferHeader, the LZ4 raw block of the payload."""
    framer = Framer()
    for chunk in chunks:
        packed = compress(chunk.payload)
        yield framer.head(
            chunk.start, chunk.end, chunk.channel_ids, len(chunk.payload), len(packed)
        )
        yield packed


class Framer:
    """The headers of one response's chunks, in order. Start, duration (end - start) and
    compression are sent as differences from the previous chunk's."""

    def __init__(self) -> None:
        self.start = self.duration = self.compression = 0

    def head(
        self, start: int, end: int, channel_ids: Sequence[int], unpacked: int, packed: int
    ) -> bytes:
        """What goes before a chunk's packed payload (`packed` bytes, `unpacked` before)."""
        header: bytes = net_chunks_pb2.ChunkTransferHeader(
            chunk_start_time_delta=start - self.start,
            chunk_duration_delta=(end - start) - self.duration,
            channel_ids=channel_ids,
            compression_delta=LZ4 - self.compression,
            unpacked_length=unpacked,
            packed_length=packed,
        ).SerializeToString()
        self.start, self.duration, self.compression = start, end - start, LZ4
        return struct.pack("<i", len(header)) + header


def widen(start: int, end: int) -> tuple[int, int]:
    """The request range rounded outwards to whole buckets: what a source must supply."""
    return start - start % BUCKET_NS, end - end % BUCKET_NS + BUCKET_NS - 1


def _per_list(width: int) -> int:
    """Samples of this many bytes that fit a list, in whole results where possible."""
    count = max(1, LIST_BUDGET // width)
    return count - count % SAMPLES_PER_RESULT if count >= SAMPLES_PER_RESULT else count


def _bounds(times: np.ndarray, per_list: int) -> Iterator[tuple[int, int]]:
    """[i, j) of each piece: buckets cut every `per_list` samples (times ascending)."""
    buckets = times // BUCKET_NS
    edges = [0, *(np.flatnonzero(np.diff(buckets)) + 1).tolist(), len(times)]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        for i in range(a, b, per_list):
            yield i, min(b, i + per_list)


@dataclass(frozen=True)
class _Column:
    """One channel's samples, ascending and unique in time; values as unsigned integers
    of the sample width (the bytes as written: their type lives in configuration)."""

    times: np.ndarray  # int64
    values: np.ndarray  # <u1, <u2, <u4 or <u8
    intervals: np.ndarray  # int64: each sample's periodic interval (0 for timestamped)


def _columns(
    items: Iterable[DecodedItem], channels: Channels, lo: int, hi: int
) -> dict[int, _Column]:
    parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for item in items:
        if not isinstance(item, (TimestampedItem, PeriodicItem)) or item.channel_id not in channels:
            continue
        times = item.timestamps
        if not len(times):
            continue
        width = len(item.buffer) // len(times)  # 1, 2, 4 or 8: the decoder checked
        values = np.frombuffer(item.buffer, dtype=f"<u{width}")
        interval = item.interval if isinstance(item, PeriodicItem) else 0
        found = parts.setdefault(item.channel_id, [])
        if found and found[0][1].dtype != values.dtype:
            continue  # a channel has one sample width; another is a foreign message
        found.append((times, values, np.full(len(times), interval, dtype=np.int64)))
    columns = {}
    for channel_id, found in sorted(parts.items()):
        times = np.concatenate([t for t, _, _ in found])
        values = np.concatenate([v for _, v, _ in found])
        intervals = np.concatenate([i for _, _, i in found])
        if not np.all(times[1:] > times[:-1]):  # out of order or repeated: rare, and costly
            order = np.argsort(times, kind="stable")  # a repeated time: the first sent is kept
            first = np.ones(len(times), dtype=bool)
            first[1:] = times[order][1:] != times[order][:-1]
            pick = order[first]
            times, values, intervals = times[pick], values[pick], intervals[pick]
        a, b = np.searchsorted(times, lo, "left"), np.searchsorted(times, hi, "right")
        columns[channel_id] = _Column(times[a:b], values[a:b], intervals[a:b])
    return columns


def _overlaps(first: int, last: int, start: int, end: int) -> bool:
    return first <= end and last >= start


def timestamped_chunks(
    items: Iterable[DecodedItem], channels: Channels, start: int, end: int
) -> list[Chunk]:
    return _sample_chunks(items, channels, start, end, _timestamped_list, overhead=10)


def periodic_chunks(
    items: Iterable[DecodedItem], channels: Channels, start: int, end: int
) -> list[Chunk]:
    return _sample_chunks(items, channels, start, end, _periodic_list, overhead=0)


ListOf = Callable[[int, "_Column", int, int], bytes]


def _sample_chunks(
    items: Iterable[DecodedItem],
    channels: Channels,
    start: int,
    end: int,
    list_of: ListOf,
    overhead: int,
) -> list[Chunk]:
    """One channel a chunk; `overhead`: bytes a sample takes beside its value."""
    lo, hi = widen(start, end)
    chunks = []
    for channel_id, column in _columns(items, channels, lo, hi).items():
        for i, j in _bounds(column.times, _per_list(column.values.itemsize + overhead)):
            first, last = int(column.times[i]), int(column.times[j - 1])
            if _overlaps(first, last, start, end):
                payload = list_of(channel_id, column, i, j)
                chunks.append(Chunk(first, last, (channel_id,), payload))
    return sorted(chunks, key=lambda c: (c.start, c.channel_ids))


def _timestamped_list(channel_id: int, column: _Column, i: int, j: int) -> bytes:
    burst = Burst()
    for k in range(i, j, SAMPLES_PER_RESULT):
        end = min(j, k + SAMPLES_PER_RESULT)
        burst.timestamped(channel_id, column.times[k:end], column.values[k:end])
    return _as_list(burst.encode())


def _periodic_list(channel_id: int, column: _Column, i: int, j: int) -> bytes:
    burst = Burst()
    for a, b in _runs(column, i, j):
        # An interval of 0 (another writer's) is a lone sample here (its repeats were
        # dropped): any interval > 0 gives it its time, and the encoder refuses 0.
        interval = max(1, int(column.intervals[a]))
        burst.periodic(channel_id, int(column.times[a]), interval, column.values[a:b])
    return _as_list(burst.encode())


def _as_list(burst: bytes) -> bytes:
    """A StreamDataBurst of one kind of data as that kind's list: the native encoder builds
    the results, and each StreamData wrapper {field: result} becomes the list's field 1."""
    out: list[bytes] = []
    i = 0
    while i < len(burst):
        size, i = _varint(burst, i + 1)  # after StreamDataBurst.data's one-byte tag
        inner, start = _varint(burst, i + 1)  # after the StreamData field's one-byte tag
        out += (b"\x0a", _encode_varint(inner), burst[start : start + inner])
        i += size
    return b"".join(out)


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """The varint at i, and where it ends."""
    value = shift = 0
    while data[i] & 0x80:
        value |= (data[i] & 0x7F) << shift
        shift += 7
        i += 1
    return value | data[i] << shift, i + 1


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _runs(column: _Column, i: int, j: int) -> Iterator[tuple[int, int]]:
    """[a, b) of each result: samples at one interval, at most SAMPLES_PER_RESULT. A
    result ends where the step to the next sample is not its interval, or where the next
    sample's interval differs (a message at another rate, one interval after the last)."""
    steps = np.diff(column.times[i:j])
    intervals = column.intervals[i:j]
    ends = (steps != intervals[:-1]) | (intervals[1:] != intervals[:-1])
    breaks = np.flatnonzero(ends) + 1 + i
    edges = [i, *breaks.tolist(), j]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        for k in range(a, b, SAMPLES_PER_RESULT):
            yield k, min(b, k + SAMPLES_PER_RESULT)


def _pieces(times: Sequence[int], sizes: Sequence[int]) -> Iterator[tuple[int, int]]:
    """[i, j) of each piece of rows or events (times ascending): buckets cut near
    LIST_BUDGET bytes, never between two of one time, so pieces never overlap."""
    i = 0
    while i < len(times):
        bucket, size, j = times[i] // BUCKET_NS, 0, i
        while j < len(times) and times[j] // BUCKET_NS == bucket:
            if size + sizes[j] > LIST_BUDGET and j > i and times[j] != times[j - 1]:
                break
            size += sizes[j]
            j += 1
        yield i, j
        i = j


def row_chunks(
    items: Iterable[DecodedItem], channels: Channels, start: int, end: int
) -> list[Chunk]:
    """Whole rows holding any of the channels (a row's buffer cannot be cut without the
    channels' types, which live in configuration)."""
    lo, hi = widen(start, end)
    rows: dict[tuple[int, tuple[int, ...]], bytes] = {}
    for item in items:
        if (
            isinstance(item, RowItem)
            and lo <= item.timestamp <= hi
            and channels.any_of(item.channel_ids)
        ):
            rows.setdefault((item.timestamp, item.channel_ids), bytes(item.buffer))
    ordered = sorted(rows.items(), key=lambda row: row[0][0])
    times = [time for (time, _), _ in ordered]
    sizes = [len(buffer) + 6 * len(ids) + 16 for (_, ids), buffer in ordered]
    chunks = []
    for i, j in _pieces(times, sizes):
        if not _overlaps(times[i], times[j - 1], start, end):
            continue
        piece = ordered[i:j]
        payload = model.RowDataList(
            row_data=[
                model.RowData(channel_ids=ids, timestamp=t, buffer=b) for (t, ids), b in piece
            ]
        ).SerializeToString()
        ids = tuple(sorted({c for (_, row_ids), _ in piece for c in row_ids}))
        chunks.append(Chunk(times[i], times[j - 1], ids, payload))
    return chunks


class _Event(NamedTuple):
    timestamp: int
    definition_id: int
    app_name: str
    status_text: str
    raw_data: tuple[float, ...]

    @property
    def size(self) -> int:
        """About the bytes it serializes to."""
        return (
            32
            + len(self.app_name.encode())
            + len(self.status_text.encode())
            + 8 * len(self.raw_data)
        )


def event_chunks(items: Iterable[DecodedItem], start: int, end: int) -> list[Chunk]:
    lo, hi = widen(start, end)
    events: dict[_Event, None] = {}  # each event once (a writer may re-send), in order
    for item in items:
        if isinstance(item, EventItem) and lo <= item.timestamp <= hi:
            event = _Event(
                item.timestamp,
                item.definition_id,
                item.app_name,
                item.status_text,
                tuple(item.raw_data.tolist()),
            )
            events.setdefault(event, None)
    ordered = sorted(events, key=lambda event: event.timestamp)
    times = [event.timestamp for event in ordered]
    chunks = []
    for i, j in _pieces(times, [event.size for event in ordered]):
        if not _overlaps(times[i], times[j - 1], start, end):
            continue
        listed = [
            model.Event(
                timestamp=e.timestamp,
                event_definition_id=e.definition_id,
                app_name=e.app_name,
                status_text=e.status_text,
                raw_data=e.raw_data,
            )
            for e in ordered[i:j]
        ]
        payload = model.EventsList(events=listed).SerializeToString()
        chunks.append(Chunk(times[i], times[j - 1], (), payload))
    return chunks
