"""Every entry point, native and twin, takes values in any byte order and layout and as any
datetime64 unit, and refuses what the wire cannot carry, by the same rules."""

from __future__ import annotations

import array
import re

import numpy as np
import pytest

from encoders import ENCODERS, parse

NS_RANGE = "1677-09-21T00:12:43.145224193..2262-04-11T23:47:16.854775807"


@pytest.fixture(params=ENCODERS)
def burst(request):
    return request.param()


def only_item(burst):
    (entry,) = parse(burst.encode()).data
    return getattr(entry, entry.WhichOneof("data"))


ROW_FORMS = {
    "big-endian": np.array([1.5, -2.0], dtype=">f8"),
    "strided": np.array([1.5, 9.0, -2.0])[::2],
    "2-D": np.array([[1.5, -2.0]]),
    "fortran 2-D big-endian": np.asfortranarray(np.array([[1.5], [-2.0]], dtype=">f8")),
    "array.array": array.array("d", [1.5, -2.0]),
    "memoryview of big-endian": memoryview(np.array([1.5, -2.0], dtype=">f8")),
}


@pytest.mark.parametrize("form", ROW_FORMS.values(), ids=ROW_FORMS.keys())
def test_row_encodes_any_byte_order_and_layout_as_its_values(burst, form):
    burst.row([1, 2], 0, form)
    assert only_item(burst).buffer == np.array([1.5, -2.0], dtype="<f8").tobytes()


def test_row_of_big_endian_structured_fields(burst):
    row = np.array([(1.5, -7)], dtype=[("a", ">f8"), ("b", ">i2")])
    burst.row([1, 2], 0, row)
    assert only_item(burst).buffer == np.array([1.5]).tobytes() + np.array([-7], "<i2").tobytes()


def test_periodic_encodes_any_byte_order_and_layout_as_its_values(burst):
    burst.periodic(1, 0, 10, np.arange(8, dtype=">u2")[::-2])
    assert only_item(burst).buffer == np.arange(8, dtype="<u2")[::-2].tobytes()


@pytest.mark.parametrize("dtype", ["<f2", ">f2", "=f2"])
def test_float16_is_refused_whatever_its_byte_order(burst, dtype):
    message = (
        "must have a fixed-width numeric dtype (int8..int64, uint8..uint64, float32 or "
        f"float64), not {np.dtype(dtype)}"
    )
    values = np.ones(2, dtype=dtype)
    with pytest.raises(TypeError, match=re.escape("values " + message)):
        burst.timestamped(1, [0, 1], values)
    with pytest.raises(TypeError, match=re.escape("values " + message)):
        burst.periodic(1, 0, 1, values)
    with pytest.raises(TypeError, match=re.escape("buffer " + message)):
        burst.row([1, 2], 0, values)
    with pytest.raises(TypeError, match=re.escape("buffer field 'x' " + message)):
        burst.row([1], 0, np.zeros(1, dtype=[("x", dtype)]))
    assert len(burst) == 0


UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us"]


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("day", ["2300-01-01", "1600-01-01"], ids=["after 2262", "before 1677"])
def test_datetime64_outside_the_int64_ns_range_is_refused_in_every_unit(burst, unit, day):
    when = np.datetime64(day, "D").astype(f"M8[{unit}]")

    def refused(name):
        return pytest.raises(
            ValueError,
            match=re.escape(
                f"{name} must be within the int64 nanosecond range ({NS_RANGE}), got {when}"
            ),
        )

    with refused("timestamps"):
        burst.timestamped(1, np.array([when]), [1.0])
    with refused("start"):
        burst.periodic(1, when, 1, [1.0])
    with refused("timestamp"):
        burst.row([1], when, b"\x01")
    with refused("timestamp"):
        burst.event(1, when)
    with refused("end"):
        burst.time_range(0, when)
    assert len(burst) == 0


@pytest.mark.parametrize("unit", UNITS)
def test_datetime64_just_inside_the_range_is_kept_in_every_unit(burst, unit):
    first = np.datetime64("1678-01-01", "D").astype(f"M8[{unit}]")
    last = np.datetime64("2262-01-01", "D").astype(f"M8[{unit}]")
    burst.time_range(first, last)
    item = only_item(burst)
    assert (item.start_time, item.end_time) == tuple(
        int(t.astype("M8[ns]").astype(np.int64)) for t in (first, last)
    )


def test_row_buffer_size_is_checked_against_the_channels(burst):
    with pytest.raises(
        ValueError, match=re.escape("buffer has 3 values but channel_ids has 2 ids")
    ):
        burst.row([1, 2], 0, np.ones(3))
    with pytest.raises(
        ValueError, match=re.escape("buffer has 1 values but channel_ids has 2 ids")
    ):
        burst.row([1, 2], 0, array.array("f", [1.0]))
    for size in (1, 17):
        with pytest.raises(
            ValueError,
            match=re.escape(
                "a raw row buffer of 2 channels takes 2 to 16 bytes (1, 2, 4 or 8 a channel), "
                f"got {size}"
            ),
        ):
            burst.row([1, 2], 0, bytes(size))
    assert len(burst) == 0
    burst.row([1, 2], 0, bytes(2))
    burst.row([1, 2], 0, bytearray(16))
    assert len(burst) == 2


IDS = {
    "array": np.array([3, 1, 2**32 - 1]),
    "list": [3, 1, 2**32 - 1],
    "tuple": (3, 1, 2**32 - 1),
}


@pytest.mark.parametrize("Burst", ENCODERS)
def test_channel_ids_as_list_tuple_range_or_array_encode_alike(Burst):
    times, values = np.arange(4), np.ones((3, 4))
    encoded = set()
    for ids in [*IDS.values(), range(7, 10), range(9, 6, -1), np.arange(7, 10, dtype=np.int32)]:
        burst = Burst()
        burst.timestamped(ids, times, values)
        burst.row(ids, 0, np.ones(3))
        encoded.add(burst.encode())
    assert len(encoded) == 3  # [3, 1, max] in three forms, 7..9 in two, 9..7


@pytest.mark.parametrize(
    "ids, bad", [([1, -1], -1), ((1, 2**32), 2**32), (range(2**32 - 1, 2**32 + 1), 2**32)]
)
def test_channel_ids_out_of_range_in_any_form(burst, ids, bad):
    with pytest.raises(
        ValueError, match=re.escape(f"channel_ids must fit uint32 (0..4294967295), got {bad}")
    ):
        burst.timestamped(ids, [0], np.ones((2, 1)))
    with pytest.raises(
        ValueError, match=re.escape(f"channel_ids must fit uint32 (0..4294967295), got {bad}")
    ):
        burst.row(ids, 0, np.ones(2))


@pytest.mark.parametrize(
    "ids, rows, bad",
    [(range(0, 2**64, 2**62), 4, 3 * 2**62), (range(2**70), 2, 2**70 - 1)],
    ids=["past int64", "more ids than int64 counts"],
)
def test_channel_id_ranges_past_int64_are_refused_by_their_ends(burst, ids, rows, bad):
    """Such a range is neither summed in C (its last id would overflow int64) nor sized by
    numpy (it cannot hold these ids as integers): its ends are compared as Python ints."""
    message = re.escape(f"channel_ids must fit uint32 (0..4294967295), got {bad}")
    with pytest.raises(ValueError, match=message):
        burst.timestamped(ids, [0], np.ones((rows, 1)))
    with pytest.raises(ValueError, match=message):
        burst.rows(ids, [0], np.ones((1, rows)))
    with pytest.raises(ValueError, match=message):
        burst.row(ids, 0, np.ones(rows))
    assert len(burst) == 0
