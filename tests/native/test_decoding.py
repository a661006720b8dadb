"""The native decoder against its pure-Python twin (protobuf + python-lz4), and its rules:
zero-copy values, items checked against their buffers, clear errors."""

from __future__ import annotations

import gc
import re

import numpy as np
import pytest
from google.protobuf.message import DecodeError
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
    SESSION_JSON,
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
    # A member number with another wire type is an unknown field, whatever it holds; so is
    # a known field of a member. Field number 0 is corrupt only where protobuf reads keys.
    "a member with another wire type, then the member": field(
        1, LEN, body(field(TIMESTAMPED, VARINT, 128), field(TIMESTAMPED, LEN, field(1, VARINT, 2)))
    ),
    "a member number as a group holding field number 0": field(
        1, LEN, body(field(TIMESTAMPED, START_GROUP, b"\x00\x00"), field(PERIODIC, LEN, b""))
    ),
    "field number 0 inside an unknown field's bytes": field(
        1, LEN, body(field(9, LEN, b"\x00\x00"), field(PERIODIC, LEN, b""))
    ),
    "a replaced member: field number 0 in a group, a known field of another type": field(
        1,
        LEN,
        body(
            field(ROW, LEN, field(2, START_GROUP, b"\x00\x00") + field(1, FIXED64, 3)),
            field(PERIODIC, LEN, b""),
        ),
    ),
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


# Reduced from a burst hypothesis found (tests/native/test_decode_fuzz.py): the native decoder read
# only the member that wins the oneof, but protobuf reads every member it meets.
REPLACED_MEMBER_CORRUPT = bytes(
    [
        0x0A, 0x05,  # StreamDataBurst.data (field 1, length-delimited), 5 bytes: a StreamData
        0x22, 0x01,  #   timestamped_data (field 4, length-delimited), 1 byte
        0x00,        #     a key of field number 0: the wire format is corrupt
        0x2A, 0x00,  #   periodic_data (field 5), empty: replaces the member before
    ]
)  # fmt: skip


def test_a_corrupt_member_replaced_by_a_later_one_is_refused():
    with pytest.raises(DecodeError, match="Wire format was corrupt"):
        stream.StreamDataBurst.FromString(REPLACED_MEMBER_CORRUPT)
    for data, compressed in (
        (REPLACED_MEMBER_CORRUPT, False),
        (rtastream.compress(REPLACED_MEMBER_CORRUPT), True),
    ):
        with pytest.raises(
            ValueError, match="^not a valid StreamDataBurst: invalid field key at byte 4$"
        ):
            rtastream.decode(data, compressed=compressed)


# Members that protobuf finds malformed, each replaced by an empty PeriodicData after it.
REPLACED = {
    "field number 0": (field(TIME_RANGE, LEN, b"\x00\x00"), "invalid field key at byte 4"),
    "truncated field": (field(TIMESTAMPED, LEN, b"\x11\x01"), "truncated fixed64 field at byte 4"),
    "end of a group not started": (
        field(TIMESTAMPED, LEN, b"\x0c"),
        "end of a group that was not started at byte 4",
    ),
    "wire type 6": (field(TIMESTAMPED, LEN, b"\x0e"), "invalid wire type at byte 4"),
    "groups too deep": (
        field(TIME_RANGE, LEN, b"\x4b" * 99 + b"\x4c" * 99),
        "groups nested too deep at byte 104",
    ),
    "deltas: a varint past the field": (
        field(TIMESTAMPED, LEN, field(4, LEN, b"\x80")),
        "malformed packed varint at byte 6",
    ),
    "row channels: an 11-byte varint": (
        field(ROW, LEN, field(1, LEN, b"\xff" * 10 + b"\x01")),
        "malformed packed varint at byte 6",
    ),
    "raw data: 7 bytes": (
        field(EVENT, LEN, field(5, LEN, bytes(7))),
        "packed doubles not a multiple of 8 bytes at byte 6",
    ),
    "session JSON not UTF-8": (
        field(SESSION_JSON, LEN, b"\xc3\x28"),
        "a string is not UTF-8 at byte 4",
    ),
    "status text not UTF-8": (
        field(EVENT, LEN, field(4, LEN, b"\xc3\x28")),
        "a string is not UTF-8 at byte 6",
    ),
    "app name a surrogate": (
        field(EVENT, LEN, field(2, LEN, b"\xed\xa0\x80")),
        "a string is not UTF-8 at byte 6",
    ),
}


@pytest.mark.parametrize("member, message", REPLACED.values(), ids=REPLACED.keys())
def test_every_member_is_read_even_one_replaced_later(member, message):
    data = field(1, LEN, member + field(PERIODIC, LEN, b""))
    with pytest.raises(DecodeError):
        stream.StreamDataBurst.FromString(data)
    with pytest.raises(
        ValueError, match="^" + re.escape(f"not a valid StreamDataBurst: {message}") + "$"
    ):
        rtastream.decode(data, compressed=False)


# Byte sequences and whether they are well-formed UTF-8 (the Unicode standard, table 3-7).
UTF8 = {
    b"": True,
    "é€😀".encode(): True,
    b"\xf4\x8f\xbf\xbf": True,  # U+10FFFF, the last code point
    b"\xc0\x80": False,  # overlong forms
    b"\xe0\x9f\xbf": False,
    b"\xf0\x8f\xbf\xbf": False,
    b"\xed\xa0\x80": False,  # a surrogate
    b"\xf4\x90\x80\x80": False,  # past U+10FFFF
    b"\xf5\x80\x80\x80": False,
    b"\x80": False,  # a continuation byte alone
    b"\xe2\x82": False,  # cut short
    b"\xe2\x28\xa1": False,  # a continuation byte missing
}


@pytest.mark.parametrize("text, valid", UTF8.items(), ids=[t.hex() for t in UTF8])
def test_strings_are_checked_as_protobuf_checks_them(text, valid):
    """Session JSON and event texts, in the member that wins and in one replaced, and an
    app name that a later one in the same Event replaces."""
    for data in (
        entry(SESSION_JSON, text),
        entry(EVENT, field(4, LEN, text)),
        field(1, LEN, field(SESSION_JSON, LEN, text) + field(PERIODIC, LEN, b"")),
        entry(EVENT, field(2, LEN, text) + field(2, LEN, b"app")),
    ):
        if valid:
            stream.StreamDataBurst.FromString(data)
            expected = reference.decode(data, compressed=False)
            assert rtastream.decode(data, compressed=False) == expected
        else:
            with pytest.raises(DecodeError, match="String field had bad UTF-8"):
                stream.StreamDataBurst.FromString(data)
            with pytest.raises(
                ValueError, match="^not a valid StreamDataBurst: a string is not UTF-8 at byte "
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
