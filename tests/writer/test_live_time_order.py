"""Time order in the live API, one rule per kind (docs/writers.md): a timestamped or periodic
series of a channel only goes forward, so merging never misplaces a sample; rows and events
are instants, each its own item, accepted in any order. Read back with stream_oracle
(protobuf + python-lz4), independently of the writer."""

from __future__ import annotations

import numpy as np
import pytest

from rtastream import RedisStreamBuffer
from stream_oracle import MS, T0, check_session, session_entries


def items(r, session, kind):
    """(entry index, item) of every item of this kind, in stream order."""
    entries = session_entries(r, "rig", session.stream_session_id)
    return [
        (n, getattr(d, kind))
        for n, e in enumerate(entries)
        for d in e.burst.data
        if d.WhichOneof("data") == kind
    ]


def test_timestamped_going_back_is_refused_and_keeps_what_came_before(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("ts", "rig") as session:
            session.timestamped([1, 2], [T0, T0 + MS], np.ones((2, 2)))
            with pytest.raises(ValueError, match=f"this call starts at {T0}, before {T0 + MS}"):
                session.timestamped([1, 2], [T0], np.zeros((2, 1)))
            session.timestamped([1, 2], [T0 + 2 * MS], np.ones((2, 1)))
    got = [
        (i.channel_id, i.start_timestamp, list(i.timestamp_deltas))
        for _, i in items(r, session, "timestamped_data")
    ]
    assert got == [(1, T0, [0, 1, 1]), (2, T0, [0, 1, 1])]
    check_session(r, "ts", "rig")


@pytest.mark.parametrize("flush_between", [False, True])
def test_periodic_starting_before_the_previous_end_is_refused(redis_url, r, flush_between):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("periodic", "rig") as session:
            session.periodic(7, T0 + 10 * MS, MS, np.arange(4, dtype=np.int16))  # ends at +13
            if flush_between:
                session.flush()
            with pytest.raises(
                ValueError,
                match=(
                    f"timestamps go backwards: this call starts at {T0}, before {T0 + 13 * MS} "
                    "where the previous call for these channels ended"
                ),
            ):
                session.periodic(7, T0, MS, np.arange(4, dtype=np.int16))
            session.periodic(8, T0, MS, np.arange(2, dtype=np.int16))  # another channel: its own
            session.periodic(7, T0 + 14 * MS, MS, np.arange(4, 6, dtype=np.int16))
    got = [
        (i.channel_id, i.start_timestamp, i.interval, i.samples, i.buffer)
        for _, i in items(r, session, "periodic_data")
    ]
    int16 = np.arange(6, dtype="<i2").tobytes()
    if flush_between:  # the continuation comes in the next burst, as its own item
        expected = [
            (7, T0 + 10 * MS, MS, 4, int16[:8]),
            (7, T0 + 14 * MS, MS, 2, int16[8:]),
            (8, T0, MS, 2, int16[:4]),
        ]
    else:  # one item: the refused call was never merged
        expected = [(7, T0 + 10 * MS, MS, 6, int16), (8, T0, MS, 2, int16[:4])]
    assert sorted(got) == expected
    check_session(r, "periodic", "rig")


def test_rows_may_come_in_any_order_each_its_own_item(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("rows", "rig") as session:
            for t in (T0 + 5 * MS, T0, T0 + 3 * MS):
                session.row([1, 2], t, np.array([t - T0, 1], dtype="<i8"))
    rows = [(i.timestamp, i.buffer) for _, i in items(r, session, "row_data")]
    assert rows == [
        (t, np.array([t - T0, 1], dtype="<i8").tobytes()) for t in (T0 + 5 * MS, T0, T0 + 3 * MS)
    ]
    record, _ = check_session(r, "rows", "rig")
    assert (int(record[b"tStart"]), int(record[b"tEnd"])) == (T0, T0 + 5 * MS)


def test_events_may_come_in_any_order_each_its_own_item(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("events", "rig") as session:
            session.event(1, T0 + 2 * MS, "late")
            session.flush()
            session.event(1, T0, "reported after the later one")
    events = [(n, i.timestamp, i.status_text) for n, i in items(r, session, "event")]
    assert events == [(1, T0 + 2 * MS, "late"), (2, T0, "reported after the later one")]
    record, _ = check_session(r, "events", "rig")
    assert (int(record[b"tStart"]), int(record[b"tEnd"])) == (T0, T0 + 2 * MS)
