"""Decoding one message, natively and by the pure-Python twin, beside LZ4 decompression
alone (python-lz4 with the 1 MiB cap a reader must give it, and rtastream.unpack)."""

from __future__ import annotations

import lz4.block
import numpy as np
import pytest

import rtastream
from benchmarks import variants
from benchmarks.workloads import KIND_WORKLOADS, TYPICAL, Workload
from rtastream import reference

DECODE_WORKLOADS = [TYPICAL, Workload(64, 128, "irregular"), Workload(1000, 8), *KIND_WORKLOADS]


def native_decode_and_read(message: bytes):
    """decode, then what a reader does with every item: its timestamps and values."""

    def run():
        for item in rtastream.decode(message):
            if isinstance(item, (rtastream.TimestampedItem, rtastream.PeriodicItem)):
                item.timestamps, item.values(np.float64)

    return run


VARIANTS = {
    "rtastream": lambda m: lambda: rtastream.decode(m),
    "rtastream + timestamps and values": native_decode_and_read,
    "pure-python": lambda m: lambda: reference.decode(m),
    "lz4 floor": lambda m: lambda: lz4.block.decompress(m, uncompressed_size=1 << 20),
    "rtastream.unpack": lambda m: lambda: rtastream.unpack(m),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("w", DECODE_WORKLOADS, ids=lambda w: w.name.replace(" ", "-"))
def test_decode(benchmark, w, variant):
    burst = rtastream.Burst()
    variants.fill(burst, w)
    (message,) = burst.pack(1 << 20)
    benchmark.group = f"decode: {w.name}"
    benchmark.extra_info.update(
        variant=variant,
        workload=w.name,
        value_bytes=w.nbytes,
        message_bytes=len(message),
        items=len(burst),
    )
    benchmark(VARIANTS[variant](message))
