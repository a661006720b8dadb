"""rtastream.SessionReader and its asyncio twin: one session from its streamPosition, its
entries only, following the leading edge until its final Session JSON; bad entries reported
and skipped; per-channel arrays over a time window.

Sessions are written by the protocol with Burst and plain redis-py (tests/cli_helpers.py),
so the reader is checked independently of the writer.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
import redis

import rtastream
from cli_helpers import (
    T0,
    decode_error,
    open_session,
    send,
    send_data,
    send_json,
    write_session,
)
from rtastream import Burst, keys
from rtastream.reader import BadEntry, SessionRecord, StreamReader, collect
from waiting import wait_until


def expected_values(
    channel_index: int, bursts: int, samples: int = 100, interval: int = 1_000_000
) -> tuple[np.ndarray, np.ndarray]:
    """What cli_helpers.send_data writes for its channel_index-th channel."""
    t = T0 + np.arange(bursts * samples, dtype=np.int64) * interval
    return t, np.sin((channel_index + 1) * (t / 1e9))


def blocked_on_xread(r) -> bool:
    return any(c.get("cmd") == "xread" and "b" in c.get("flags", "") for c in r.client_list())


def test_reads_its_own_entries_from_its_position_to_its_final_state(redis_url, r):
    write_session(r, "before", "shared", bursts=2)  # entries before mine: not read
    mine = open_session(r, "mine", "shared")
    other = open_session(r, "other", "shared")  # interleaved, another stream session id
    send_data(r, mine, bursts=3, events=1)
    send_data(r, other, channels=(9,), bursts=2)
    send_json(r, mine, "closed")
    send_data(r, other, bursts=1)  # after my end

    with rtastream.SessionReader(redis_url, "mine") as reader:
        assert reader.session.stream_position == mine.stream_position
        entries = list(reader.entries())
        assert reader.state == "closed" and reader.skipped == 0
    assert [e.id for e in entries] == mine.entry_ids
    assert {e.stream_session_id for e in entries} == {mine.stream_session_id}
    assert entries[0].states == ["open"] and entries[-1].final_state == "closed"
    assert entries[1].raw_size == len(rtastream.unpack(entries[1].data))

    items = list(rtastream.SessionReader(redis_url, "mine"))
    got = [i for i in items if isinstance(i, rtastream.TimestampedItem) and i.channel_id == 1]
    t, v = expected_values(1, 3)
    assert np.array_equal(np.concatenate([i.timestamps for i in got]), t)
    assert np.array_equal(np.concatenate([i.values("<f8") for i in got]), v)
    assert sum(isinstance(i, rtastream.EventItem) for i in items) == 1


def test_follows_the_leading_edge_until_the_final_state(redis_url, r):
    session = open_session(r, "live", "edge")
    got: list = []
    reader = rtastream.SessionReader(redis_url, "live", start="new", block=0.2)
    thread = threading.Thread(target=lambda: got.extend(reader.entries()))
    thread.start()
    wait_until(lambda: blocked_on_xread(r), what="the reader to block on XREAD")
    send_data(r, session, bursts=2)
    send_json(r, session, "truncated")
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert [e.id for e in got] == session.entry_ids[1:]  # "new": not the first Session JSON
    assert reader.state == "truncated"
    reader.close()


def test_asyncio_twin_reads_and_follows(redis_url, r):
    session = open_session(r, "aio", "edge")
    send_data(r, session, bursts=1)

    async def main():
        async with rtastream.AsyncSessionReader(redis_url, "aio", block=0.2) as reader:
            seen = []
            async for entry in reader.entries():
                seen.append(entry.id)
                if len(seen) == 2:  # caught up: the rest arrives while it follows
                    await asyncio.get_running_loop().run_in_executor(None, finish)
            return seen, reader.state

    def finish():
        send_data(r, session, bursts=1, start=T0 + 10**9)
        send_json(r, session, "closed")

    seen, state = asyncio.run(main())
    assert seen == session.entry_ids and state == "closed"


def test_last_n_messages_of_the_session(redis_url, r):
    mine = open_session(r, "mine", "shared")
    other = open_session(r, "other", "shared")
    for _ in range(3):
        send_data(r, mine, bursts=1)
        send_data(r, other, bursts=1)
    with rtastream.SessionReader(redis_url, "mine", start=2, follow=False) as reader:
        assert [e.id for e in reader.entries()] == mine.entry_ids[-2:]
    with rtastream.SessionReader(redis_url, "mine", start=50, follow=False) as reader:
        assert [e.id for e in reader.entries()] == mine.entry_ids  # fewer than asked: all


def test_bad_entries_are_reported_and_skipped(redis_url, r):
    session = open_session(r, "mine", "dirty")
    key = keys.stream_key("dirty")
    foreign = r.xadd(key, {"foo": "bar"}).decode()
    send_data(r, session, bursts=1)
    garbage = r.xadd(key, {"id": session.stream_session_id, "data": b"garbage"}).decode()
    not_a_number = r.xadd(key, {"id": "x1", "data": b""}).decode()
    send_json(r, session, "closed")
    reported: list[BadEntry] = []
    with rtastream.SessionReader(redis_url, "mine", on_bad_entry=reported.append) as reader:
        entries = list(reader.entries())
        assert reader.skipped == 3
    assert [e.id for e in entries] == session.entry_ids  # every valid one
    assert [str(b) for b in reported] == [
        f"skipped entry {foreign} of stream:dirty: no 'id' or 'data' field (fields: 'foo')",
        f"skipped entry {garbage} of stream:dirty: cannot decode its data (7 bytes): "
        f"{decode_error(b'garbage')}",
        f"skipped entry {not_a_number} of stream:dirty: stream session id b'x1' is not a "
        "decimal number",
    ]


def test_bad_entries_go_to_the_log_by_default(redis_url, r, caplog):
    session = open_session(r, "mine", "dirty")
    r.xadd(keys.stream_key("dirty"), {"foo": "bar"})
    send_json(r, session, "closed")
    assert len(list(rtastream.SessionReader(redis_url, "mine"))) == 2
    assert [rec.name for rec in caplog.records] == ["rtastream.reader"]
    assert "no 'id' or 'data' field" in caplog.records[0].getMessage()


def test_a_trimmed_end_still_ends_when_the_hash_says_closed(redis_url, r):
    session = open_session(r, "cut", "short")
    send_data(r, session, bursts=2)
    send_json(r, session, "closed")
    r.xadd(
        keys.stream_key("short"), {"id": 999, "data": b""}, maxlen=1, approximate=False
    )  # the session's entries, its final JSON too, trimmed away
    with rtastream.SessionReader(redis_url, "cut", block=0.1) as reader:
        assert list(reader.entries()) == []
        assert reader.state == "closed"


def test_unknown_and_unlocatable_sessions(redis_url, r):
    with pytest.raises(
        rtastream.SessionNotFound, match=r"^unknown session 'nope': no hash at sessions:nope$"
    ):
        rtastream.SessionReader(redis_url, "nope").open()
    r.hset(keys.session_key("bare"), "json", "{}")
    with pytest.raises(
        rtastream.SessionNotFound, match="has no streamName or numeric streamSessionId field"
    ):
        list(rtastream.SessionReader(redis_url, "bare"))


def test_arguments_are_checked(redis_url):
    for start in ("middle", 0, -3, True):
        with pytest.raises(ValueError, match="start must be 'first', 'new' or a positive"):
            rtastream.SessionReader(redis_url, "x", start=start)
    with pytest.raises(ValueError, match="block must be a positive number of seconds"):
        rtastream.SessionReader(redis_url, "x", block=0)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses=False"):
        rtastream.SessionReader(client, "x")
    client.close()


def test_window_gives_per_channel_arrays_in_time_order(redis_url, r):
    session = open_session(r, "win", "arrays")
    session.t_start = T0  # the time range starts before the first data sent
    send_data(r, session, bursts=2, start=T0 + 200_000_000, events=0)  # later data first
    send_data(r, session, bursts=2, events=0)
    send_data(r, session, bursts=1, events=0)  # re-sent: overlaps the first burst
    send_json(r, session, "closed")
    with rtastream.SessionReader(redis_url, "win") as reader:
        window = reader.window(
            np.float64, start=T0 + 50_000_000, end=T0 + 249_000_000, channels=[0, 2]
        )
    assert sorted(window) == [0, 2]
    t, v = expected_values(2, 4)
    inside = (t >= T0 + 50_000_000) & (t <= T0 + 249_000_000)
    assert np.array_equal(window[2].timestamps, t[inside])
    assert np.array_equal(window[2].values, v[inside])


def test_window_reads_rows_with_a_dtype_per_channel(redis_url, r):
    session = open_session(r, "rows", "arrays")
    burst = Burst()
    row = np.array([(1.5, 7, 200)], dtype=[("a", "<f8"), ("b", "<i4"), ("c", "u1")])
    burst.row([4, 5, 6], T0, row.tobytes())
    burst.periodic(5, T0 + 1000, 10, np.array([8, 9], dtype=np.int32))
    send(r, session, burst, keys.DEFAULT_SESSION_TTL)
    send_json(r, session, "closed")
    with rtastream.SessionReader(redis_url, "rows") as reader:
        window = reader.window({4: "f8", 5: "i4", 6: "u1"})
        assert window[5].timestamps.tolist() == [T0, T0 + 1000, T0 + 1010]
        assert window[5].values.tolist() == [7, 8, 9]
        assert window[4].values.tolist() == [1.5] and window[6].values.tolist() == [200]
        with pytest.raises(ValueError, match="holds channel 4, whose dtype is not given"):
            reader.window({5: "i4"})


def test_collect_without_redis_keeps_one_sample_per_timestamp():
    item = rtastream.decode(_burst_of([3], [T0, T0 + 1], [[1.0, 2.0]]))[0]
    again = rtastream.decode(_burst_of([3], [T0 + 1, T0 + 2], [[2.0, 3.0]]))[0]
    series = collect([again, item], "<f8")[3]
    assert series.timestamps.tolist() == [T0, T0 + 1, T0 + 2]
    assert series.values.tolist() == [1.0, 2.0, 3.0]


def _burst_of(channels, t, values) -> bytes:
    burst = Burst()
    burst.timestamped(channels, np.array(t, dtype=np.int64), np.array(values))
    return burst.pack()[0]


def test_stream_reader_waits_for_a_stream_that_does_not_exist_yet(redis_url, r):
    got: list = []
    reader = StreamReader(redis_url, "later", start="first", block=0.2)
    thread = threading.Thread(
        target=lambda: got.extend(e for _, e in zip(range(3), reader.entries(), strict=False))
    )
    thread.start()
    wait_until(lambda: blocked_on_xread(r), what="the reader to block on XREAD")
    session = write_session(r, "s", "later", bursts=1)
    thread.join(timeout=20)
    assert [e.id for e in got] == session.entry_ids
    reader.close()


def test_session_record_reads_the_hash(redis_url, r):
    written = write_session(r, "rec", "s")
    with rtastream.SessionReader(redis_url, "rec") as reader:
        record = reader.session
    assert isinstance(record, SessionRecord)
    assert record.stream == "s" and record.stream_session_id == str(written.stream_session_id)
    assert record.time_range == (written.t_start, written.t_end) and record.state == "closed"


def test_window_with_the_wrong_dtype_for_one_channel_names_that_channel(redis_url, r):
    session = open_session(r, "typed", "arrays")
    burst = Burst()
    burst.timestamped([3], np.array([T0, T0 + 1], dtype=np.int64), np.array([[1.5, 2.5]]))
    burst.timestamped([8], np.array([T0], dtype=np.int64), np.array([[7]], dtype=np.int32))
    send(r, session, burst, keys.DEFAULT_SESSION_TTL)
    send_json(r, session, "closed")
    with rtastream.SessionReader(redis_url, "typed") as reader:
        with pytest.raises(ValueError, match=r"^channel 3: the buffer holds 2 samples of 8 "):
            reader.window({3: "i4", 8: "i4"})
        assert reader.window({3: "f8", 8: "i4"})[8].values.tolist() == [7]


def test_after_following_a_session_to_its_end_its_record_says_so_too(redis_url, r):
    session = open_session(r, "followed", "agree")
    send_data(r, session, bursts=1, events=0)
    with rtastream.SessionReader(redis_url, "followed", block=0.2) as reader:
        assert reader.session.state == reader.state == "open"
        closing = threading.Timer(0.3, send_json, (r, session, "closed"))
        closing.start()
        list(reader.entries())
        closing.join()  # the reader may end on the entry before the hash is written
        assert reader.state == "closed" and reader.session.state == "closed"
        assert reader.session.model["state"] == "closed"

    async def main() -> tuple[str | None, str | None]:
        async with rtastream.AsyncSessionReader(redis_url, "followed", block=0.2) as reader:
            async for _ in reader.entries():
                pass
            assert reader.session is not None
            return reader.state, reader.session.state

    assert asyncio.run(main()) == ("closed", "closed")
