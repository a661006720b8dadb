"""The native decoder against its pure-Python twin (protobuf + python-lz4), and its rules:
zero-copy values, items checked against their buffers, clear errors."""

from __future__ import annotations

import gc
import re

import numpy as np
import pytest
from hypothesis import given

import rtastream
from encoders import build_both
from rtastream import reference
from rtastream._proto import net_stream_pb2 as stream
from strategies import as_columns, calls, timestamped_call
from wire import (
    EVENT,
    FIXED32,
    FIXED64,
    LEN,
    PERIODIC,
    ROW,
    START_GROUP,
    TIME_RANGE,
    TIMESTAMPED,
    VARINT,
    entry,
    field,
    varint,
)

DECODERS = [pytest.param(rtastream.decode, id="native"), pytest.param(reference.decode, id="twin")]


@given(calls)
def test_native_decoder_reads_what_the_twin_reads(calls):
    native, _ = build_both(calls)
    for message in native.pack(4096):
        assert rtastream.decode(message) == reference.decode(message)
    data = native.encode()
    assert rtastream.decode(data, compressed=False) == reference.decode(data, compressed=False)


@given(timestamped_call())
def test_timestamps_and_values_read_back_as_written(call):
    ids, times, values = as_columns(call)
    burst = rtastream.Burst()
    burst.timestamped(*call[1])
    items = rtastream.decode(burst.encode(), compressed=False)
    for j, row in enumerate(values):  # items: per 10 000 samples, one per channel in turn
        mine = items[j :: len(ids)]
        assert [i.channel_id for i in mine] == [ids[j]] * len(mine)
        assert np.concatenate([i.timestamps for i in mine]).tolist() == times.tolist()
        np.testing.assert_array_equal(np.concatenate([i.values(values.dtype) for i in mine]), row)


def test_values_are_read_only_views_of_the_decompressed_message():
    burst = rtastream.Burst()
    burst.timestamped([1, 2], [10, 20], np.arange(4.0).reshape(2, 2))
    first, second = rtastream.decode(burst.pack()[0])
    a, b = first.values(np.float64), second.values(np.float64)
    assert a.base is b.base and isinstance(a.base, bytes)
    assert not a.flags.writeable
    assert bytes(first.buffer) == a.tobytes() and first.buffer.readonly


def test_values_outlive_the_message_at_any_alignment_and_in_any_dtype_form():
    """Views are made in C (not by np.frombuffer): they hold the message, read values at
    any offset, and take the dtype in any form numpy does, in the wire's byte order."""
    burst = rtastream.Burst()
    for channel in range(1, 4):  # a channel id of a few bytes moves the next values along
        burst.timestamped(128**channel, [1, 2, 3], np.array([1.5, -2.0, 3.25]) * channel)
    burst.rows(range(3), [7], np.array([[1, 2, -3]], dtype=np.int16))
    burst.periodic(5, 0, 1, np.arange(3, dtype=np.uint8))
    items = rtastream.decode(burst.pack()[0])
    forms = [np.float64, "f8", "<f8", ">f8", np.dtype(">f8"), "float64"]
    views = [[i.values(form) for form in forms] for i in items[:3]]
    row = items[3].values([("a", "<i2"), ("b", ">i2"), ("c", "i2")])
    del burst, items
    gc.collect()
    for channel, same in enumerate(views, 1):
        for view in same:
            assert view.dtype == np.dtype("<f8") and not view.flags.writeable
            assert view.tolist() == [1.5 * channel, -2.0 * channel, 3.25 * channel]
    assert row.tolist() == [(1, 2, -3)] and row.dtype.names == ("a", "b", "c")


def test_an_item_without_samples_has_empty_values():
    item = rtastream.decode(entry(TIMESTAMPED, field(1, VARINT, 3)), compressed=False)[0]
    assert item.timestamps.tolist() == [] and item.values(np.int16).dtype == np.dtype("<i2")
    assert len(item.values(np.int16)) == 0


def body(*fields: bytes) -> bytes:
    return b"".join(fields)


