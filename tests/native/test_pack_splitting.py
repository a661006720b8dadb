"""Splitting: 10 000 samples per item, and pack() messages near the target."""

from __future__ import annotations

import numpy as np
import pytest

import rtastream
from encoders import ENCODERS, lz4_unpack, parse
from rtastream import _columns, _native

START = 1_700_000_000_000_000_000


def test_the_c_core_and_the_python_rules_share_their_limits():
    assert (_native.MAX_SAMPLES, _native.MAX_MESSAGE) == (
        _columns.MAX_SAMPLES,
        _columns.MAX_MESSAGE,
    )


def periodic_items(data):
    return [d.periodic_data for d in parse(data).data]


@pytest.mark.parametrize("Burst", ENCODERS)
@pytest.mark.parametrize(
    "n, sizes", [(10_000, [10_000]), (10_001, [10_000, 1]), (25_000, [10_000, 10_000, 5_000])]
)
def test_items_hold_at_most_10000_samples_in_encode(Burst, n, sizes):
    burst = Burst()
    burst.timestamped([1, 2], START + 10 * np.arange(n), np.ones((2, n), dtype=np.int16))
    items = [d.timestamped_data for d in parse(burst.encode()).data]
    assert [(i.channel_id, len(i.timestamp_deltas)) for i in items] == [
        (c, s) for s in sizes for c in (1, 2)
    ]
    assert [i.start_timestamp for i in items[::2]] == [
        START + 10 * lo for lo in np.cumsum([0] + sizes[:-1])
    ]


@pytest.mark.parametrize("Burst", ENCODERS)
def test_periodic_split_keeps_start_plus_k_intervals(Burst):
    burst = Burst()
    burst.periodic(9, START, 250, np.arange(23_456, dtype=np.uint32))
    items = periodic_items(burst.encode())
    assert [(i.start_timestamp, i.samples) for i in items] == [
        (START, 10_000),
        (START + 10_000 * 250, 10_000),
        (START + 20_000 * 250, 3_456),
    ]
    assert b"".join(i.buffer for i in items) == np.arange(23_456, dtype="<u4").tobytes()


def test_burst_within_the_target_is_one_message():
    burst = rtastream.Burst()
    burst.timestamped(
        range(48), START + 10**7 * np.arange(128), np.random.default_rng(1).normal(size=(48, 128))
    )
    burst.time_range(START, START + 127 * 10**7)
    (message,) = burst.pack()
    assert lz4_unpack(message) == burst.encode()
    assert 48 * 128 * 8 < burst.nbytes <= 65536


def test_items_stay_whole_and_messages_fill_up_to_the_target():
    burst = rtastream.Burst()
    for k in range(200):  # 200 items of the same size, ~1 KiB each
        burst.periodic(7, START + k * 128 * 10**6, 10**6, np.zeros(128, dtype=np.float64))
    item_size = burst.nbytes // 200
    messages = [lz4_unpack(m) for m in burst.pack(8192)]
    per_message = 8192 // item_size
    assert [len(parse(m).data) for m in messages] == [per_message] * (200 // per_message) + (
        [200 % per_message] if 200 % per_message else []
    )
    assert all(len(m) <= 8192 for m in messages)
    assert b"".join(messages) == burst.encode()  # whole items: the messages are the burst, cut


