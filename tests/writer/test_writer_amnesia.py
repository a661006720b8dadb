"""Redis restarted empty mid-session (no persistence): the writer notices after it
reconnects, writes the session hash again whole (the original stream session id), moves
lastStreamSessionId past it, warns how much was lost, and the session goes on readable.
Each test restarts a private redis-server of its own."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
import redis

import rtastream
import rtastream.aio
from replication import WRITERS, session_of
from stream_oracle import burst_at, burst_numbers, check_session
from waiting import wait_until


def restart_empty(server) -> None:
    """Stopped and started again: RedisServer runs without persistence (no RDB, no AOF),
    so it comes back empty."""
    server.stop()
    server.start()


@pytest.mark.parametrize("writer", WRITERS)
def test_a_session_outlives_a_redis_restarted_empty(private_redis, writer, caplog):
    server = private_redis()
    with redis.Redis.from_url(server.url) as r:
        r.set("lastStreamSessionId", 41)  # other sessions were here before
        with session_of(writer, server.url, "amnesia", reconnect_timeout=10) as session:
            assert session.stream_session_id == 42
            position = session.stream_position
            for k in range(3):
                session.write(burst_at(k))
            session.flush()
            restart_empty(server)
            caplog.set_level(logging.WARNING, logger="rtastream.writer")
            for k in range(3, 6):
                session.write(burst_at(k))
            session.flush()
            record = {k.decode(): v.decode() for k, v in r.hgetall("sessions:amnesia").items()}
            assert record["streamSessionId"] == "42" and record["streamName"] == "car-1"
            assert record["streamPosition"] == position
            assert json.loads(record["json"])["state"] == "open"
            assert int(r.get("lastStreamSessionId")) == 42  # a new session gets 43
        [warning] = [rec for rec in caplog.records if rec.name == "rtastream.writer"]
        assert warning.levelno == logging.WARNING
        text = warning.getMessage()
        assert f"Redis at 127.0.0.1:{server.port} came back without the hash of session " in text
        assert (
            "'amnesia'" in text
            and "the 4 stream messages of the session it had acknowledged are lost" in text
        )  # JSON + 3 bursts
        assert "stream session id 42 on stream 'car-1'" in text
        check_session(r, "amnesia", "car-1")  # readable, ended closed
        assert burst_numbers(r, "car-1", 42) == [3, 4, 5]  # what came after the restart
        assert int(r.get("lastStreamSessionId")) == 42
        with rtastream.RedisStreamBuffer(server.url) as buffer:
            assert buffer.open_session("next", "car-1").stream_session_id == 43


def test_an_idle_session_is_restored_by_its_heartbeat(private_redis, caplog):
    """No data after the restart: the heartbeat's reconnect finds the hash gone."""
    server = private_redis()
    caplog.set_level(logging.WARNING, logger="rtastream.writer")
    with redis.Redis.from_url(server.url) as r:
        with rtastream.RedisStreamBuffer(server.url) as buffer:
            with buffer.open_session("idle", "car-1") as session:
                restart_empty(server)
                wait_until(lambda: r.exists("sessions:idle"), 15, "the hash to come back")
                record = r.hgetall("sessions:idle")
                assert int(record[b"streamSessionId"]) == session.stream_session_id
                assert int(r.get("lastStreamSessionId")) == session.stream_session_id
        assert any("'idle'" in rec.getMessage() for rec in caplog.records)
        check_session(r, "idle", "car-1")


def test_an_idle_asyncio_session_is_restored_by_its_heartbeat(private_redis, caplog):
    """The asyncio writer sees the connection close at once, while idle: its next
    heartbeat reconnects, and checks first."""
    server = private_redis()
    caplog.set_level(logging.WARNING, logger="rtastream.writer")

    async def main(r: redis.Redis) -> None:
        async with rtastream.aio.RedisStreamBuffer(server.url) as buffer:
            async with buffer.open_session("idle", "car-1") as session:
                restart_empty(server)
                deadline = time.monotonic() + 15
                while not r.exists("sessions:idle") and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)  # the event loop runs the writer's timer
                record = r.hgetall("sessions:idle")
                assert int(record[b"streamSessionId"]) == session.stream_session_id

    with redis.Redis.from_url(server.url) as r:
        asyncio.run(main(r))
        assert any("'idle'" in rec.getMessage() for rec in caplog.records)
        check_session(r, "idle", "car-1")
