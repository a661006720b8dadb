"""Faults: Redis unreachable, refusing commands, or restarted mid-session. Tests that take
Redis away use their own redis-server, never the suite's shared one."""

from __future__ import annotations

import builtins
import json
import threading
import time

import numpy as np
import pytest
import redis

import rtastream
from rtastream import RedisCommandError, RedisStreamBuffer, RedisUnavailable
from rtastream.redis_server import free_port
from stream_oracle import (
    T0,
    burst_at,
    burst_numbers,
    check_session,
    in_order_at_least_once,
    read_stream,
)
from waiting import wait_until


def test_unreachable_redis_at_open_names_the_address():
    port = free_port()
    buffer = RedisStreamBuffer(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    with pytest.raises(RedisUnavailable, match=f"cannot reach Redis at 127.0.0.1:{port}") as info:
        buffer.open_session("x", "car-1")
    assert isinstance(info.value, builtins.ConnectionError)
    assert isinstance(info.value, redis.ConnectionError)
    buffer.close()


def test_unreachable_unix_socket_names_the_path(tmp_path):
    path = tmp_path / "none.sock"
    with RedisStreamBuffer(f"unix://{path}") as buffer:
        with pytest.raises(RedisUnavailable, match=f"cannot reach Redis at unix://{path}"):
            buffer.open_session("x", "car-1")


@pytest.mark.parametrize("key", ["sessions:x", "streams", "stream:car-1", "lastStreamSessionId"])
def test_wrong_type_at_open_names_the_key(redis_url, r, key):
    if key == "lastStreamSessionId":
        r.hset(key, "a", "b")
    else:
        r.set(key, "not the right type")
    with RedisStreamBuffer(redis_url) as buffer:
        with pytest.raises(RedisCommandError, match=f"on key '{key}': WRONGTYPE") as info:
            buffer.open_session("x", "car-1")
    assert info.value.key == key
    if key == "sessions:x":  # found before anything was written
        assert "a string; found before opening" in str(info.value)
        assert not r.exists("stream:car-1")


def test_wrong_type_mid_session_is_raised_by_flush_and_next_call(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with pytest.raises(RedisCommandError, match="HSET on key 'sessions:x'") as info:
            with buffer.open_session("x", "car-1") as session:
                session.write(burst_at(0))
                session.flush()
                r.delete("sessions:x")
                r.set("sessions:x", "oops")
                session.write(burst_at(1))
                with pytest.raises(RedisCommandError, match="sessions:x"):
                    session.flush()
                session.write(burst_at(2))  # the next call raises too
    assert "could not end the session" in "".join(getattr(info.value, "__notes__", []))
    assert burst_numbers(r, "car-1", 1) == [0, 1]  # XADD went through; the hash did not


def test_out_of_memory_names_the_stream_and_reports_unsent(own_server, own_r):
    with RedisStreamBuffer(own_server.url) as buffer:
        session = buffer.open_session("oom", "car-1")
        session.write(burst_at(0))
        session.flush()
        own_r.config_set("maxmemory", 1)  # every write now fails: used memory > 1 byte
        messages = burst_at(1).pack_with_time_ranges(8192)
        session.write_messages(messages)
        with pytest.raises(
            RedisCommandError, match="XADD on key 'stream:car-1': OutOfMemoryError"
        ) as info:
            session.flush()
        assert info.value.unsent == [m for m, _ in messages]
        assert "stream messages were not written" in str(info.value)
        own_r.config_set("maxmemory", 0)
        session.close()  # the error was raised by flush(): closing now ends the session
    check_session(own_r, "oom", "car-1")


def test_close_raises_an_error_not_yet_seen_after_ending_the_session(own_server, own_r):
    with RedisStreamBuffer(own_server.url) as buffer:
        session = buffer.open_session("unseen", "car-1")
        own_r.config_set("maxmemory", 1)
        session.write(burst_at(0))  # refused in the background
        wait_until(lambda: "errorstat_OOM" in own_r.info("errorstats"), 10, "the refusal")
        own_r.config_set("maxmemory", 0)
        with pytest.raises(RedisCommandError, match="XADD on key 'stream:car-1'"):
            session.close()
    check_session(own_r, "unseen", "car-1")


def test_read_only_replica_names_the_key(own_server, own_r):
    own_r.execute_command("REPLICAOF", "127.0.0.1", free_port())  # a primary that is not there
    try:
        with RedisStreamBuffer(own_server.url) as buffer:
            with pytest.raises(
                RedisCommandError,
                match="INCRBY on key 'lastStreamSessionId': "
                "ReadOnlyError: You can't write against a read only",
            ):
                buffer.open_session("ro", "car-1")
    finally:
        own_r.execute_command("REPLICAOF", "NO", "ONE")


def test_restart_mid_session_loses_nothing(own_server, own_r):
    """Redis stops between bursts (after saving) and comes back: queued bursts wait
    (back-pressure on a small queue), are re-sent, and every burst is there once or more."""
    with RedisStreamBuffer(own_server.url, queue_size=2, reconnect_timeout=20) as buffer:
        with buffer.open_session("restart", "car-1") as session:
            for k in range(5):
                session.write(burst_at(k))
            session.flush()
            own_r.save()
            own_server.stop()
            threading.Timer(0.5, own_server.start).start()
            for k in range(5, 15):
                session.write(burst_at(k))  # blocks while the queue is full and Redis away
            session.flush()
            for k in range(15, 20):
                session.write(burst_at(k))
    own_r.connection_pool.disconnect()
    check_session(own_r, "restart", "car-1")
    assert burst_numbers(own_r, "car-1", 1) == list(range(20))


def test_shutdown_while_bursts_are_in_flight_resends_them(own_server, own_r):
    """SHUTDOWN SAVE while the writer streams: whatever Redis had not acknowledged is
    re-sent after the restart (at-least-once: a burst may appear twice, none is missing)."""

    def restart():
        time.sleep(0.2)
        killer = redis.Redis.from_url(own_server.url)
        killer.shutdown(save=True)
        killer.close()
        own_server.stop()  # reaps the old process
        time.sleep(0.2)
        own_server.start()

    written = 0
    with RedisStreamBuffer(own_server.url, reconnect_timeout=20) as buffer:
        with buffer.open_session("crash", "car-1") as session:
            restarter = threading.Thread(target=restart)
            restarter.start()
            while restarter.is_alive() or written < 40:
                session.write(burst_at(written))
                written += 1
            restarter.join()
    own_r.connection_pool.disconnect()
    check_session(own_r, "crash", "car-1")
    seen = burst_numbers(own_r, "car-1", 1)
    assert in_order_at_least_once(seen, written), (written, seen)


def test_redis_away_past_the_retry_budget_reports_unsent_data(own_server, own_r):
    with RedisStreamBuffer(own_server.url, reconnect_timeout=0.3) as buffer:
        session = buffer.open_session("gone", "car-1")
        session.write(burst_at(0))
        session.flush()
        own_server.stop()
        messages = [m for k in (1, 2, 3) for m in burst_at(k).pack_with_time_ranges()]
        for k in (1, 2, 3):
            session.write(burst_at(k))
        with pytest.raises(
            RedisUnavailable, match="connection lost and not restored within 0.3 s"
        ) as info:
            session.flush()
        assert info.value.unsent == [m for m, _ in messages]
        assert f"{len(messages)} stream messages were not written" in str(info.value)
        with pytest.raises(RedisUnavailable):
            session.write(burst_at(4))
        own_server.start()
        # The buffer itself recovers: a new session on the restarted server works.
        with buffer.open_session("after", "car-1") as after:
            after.write(burst_at(5))
        check_session(own_r, "after", "car-1")
        session.close("failed")  # retries the connection and writes the final state
    # Redis restarted empty: only the final state is there, in the hash and the stream.
    assert json.loads(own_r.hget("sessions:gone", "json"))["state"] == "failed"
    final = read_stream(own_r, "car-1")[-1].jsons()[-1]
    assert (final["identity"], final["state"]) == ("gone", "failed")


def test_bad_data_never_reaches_redis_and_fails_the_session(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with pytest.raises(ValueError, match="timestamps"):
            with buffer.open_session("bad", "car-1") as session:
                session.timestamped(1, [T0, T0 - 1], np.zeros(2))
    check_session(r, "bad", "car-1", final_state="failed")
    assert [e.kinds() for e in read_stream(r, "car-1")] == [
        ["session_json"],
        ["time_range", "session_json"],
    ]
    assert isinstance(
        rtastream.decode(r.xrange("stream:car-1")[-1][1][b"data"])[0], rtastream.TimeRangeItem
    )