@pytest.mark.parametrize("Burst", ENCODERS)
def test_item_larger_than_target_is_split_by_sample_ranges(Burst):
    burst = Burst()
    times = START + np.cumsum(np.random.default_rng(2).integers(1, 5, 10_000)) * 1000
    values = np.arange(10_000, dtype=np.float64)
    burst.timestamped(3, times, values)  # ~100 KiB: two pieces for a 64 KiB target
    messages = [parse(lz4_unpack(m)) for m in burst.pack(65536)]
    pieces = [e.timestamped_data for m in messages for e in m.data]
    assert len(pieces) == 2 and all(m.ByteSize() <= 65536 for m in messages)
    assert [len(p.timestamp_deltas) for p in pieces] == [5000, 5000]
    assert [p.start_timestamp for p in pieces] == [times[0], times[5000]]
    assert b"".join(p.buffer for p in pieces) == values.tobytes()
    for p, lo in zip(pieces, (0, 5000), strict=True):
        steps = np.diff(times[lo : lo + 5000])
        assert p.timestamp_deltas_scale == np.gcd.reduce(steps)
        assert list(p.timestamp_deltas) == [0] + list(steps // np.gcd.reduce(steps))


def test_split_pieces_share_messages_with_following_items():
    burst = rtastream.Burst()
    burst.periodic(1, 0, 1, np.zeros(3000, dtype=np.float64))  # ~24 KiB
    burst.time_range(0, 2999)
    messages = [parse(lz4_unpack(m)) for m in burst.pack(10_000)]
    kinds = [[e.WhichOneof("data") for e in m.data] for m in messages]
    assert kinds == [["periodic_data"]] * 2 + [["periodic_data", "time_range"]]
    assert [e.periodic_data.start_timestamp for m in messages for e in m.data[:1]] == [
        0,
        1000,
        2000,
    ]


def test_time_ranges_are_reported_per_message():
    burst = rtastream.Burst()
    burst.time_range(1, 5)
    burst.periodic(1, 0, 1, np.zeros(2000, dtype=np.float64))
    burst.time_range(1, 9)
    burst.time_range(2, 10)
    packed = burst.pack_with_time_ranges(4096)
    # The first piece fits beside the first range; the last shares with the other two.
    assert [r for _, r in packed] == [(1, 5), None, None, (2, 10)]
    assert [m for m, _ in packed] == burst.pack(4096)


def test_unsplittable_item_larger_than_target_gets_its_own_message():
    burst = rtastream.Burst()
    burst.event(1, 0, "a")
    burst.row(range(1000), 0, bytes(5000))
    burst.event(2, 0, "b")
    messages = [parse(lz4_unpack(m)) for m in burst.pack(1000)]
    assert [[e.WhichOneof("data") for e in m.data] for m in messages] == [
        ["event"],
        ["row_data"],
        ["event"],
    ]


@pytest.mark.parametrize("Burst", ENCODERS)
def test_single_samples_larger_than_target_stay_whole(Burst):
    """One sample cannot be split: each item gets a message of its own."""
    burst = Burst()
    burst.timestamped([1, 2], [START], np.ones((2, 1)))
    burst.periodic(3, START, 10, np.ones(1, dtype=np.int8))
    messages = [lz4_unpack(m) for m in burst.pack(8)]
    assert b"".join(messages) == burst.encode()
    assert [len(parse(m).data) for m in messages] == [1, 1, 1]


def test_clear_empties_and_the_burst_is_reusable():
    burst = rtastream.Burst()
    burst.timestamped(1, [1, 2], [1.0, 2.0])
    burst.clear()
    assert (len(burst), burst.nbytes, burst.encode(), burst.pack()) == (0, 0, b"", [])
    burst.time_range(3, 4)
    assert parse(burst.encode()).data[0].time_range.end_time == 4


def test_empty_input_adds_nothing():
    burst = rtastream.Burst()
    burst.timestamped([1, 2], [], np.zeros((2, 0)))
    burst.periodic(1, 0, 1, np.zeros(0, dtype=np.int8))
    assert len(burst) == 0 and burst.encode() == b""


@pytest.mark.parametrize("regular", [True, False], ids=["regular", "irregular"])
def test_threads_give_the_same_messages_and_leave_the_burst_as_it_was(regular):
    rng = np.random.default_rng(7)
    steps = np.full(25_000, 10**6) if regular else rng.integers(1, 4, 25_000) * 10**6
    burst = rtastream.Burst()
    burst.timestamped(range(8), START + np.cumsum(steps), rng.normal(size=(8, 25_000)))
    burst.periodic(9, START, 10, rng.integers(0, 9, 30_000, dtype=np.int8))
    burst.time_range(START, START + 1)
    encoded = burst.encode()
    one = burst.pack_with_time_ranges(threads=1)
    assert len(one) > 20
    for threads in (2, 3, None, 64):
        assert burst.pack_with_time_ranges(threads=threads) == one
    assert burst.encode() == encoded  # piece headers written in place were put back
    assert b"".join(lz4_unpack(m) for m, _ in one) != encoded  # split: pieces, not the items
    assert [e for m, _ in one for e in parse(lz4_unpack(m)).data][
        -1
    ].time_range.end_time == START + 1


@pytest.mark.parametrize("threads, error", [(0, ValueError), (-1, ValueError), ("2", TypeError)])
def test_threads_must_be_a_positive_count(threads, error):
    with pytest.raises(error, match="threads must be"):
        rtastream.Burst().pack(threads=threads)
