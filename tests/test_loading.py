"""A single Redis answering -LOADING (a persistent Redis restarting, still loading its
dataset) is a server not ready yet, not a refusal: both writers send what it refused again
once it has loaded, nothing lost and nothing twice, and the readers ask again; both give up
with RedisUnavailable (the writers with `unsent`) only once it has refused for
reconnect_timeout. The loading is made with DEBUG RELOAD on a padded dataset
(tests/freezing.py), on a private redis-server."""

from __future__ import annotations

import json
import threading

import pytest
import redis

from cli_helpers import T0, open_session, send_data, send_json
from following import follow_async, follow_sync
from freezing import DEBUG, FILLER_KEYS, loading, loading_now
from replication import WRITERS, session_of
from rtastream import RedisUnavailable
from stream_oracle import burst_at, burst_numbers
from waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("writer", WRITERS)
def test_what_redis_refused_while_loading_is_written_once_it_has_loaded(private_redis, writer):
    server = private_redis(args=DEBUG)
    with session_of(writer, server.url, "loading", reconnect_timeout=30) as session:
        session.write(burst_at(0))
        session.flush()
        with loading(server, 1.0) as reload:
            for k in (1, 2, 3):
                session.write(burst_at(k))
            session.flush()  # acknowledged: Redis has loaded and written them
            assert not reload.is_alive()
        session.write(burst_at(4))
    with redis.Redis.from_url(server.url) as r:
        assert json.loads(r.hget("sessions:loading", "json"))["state"] == "closed"
        assert burst_numbers(r, "car-1", session.stream_session_id) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_writer_rides_through_the_restart_of_a_persistent_redis_still_loading(
    private_redis, writer
):
    """The realistic case: a restart from an RDB file that takes seconds to load. The writer
    reconnects at once and is answered LOADING; its check of the session hashes waits for
    the end of the loading, so its data goes to a loaded Redis."""
    server = private_redis()
    with session_of(writer, server.url, "restarted", reconnect_timeout=30) as session:
        session.write(burst_at(0))
        session.flush()
        with redis.Redis.from_url(server.url) as r:
            r.mset({f"filler:{i}": "x" for i in range(FILLER_KEYS)})
            r.save()
        server.stop()
        server.args += [
            "--key-load-delay",
            "100",
            "--loading-process-events-interval-bytes",
            "1024",
        ]
        starting = threading.Thread(target=server.start)  # returns once it has loaded
        starting.start()
        probe = redis.Redis.from_url(server.url, retry=None)
        wait_until(
            lambda: loading_now(probe),
            what="the restarted server to answer LOADING",
            ignoring=(redis.exceptions.ConnectionError,),  # not listening yet
        )
        for k in (1, 2, 3):
            session.write(burst_at(k))
        session.flush()
        starting.join()
        probe.close()
    with redis.Redis.from_url(server.url) as r:
        assert json.loads(r.hget("sessions:restarted", "json"))["state"] == "closed"
        assert burst_numbers(r, "car-1", session.stream_session_id) == [0, 1, 2, 3]


@pytest.mark.parametrize("writer", WRITERS)
def test_loading_past_the_budget_is_unavailable_with_unsent(private_redis, writer):
    server = private_redis(args=DEBUG)
    messages = [m for m, _ in burst_at(1).pack_with_time_ranges()]
    with session_of(writer, server.url, "loading-long", reconnect_timeout=0.5) as session:
        session.write(burst_at(0))
        session.flush()
        with loading(server, 1.5) as reload:
            session.write(burst_at(1))
            with pytest.raises(RedisUnavailable) as info:
                session.flush()
            assert reload.is_alive()  # given up while Redis was still loading
        assert str(info.value) == (
            f"cannot reach Redis at 127.0.0.1:{server.port}: still refused after 0.5 s "
            "(BusyLoadingError: Redis is loading the dataset in memory); "
            f"{len(messages)} stream messages were not written"
        )
        assert info.value.unsent == messages
        session.close("failed")  # Redis has loaded: the final state is written
    with redis.Redis.from_url(server.url) as r:
        assert json.loads(r.hget("sessions:loading-long", "json"))["state"] == "failed"
        assert burst_numbers(r, "car-1", session.stream_session_id) == [0]


@pytest.mark.parametrize("follow", [follow_sync, follow_async])
def test_readers_ride_through_redis_loading_its_dataset(private_redis, follow):
    """One reader follows the session through the loading, another opens during it."""
    server = private_redis(args=DEBUG)
    r = redis.Redis.from_url(server.url)
    session = open_session(r, "loaded", "car-1")
    send_data(r, session, bursts=2)
    through = follow(server.url, "loaded", block=0.2, reconnect_timeout=30)
    through.start()
    try:
        wait_until(lambda: len(through.entries) == 3, what="the bursts written read")
        with loading(server, 1.0) as reload:
            opened = follow(server.url, "loaded", block=0.2, reconnect_timeout=30)
            opened.start()
            reload.join()
        send_data(r, session, bursts=2, start=T0 + 200_000_000)
        send_json(r, session, "closed")
        for reader in (through, opened):
            reader.join(timeout=20)
            assert reader.error is None, reader.error
            assert [entry.id for entry in reader.entries] == session.entry_ids  # once, in order
    finally:
        through.stop()
        r.close()


@pytest.mark.parametrize("follow", [follow_sync, follow_async])
def test_a_reader_gives_up_on_loading_past_the_budget(private_redis, follow):
    server = private_redis(args=DEBUG)
    with redis.Redis.from_url(server.url) as r:
        open_session(r, "loading-read", "car-1")
    with loading(server, 1.5) as reload:
        reader = follow(server.url, "loading-read", block=0.2, reconnect_timeout=0.5)
        reader.start()
        reader.join(timeout=10)
        assert reload.is_alive()  # given up while Redis was still loading
    assert isinstance(reader.error, RedisUnavailable), reader.error
    assert str(reader.error) == (
        f"cannot reach Redis at 127.0.0.1:{server.port}: Redis is loading the dataset in "
        "memory (for 0.5 s)"
    )
