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

import rtastream
from benchmarks import purepython
from benchmarks.workloads import Workload

Call = tuple[str, tuple]
"""A Burst method name and its arguments, prepared once (as the pure-Python path binds its
arrays once), so the timed code is the library's calls alone."""


def column_calls(w: Workload) -> list[Call]:
    """The workload's items by the column APIs, then its time range."""
    ts = w.timestamps
    if w.kind == "timestamped":
        call = ("timestamped", (w.channel_ids, ts, w.values))
    elif w.kind == "periodic":
        call = ("periodics", (w.channel_ids, int(ts[0]), int(ts[1] - ts[0]), w.values))
    elif w.kind == "row":
        call = ("rows", (w.channel_ids, ts, w.rows))
    elif w.kind == "event":
        call = ("events", (w.channel_ids, w.event_timestamps, w.event_texts, w.values, "bench"))
    else:
        raise ValueError(f"unknown workload kind {w.kind!r}")
    return [call, ("time_range", w.time_span)]


def per_item_calls(w: Workload) -> list[Call]:
    """The same items, one call per item (periodic, row, event)."""
    ts = w.timestamps
    if w.kind == "periodic":
        calls = [
            ("periodic", (c, int(ts[0]), int(ts[1] - ts[0]), row))
            for c, row in zip(w.channel_ids.tolist(), w.values, strict=True)
        ]
    elif w.kind == "row":
        calls = [
            ("row", (w.channel_ids, t, row)) for t, row in zip(ts.tolist(), w.rows, strict=True)
        ]
    else:
        calls = [
            ("event", (d, t, text, raw, "bench"))
            for d, t, raw, text in zip(
                w.channel_ids.tolist(),
                w.event_timestamps.tolist(),
                w.values,
                w.event_texts,
                strict=True,
            )
        ]
    return [*calls, ("time_range", w.time_span)]


def fill(burst: rtastream.Burst, w: Workload) -> None:
    """Add the workload's items and its time range to a Burst, by the column APIs."""
    for name, args in column_calls(w):
        getattr(burst, name)(*args)


def rtastream_encoder(w: Workload, plan: Callable = column_calls) -> Callable[[], list[bytes]]:
    """One Burst reused with clear(), as a writer keeps its bursts (warm buffers)."""
    burst = rtastream.Burst()
    calls = [(getattr(burst, name), args) for name, args in plan(w)]

    def encode() -> list[bytes]:
        for method, args in calls:
            method(*args)
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
    texts = w.event_texts
    ets = w.event_timestamps
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
    if len(data) == 1:  # no list around it: it would add to the floor's time
        (one,) = data
        return lambda: lz4.block.compress(one, store_size=False)
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
