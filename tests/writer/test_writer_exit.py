"""How a writing process ends: a buffer never closed, SIGTERM with end_sessions_on_sigterm().
Each case runs a script in its own interpreter and reads back what it left in Redis."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from stream_oracle import session_entries

SYNC = """
import sys, time, numpy as np, rtastream
rtastream.end_sessions_on_sigterm()
with rtastream.RedisStreamBuffer(sys.argv[1]) as buffer:
    with buffer.open_session("s", "car-1") as session:
        for k in range(10**6):
            session.row([1], 10**18 + k, np.array([k], dtype="<f8"))
            if k == 10:
                print("streaming", flush=True)
            time.sleep(0.001)
"""

ASYNCIO = """
import asyncio, sys, numpy as np, rtastream, rtastream.aio
rtastream.end_sessions_on_sigterm()
async def main():
    async with rtastream.aio.RedisStreamBuffer(sys.argv[1]) as buffer:
        async with buffer.open_session("s", "car-1") as session:
            for k in range(10**6):
                await session.row([1], 10**18 + k, np.array([k], dtype="<f8"))
                if k == 10:
                    print("streaming", flush=True)
                await asyncio.sleep(0.001)
asyncio.run(main())
"""

NEVER_CLOSED = """
import sys, numpy as np, rtastream
buffer = rtastream.RedisStreamBuffer(sys.argv[1], flush_interval=3600)
session = buffer.open_session("s", "car-1")
for k in range(1000):
    session.row([1], 10**18 + k, np.array([k], dtype="<f8"))
print("exiting", flush=True)
"""

DROPPED = """
import asyncio, gc, sys, numpy as np, rtastream, rtastream.aio
buffer = rtastream.RedisStreamBuffer(sys.argv[1], flush_interval=3600)
buffer.open_session("s", "car-1").row([1], 10**18, np.array([1.0]))
del buffer
gc.collect()
async def main():
    buffer = rtastream.aio.RedisStreamBuffer(sys.argv[1])
    await buffer.open_session("a", "car-2")
asyncio.run(main())
gc.collect()
print("collected", flush=True)
"""


def run_script(script: str, url: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *options, "-c", textwrap.dedent(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def final_state(r, identity: str) -> str:
    return json.loads(r.hget(f"sessions:{identity}", "json"))["state"]


@pytest.mark.parametrize("script", [SYNC, ASYNCIO], ids=["sync", "asyncio"])
def test_sigterm_ends_sessions_truncated_and_exits_143(redis_url, r, script):
    process = run_script(script, redis_url)
    assert process.stdout.readline() == "streaming\n", process.communicate()[1]
    time.sleep(0.2)  # some rows flushed by the timer
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert err == ""
    assert final_state(r, "s") == "truncated"
    assert r.xlen("stream:car-1") >= 3  # opening, data, final state


def test_a_buffer_never_closed_is_ended_truncated_at_exit(redis_url, r):
    out, err = run_script(NEVER_CLOSED, redis_url, "-X", "dev").communicate(timeout=60)
    assert (out, err) == ("exiting\n", "")
    assert final_state(r, "s") == "truncated"
    rows = [
        d.row_data.timestamp
        for e in session_entries(r, "car-1", 1)
        for d in e.burst.data
        if d.WhichOneof("data") == "row_data"
    ]
    assert rows == [10**18 + k for k in range(1000)]  # flushed on the way out


def test_a_buffer_dropped_while_open_warns(redis_url, r):
    process = run_script(DROPPED, redis_url, "-W", "always::ResourceWarning")
    out, err = process.communicate(timeout=60)
    assert out == "collected\n" and process.returncode == 0
    address = redis_url.removeprefix("redis://").removesuffix("/0")
    assert (
        f"ResourceWarning: unclosed <rtastream.writer.sync.RedisStreamBuffer {address}, "
        "1 sessions open>"
    ) in err
    assert (
        f"ResourceWarning: unclosed <rtastream.writer.aio.RedisStreamBuffer {address}, "
        "1 sessions open>"
    ) in err
    # Both are still ended: the sync one at exit, the asyncio one as its loop shuts down.
    assert final_state(r, "s") == "truncated"
    assert final_state(r, "a") == "truncated"
