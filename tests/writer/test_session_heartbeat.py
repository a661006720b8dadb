"""An open session's hash says its writer is alive: `lastUpdated` is refreshed every
keys.HEARTBEAT_INTERVAL with no data at all; and a session whose final state Redis refused
does not claim to be closed."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis

import rtastream
import rtastream.aio
from replication import WRITERS, session_of
from rtastream import RedisCommandError, SessionState, keys
from stream_oracle import burst_at
from waiting import wait_until

pytestmark = pytest.mark.slow


def last_updated(r: redis.Redis, identity: str) -> int:
    return int(r.hget(f"sessions:{identity}", "lastUpdated"))


def heartbeats(r: redis.Redis, identity: str, count: int) -> list[int]:
    """The first `count` values lastUpdated takes after now, polled."""
    seen = [last_updated(r, identity)]
    limit = (count + 1) * keys.HEARTBEAT_INTERVAL + 5
    while len(seen) <= count:
        wait_until(lambda: last_updated(r, identity) != seen[-1], limit, "a heartbeat")
        seen.append(last_updated(r, identity))
    return seen[1:]


def test_the_sync_writer_refreshes_an_idle_session(redis_url, r):
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("idle", "rig"):
            opened = last_updated(r, "idle")
            beats = heartbeats(r, "idle", 2)
            json_before = r.hget("sessions:idle", "json")
    gaps = [b - a for a, b in zip([opened, *beats], beats, strict=False)]
    assert all(0 < gap <= keys.HEARTBEAT_INTERVAL * 1000 + 1000 for gap in gaps), gaps
    assert json.loads(json_before)["state"] == "open"  # only lastUpdated changed


def test_the_asyncio_writer_refreshes_an_idle_session(redis_url, r):
    async def main() -> list[int]:
        async with rtastream.aio.RedisStreamBuffer(redis_url) as buffer:
            async with buffer.open_session("idle", "rig"):
                opened = last_updated(r, "idle")
                deadline = time.monotonic() + 3 * keys.HEARTBEAT_INTERVAL + 5
                seen = [opened]
                while len(seen) < 3 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)  # the event loop runs the writer's timer
                    if last_updated(r, "idle") != seen[-1]:
                        seen.append(last_updated(r, "idle"))
                return seen

    seen = asyncio.run(main())
    assert len(seen) == 3, seen
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    assert all(0 < gap <= keys.HEARTBEAT_INTERVAL * 1000 + 1000 for gap in gaps), gaps


@pytest.mark.parametrize("writer", WRITERS)
def test_a_close_refused_for_memory_leaves_the_session_open(private_redis, writer):
    server = private_redis()
    with redis.Redis.from_url(server.url) as r:
        with session_of(writer, server.url, "oom", reconnect_timeout=1) as session:
            session.write(burst_at(0))
            session.flush()
            r.config_set("maxmemory-policy", "noeviction")
            r.config_set("maxmemory", 1)  # below what is used: every write is refused
            try:
                with pytest.raises(RedisCommandError, match="OutOfMemoryError"):
                    session.close()
                assert json.loads(r.hget("sessions:oom", "json"))["state"] == "open"
                assert session.state is SessionState.OPEN  # as Redis has it
                assert session.session.state is SessionState.OPEN
                with pytest.raises(
                    RuntimeError, match=r"session .oom. is closed \(Redis has it open: refused\)"
                ):
                    session.write(burst_at(1))  # ending: nothing more is taken
            finally:
                r.config_set("maxmemory", 0)