# Protobuf allows all of these; the encoder writes none of them.
UNUSUAL = {
    "unpacked deltas, fields reversed": entry(
        TIMESTAMPED,
        body(
            field(5, LEN, bytes(16)),
            field(4, VARINT, 0),
            field(4, VARINT, 3),
            field(3, VARINT, 1000),
            field(2, FIXED64, 7),
            field(1, VARINT, 9),
        ),
    ),
    "packed and unpacked deltas mixed": entry(
        TIMESTAMPED,
        body(
            field(4, LEN, varint(0) + varint(2)),
            field(4, VARINT, 300),
            field(3, VARINT, 5),
            field(5, LEN, bytes(3)),
        ),
    ),
    "last scalar wins": entry(
        PERIODIC,
        body(
            field(1, VARINT, 1),
            field(1, VARINT, 2),
            field(4, VARINT, 3),
            field(3, VARINT, 10),
            field(5, LEN, bytes(1)),
            field(5, LEN, bytes(3)),
            field(2, FIXED64, 1),
            field(2, FIXED64, -5),
        ),
    ),
    "unknown fields of every wire type": entry(
        EVENT,
        body(
            field(9, VARINT, 1),
            field(10, FIXED64, 2),
            field(11, LEN, b"x"),
            field(12, FIXED32, 3),
            field(13, START_GROUP, field(1, VARINT, 4) + field(2, START_GROUP, b"")),
            field(1, VARINT, -3),
            field(5, FIXED64, 0x3FF0000000000000),
            field(5, LEN, bytes(8)),
            field(4, LEN, "é".encode()),
        ),
    ),
    "known field with another wire type": entry(
        ROW,
        body(
            field(1, LEN, varint(7) + varint(2**32 + 8)),
            field(1, VARINT, 9),
            field(2, VARINT, 5),
            field(3, FIXED64, 1),
            field(3, LEN, bytes(3)),
        ),
    ),
    "a later oneof member replaces an earlier one": field(
        1,
        LEN,
        body(
            field(TIME_RANGE, LEN, field(1, FIXED64, 1)),
            field(EVENT, LEN, field(1, VARINT, 5)),
            field(TIME_RANGE, LEN, field(2, FIXED64, 2)),
        ),
    ),
    "field number 0 inside a group": entry(TIME_RANGE, field(9, START_GROUP, b"\x00\x05\x02\x00")),
    "unknown top-level and StreamData fields": body(
        field(2, VARINT, 1),
        field(1, LEN, field(TIME_RANGE, LEN, b"") + field(1, FIXED64, 4)),
        field(15, LEN, b"zz"),
    ),
}


