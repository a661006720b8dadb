"""Chunking and channel expressions without a server (rtastream.chunks and
.channels): random items cut, framed, and read back by the tests' own chunk reader."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest_helpers import read_chunks, timestamps_of
from rtastream import PeriodicItem, TimestampedItem
from rtastream.channels import MAX_CHANNEL, parse_channels
from rtastream.chunks import BUCKET_NS, frame, periodic_chunks, timestamped_chunks

ALL = parse_channels("-")
T0 = 1_750_000_000_000_000_000
TIMES = st.integers(T0, T0 + 3 * BUCKET_NS)


@st.composite
def timestamped(draw):
    """Items of channels 1 and 2 (one sample width each), times in any order, repeats too."""
    widths = {1: draw(st.sampled_from([1, 2, 8])), 2: draw(st.sampled_from([4, 8]))}
    items = []
    for _ in range(draw(st.integers(0, 5))):
        channel = draw(st.sampled_from([1, 2]))
        times = draw(st.lists(TIMES, min_size=1, max_size=300))
        raw = draw(
            st.binary(min_size=widths[channel] * len(times), max_size=widths[channel] * len(times))
        )
        items.append(TimestampedItem(channel, times, raw))
    return items, widths


def expected_samples(items):
    """channel -> {time: value bytes}, the first sent of each time."""
    found: dict[int, dict[int, bytes]] = {}
    for item in items:
        width = len(item.buffer) // len(item.timestamps)
        for k, t in enumerate(item.timestamps.tolist()):
            found.setdefault(item.channel_id, {}).setdefault(
                t, bytes(item.buffer[k * width : (k + 1) * width])
            )
    return found


@settings(max_examples=150, deadline=None)
@given(timestamped(), TIMES, TIMES)
def test_timestamped_chunks_hold_every_sample_asked_for_in_stable_chunks(drawn, a, b):
    items, widths = drawn
    start, end = min(a, b), max(a, b)
    whole = read_chunks(
        b"".join(frame(timestamped_chunks(items, ALL, 0, 2**63 - 1))), "timestamped"
    )
    part = read_chunks(b"".join(frame(timestamped_chunks(items, ALL, start, end))), "timestamped")
    keys = {
        (c.start, c.duration, tuple(c.channel_ids), c.payload.SerializeToString()) for c in whole
    }
    assert all(
        (c.start, c.duration, tuple(c.channel_ids), c.payload.SerializeToString()) in keys
        for c in part
    )
    expected = expected_samples(items)
    for chunks, lo, hi in ((whole, 0, 2**63), (part, start, end)):
        got: dict[int, dict[int, bytes]] = {}
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)
        ends: dict[int, int] = {}
        for chunk in chunks:
            (channel,) = chunk.channel_ids
            assert chunk.start > ends.get(channel, -1), "chunks of one channel overlap"
            ends[channel] = chunk.start + chunk.duration
            times = []
            for data in chunk.payload.timestamped_data:
                assert data.channel_id == channel and len(data.timestamp_deltas) <= 128
                t = timestamps_of(data)
                width = widths[channel]
                times += t
                for k, time in enumerate(t):
                    got.setdefault(channel, {})[time] = data.buffer[k * width : (k + 1) * width]
            assert (times[0], times[-1]) == (chunk.start, chunk.start + chunk.duration)
            assert times == sorted(set(times))
        for channel, samples in expected.items():
            inside = {t: v for t, v in samples.items() if lo <= t <= hi}
            assert inside.items() <= got.get(channel, {}).items()  # all asked for, right values
            assert got.get(channel, {}).items() <= samples.items()  # nothing that was not sent
        assert set(got) <= set(expected)


def test_lists_stay_near_64_kib_and_results_at_128_samples():
    t = T0 + np.arange(20_000, dtype=np.int64) * 100_000  # 10 kHz, two buckets
    chunks = timestamped_chunks(
        [TimestampedItem(5, t, np.arange(20_000, dtype="<f8"))], ALL, 0, 2**62
    )
    read = read_chunks(b"".join(frame(chunks)), "timestamped")
    assert sum(len(d.timestamp_deltas) for c in read for d in c.payload.timestamped_data) == 20_000
    assert all(c.unpacked_length <= 64 * 1024 for c in read)
    assert all(
        len(d.timestamp_deltas) == 128 for c in read for d in c.payload.timestamped_data[:-1]
    )
    assert len(read) == 2 * -(-10_000 // 3584)  # 3584 samples (28 results) of 8 bytes a list


def test_periodic_results_follow_the_interval():
    items = [
        PeriodicItem(3, T0, 1000, 300, bytes(range(256)) + bytes(44)),
        PeriodicItem(3, T0 + 300 * 1000 + 5, 2000, 10, bytes(10)),  # another interval, later
    ]
    (chunk,) = read_chunks(b"".join(frame(periodic_chunks(items, ALL, 0, 2**62))), "periodic")
    runs = [(d.start_timestamp, d.interval, d.samples) for d in chunk.payload.periodic_data]
    assert runs == [
        (T0, 1000, 128),
        (T0 + 128_000, 1000, 128),
        (T0 + 256_000, 1000, 44),
        (T0 + 300_005, 2000, 10),
    ]
    assert b"".join(d.buffer for d in chunk.payload.periodic_data) == bytes(range(256)) + bytes(54)


def test_a_message_at_another_rate_one_interval_after_the_last_starts_a_result():
    items = [
        PeriodicItem(3, T0, 10, 5, bytes(5)),  # T0 ... T0 + 40
        PeriodicItem(3, T0 + 50, 3, 4, bytes(4)),  # 10 after the last, then every 3
    ]
    (chunk,) = read_chunks(b"".join(frame(periodic_chunks(items, ALL, 0, 2**62))), "periodic")
    runs = [(d.start_timestamp, d.interval, d.samples) for d in chunk.payload.periodic_data]
    assert runs == [(T0, 10, 5), (T0 + 50, 3, 4)]


def test_a_periodic_item_of_interval_0_from_another_writer_gives_its_first_sample():
    """Interval 0 puts every sample at the start: the first sent is kept, as for any
    repeated time, in a result of one sample at an interval > 0 (the encoder refuses 0)."""
    items = [PeriodicItem(3, T0, 0, 3, bytes([7, 8, 9])), PeriodicItem(3, T0 + 5, 0, 1, b"\x01")]
    (chunk,) = read_chunks(b"".join(frame(periodic_chunks(items, ALL, 0, 2**62))), "periodic")
    runs = [(d.start_timestamp, d.samples, d.buffer) for d in chunk.payload.periodic_data]
    assert runs == [(T0, 1, b"\x07"), (T0 + 5, 1, b"\x01")]
    assert all(d.interval > 0 for d in chunk.payload.periodic_data)


@st.composite
def expressions(draw):
    """A channel expression and the (lo, hi) ranges it means, written independently."""
    terms, ranges = [], []
    for _ in range(draw(st.integers(1, 4))):
        lo = draw(st.integers(0, 0x1FF))
        hi = draw(st.integers(lo, 0x200))
        form = draw(st.sampled_from(["one", "both", "open-low", "open-high", "all"]))
        digits = draw(st.sampled_from(["{:x}", "{:X}", "{:03x}"]))
        text, meaning = {
            "one": (digits.format(lo), (lo, lo)),
            "both": (f"{digits.format(lo)}-{digits.format(hi)}", (lo, hi)),
            "open-low": (f"-{digits.format(hi)}", (0, hi)),
            "open-high": (f"{digits.format(lo)}-", (lo, MAX_CHANNEL)),
            "all": ("-", (0, MAX_CHANNEL)),
        }[form]
        terms.append(text)
        ranges.append(meaning)
    return ",".join(terms), ranges


@given(expressions(), st.lists(st.integers(0, 0x300), max_size=20))
def test_channel_expressions(drawn, probes):
    text, ranges = drawn
    channels = parse_channels(text)
    for probe in [*probes, MAX_CHANNEL]:
        assert (probe in channels) == any(lo <= probe <= hi for lo, hi in ranges), (text, probe)


@pytest.mark.parametrize(
    "bad", ["", ",", "1,", "G", "0x5", "1-2-3", "--", " 1", "5-3", "100000000"]
)
def test_bad_channel_expressions(bad):
    with pytest.raises(ValueError):
        parse_channels(bad)
