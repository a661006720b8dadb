"""The pure-Python twins of the native Burst and decoder, built on the official protobuf
classes and python-lz4.

Same API, same rules, same errors; slow but plainly correct. The test suite runs one set
of fixtures over both encoders and requires byte-identical output, and holds the native
decoder to the items decode() here reads, so this is the executable specification of the
native core.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np

try:  # test dependencies: the library itself encodes and decodes natively
    import lz4.block
    from google.protobuf.message import DecodeError

    from rtastream._proto import model_data_pb2 as model
    from rtastream._proto import net_stream_pb2 as stream
except ImportError:
    raise ImportError(
        "rtastream.reference (the pure-Python twins) needs python-lz4 and protobuf: "
        "pip install 'rtastream[test]'"
    ) from None

from rtastream import _columns as columns
from rtastream import decoding

Item = stream.StreamData


def _entry_size(item: Item) -> int:
    """Bytes the item takes in a StreamDataBurst, as a burst of its own."""
    size: int = stream.StreamDataBurst(data=[item]).ByteSize()
    return size


def _timestamped(channel: int, times: list[int], buffer: bytes) -> Item:
    steps = [b - a for a, b in pairwise(times)]
    scale = math.gcd(*steps) or 1
    return Item(
        timestamped_data=model.TimestampedData(
            channel_id=channel,
            start_timestamp=times[0],
            timestamp_deltas_scale=scale,
            timestamp_deltas=[0] + [s // scale for s in steps],
            buffer=buffer,
        )
    )


def _periodic(channel: int, start: int, interval: int, n: int, buffer: bytes) -> Item:
    return Item(
        periodic_data=model.PeriodicData(
            channel_id=channel, start_timestamp=start, interval=interval, samples=n, buffer=buffer
        )
    )


def _times(item: model.TimestampedData) -> list[int]:
    times, t = [], item.start_timestamp
    for d in item.timestamp_deltas:
        t += d * item.timestamp_deltas_scale
        times.append(t)
    return times


def _pieces(item: Item, bounds: list[tuple[int, int]]) -> list[Item]:
    """Samples [lo, hi) of a timestamped or periodic item, for each bound, as items."""
    if item.WhichOneof("data") == "periodic_data":
        d = item.periodic_data
        width = len(d.buffer) // d.samples
        return [
            _periodic(
                d.channel_id,
                d.start_timestamp + lo * d.interval,
                d.interval,
                hi - lo,
                d.buffer[lo * width : hi * width],
            )
            for lo, hi in bounds
        ]
    d = item.timestamped_data
    times, width = _times(d), len(d.buffer) // len(d.timestamp_deltas)
    return [
        _timestamped(d.channel_id, times[lo:hi], d.buffer[lo * width : hi * width])
        for lo, hi in bounds
    ]


def _samples(item: Item) -> int:
    kind = item.WhichOneof("data")
    if kind == "periodic_data":
        return item.periodic_data.samples
    if kind == "timestamped_data":
        return len(item.timestamped_data.timestamp_deltas)
    return 0


def _bounds(n: int, k: int) -> list[tuple[int, int]]:
    return [(n * j // k, n * (j + 1) // k) for j in range(k)]


def _split(item: Item, target: int) -> list[Item]:
    """An item within the target as is; a larger one in even pieces that fit. From
    k = size / target, a miss grows k in proportion to how far the largest piece overshot."""
    size, n = _entry_size(item), _samples(item)
    if size <= target or n <= 1:
        return [item]
    k = -(-size // target)
    while k < n:
        pieces = _pieces(item, _bounds(n, k))
        worst = max(_entry_size(p) for p in pieces)
        if worst <= target:
            return pieces
        k = max(k + 1, -(-k * worst // target))
    return _pieces(item, _bounds(n, n))


class Burst:
    """A StreamDataBurst under construction; see rtastream.Burst."""

    def __init__(self) -> None:
        self._items: list[Item] = []
        self._nbytes = 0

    def _append(self, item: Item, what: str | None = None) -> None:
        size = _entry_size(item)
        if what is not None and size > columns.MAX_MESSAGE:
            raise columns.too_large_error(what, size)
        self._items.append(item)
        self._nbytes += size

    def timestamped(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        ids, times, samples = columns.timestamped(channel_ids, timestamps, values)
        columns.check_order(times)
        ts = [int(t) for t in times]
        for lo in range(0, len(ts), columns.MAX_SAMPLES):
            hi = lo + columns.MAX_SAMPLES
            for channel, row in zip(ids, samples, strict=True):
                self._append(_timestamped(int(channel), ts[lo:hi], row[lo:hi].tobytes()))

    def periodic(self, channel_id: Any, start: Any, interval: Any, values: Any) -> None:
        channel, start, interval, samples = columns.periodic(channel_id, start, interval, values)
        for lo in range(0, len(samples), columns.MAX_SAMPLES):
            chunk = samples[lo : lo + columns.MAX_SAMPLES]
            self._append(
                _periodic(channel, start + lo * interval, interval, len(chunk), chunk.tobytes())
            )

    def periodics(self, channel_ids: Any, start: Any, interval: Any, values: Any) -> None:
        ids, start, interval, samples = columns.periodics(channel_ids, start, interval, values)
        for channel, row in zip(ids, samples, strict=True):
            self.periodic(int(channel), start, interval, row)

    def rows(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        ids, times, data = columns.rows(channel_ids, timestamps, values)
        for t, row in zip(times, data, strict=True):
            self.row(ids, int(t), row.tobytes())

    def events(
        self,
        definition_ids: Any,
        timestamps: Any,
        status_texts: Any = "",
        raw_data: Any = (),
        app_names: Any = "",
    ) -> None:
        ids, times, texts, raw, apps = columns.events(
            definition_ids, timestamps, status_texts, raw_data, app_names
        )
        for event in zip(ids.tolist(), times.tolist(), texts, raw, apps, strict=True):
            definition, t, text, numbers, app = event
            self.event(definition, t, text.decode(), numbers, app.decode())

    def row(self, channel_ids: Any, timestamp: Any, buffer: Any) -> None:
        ids = columns.channel_ids(channel_ids)
        timestamp = columns.integer(timestamp, "timestamp", columns.INT64)
        data = bytes(columns.row_buffer(buffer, len(ids)))
        row = model.RowData(channel_ids=[int(c) for c in ids], timestamp=timestamp, buffer=data)
        self._append(Item(row_data=row), "row")

    def event(
        self,
        definition_id: Any,
        timestamp: Any,
        status_text: str = "",
        raw_data: Any = (),
        app_name: str = "",
    ) -> None:
        event = model.Event(
            event_definition_id=columns.integer(
                definition_id, "definition_id", columns.INT32, "int32"
            ),
            timestamp=columns.integer(timestamp, "timestamp", columns.INT64),
            status_text=columns.text(status_text, "status_text").decode(),
            raw_data=columns.raw_data(raw_data).tolist(),
            app_name=columns.text(app_name, "app_name").decode(),
        )
        self._append(Item(event=event), "event")

    def time_range(self, start: Any, end: Any) -> None:
        start = columns.integer(start, "start", columns.INT64)
        end = columns.integer(end, "end", columns.INT64)
        if end < start:
            raise ValueError(f"time range ends before it starts: end {end} < start {start}")
        self._append(Item(time_range=stream.StreamTimeRange(start_time=start, end_time=end)))

    def session_json(self, text: Any) -> None:
        self._append(Item(session_json=columns.session_json(text).decode()), "session_json")

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._nbytes = 0

    def encode(self) -> bytes:
        data: bytes = stream.StreamDataBurst(data=self._items).SerializeToString()
        return data

    def pack_with_time_ranges(
        self, target: int = columns.DEFAULT_TARGET, threads: int | None = None
    ) -> list[tuple[bytes, tuple[int, int] | None]]:
        target = columns.target(target)
        if threads is not None:  # one thread here, whatever is asked: the output is the same
            columns.threads(threads)
        messages: list[list[Item]] = []
        size = 0
        for item in self._items:
            for piece in _split(item, target):
                piece_size = _entry_size(piece)
                if not messages or size + piece_size > target:
                    messages.append([])
                    size = 0
                messages[-1].append(piece)
                size += piece_size
        return [(_compress(items), _last_range(items)) for items in messages]

    def pack(self, target: int = columns.DEFAULT_TARGET, threads: int | None = None) -> list[bytes]:
        return [message for message, _ in self.pack_with_time_ranges(target, threads)]


def _compress(items: list[Item]) -> bytes:
    data = stream.StreamDataBurst(data=items).SerializeToString()
    block: bytes = lz4.block.compress(data, mode="default", store_size=False)
    return block


def _last_range(items: list[Item]) -> tuple[int, int] | None:
    ranges = [i.time_range for i in items if i.WhichOneof("data") == "time_range"]
    return (ranges[-1].start_time, ranges[-1].end_time) if ranges else None


def decode(message: Any, *, compressed: bool = True) -> list[decoding.DecodedItem]:
    """The items of one message, as rtastream.decode reads them, by protobuf and python-lz4."""
    if compressed:
        try:
            message = lz4.block.decompress(message, uncompressed_size=columns.MAX_MESSAGE)
        except lz4.block.LZ4BlockError:
            raise ValueError(
                "message is not an LZ4 raw block of at most 1 MiB (1048576 bytes) uncompressed: "
                "corrupt, truncated or oversize"
            ) from None
    burst = stream.StreamDataBurst()
    try:
        burst.ParseFromString(bytes(message))
    except DecodeError as exc:
        raise ValueError(f"not a valid StreamDataBurst: {exc}") from None
    return [_decoded(entry) for entry in burst.data]


def _wrapped_times(d: model.TimestampedData) -> np.ndarray:
    # int64 arithmetic wraps as the encoder's does: true timestamps always fit int64.
    deltas = np.array(d.timestamp_deltas, dtype=np.int64)
    with np.errstate(over="ignore"):
        return d.start_timestamp + np.cumsum(deltas * d.timestamp_deltas_scale, dtype=np.int64)


def _decoded(entry: Item) -> decoding.DecodedItem:
    kind = entry.WhichOneof("data")
    if kind == "timestamped_data":
        d = entry.timestamped_data
        return decoding.TimestampedItem(d.channel_id, _wrapped_times(d), d.buffer)
    if kind == "periodic_data":
        d = entry.periodic_data
        return decoding.PeriodicItem(
            d.channel_id, d.start_timestamp, d.interval, d.samples, d.buffer
        )
    if kind == "row_data":
        d = entry.row_data
        return decoding.RowItem(d.channel_ids, d.timestamp, d.buffer)
    if kind == "event":
        d = entry.event
        return decoding.EventItem(
            d.event_definition_id, d.timestamp, d.status_text, d.raw_data, d.app_name
        )
    if kind == "time_range":
        return decoding.TimeRangeItem(entry.time_range.start_time, entry.time_range.end_time)
    if kind == "session_json":
        return decoding.SessionJsonItem(entry.session_json)
    raise ValueError("not a valid StreamDataBurst: a StreamData holds no data")
