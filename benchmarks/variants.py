"""The variants every encode workload runs side by side, each as a zero-argument callable.

rtastream fills a Burst (reused with clear(), as the writers do) and packs it; the
pure-Python path does the same job with protobuf + numpy + python-lz4; the floors are what
no encoder can beat: python-lz4 compressing the very bytes rtastream compresses (each
message), and a plain copy of the values.
Preparation (data generation, the floors' input) happens before timing.
"""

from __future__ import annotations

from collections.abc import Callable

import lz4.block
import numpy as np

import rtastream
from benchmarks import purepython
from benchmarks.workloads import Workload, event_text


def event_timestamps(w: Workload) -> np.ndarray:
    return w.timestamps[0] + np.arange(w.channels, dtype=np.int64) * 1_000_000


def fill(burst: rtastream.Burst, w: Workload) -> None:
    """Add the workload's items and its time range to a Burst, by the column APIs."""
    ts = w.timestamps
    if w.kind == "timestamped":
        burst.timestamped(w.channel_ids, ts, w.values)
    elif w.kind == "periodic":
        burst.periodics(w.channel_ids, int(ts[0]), int(ts[1] - ts[0]), w.values)
    elif w.kind == "row":
        burst.rows(w.channel_ids, ts, w.rows)
    elif w.kind == "event":
        ts = event_timestamps(w)
        burst.events(w.channel_ids.tolist(), ts, event_texts(w), w.values, "bench")
    else:
        raise ValueError(f"unknown workload kind {w.kind!r}")
    burst.time_range(int(ts[0]), int(ts[-1]))


def fill_per_item(burst: rtastream.Burst, w: Workload) -> None:
    """The same items, one call per item (periodic, row, event)."""
    ts = w.timestamps
    if w.kind == "periodic":
        for channel, row in zip(w.channel_ids.tolist(), w.values):
            burst.periodic(channel, int(ts[0]), int(ts[1] - ts[0]), row)
    elif w.kind == "row":
        for t, row in zip(ts.tolist(), w.rows):
            burst.row(w.channel_ids, t, row)
    else:
        ts = event_timestamps(w)
        for d, t, raw, text in zip(w.channel_ids.tolist(), ts.tolist(), w.values, event_texts(w)):
            burst.event(d, t, text, raw, "bench")
    burst.time_range(int(ts[0]), int(ts[-1]))


def event_texts(w: Workload) -> list[str]:
    return [event_text(i) for i in range(w.channels)]


def rtastream_encoder(w: Workload, filler: Callable = fill) -> Callable[[], list[bytes]]:
    """One Burst reused with clear(), as a writer keeps its bursts (warm buffers)."""
    burst = rtastream.Burst()

    def encode() -> list[bytes]:
        filler(burst, w)
        messages = burst.pack()
        burst.clear()
        return messages

    return encode


def fresh_burst_encoder(w: Workload) -> Callable[[], list[bytes]]:
    """A new Burst for every burst (cold buffers: allocation and first-touch page faults)."""
    def encode() -> list[bytes]:
        burst = rtastream.Burst()
        fill(burst, w)
        return burst.pack()

    return encode


def pure_python_encoder(w: Workload) -> Callable[[], bytes]:
    ids, ts, values = w.channel_ids, w.timestamps, w.values
    if w.kind == "timestamped":
        return lambda: purepython.timestamped(ids, ts, values)
    if w.kind == "periodic":
        return lambda: purepython.periodic(ids, ts, values)
    if w.kind == "row":
        return lambda: purepython.rows(ids, ts, w.rows)
    texts = event_texts(w)
    ets = event_timestamps(w)
    return lambda: purepython.events(ids, ets, values, texts)


def encoded(w: Workload) -> bytes:
    """The workload's uncompressed StreamDataBurst, as rtastream encodes it."""
    burst = rtastream.Burst()
    fill(burst, w)
    return burst.encode()


def messages(w: Workload) -> list[bytes]:
    """The uncompressed bytes of each message rtastream packs the workload into."""
    burst = rtastream.Burst()
    fill(burst, w)
    return [rtastream.unpack(m) for m in burst.pack()]


def lz4_floor(w: Workload) -> Callable[[], list[bytes]]:
    """python-lz4 compressing the very bytes rtastream compresses: each message's."""
    data = messages(w)
    return lambda: [lz4.block.compress(m, store_size=False) for m in data]


def lz4_one_block_floor(w: Workload) -> Callable[[], bytes]:
    """python-lz4 compressing the whole burst as one block (above 1 MiB no message can)."""
    data = encoded(w)
    return lambda: lz4.block.compress(data, store_size=False)


def copy_floor(w: Workload) -> Callable[[], bytes]:
    values = w.values
    return values.tobytes


ENCODERS: dict[str, Callable[[Workload], Callable[[], object]]] = {
    "rtastream": rtastream_encoder,
    "rtastream, fresh Burst": fresh_burst_encoder,
    "pure-python": pure_python_encoder,
    "lz4 floor": lz4_floor,
    "copy floor": copy_floor,
}
