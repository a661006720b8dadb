"""Bad input: a precise error naming the argument, the burst left as it was, no crash."""

from __future__ import annotations

import re

import numpy as np
import pytest

import rtastream
from encoders import ENCODERS, MiB, lz4_unpack
from rtastream import _columns as columns
from rtastream._proto import model_data_pb2 as model
from rtastream._proto import net_stream_pb2 as stream

T = np.arange(4, dtype=np.int64) * 1000
V = np.ones(4)


def raises(exc, message):
    return pytest.raises(exc, match=re.escape(message))


@pytest.fixture(params=ENCODERS)
def burst(request):
    burst = request.param()
    burst.time_range(1, 2)  # something already in it that must survive every error
    before = burst.encode()
    yield burst
    assert burst.encode() == before, "a failed call changed the burst"


@pytest.mark.parametrize(
    "values, dtype",
    [
        (np.array([object()] * 4, dtype=object), "object"),
        (np.ones(4, dtype=complex), "complex128"),
        (np.array(["a", "b", "c", "d"]), "<U1"),
        (np.ones(4, dtype=bool), "bool"),
        (np.ones(4, dtype=np.float16), "float16"),
        (np.zeros(4, dtype="datetime64[ns]"), "datetime64[ns]"),
    ],
    ids=["object", "complex", "str", "bool", "float16", "datetime"],
)
def test_value_dtypes_without_a_wire_type(burst, values, dtype):
    with raises(
        TypeError,
        f"values must have a fixed-width numeric dtype "
        f"(int8..int64, uint8..uint64, float32 or float64), not {dtype}",
    ):
        burst.timestamped(1, T, values)


def test_timestamps_must_be_integers(burst):
    with raises(
        TypeError,
        "timestamps must be integer nanoseconds since the Unix epoch or datetime64, not float64",
    ):
        burst.timestamped(1, T.astype(float), V)


def test_length_mismatch(burst):
    with raises(ValueError, "timestamps has 4 samples but values has 3 per channel"):
        burst.timestamped(1, T, V[:3])


def test_rows_differ_from_channel_list(burst):
    with raises(ValueError, "channel_ids has 3 ids but values has 2 rows"):
        burst.timestamped([1, 2, 3], T, np.ones((2, 4)))


def test_channel_ids_shape_must_match_values(burst):
    with raises(TypeError, "channel_ids must be a sequence of 2 ids when values is 2-D"):
        burst.timestamped(1, T, np.ones((2, 4)))
    with raises(TypeError, "channel_ids must be one integer id when values is 1-D"):
        burst.timestamped([1], T, V)


def test_more_than_two_dimensions(burst):
    with raises(ValueError, "values must be 1-D (one channel) or 2-D (channels, samples), got 3-D"):
        burst.timestamped([1], T, np.ones((1, 1, 4)))


def test_timestamps_going_backwards(burst):
    times = np.array([10, 20, 15, 30])
    with raises(ValueError, "timestamps go backwards at index 2: 15 < 20"):
        burst.timestamped(1, times, V)


def test_step_larger_than_int64(burst):
    times = np.array([-(2**63), 0, 1, 2])
    with raises(
        ValueError,
        f"timestamps step from {-(2**63)} to 0 at index 1, more than an int64 delta can hold",
    ):
        burst.timestamped(1, times, V)


def test_the_first_order_problem_is_reported(burst):
    times = np.array([-(2**63), 0, -5, 1])
    with raises(ValueError, f"timestamps step from {-(2**63)} to 0 at index 1"):
        burst.timestamped(1, times, V)


def test_order_against_the_previous_call():
    columns.check_order(np.array([6, 6, 9]), previous=6)
    with raises(
        ValueError,
        "timestamps go backwards: this call starts at 5, before 6 where "
        "the previous call for these channels ended",
    ):
        columns.check_order(np.array([5, 7]), previous=6)
    with raises(
        ValueError,
        f"timestamps step from {-(2**63)} to 1 at index 1, more than an int64 delta can hold",
    ):
        columns.check_order(np.array([1]), previous=-(2**63))


@pytest.mark.parametrize("channel", [-1, 2**32])
def test_channel_ids_outside_uint32(burst, channel):
    with raises(ValueError, f"channel_ids must fit uint32 (0..4294967295), got {channel}"):
        burst.timestamped(channel, T, V)
    with raises(ValueError, f"channel_ids must fit uint32 (0..4294967295), got {channel}"):
        burst.timestamped([0, channel], T, np.ones((2, 4)))
    with raises(ValueError, f"channel_id must fit uint32 (0..4294967295), got {channel}"):
        burst.periodic(channel, 0, 1, V)
    with raises(ValueError, f"channel_ids must fit uint32 (0..4294967295), got {channel}"):
        burst.row([channel], 0, b"")


@pytest.mark.parametrize("definition", [-(2**31) - 1, 2**31])
def test_event_definition_outside_int32(burst, definition):
    with raises(
        ValueError, f"definition_id must fit int32 (-2147483648..2147483647), got {definition}"
    ):
        burst.event(definition, 0)


