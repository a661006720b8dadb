"""The variants every encode workload runs side by side, each as a zero-argument callable.

rtastream builds a fresh Burst and packs it; the pure-Python path does the same job with
protobuf + numpy + python-lz4; the floors are what no encoder can beat: python-lz4
compressing the very bytes rtastream's encoder produced, and a plain copy of the values.
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
    """Add the workload's items and its time range to a Burst."""
    ts = w.timestamps
    if w.kind == "timestamped":
        burst.timestamped(w.channel_ids, ts, w.values)
    elif w.kind == "periodic":
        for channel, row in zip(w.channel_ids.tolist(), w.values):
            burst.periodic(channel, int(ts[0]), int(ts[1] - ts[0]), row)
    elif w.kind == "row":
        for t, row in zip(ts.tolist(), w.rows):
            burst.row(w.channel_ids, t, row)
    elif w.kind == "event":
        ts = event_timestamps(w)
        for i, (d, t, raw) in enumerate(zip(w.channel_ids.tolist(), ts.tolist(), w.values)):
            burst.event(d, t, event_text(i), raw, "bench")
    else:
        raise ValueError(f"unknown workload kind {w.kind!r}")
    burst.time_range(int(ts[0]), int(ts[-1]))


def rtastream_encoder(w: Workload) -> Callable[[], list[bytes]]:
    if w.kind == "timestamped":
        # Arrays bound once, as pure_python_encoder binds them: the same work is timed.
        ids, ts, values = w.channel_ids, w.timestamps, w.values

        def encode_timestamped() -> list[bytes]:
            burst = rtastream.Burst()
            burst.timestamped(ids, ts, values)
            burst.time_range(int(ts[0]), int(ts[-1]))
            return burst.pack()

        return encode_timestamped

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
    texts = [event_text(i) for i in range(w.channels)]
    ets = event_timestamps(w)
    return lambda: purepython.events(ids, ets, values, texts)


def encoded(w: Workload) -> bytes:
    """The workload's uncompressed StreamDataBurst, as rtastream encodes it."""
    burst = rtastream.Burst()
    fill(burst, w)
    return burst.encode()


def lz4_floor(w: Workload) -> Callable[[], bytes]:
    data = encoded(w)
    return lambda: lz4.block.compress(data, store_size=False)


def copy_floor(w: Workload) -> Callable[[], bytes]:
    values = w.values
    return values.tobytes


ENCODERS: dict[str, Callable[[Workload], Callable[[], object]]] = {
    "rtastream": rtastream_encoder,
    "pure-python": pure_python_encoder,
    "lz4 floor": lz4_floor,
    "copy floor": copy_floor,
}
