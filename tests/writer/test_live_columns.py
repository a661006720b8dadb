"""The column methods of the live API (periodics, rows, events), sync and asyncio: the same
items as one call per item, the time-order rules of each kind, errors raised at once; and
what the live API keeps between flushes is what the call was given. Read back with
stream_oracle (protobuf + python-lz4), independently of the writer."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

import rtastream
import rtastream.aio
import rtastream.reference
from stream_oracle import MS, T0, check_session, session_entries

PERIODIC = np.arange(14, dtype=">i2").reshape(2, 7)  # big-endian: converted, as Burst does
ROW_TIMES = np.array([T0 + 5 * MS, T0, T0 + 3 * MS])  # rows in any time order
ROWS = np.arange(6.0).reshape(3, 2)
MIXED = np.array([(1.5, 7), (2.5, 65535), (0.0, 3)], dtype=[("a", ">f8"), ("b", "<u2")])
EVENT_TIMES = [T0 + 9 * MS, T0 - MS, T0 + MS]
RAW = np.arange(6.0).reshape(3, 2)

COLUMNS = [
    lambda s: s.periodics([4, 5], T0, MS, PERIODIC[:, :4]),
    lambda s: s.periodics([4, 5], T0 + 4 * MS, MS, PERIODIC[:, 4:]),  # continues: merged
    lambda s: s.rows([1, 2], ROW_TIMES, ROWS),
    lambda s: s.rows(range(2), ROW_TIMES.astype("datetime64[ns]"), MIXED),
    lambda s: s.events([1, 2, -3], EVENT_TIMES, ["a", "é", ""], RAW, "app"),
    lambda s: s.events(np.array([7, 8, 9]), EVENT_TIMES, "same", app_names=["x", "y", "z"]),
]
PER_ITEM = [
    *(
        lambda s, i=i, c=c, k=k: s.periodic(c, T0 + 4 * k * MS, MS, PERIODIC[i, 4 * k : 4 * k + 4])
        for k in (0, 1)
        for i, c in enumerate((4, 5))
    ),
    *(
        lambda s, t=t, v=v: s.row([1, 2], t, v)
        for t, v in zip(ROW_TIMES.tolist(), ROWS, strict=True)
    ),
    *(
        lambda s, t=t, v=v: s.row([0, 1], t, v)
        for t, v in zip(ROW_TIMES.tolist(), MIXED.reshape(3, 1), strict=True)
    ),
    *(
        lambda s, d=d, t=t, x=x, r=r: s.event(d, t, x, r, "app")
        for d, t, x, r in zip([1, 2, -3], EVENT_TIMES, ["a", "é", ""], RAW, strict=True)
    ),
    *(
        lambda s, d=d, t=t, a=a: s.event(d, t, "same", (), a)
        for d, t, a in zip([7, 8, 9], EVENT_TIMES, "xyz", strict=True)
    ),
]


def in_session(flavour, url, identity, calls, **options):
    """Each call on one session of the sync or the asyncio writer (whose calls give
    coroutines); its stream session id."""
    options.setdefault("flush_interval", 3600)
    if flavour == "sync":
        with rtastream.RedisStreamBuffer(url, **options) as buffer:
            with buffer.open_session(identity, "rig") as session:
                for call in calls:
                    call(session)
        return session.stream_session_id

    async def main():
        async with rtastream.aio.RedisStreamBuffer(url, **options) as buffer:
            async with buffer.open_session(identity, "rig") as session:
                for call in calls:
                    await call(session)
        return session.stream_session_id

    return asyncio.run(main())


def data(r, session_id):
    """The session's items in stream order, Session JSON left out (it names the session)."""
    return [
        d
        for e in session_entries(r, "rig", session_id)
        for d in e.burst.data
        if d.WhichOneof("data") != "session_json"
    ]


def of_kind(items, kind):
    return [getattr(d, kind) for d in items if d.WhichOneof("data") == kind]


def times_of(item):
    """A TimestampedData's timestamps: its start, then each delta times the scale."""
    deltas = [int(d) * item.timestamp_deltas_scale for d in item.timestamp_deltas]
    return (item.start_timestamp + np.cumsum(deltas, dtype=object)).tolist()


def raises(exc, message):
    return pytest.raises(exc, match=re.escape(message))


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_column_calls_write_what_one_call_per_item_writes(redis_url, r, flavour):
    columns = data(r, in_session(flavour, redis_url, "columns", COLUMNS))
    per_item = data(r, in_session(flavour, redis_url, "per-item", PER_ITEM))
    assert columns == per_item
    periodic = of_kind(columns, "periodic_data")  # merged: one item per channel
    assert [(p.channel_id, p.start_timestamp, p.interval, p.samples) for p in periodic] == [
        (4, T0, MS, 7),
        (5, T0, MS, 7),
    ]
    assert [p.buffer for p in periodic] == [row.astype("<i2").tobytes() for row in PERIODIC]
    assert [(x.timestamp, x.buffer) for x in of_kind(columns, "row_data")[:3]] == [
        (t, v.tobytes()) for t, v in zip(ROW_TIMES.tolist(), ROWS, strict=True)
    ]
    assert [(e.event_definition_id, e.status_text) for e in of_kind(columns, "event")[:3]] == [
        (1, "a"),
        (2, "é"),
        (-3, ""),
    ]
    record, _ = check_session(r, "columns", "rig")
    assert (int(record[b"tStart"]), int(record[b"tEnd"])) == (T0 - MS, T0 + 9 * MS)


