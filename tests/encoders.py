"""Helpers for the encoder tests: both encoders, and protobuf/lz4 as independent oracles."""

from __future__ import annotations

import lz4.block
import pytest

import rtastream
from rtastream import reference
from rtastream._proto import net_stream_pb2 as stream

ENCODERS = [
    pytest.param(rtastream.Burst, id="native"),
    pytest.param(reference.Burst, id="reference"),
]

MiB = 1 << 20


def parse(data: bytes) -> stream.StreamDataBurst:
    """Parse with the official protobuf library, and require canonical encoding:
    protobuf must serialize what it parsed back to the very same bytes."""
    burst = stream.StreamDataBurst()
    burst.ParseFromString(data)
    assert burst.SerializeToString() == data
    return burst


def lz4_unpack(message: bytes) -> bytes:
    """Decompress a message with python-lz4 (not our codec), capped at 1 MiB."""
    return lz4.block.decompress(message, uncompressed_size=MiB)


def build_both(calls) -> tuple[rtastream.Burst, reference.Burst]:
    """Apply the same calls (method name, args) to a native and a reference Burst."""
    bursts = rtastream.Burst(), reference.Burst()
    for burst in bursts:
        for name, args in calls:
            getattr(burst, name)(*args)
    return bursts
