"""The live edge under load: one producer XADDs a 64 x 128 float64 burst ten times a second
(the typical 10 Hz live stream) while 1, 10, 100 or 1000 WebSocket clients of `rtastream serve`
subscribe to every channel.

The server runs in a process of its own, so its CPU time is read from /proc; the producer
and the clients share this process (one asyncio loop), so a receipt is timed on the same
clock as the XADD that caused it. Latency is from just before XADD to the moment a client's
receive() returns the message. On this 2-core machine the clients, the server and
redis-server compete for the cores: at 100 clients the clients' own decoding of frames is
part of what is measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time

import aiohttp
import numpy as np
import pytest
import redis.asyncio

from benchmarks.workloads import PERIOD, T0, TYPICAL
from rtastream import Burst, keys

SUBPROTOCOL = "mat.ocs.rta.stream-lz4"
RATE = 10.0  # bursts per second
IDENTITY = "bench-live"
STREAM = "bench-live"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process now."""
    with open(f"/proc/{pid}/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmRSS:"))
    return int(kib) * 1024


def messages(count: int) -> list[bytes]:
    """`count` distinct typical bursts (consecutive time ranges), each one message."""
    packed = []
    for i in range(count):
        burst = Burst()
        t = TYPICAL.timestamps + i * TYPICAL.samples * PERIOD
        burst.timestamped(TYPICAL.channel_ids, t, TYPICAL.values)
        burst.time_range(T0, int(t[-1]))
        [message] = burst.pack(1 << 20)
        packed.append(message)
    return packed


async def open_session(client) -> int:
    session_id = await client.incr(keys.LAST_STREAM_SESSION_ID)
    model = {
        "identity": IDENTITY,
        "identifier": "benchmark",
        "state": "open",
        "timestamp": "2026-01-01T00:00:00+00:00",
    }
    burst = Burst()
    burst.session_json(json.dumps(model))
    await client.hset(
        keys.session_key(IDENTITY),
        mapping={
            keys.STREAM_SESSION_ID: session_id,
            keys.STREAM_NAME: STREAM,
            keys.STREAM_POSITION: keys.NO_STREAM_POSITION,
            keys.JSON: json.dumps(model),
        },
    )
    await client.xadd(
        keys.stream_key(STREAM), {keys.ENTRY_ID: session_id, keys.ENTRY_DATA: burst.pack()[0]}
    )
    return session_id


async def measure(server_url: str, redis_url: str, pid: int, clients: int, seconds: float) -> dict:
    count = max(2, round(seconds * RATE))
    payloads = messages(count)
    index = {message: i for i, message in enumerate(payloads)}
    sent: dict[int, float] = {}
    latencies: list[float] = []
    received = [0] * clients
    closed: dict[str, int] = {}  # why sockets ended early: close code and reason -> clients
    r = redis.asyncio.Redis.from_url(redis_url)
    await r.flushall()
    session_id = await open_session(r)
    subscribe = bytes([0x12, 0x02, 0x10, 0x01])  # StreamRequest{subscribe{all_data_channels}}
    rss0 = rss_bytes(pid)
    # No limit on connections: aiohttp's default of 100 would hold the 101st client back.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = [
            await http.ws_connect(
                f"{server_url}rta/v2/sessions/{IDENTITY}/stream",
                protocols=[SUBPROTOCOL],
                max_msg_size=0,
            )
            for _ in range(clients)
        ]
        for ws in sockets:
            await ws.receive(timeout=30)  # the Session JSON
            await ws.send_bytes(subscribe)

        async def listen(k: int, ws) -> None:
            while received[k] < count:
                message = await ws.receive()
                if message.type != aiohttp.WSMsgType.BINARY:
                    why = f"{ws.close_code} {message.extra or ''}".strip()
                    closed[why] = closed.get(why, 0) + 1
                    return
                at = time.perf_counter()
                i = index.get(message.data)
                if i is not None:
                    latencies.append(at - sent[i])
                    received[k] += 1

        listeners = [asyncio.create_task(listen(k, ws)) for k, ws in enumerate(sockets)]
        await asyncio.sleep(1.0)  # back-fills of the empty session done, feeds reading
        rss = rss_bytes(pid)
        cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
        for i, payload in enumerate(payloads):
            await asyncio.sleep(max(0.0, wall0 + i / RATE - time.perf_counter()))
            sent[i] = time.perf_counter()
            await r.xadd(
                keys.stream_key(STREAM), {keys.ENTRY_ID: session_id, keys.ENTRY_DATA: payload}
            )
        await asyncio.wait(listeners, timeout=30)
        wall, cpu = time.perf_counter() - wall0, cpu_seconds(pid) - cpu0
        for ws in sockets:
            await ws.close()
    await r.aclose()
    share = cpu / wall
    lat = np.array(latencies) * 1000
    return {
        "clients": clients,
        "bursts": count,
        "message_bytes": len(payloads[0]),
        "delivered": sum(received),
        "expected": count * clients,
        "closed_early": closed,
        "server_cpu_share": share,
        "server_cpu_per_client": share / clients,
        "server_cpu_us_per_message": cpu / max(1, sum(received)) * 1e6,
        "server_rss_bytes": rss,
        "server_rss_per_client_bytes": (rss - rss0) / clients,
        "latency_p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
        "latency_p99_ms": float(np.percentile(lat, 99)) if len(lat) else None,
        "latency_max_ms": float(lat.max()) if len(lat) else None,
    }


@pytest.fixture(scope="module")
def live_server(redis_server):
    process = subprocess.Popen(
        [sys.executable, "-m", "rtastream", "serve", "--port", "0", "--redis", redis_server.url],
        stderr=subprocess.PIPE,
        text=True,
    )
    url = re.search(r" at (http://\S+)", process.stderr.readline()).group(1)
    yield url, process.pid
    process.terminate()
    process.communicate(timeout=30)


@pytest.mark.parametrize("clients", [1, 10, 100, 1000])
def test_live_edge_fan_out(benchmark, live_server, redis_url, smoke, clients):
    url, pid = live_server
    seconds = 1.0 if smoke else 10.0
    if smoke and clients >= 100:
        clients //= 5
    result = {}

    def run():
        result.update(asyncio.run(measure(url, redis_url, pid, clients, seconds)))

    benchmark.group = "live edge"
    benchmark.extra_info["variant"] = f"{clients} clients"
    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    # Every burst reached every client (a client the server found too slow is closed: 1013).
    assert result["delivered"] == result["expected"], result["closed_early"]