def test_periodics_keep_each_channels_time_order(redis_url, r):
    int16 = np.arange(16, dtype=np.int16)
    with rtastream.RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("order", "rig") as session:
            session.periodics([7, 8], T0 + 10 * MS, MS, int16[:8].reshape(2, 4))  # end at +13
            with raises(
                ValueError,
                f"timestamps go backwards: this call starts at {T0 + 12 * MS}, before "
                f"{T0 + 13 * MS} where the previous call for these channels ended",
            ):
                session.periodics([9, 8], T0 + 12 * MS, MS, np.zeros((2, 2), np.int16))
            with raises(ValueError, f"this call starts at {T0}, before {T0 + 13 * MS}"):
                session.periodic(7, T0, MS, int16[:2])
            session.periodics([9], T0, MS, int16[None, :2])  # the refused call left 9 alone
            session.periodics([7, 8], T0 + 14 * MS, MS, int16[8:12].reshape(2, 2))
    got = [
        (p.channel_id, p.start_timestamp, p.samples, p.buffer)
        for p in of_kind(data(r, session.stream_session_id), "periodic_data")
    ]
    assert got == [
        (7, T0 + 10 * MS, 6, np.r_[int16[:4], int16[8:10]].tobytes()),
        (8, T0 + 10 * MS, 6, np.r_[int16[4:8], int16[10:12]].tobytes()),
        (9, T0, 2, int16[:2].tobytes()),
    ]
    check_session(r, "order", "rig")


