"""wait_replicas with a plain redis:// URL: a round counts as acknowledged only once WAIT says
enough replicas have it; a short WAIT is asked again on the same connection (nothing is
written twice), until reconnect_timeout."""

from __future__ import annotations

import threading
import time

import pytest

import rtastream
from replication import (
    SERVER_ARGS,
    WRITERS,
    client,
    replica_args,
    session_of,
    wait_for_replicas,
)
from rtastream import RedisCommandError, RedisUnavailable
from stream_oracle import burst_at, burst_numbers, check_session
from waiting import wait_until


@pytest.mark.parametrize("writer", WRITERS)
def test_an_acknowledged_write_is_on_the_replica(private_redis, writer):
    master = private_redis(args=SERVER_ARGS)
    replica = private_redis(args=replica_args(master))
    wait_for_replicas(master, 1)
    with client(master) as m, client(replica) as r:
        with session_of(writer, master.url, "acked", wait_replicas=1) as session:
            for k in range(20):
                session.write(burst_at(k))
                session.flush()
                # The replica has the burst once flush() returns: no waiting here.
                assert r.xlen("stream:car-1") == m.xlen("stream:car-1") == k + 2
        check_session(r, "acked", "car-1")


def connected_replicas(master) -> int:
    with client(master) as c:
        return int(c.info("replication")["connected_slaves"])


@pytest.mark.parametrize("writer", WRITERS)
def test_too_few_replicas_fail_after_the_budget_with_unsent(private_redis, writer):
    master = private_redis(args=SERVER_ARGS)
    replicas = [private_redis(args=replica_args(master)) for _ in range(2)]
    wait_for_replicas(master, 2)
    options = dict(wait_replicas=2, wait_timeout=0.05, reconnect_timeout=0.5)
    messages = [m for k in (0, 1) for m, _ in burst_at(k).pack_with_time_ranges()]
    with pytest.raises(RedisUnavailable) as info:
        with session_of(writer, master.url, "too-few", **options) as session:
            replicas[1].stop()
            wait_until(lambda: connected_replicas(master) == 1, 10, "the master to see it go")
            session.write(burst_at(0))
            session.write(burst_at(1))
            session.flush()
    assert str(info.value) == (
        f"cannot reach Redis at 127.0.0.1:{master.port}: 1 of the 2 replicas wanted "
        "acknowledged the writes within 0.5 s (WAIT); 2 stream messages were not written"
    )
    assert info.value.unsent == messages


def test_a_short_wait_is_asked_again_without_writing_twice(private_redis):
    """The replica starts while the writer waits for it: WAIT alone was asked again, so
    every command ran once (one INCRBY of lastStreamSessionId, each burst once)."""
    master = private_redis(args=SERVER_ARGS)
    timer = threading.Timer(0.3, lambda: private_redis(args=replica_args(master)))
    started = time.monotonic()
    timer.start()
    options = dict(wait_replicas=1, wait_timeout=0.05, reconnect_timeout=30)
    with rtastream.RedisStreamBuffer(master.url, **options) as buffer:
        with buffer.open_session("late", "car-1") as session:
            assert time.monotonic() - started > 0.3  # the opening waited for the replica
            for k in range(10):
                session.write(burst_at(k))
    timer.join()
    with client(master) as m:
        assert int(m.get("lastStreamSessionId")) == 1
        assert burst_numbers(m, "car-1", 1) == list(range(10))
        check_session(m, "late", "car-1")


def test_wait_refused_names_wait(private_redis):
    master = private_redis(args=SERVER_ARGS)
    private_redis(args=replica_args(master))
    wait_for_replicas(master, 1)
    with client(master) as m:
        m.acl_setuser(
            "no-wait", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-wait"]
        )
    url = master.url.replace("redis://", "redis://no-wait:pw@")
    with rtastream.RedisStreamBuffer(url, wait_replicas=1) as buffer:
        with pytest.raises(RedisCommandError) as info:
            buffer.open_session("nope", "car-1")
    message = str(info.value)  # the server's words vary between versions
    assert message.startswith("Redis refused WAIT: NoPermissionError: "), message
    assert "'wait' command" in message
    assert info.value.key == ""


@pytest.mark.parametrize(
    "options, message",
    [
        ({"wait_replicas": -1}, "wait_replicas must be an int >= 0, got -1"),
        ({"wait_replicas": 1.5}, "wait_replicas must be an int >= 0, got 1.5"),
        ({"wait_timeout": 0}, "wait_timeout must be >= 0.001 seconds, got 0"),
    ],
)
@pytest.mark.parametrize("writer", WRITERS)
def test_bad_wait_options_are_refused(writer, options, message):
    with pytest.raises(ValueError) as info:
        writer("redis://127.0.0.1:1/0", **options)
    assert str(info.value) == message


def test_wait_replicas_is_refused_on_a_cluster(cluster_url):
    with rtastream.RedisStreamBuffer(cluster_url, wait_replicas=1) as buffer:
        with pytest.raises(ValueError) as info:
            buffer.open_session("x", "car-1")
    assert str(info.value) == (
        "wait_replicas is for a single Redis or a Sentinel's master, not a Redis Cluster "
        "(whose rounds are settled key by key as they are answered)"
    )
