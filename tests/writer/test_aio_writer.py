"""The asyncio writer: same protocol, read back with the same independent oracle."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import redis

import rtastream
from rtastream import RedisCommandError, RedisUnavailable, Session
from rtastream.aio import RedisStreamBuffer
from rtastream.redis_server import free_port
from stream_oracle import burst_at, burst_numbers, check_session, read_stream

T0 = 1_750_000_000_000_000_000
MS = 1_000_000


def test_session_follows_the_protocol(redis_url, r):
    async def main():
        async with RedisStreamBuffer(redis_url, flush_interval=0.05) as buffer:
            model = Session("a1", state="waiting", details={"k": 1})
            async with await buffer.open_session("a1", "car-1", model) as session:
                assert session.stream_session_id == 1 and session.stream_position == "0-0"
                await session.update(state="open")
                await session.write(burst_at(0))
                await session.row([1, 2], T0 + 10**9, np.array([1.0, 2.0]).tobytes())
                await session.periodic(5, T0 + 2 * 10**9, MS, np.arange(8, dtype=np.float32))
                await session.event(3, T0 + 3 * 10**9, "flag")
                await session.timestamped(6, [T0 + 4 * 10**9], [1.0])
                await session.flush()

    asyncio.run(main())
    record, entries = check_session(r, "a1", "car-1")
    assert [d["state"] for e in entries for d in e.jsons()] == ["waiting", "open", "closed"]
    assert (int(record[b"tStart"]), int(record[b"tEnd"])) == (T0, T0 + 4 * 10**9)
    kinds = [k for e in entries for k in e.kinds()]
    for kind in ("timestamped_data", "row_data", "periodic_data", "event"):
        assert kind in kinds


def test_quiet_loop_is_flushed_by_the_timer_task(redis_url, r):
    async def main():
        async with RedisStreamBuffer(redis_url, flush_interval=0.05) as buffer:
            async with await buffer.open_session("quiet", "car-1") as session:
                await session.row([1], T0, np.array([1.0]).tobytes())
                for _ in range(100):
                    if len(read_stream(r, "car-1")) == 2:
                        break
                    await asyncio.sleep(0.02)
                assert read_stream(r, "car-1")[1].kinds() == ["row_data", "time_range"]

    asyncio.run(main())
    check_session(r, "quiet", "car-1")


def test_cancellation_truncates_and_exceptions_fail(redis_url, r):
    async def streaming(buffer, started):
        async with await buffer.open_session("cancelled", "car-1") as session:
            k = 0
            while True:
                await session.row([1], T0 + k * MS, np.array([float(k)]).tobytes())
                k += 1
                started.set()
                await asyncio.sleep(0.001)

    async def main():
        async with RedisStreamBuffer(redis_url) as buffer:
            started = asyncio.Event()
            task = asyncio.create_task(streaming(buffer, started))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(KeyError):
                async with await buffer.open_session("failing", "car-2"):
                    raise KeyError("boom")

    asyncio.run(main())
    check_session(r, "cancelled", "car-1", final_state="truncated")
    check_session(r, "failing", "car-2", final_state="failed")


def test_interleaved_sessions_in_concurrent_tasks(redis_url, r):
    async def run(buffer, name, offset):
        async with await buffer.open_session(name, "shared") as session:
            for k in range(5):
                await session.write(burst_at(offset + k))
                await asyncio.sleep(0)

    async def main():
        async with RedisStreamBuffer(redis_url) as buffer:
            await asyncio.gather(run(buffer, "x", 0), run(buffer, "y", 100))

    asyncio.run(main())
    for name, offset in (("x", 0), ("y", 100)):
        record, _ = check_session(r, name, "shared")
        session_id = int(record[b"streamSessionId"])
        assert burst_numbers(r, "shared", session_id) == list(range(offset, offset + 5))


def test_unreachable_and_wrong_type(redis_url, r):
    port = free_port()

    async def main():
        async with RedisStreamBuffer(f"redis://127.0.0.1:{port}/0") as buffer:
            with pytest.raises(RedisUnavailable, match=f"cannot reach Redis at 127.0.0.1:{port}"):
                await buffer.open_session("x", "car-1")
        r.set("stream:car-1", "a string")
        async with RedisStreamBuffer(redis_url) as buffer:
            with pytest.raises(RedisCommandError, match="on key 'stream:car-1': WRONGTYPE"):
                await buffer.open_session("x", "car-1")
        r.set("sessions:y", "a string")
        async with RedisStreamBuffer(redis_url) as buffer:
            with pytest.raises(RedisCommandError, match="on key 'sessions:y': WRONGTYPE"):
                await buffer.open_session("y", "car-2")

    asyncio.run(main())
    assert not r.exists("stream:car-2")


def test_restart_mid_session_and_retry_budget(private_redis):
    async def main(server, client):
        async with RedisStreamBuffer(server.url, queue_size=2, reconnect_timeout=20) as buffer:
            async with await buffer.open_session("restart", "car-1") as session:
                for k in range(5):
                    await session.write(burst_at(k))
                await session.flush()
                client.save()
                server.stop()
                asyncio.get_running_loop().call_later(0.4, server.start)
                for k in range(5, 15):
                    await session.write(burst_at(k))
        client.connection_pool.disconnect()
        check_session(client, "restart", "car-1")
        assert burst_numbers(client, "car-1", 1) == list(range(15))

        async with RedisStreamBuffer(server.url, reconnect_timeout=0.3) as buffer:
            session = await buffer.open_session("gone", "car-1")
            server.stop()
            await session.write(burst_at(1))
            with pytest.raises(RedisUnavailable, match="not restored within 0.3 s") as info:
                await session.flush()
            assert info.value.unsent == [m for m, _ in burst_at(1).pack_with_time_ranges()]
            server.start()
            await session.close()  # retries the connection and writes the final state
        # Redis restarted empty: only the final state is there, in the hash and the stream.
        assert json.loads(client.hget("sessions:gone", "json"))["state"] == "closed"
        final = read_stream(client, "car-1")[-1].jsons()[-1]
        assert (final["identity"], final["state"]) == ("gone", "closed")

    server = private_redis()
    client = redis.Redis.from_url(server.url)
    asyncio.run(main(server, client))
    client.close()


def test_public_shape_matches_the_sync_writer():
    public = {n for n in dir(rtastream.StreamSession) if not n.startswith("_")}
    assert public == {n for n in dir(rtastream.aio.StreamSession) if not n.startswith("_")}
    public = {n for n in dir(rtastream.RedisStreamBuffer) if not n.startswith("_")}
    assert public == {n for n in dir(rtastream.aio.RedisStreamBuffer) if not n.startswith("_")}


def test_open_session_is_awaitable_and_an_async_context_manager(redis_url, r):
    async def main():
        async with RedisStreamBuffer(redis_url) as buffer:
            async with buffer.open_session("direct", "car-1") as session:
                await session.write(burst_at(0))
            assert session.state.json_name == "closed"
            awaited = await buffer.open_session("awaited", "car-1")
            await awaited.close()

    asyncio.run(main())
    check_session(r, "direct", "car-1")
    check_session(r, "awaited", "car-1")