@pytest.mark.parametrize("interval", [0, -5])
def test_interval_must_be_positive(burst, interval):
    with raises(ValueError, f"interval must be > 0 ns, got {interval}"):
        burst.periodic(1, 0, interval, V)


def test_periodic_running_past_int64(burst):
    with raises(ValueError, "periodic: start + (samples - 1) * interval runs past the int64 range"):
        burst.periodic(1, 2**63 - 10, 5, V)


def test_time_range_backwards(burst):
    with raises(ValueError, "time range ends before it starts: end 1 < start 2"):
        burst.time_range(2, 1)


def test_wrong_argument_types(burst):
    with raises(TypeError, "timestamp must be an integer, not str"):
        burst.event(1, "now")
    with raises(TypeError, "status_text must be str, not bytes"):
        burst.event(1, 0, b"x")
    with raises(TypeError, "session_json must be str, not int"):
        burst.session_json(5)
    with raises(
        TypeError,
        "buffer must be a numeric array, a one-row structured array or bytes-like, not int",
    ):
        burst.row([1], 0, 5)
    with raises(TypeError, "channel_id must be an integer, not bool"):
        burst.periodic(True, 0, 1, V)


def test_lone_surrogate_in_text(burst):
    with pytest.raises(ValueError, match="status_text is not encodable as UTF-8"):
        burst.event(1, 0, "\ud800")


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda b: b.row(range(MiB // 8), 0, bytes(MiB)), "row"),
        (lambda b: b.event(1, 0, "x" * MiB), "event"),
        (lambda b: b.event(1, 0, raw_data=np.zeros(MiB // 8)), "event"),
        (lambda b: b.session_json("x" * MiB), "session_json"),
    ],
    ids=["row", "event text", "event raw_data", "session_json"],
)
def test_single_item_over_one_mebibyte(burst, call, what):
    with pytest.raises(
        ValueError,
        match=rf"^{what} encodes to \d+ bytes, over the 1048576-byte \(1 MiB\) limit of one "
        r"message$",
    ):
        call(burst)


@pytest.mark.parametrize("Burst", ENCODERS)
def test_largest_row_that_fits_is_accepted(Burst):
    ids = range(2**17)  # room for up to 1 MiB of values

    def entry_size(n):  # by protobuf, with a buffer of n bytes
        row = model.RowData(channel_ids=ids, buffer=bytes(n))
        return stream.StreamDataBurst(data=[stream.StreamData(row_data=row)]).ByteSize()

    largest = MiB - (entry_size(600_000) - 600_000)  # framing is the same near there
    assert entry_size(largest) == MiB
    burst = Burst()
    with raises(ValueError, "row encodes to 1048577 bytes, over the 1048576-byte (1 MiB) limit"):
        burst.row(ids, 0, bytes(largest + 1))
    burst.row(ids, 0, bytes(largest))
    assert burst.nbytes == MiB
    (message,) = burst.pack()
    assert len(lz4_unpack(message)) == MiB


@pytest.mark.parametrize("target", [0, MiB + 1])
def test_pack_target_out_of_range(burst, target):
    with raises(ValueError, f"target must be between 1 and 1048576 bytes, got {target}"):
        burst.pack(target)


def test_structured_row_must_match_channels(burst):
    row = np.zeros(1, dtype=[("a", "<f8"), ("b", "<i4")])
    with raises(ValueError, "buffer has 2 fields but channel_ids has 3 ids"):
        burst.row([1, 2, 3], 0, row)
    with raises(ValueError, "buffer must hold one row, got 2"):
        burst.row([1, 2], 0, np.zeros(2, dtype=row.dtype))


@pytest.mark.parametrize(
    "message",
    [b"", b"\x50abc", b"\xff" * 20, b"\x1f" + b"a" * 10],
    ids=["empty", "short literals", "garbage", "truncated"],
)
def test_unpack_rejects_corrupt_messages(message):
    assert rtastream.unpack(b"\x00") == b""  # the one-byte block of an empty burst is valid
    with pytest.raises(ValueError, match="message is not an LZ4 raw block of at most 1 MiB"):
        rtastream.unpack(message)


def test_unpack_rejects_oversize_messages():
    big = rtastream.compress(bytes(MiB))
    with pytest.raises(ValueError, match="message is not an LZ4 raw block of at most 1 MiB"):
        rtastream.unpack(big + big)  # 2 MiB once decompressed
    with pytest.raises(ValueError, match="no LZ4 block of at most 1 MiB is that large"):
        rtastream.unpack(bytes(2 * MiB))


def test_decode_rejects_bytes_that_are_not_a_burst():
    with pytest.raises(ValueError, match="not a valid StreamDataBurst"):
        rtastream.decode(rtastream.compress(b"\x0a\xff\xff\xff"))


def test_compress_refuses_more_than_a_message():
    with raises(
        ValueError, "data is 1048577 bytes, over the 1048576-byte (1 MiB) limit of one message"
    ):
        rtastream.compress(bytes(MiB + 1))
