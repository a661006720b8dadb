"""How a writing process ends: SIGTERM with end_sessions_on_sigterm().
Each case runs a script in its own interpreter and reads back what it left in Redis."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

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

def run_script(script: str, url: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *options, "-c", textwrap.dedent(script), url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