def test_periodic_items_of_one_channel_never_overlap(redis_url, r):
    """A channel continued by a call for other channels ends its run: calls for the first
    channels that continue in time start new items, after the other call's item."""
    with rtastream.RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("overlap", "rig") as session:
            session.periodics([5, 6], T0, MS, np.zeros((2, 3)))  # 0, 1, 2 ms
            session.periodic(5, T0 + 2 * MS, MS, [1.0])  # not before 5's end: accepted
            session.periodics([5, 6], T0 + 3 * MS, MS, np.ones((2, 3)))
    periodic = of_kind(data(r, session.stream_session_id), "periodic_data")
    assert [(p.channel_id, (p.start_timestamp - T0) // MS, p.samples) for p in periodic] == [
        (5, 0, 3),
        (6, 0, 3),
        (5, 2, 1),
        (5, 3, 3),
        (6, 3, 3),
    ]


def test_bad_column_calls_raise_at_once_and_lose_nothing(redis_url, r):
    with rtastream.RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("bad", "rig") as session:
            session.rows([1, 2], ROW_TIMES, ROWS)
            with raises(ValueError, "channel_ids has 1 ids but values has 2 rows"):
                session.periodics([1], T0, MS, np.ones((2, 3)))
            with raises(ValueError, "values has 3 columns but channel_ids has 2 ids"):
                session.rows([1, 2], ROW_TIMES, np.ones((3, 3)))
            with raises(TypeError, "values must have a fixed-width numeric dtype"):
                session.rows([1, 2], ROW_TIMES, np.ones((3, 2), dtype=np.float16))
            with raises(ValueError, "definition_ids has 2 ids but timestamps has 3 events"):
                session.events([1, 2], EVENT_TIMES)
            with raises(ValueError, "status_texts has 2 texts but timestamps has 3 events"):
                session.events([1, 2, 3], EVENT_TIMES, ["a", "b"])
            session.events([1], [T0 + MS], "kept")
    kinds = [d.WhichOneof("data") for d in data(r, session.stream_session_id)]
    assert [k for k in kinds if k != "time_range"] == ["row_data"] * 3 + ["event"]
    check_session(r, "bad", "rig")


def test_what_is_kept_is_what_the_call_was_given(redis_url, r):
    """A caller reusing its arrays between calls: the live data kept until the next flush
    is what each call was given, not what the arrays hold later."""
    times, block, series = np.empty(1, np.int64), np.empty((2, 1)), np.empty(4, np.int16)
    with rtastream.RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("reuse", "rig") as session:
            for k in range(5):
                times[0], block[:, 0], series[:] = T0 + k * MS, (k, -k), k
                session.timestamped([1, 2], times, block)
                session.periodic(3, T0 + 4 * k * MS, MS, series)
    items = data(r, session.stream_session_id)
    timestamped = of_kind(items, "timestamped_data")
    assert [(t.channel_id, times_of(t)) for t in timestamped] == [
        (1, [T0 + k * MS for k in range(5)]),
        (2, [T0 + k * MS for k in range(5)]),
    ]
    assert [np.frombuffer(t.buffer, "<f8").tolist() for t in timestamped] == [
        [0, 1, 2, 3, 4],
        [0, -1, -2, -3, -4],
    ]
    (periodic,) = of_kind(items, "periodic_data")
    assert np.frombuffer(periodic.buffer, "<i2").tolist() == np.repeat(range(5), 4).tolist()


def test_a_block_filling_a_burst_is_checked_as_every_call(redis_url, r):
    """A first call of a burst that fills it alone is encoded at once: it is still refused
    when it goes back in time or has bad ids, and nothing is lost."""
    ids, values = list(range(64)), np.ones((64, 128))
    times = T0 + np.arange(128, dtype=np.int64) * MS
    with rtastream.RedisStreamBuffer(redis_url, flush_interval=3600) as buffer:
        with buffer.open_session("whole", "rig") as session:
            session.timestamped(ids, times, values)
            with raises(
                ValueError,
                f"timestamps go backwards: this call starts at {T0}, before {times[-1]} "
                "where the previous call for these channels ended",
            ):
                session.timestamped(ids, times, values)
            with raises(ValueError, f"this call starts at {T0}, before {times[-1]}"):
                session.timestamped(np.arange(64), times[:1], values[:, :1])  # a small one
            with raises(TypeError, "channel_ids must hold integer channel ids, not float64"):
                session.timestamped([float(i) for i in ids], times + 128 * MS, values)
            with raises(ValueError, "timestamps go backwards at index 2"):
                session.timestamped(ids, times[[0, 2, 1, *range(3, 128)]] + 128 * MS, values)
            session.timestamped(ids, times + 128 * MS, 2 * values)
    items = data(r, session.stream_session_id)
    zero = [t for t in of_kind(items, "timestamped_data") if t.channel_id == 0]
    assert [(t.start_timestamp, np.frombuffer(t.buffer, "<f8")[0]) for t in zero] == [
        (T0, 1.0),
        (T0 + 128 * MS, 2.0),
    ]
    assert len(of_kind(items, "timestamped_data")) == 2 * 64
    record, _ = check_session(r, "whole", "rig")
    assert (int(record[b"tStart"]), int(record[b"tEnd"])) == (T0, int(times[-1]) + 128 * MS)


def test_a_block_that_only_looked_large_enough_is_written_once(redis_url, r):
    """int8 samples at 1 ms look larger than they encode (a byte of value and one of delta):
    a block that looked as if it filled the burst alone, but does not, is taken back and
    merged as usual, never written twice."""
    times = T0 + np.arange(2010, dtype=np.int64) * MS
    values = (np.arange(2010) % 100).astype(np.int8)
    with rtastream.RedisStreamBuffer(redis_url, flush_interval=3600, target=5000) as buffer:
        with buffer.open_session("looked", "rig") as session:
            session.timestamped(1, times[:2000], values[:2000])  # ~4 KB encoded, 6 KB guessed
            session.timestamped(1, times[2000:], values[2000:])
    timestamped = of_kind(data(r, session.stream_session_id), "timestamped_data")
    assert [times_of(t) for t in timestamped] == [times[:2000].tolist(), times[2000:].tolist()]
    assert b"".join(t.buffer for t in timestamped) == values.tobytes()


EMPTY_CALLS = [
    lambda s: s.timestamped(1, [], np.zeros(0)),
    lambda s: s.timestamped([1, 2], np.array([], "datetime64[ns]"), np.zeros((2, 0), np.int8)),
    lambda s: s.periodic(3, T0, MS, np.zeros(0, np.float32)),
    lambda s: s.periodics([4, 5], T0, MS, np.zeros((2, 0))),
    lambda s: s.rows([1, 2], [], np.zeros((0, 2))),
    lambda s: s.rows([1, 2], [], np.zeros(0, MIXED.dtype)),
    lambda s: s.events([], []),
]


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_a_call_with_zero_samples_adds_nothing(redis_url, r, flavour):
    session_id = in_session(flavour, redis_url, "empty", [*EMPTY_CALLS, lambda s: s.flush()])
    entries = session_entries(r, "rig", session_id)
    assert [e.kinds() for e in entries] == [["session_json"], ["time_range", "session_json"]]
    check_session(r, "empty", "rig")


@pytest.mark.parametrize("burst", [rtastream.Burst, rtastream.reference.Burst])
def test_a_burst_call_with_zero_samples_adds_no_item(burst):
    for call in EMPTY_CALLS:
        target = burst()
        call(target)
        assert len(target) == 0
