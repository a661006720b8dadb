"""What waiting for a replica costs: the same writes with wait_replicas=1 and with 0, to one
private master with one replica on the same machine (both servers share its cores with the
writer). Replication runs in both; only the waiting differs.

Each timed round (wait_replicas=1) follows an untimed one that writes the same with
wait_replicas=0 and times itself, so each round is paired with its baseline measured moments
before, on the same noisy machine. Two shapes: pre-packed ~56 KiB bursts with one flush() at
the end (pipeline rounds of many bursts, one WAIT each), and bursts flushed one by one (one
WAIT per burst: the latency of an acknowledged burst).
"""

from __future__ import annotations

import time

import pytest
import redis

import rtastream
from benchmarks.test_write import STREAM, count
from rtastream import keys
from rtastream.redis_server import RedisServer

ROUNDS = 9


@pytest.fixture(scope="module")
def replicated():
    """A master with one replica in sync; its URL."""
    fast_sync = ["--repl-diskless-sync-delay", "0"]
    with (
        RedisServer(args=fast_sync) as master,
        RedisServer(args=[*fast_sync, "--replicaof", "127.0.0.1", str(master.port)]),
    ):
        with redis.Redis(port=master.port) as client:
            client.publish("replication-check", "")  # a write: WAIT until the replica has it
            assert client.execute_command("WAIT", 1, 20_000) == 1
        yield master.url


@pytest.mark.parametrize("flush_each", [False, True], ids=["stream", "each"])
def test_wait_replicas_cost(benchmark, replicated, prepacked, smoke, flush_each):
    messages, _ = prepacked
    n = count(smoke, 300 if flush_each else 2000)
    stream_key = keys.stream_key(STREAM)
    admin = redis.Redis.from_url(replicated)
    baseline: list[float] = []
    with (
        rtastream.RedisStreamBuffer(replicated) as plain,
        rtastream.RedisStreamBuffer(replicated, wait_replicas=1) as waiting,
    ):
        not_waiting = plain.open_session("bench-wait-0", STREAM)
        session = waiting.open_session("bench-wait-1", STREAM)

        def write_round(session: rtastream.StreamSession) -> None:
            for _ in range(n):
                session.write_messages(messages)
                if flush_each:
                    session.flush()
            session.flush()

        def baseline_round() -> None:
            admin.delete(stream_key)
            began = time.perf_counter()
            write_round(not_waiting)
            baseline.append(time.perf_counter() - began)
            assert admin.xlen(stream_key) == n
            admin.delete(stream_key)

        benchmark.group = (
            "replicas: one ~56 KiB burst per flush()"
            if flush_each
            else "replicas: pre-packed ~56 KiB bursts, flush() at the end"
        )
        benchmark.pedantic(
            write_round, args=(session,), setup=baseline_round, rounds=1 if smoke else ROUNDS
        )
        benchmark.extra_info.update(
            variant="wait_replicas=1",
            wait_replicas_0_seconds=baseline,
            messages=n,
            message_bytes=len(messages[0][0]),
        )
        assert admin.xlen(stream_key) == n
    admin.close()
