"""Live calls are merged per channel: a loop calling once per sample still sends one item per
channel per burst. Read back from a real redis-server with stream_oracle's decoding."""

from __future__ import annotations

import numpy as np
import pytest

from rtastream import RedisStreamBuffer, decode
from rtastream.decoding import PeriodicItem, TimestampedItem
from stream_oracle import check_session, session_entries

T0 = 1_750_000_000_000_000_000
MS = 1_000_000


def data_items(r, stream, session_id):
    items = [i for e in session_entries(r, stream, session_id) for i in decode(e.burst)]
    return [i for i in items if isinstance(i, (TimestampedItem, PeriodicItem))]


def test_one_call_per_sample_gives_one_item_per_channel(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("per-sample", "rig") as session:
            for k in range(1000):  # 1 kHz rows of 3 channels, one call each
                session.timestamped(
                    [1, 2, 3], [T0 + k * MS], np.array([[k], [2 * k], [3 * k]], dtype=np.int32)
                )
            session.event(5, T0, "start")
    items = data_items(r, "rig", session.stream_session_id)
    assert [i.channel_id for i in items] == [1, 2, 3]  # one merged item per channel
    for channel, item in zip((1, 2, 3), items, strict=True):
        assert item.timestamps.tolist() == [T0 + k * MS for k in range(1000)]
        assert item.values(np.int32).tolist() == [channel * k for k in range(1000)]
    check_session(r, "per-sample", "rig")


def test_periodic_blocks_that_continue_each_other_merge_and_a_gap_splits(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("periodic", "rig") as session:
            for k in range(10):
                block = np.arange(4 * k, 4 * k + 4, dtype=np.uint16)
                session.periodic(7, T0 + k * 4 * MS, MS, block)
            session.periodic(7, T0 + 100 * MS, MS, np.zeros(2, dtype=np.uint16))  # a gap
            session.periodic(7, T0 + 102 * MS, 2 * MS, np.zeros(2, dtype=np.uint16))  # a new rate
    items = data_items(r, "rig", session.stream_session_id)
    assert [(i.start, i.interval, i.samples) for i in items] == [
        (T0, MS, 40),
        (T0 + 100 * MS, MS, 2),
        (T0 + 102 * MS, 2 * MS, 2),
    ]
    assert items[0].values(np.uint16).tolist() == list(range(40))


def test_a_call_going_back_in_time_is_refused_at_once_and_loses_nothing(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("backwards", "rig") as session:
            session.timestamped(1, [T0, T0 + 10], [1.0, 2.0])
            with pytest.raises(
                ValueError,
                match=(
                    f"timestamps go backwards: this call starts at {T0 + 5}, before {T0 + 10} "
                    "where the previous call for these channels ended"
                ),
            ):
                session.timestamped(1, [T0 + 5], [9.0])
            with pytest.raises(ValueError, match="timestamps go backwards at index 1"):
                session.timestamped(1, [T0 + 20, T0 + 15], [9.0, 9.0])
            session.timestamped(1, [T0 + 30], [3.0])
    (item,) = data_items(r, "rig", session.stream_session_id)
    assert item.timestamps.tolist() == [T0, T0 + 10, T0 + 30]
    assert item.values(np.float64).tolist() == [1.0, 2.0, 3.0]
    check_session(r, "backwards", "rig")


def test_merged_data_still_flushes_near_the_target(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("full", "rig") as session:
            for k in range(4000):  # 4000 x 4 channels x 8 bytes: ~190 KiB, several bursts
                session.timestamped([1, 2, 3, 4], [T0 + k * MS], np.full((4, 1), float(k)))
    entries = session_entries(r, "rig", session.stream_session_id)
    data = [e for e in entries if any(isinstance(i, TimestampedItem) for i in decode(e.burst))]
    assert len(data) >= 3
    times = np.concatenate(
        [i.timestamps for i in data_items(r, "rig", session.stream_session_id) if i.channel_id == 1]
    )
    assert times.tolist() == [T0 + k * MS for k in range(4000)]


def test_going_back_in_time_after_a_flush_is_refused_too(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("after-flush", "rig") as session:
            session.timestamped(1, [T0, T0 + 10], [1.0, 2.0])
            session.flush()  # the first burst is in Redis
            with pytest.raises(ValueError, match=f"this call starts at {T0 + 5}, before {T0 + 10}"):
                session.timestamped(1, [T0 + 5], [9.0])
            session.timestamped(2, [T0 + 5], [9.0])  # other channels have their own order
    items = data_items(r, "rig", session.stream_session_id)
    assert [(i.channel_id, i.timestamps.tolist()) for i in items] == [
        (1, [T0, T0 + 10]),
        (2, [T0 + 5]),
    ]
