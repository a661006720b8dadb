"""Writing to a Redis Cluster against writing to a single Redis: 1, 3 and 12 sessions, each
on a stream of its own, written by one RedisStreamBuffer, on a single redis-server and on a
cluster of three masters started on the same machine, side by side in one run.

Each round writes BURSTS pre-packed ~56 KiB messages in all (XADD + HSET + EXPIRE each),
round-robin over the sessions, and waits until every one is acknowledged. On the cluster
the streams are spread evenly over the masters (with one session, one master holds its
stream). The CPU time the writer's process and the Redis servers spend per burst is
recorded too: it says where the time goes, and what more cores would give.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

import rtastream
from benchmarks import variants
from benchmarks.report_sections import CLUSTER, SINGLE
from benchmarks.test_write import ROUNDS
from benchmarks.workloads import WRITE_WORKLOAD
from rtastream import keys
from rtastream.redis_server import LocalCluster, RedisServer

BURSTS = 1200
SESSIONS = [1, 3, 12]
ABOUT = (
    f"One RedisStreamBuffer writes {BURSTS} pre-packed ~56 KiB messages per round (XADD + HSET + "
    "EXPIRE each), round-robin over 1, 3 or 12 sessions, each on a stream of its own, and "
    "waits for every reply: to a single redis-server, and to a cluster of three masters on "
    "the same machine (the streams spread evenly over them). CPU per burst: the writer's "
    "process (all its threads) and the Redis servers (all of them), around the same rounds."
)


@pytest.fixture(scope="module")
def message() -> list[tuple[bytes, tuple[int, int] | None]]:
    burst = rtastream.Burst()
    variants.fill(burst, WRITE_WORKLOAD)
    return burst.pack_with_time_ranges()


def streams_over(cluster: LocalCluster | None, count: int) -> list[str]:
    """`count` stream names, spread evenly over the cluster's masters."""
    if cluster is None:
        return [f"bench-{i}" for i in range(count)]
    owners = sorted({cluster.master_of(slot).port for slot in (0, 8191, 16383)})
    names: list[str] = []
    for i in range(100_000):
        name = f"bench-{i}"
        port = cluster.master_of(key_slot(keys.stream_key(name).encode())).port
        if port == owners[len(names) % len(owners)]:
            names.append(name)
            if len(names) == count:
                return names
    raise AssertionError("no spread found")


def cpu_seconds(servers: list[RedisServer]) -> float:
    """User + system CPU the servers have used so far."""
    total = 0.0
    for server in servers:
        with redis.Redis(port=server.port) as client:
            info = client.info("cpu")
        total += info["used_cpu_user"] + info["used_cpu_sys"]
    return total


@pytest.mark.parametrize("sessions", SESSIONS)
@pytest.mark.parametrize("topology", [SINGLE, CLUSTER])
def test_write_sessions(benchmark, redis_server, redis_cluster, message, smoke, sessions, topology):
    clustered = topology == CLUSTER
    servers = redis_cluster.servers if clustered else [redis_server]
    url = redis_cluster.url if clustered else redis_server.url
    admin: Any = RedisCluster.from_url(url) if clustered else redis.Redis.from_url(url)
    admin.flushall()
    names = streams_over(redis_cluster if clustered else None, sessions)
    per_session = (20 if smoke else BURSTS) // sessions
    cpu = {"writer": 0.0, "redis": 0.0}

    with rtastream.RedisStreamBuffer(url) as buffer:
        opened = [buffer.open_session(f"id-{name}", name) for name in names]

        def setup() -> None:
            for name in names:
                admin.delete(keys.stream_key(name))

        def write_round() -> None:
            writer, servers_before = time.process_time(), cpu_seconds(servers)
            for _ in range(per_session):
                for session in opened:
                    session.write_messages(message)
            for session in opened:
                session.flush()
            cpu["writer"] += time.process_time() - writer
            cpu["redis"] += cpu_seconds(servers) - servers_before

        rounds = 1 if smoke else ROUNDS
        benchmark.group = f"cluster: {sessions} session{'s' if sessions > 1 else ''}"
        benchmark.pedantic(write_round, setup=setup, rounds=rounds)
    written = sum(admin.xlen(keys.stream_key(name)) for name in names)
    assert written == per_session * sessions + sessions  # each session's final message too
    benchmark.extra_info.update(
        variant=topology,
        sessions=sessions,
        messages=per_session * sessions,
        message_bytes=len(message[0][0]),
        masters=3 if clustered else 1,
        writer_cpu_per_burst=cpu["writer"] / rounds / (per_session * sessions),
        redis_cpu_per_burst=cpu["redis"] / rounds / (per_session * sessions),
        cores=os.cpu_count(),
        about=ABOUT,
    )
    admin.close()
