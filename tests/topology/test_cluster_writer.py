"""The writers on a Redis Cluster the suite starts (three masters): cluster mode found from
any node, every key on its slot's master, sessions on every master read back in order and
checked as on a single Redis; what cluster=True/False and a database other than 0 do."""

from __future__ import annotations

import asyncio
import functools

import numpy as np
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

import rtastream.aio
from cluster_helpers import masters, slot_of, streams_on_masters
from rtastream import RedisCommandError, RedisRefused, RedisStreamBuffer, keys
from rtastream.writer.cluster import Cluster
from rtastream.writer.sync import ask
from rtastream.writer.topology import Standalone
from stream_oracle import T0, burst_at, burst_numbers, check_session

BURSTS = 30


@functools.cache
def discovered(url: str) -> Cluster:
    """The writer's view of the cluster, asked as the sync driver asks it."""
    cluster = Cluster(Standalone(url, {}, redis.ConnectionPool))
    steps, reply = cluster.discover(None), None
    while True:
        try:
            node, command = steps.send(reply)
        except StopIteration:
            return cluster
        reply = ask(node, command)


@settings(max_examples=150, deadline=None)
@given(name=st.text(min_size=1, max_size=20))
def test_each_key_goes_to_the_master_the_server_names(redis_cluster, name):
    """Slots (braces included: `{...}` hash tags) and their masters, as the server says."""
    cluster = discovered(redis_cluster.url)
    with redis.Redis(port=redis_cluster.servers[0].port) as client:
        owners = client.execute_command("CLUSTER", "SLOTS")
        for key in (keys.stream_key(name), keys.session_key(name)):
            slot = client.execute_command("CLUSTER", "KEYSLOT", key)
            [(node, _, _)] = cluster.route([("XADD", key, "*", "id", 1, "data", b"")])
            assert slot_of(key) == slot
            [port] = [master[1] for start, end, master, *_ in owners if start <= slot <= end]
            assert node.connection_kwargs["port"] == port


def check_spread(redis_cluster, rc, names: list[str]) -> None:
    """Every session as on a single Redis, every burst once and in order; the streams (and
    with them the sessions' data) on every master."""
    for name in names:
        record, _ = check_session(rc, f"id-{name}", name)
        assert burst_numbers(rc, name, int(record[b"streamSessionId"])) == list(range(BURSTS))
    on = {redis_cluster.master_of(slot_of(keys.stream_key(n))).port for n in names}
    assert on == {server.port for server in masters(redis_cluster)}


def test_sessions_on_every_master_sync(redis_cluster, cluster_url, rc):
    names = streams_on_masters(redis_cluster, 2)
    url = redis_cluster.servers[-1].url  # any node will do
    with RedisStreamBuffer(url, flush_interval=0.05) as buffer:
        sessions = [buffer.open_session(f"id-{name}", name) for name in names]
        for k in range(BURSTS):
            for session in sessions:
                session.write(burst_at(k))
        for session in sessions:
            session.row([9], T0, np.array([1.0]).tobytes())
            session.close()
        assert sorted(buffer.address.split(", ")) == sorted(
            f"127.0.0.1:{server.port}" for server in masters(redis_cluster)
        )
        assert buffer._core.topology.pins == {}  # every command acknowledged and let go
    check_spread(redis_cluster, rc, names)


def test_sessions_on_every_master_asyncio(redis_cluster, cluster_url, rc):
    names = streams_on_masters(redis_cluster, 2)

    async def main():
        async with rtastream.aio.RedisStreamBuffer(cluster_url, flush_interval=0.05) as buffer:
            sessions = [await buffer.open_session(f"id-{name}", name) for name in names]
            for k in range(BURSTS):
                await asyncio.gather(*(session.write(burst_at(k)) for session in sessions))
            for session in sessions:
                await session.row([9], T0, np.array([1.0]).tobytes())
                await session.close()
            assert buffer._core.topology.pins == {}

    asyncio.run(main())
    check_spread(redis_cluster, rc, names)


def test_cluster_false_sends_every_key_to_the_url_node(redis_cluster, cluster_url):
    """Forced single-server mode on a cluster node: the first key it does not hold is
    refused with the node's MOVED, named as any refusal is."""
    slot = slot_of(keys.LAST_STREAM_SESSION_ID)
    other = next(s for s in masters(redis_cluster) if s is not redis_cluster.master_of(slot))
    with RedisStreamBuffer(other.url, cluster=False) as buffer:
        with pytest.raises(
            RedisCommandError, match=f"INCRBY on key 'lastStreamSessionId': MovedError: {slot} "
        ):
            buffer.open_session("x", "car-1")


def test_cluster_true_on_a_single_server_is_refused(redis_url, redis_server):
    with RedisStreamBuffer(redis_url, cluster=True) as buffer:
        with pytest.raises(
            RedisRefused,
            match=f"127.0.0.1:{redis_server.port} refused the connection: CLUSTER SLOTS refused "
            f"\\(127.0.0.1:{redis_server.port}: This instance has cluster support disabled\\)",
        ):
            buffer.open_session("x", "car-1")


@pytest.mark.parametrize(
    "writer", [RedisStreamBuffer, rtastream.aio.RedisStreamBuffer], ids=["sync", "asyncio"]
)
def test_a_database_other_than_0_on_a_cluster_is_refused(redis_cluster, writer):
    port = redis_cluster.servers[0].port
    url = f"redis://127.0.0.1:{port}/2"
    with pytest.raises(
        ValueError,
        match="cluster=True, but the url names database 2: a Redis Cluster has database 0 only",
    ):
        writer(url, cluster=True)

    async def opened():
        async with writer(url) as buffer:
            await buffer.open_session("x", "car-1")

    with pytest.raises(
        RedisRefused,
        match=f"Redis at 127.0.0.1:{port} refused the connection: it is a Redis Cluster node, "
        "and a cluster has database 0 only: drop /2 from the url",
    ):
        if writer is RedisStreamBuffer:
            with writer(url) as buffer:
                buffer.open_session("x", "car-1")
        else:
            asyncio.run(opened())
