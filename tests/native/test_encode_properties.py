"""Property tests: the native encoder against protobuf's own serialization.

Three independent checks on random bursts: native bytes == the protobuf-based twin's bytes;
protobuf parses them and re-serializes them identically (canonical encoding); and what
protobuf reads back is the input (timestamps, sample bytes, strings, numbers).
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import rtastream
from encoders import build_both, lz4_unpack, parse
from strategies import as_columns, calls, timestamped_call


def expected_scale(times):
    steps = [int(b) - int(a) for a, b in pairwise(times)]
    return math.gcd(*steps) or 1


@given(calls)
def test_native_bytes_equal_protobuf_twin(calls):
    native, twin = build_both(calls)
    data = native.encode()
    assert data == twin.encode()
    assert native.nbytes == len(data) == twin.nbytes
    assert len(native) == len(twin) == len(parse(data).data)


@given(timestamped_call())
def test_timestamped_reads_back_as_written(call):
    ids, times, values = as_columns(call)
    burst = rtastream.Burst()
    burst.timestamped(*call[1])
    items = [d.timestamped_data for d in parse(burst.encode()).data]
    chunks = [(lo, min(lo + 10_000, len(times))) for lo in range(0, len(times), 10_000)]
    assert len(items) == len(chunks) * len(ids)
    k = 0
    for lo, hi in chunks:
        for channel, row in zip(ids, values, strict=True):
            item = items[k]
            k += 1
            assert item.channel_id == channel
            assert item.start_timestamp == times[lo]
            assert item.timestamp_deltas_scale == expected_scale(times[lo:hi])
            rebuilt = np.cumsum(
                [0] + [int(d) * item.timestamp_deltas_scale for d in item.timestamp_deltas[1:]],
                dtype=object,
            )
            assert [item.start_timestamp + int(x) for x in rebuilt] == times[lo:hi].tolist()
            little = row[lo:hi].astype(row.dtype.newbyteorder("<"))
            assert item.buffer == little.tobytes()


@settings(max_examples=40)  # the twin splits slowly: fewer, still varied, examples
@given(calls, st.sampled_from([64, 1000, 4096, 65536]))
def test_pack_round_trips_through_python_lz4(calls, target):
    native, twin = build_both(calls)
    messages = native.pack(target)
    # Same messages as the twin's, decompressed by python-lz4 rather than our codec.
    assert [lz4_unpack(m) for m in messages] == [lz4_unpack(m) for m in twin.pack(target)]
    entries = [e for m in messages for e in parse(lz4_unpack(m)).data]
    _assert_same_data(entries, parse(native.encode()).data)
    for m in messages:
        size = len(lz4_unpack(m))
        assert size <= 1 << 20
        if len(parse(lz4_unpack(m)).data) > 1:
            assert size <= target


def _assert_same_data(pieces, whole):
    """Concatenating split pieces gives back exactly the items that went in: compare the
    two as flat sequences of samples (and of whole non-sample items)."""
    assert _flatten(pieces) == _flatten(whole)


def _flatten(entries):
    flat = []
    for entry in entries:
        kind = entry.WhichOneof("data")
        if kind == "timestamped_data":
            d = entry.timestamped_data
            t, times = d.start_timestamp, []
            for delta in d.timestamp_deltas:
                t += delta * d.timestamp_deltas_scale
                times.append(t)
        elif kind == "periodic_data":
            d = entry.periodic_data
            times = [d.start_timestamp + i * d.interval for i in range(d.samples)]
        else:
            flat.append(entry.SerializeToString())
            continue
        width = len(d.buffer) // len(times)
        flat += [
            (kind, d.channel_id, t, d.buffer[i * width : (i + 1) * width])
            for i, t in enumerate(times)
        ]
    return flat
