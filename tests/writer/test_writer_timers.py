"""One timer per buffer, whatever the number of sessions: it flushes every session's live data
when due (sync: one timer thread and one I/O thread per connection; asyncio: one timer task)."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

import rtastream.aio
from rtastream import RedisStreamBuffer
from stream_oracle import T0, check_session, session_entries
from waiting import wait_until

SESSIONS = 50


def flushed(r, session_ids) -> bool:
    return all(len(session_entries(r, "car-1", sid)) == 2 for sid in session_ids)


def test_sync_buffer_runs_one_timer_thread_for_all_sessions(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=0.05) as buffer:
        sessions = [buffer.open_session(f"s{k}", "car-1") for k in range(SESSIONS)]
        for k, session in enumerate(sessions):
            session.row([1], T0 + k, np.array([float(k)]))
        # (the process-wide pack() workers, "rtastream-pack", are no buffer's)
        names = sorted(
            t.name
            for t in threading.enumerate()
            if t.name.startswith(("rtastream-io", "rtastream-timer"))
        )
        assert names == [f"rtastream-io-{buffer.address}", "rtastream-timer"]
        wait_until(lambda: flushed(r, [s.stream_session_id for s in sessions]))
    for k in range(SESSIONS):
        check_session(r, f"s{k}", "car-1")


def test_asyncio_buffer_runs_one_timer_task_for_all_sessions(redis_url, r):
    async def main():
        async with rtastream.aio.RedisStreamBuffer(redis_url, flush_interval=0.05) as buffer:
            sessions = [await buffer.open_session(f"a{k}", "car-1") for k in range(SESSIONS)]
            for k, session in enumerate(sessions):
                await session.row([1], T0 + k, np.array([float(k)]))
            assert [
                t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("rtastream")
            ] == ["rtastream-timer"]
            ids = [s.stream_session_id for s in sessions]
            while not flushed(r, ids):
                await asyncio.sleep(0.02)

    asyncio.run(asyncio.wait_for(main(), 30))
    for k in range(SESSIONS):
        check_session(r, f"a{k}", "car-1")