@pytest.mark.parametrize("data", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_protobuf_encodings_the_encoder_never_writes(data):
    expected = reference.decode(data, compressed=False)
    assert rtastream.decode(data, compressed=False) == expected
    assert rtastream.decode(rtastream.compress(data)) == expected


@pytest.mark.parametrize("decode", DECODERS)
def test_groups_nest_as_deep_as_protobuf_allows(decode):
    def nested(depth):  # groups inside a time range, itself two messages deep
        return entry(TIME_RANGE, b"\x4b" * depth + b"\x4c" * depth)

    assert decode(nested(98), compressed=False) == [rtastream.TimeRangeItem(0, 0)]
    with pytest.raises(ValueError, match="^not a valid StreamDataBurst: "):
        decode(nested(99), compressed=False)


def test_a_member_given_twice_is_refused():
    # protobuf merges the two; the native decoder refuses instead of guessing.
    data = field(1, LEN, field(TIME_RANGE, LEN, field(1, FIXED64, 1)) * 2)
    assert reference.decode(data, compressed=False) == [rtastream.TimeRangeItem(1, 0)]
    with pytest.raises(
        ValueError,
        match=r"^not a valid StreamDataBurst: a StreamData sets the same member twice at byte 15$",
    ):
        rtastream.decode(data, compressed=False)


LIES = {
    "periodic 2**31-1 samples in 8 bytes": (
        entry(PERIODIC, field(4, VARINT, 2**31 - 1) + field(5, LEN, bytes(8))),
        "PeriodicData of 2147483647 samples has a 8-byte buffer",
    ),
    "periodic negative samples": (
        entry(PERIODIC, field(4, VARINT, -1) + field(5, LEN, bytes(8))),
        "PeriodicData claims -1 samples",
    ),
    "periodic samples, no buffer": (
        entry(PERIODIC, field(4, VARINT, 2)),
        "PeriodicData of 2 samples has a 0-byte buffer",
    ),
    "timestamped 3-byte samples": (
        entry(TIMESTAMPED, field(4, LEN, bytes(2)) + field(5, LEN, bytes(6))),
        "TimestampedData of 2 samples has a 6-byte buffer",
    ),
    "timestamped values, no times": (
        entry(TIMESTAMPED, field(5, LEN, bytes(8))),
        "TimestampedData of 0 samples has a 8-byte buffer",
    ),
    "row too short": (
        entry(ROW, field(1, LEN, bytes(2)) + field(3, LEN, bytes(1))),
        "RowData of 2 channels has a 1-byte buffer",
    ),
    "row too long": (
        entry(ROW, field(1, LEN, bytes(1)) + field(3, LEN, bytes(9))),
        "RowData of 1 channels has a 9-byte buffer",
    ),
}


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("data, message", LIES.values(), ids=LIES.keys())
def test_an_item_that_lies_about_its_buffer_is_refused(decode, data, message):
    with pytest.raises(
        ValueError, match="^" + re.escape("not a valid StreamDataBurst: " + message)
    ):
        decode(data, compressed=False)


@pytest.mark.parametrize("decode", DECODERS)
def test_truncated_or_corrupt_bursts_are_refused(decode):
    good = entry(TIMESTAMPED, field(4, LEN, bytes(2)) + field(5, LEN, bytes(16)))
    for data in (
        good[:-1],
        good[:3],
        b"\x0a\xff\xff\xff",
        entry(EVENT, field(4, LEN, b"\xc3\x28")),
        b"\x0c",
        field(1, LEN, b"\x0b\x14"),
        b"\x88\x80\x80\x80\x80\x00\x01",
    ):
        with pytest.raises(ValueError, match="^not a valid StreamDataBurst: "):
            decode(data, compressed=False)


@pytest.mark.parametrize("compressed", [True, False])
def test_a_non_contiguous_or_non_buffer_message_is_a_type_error(compressed):
    data = rtastream.compress(bytes(8))
    with pytest.raises(
        TypeError,
        match=re.escape(
            "message must be a C-contiguous bytes-like object, not a non-contiguous memoryview"
        ),
    ):
        rtastream.decode(memoryview(data * 2)[::2], compressed=compressed)
    with pytest.raises(
        TypeError, match=re.escape("message must be a C-contiguous bytes-like object, not str")
    ):
        rtastream.decode("abc", compressed=compressed)
    with pytest.raises(
        TypeError,
        match=re.escape(
            "data must be a C-contiguous bytes-like object, not a non-contiguous memoryview"
        ),
    ):
        rtastream.compress(memoryview(data)[::2])


def test_any_bytes_like_message_and_protobuf_objects_are_accepted():
    burst = rtastream.Burst()
    burst.time_range(3, 4)
    data = burst.encode()
    parsed = stream.StreamDataBurst()
    parsed.ParseFromString(data)
    expected = [rtastream.TimeRangeItem(3, 4)]
    assert rtastream.decode(bytearray(data), compressed=False) == expected
    assert rtastream.decode(memoryview(data), compressed=False) == expected
    assert rtastream.decode(parsed) == expected
    assert rtastream.decode(bytearray(burst.pack()[0])) == expected


def test_values_in_a_dtype_of_another_width_is_an_error():
    burst = rtastream.Burst()
    burst.periodic(1, 0, 10, np.ones(4, dtype=np.float32))
    (item,) = rtastream.decode(burst.pack()[0])
    with pytest.raises(
        ValueError,
        match=re.escape("the buffer holds 4 samples of 4 bytes, not of float64 (8 bytes)"),
    ):
        item.values(np.float64)
    assert item.values(">f4").tolist() == [1.0] * 4  # read as the wire's little-endian
    assert item.timestamps.tolist() == [0, 10, 20, 30]
