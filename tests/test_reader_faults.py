"""The readers, `rtastream tail` and `serve`'s shared readers through a lost Redis: a restart
and a Sentinel failover are ridden through (reading goes on after the last entry passed on:
nothing skipped, nothing twice); Redis away past `reconnect_timeout` is RedisUnavailable.
Tests that take Redis away use their own redis-servers, never the suite's shared one."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
import redis
import redis.asyncio
from redis.cluster import RedisCluster

import rtastream
from cli_helpers import T0, open_session, send_data, send_json, start_cli
from cluster_helpers import kill_after_replica_caught_up, masters, name_on, replica_of
from replication import SentinelGroup, wait_for_replicas
from rtastream import RedisStreamBuffer, RedisUnavailable, keys
from rtastream.reader import Entry
from rtastream.redis_server import LocalCluster, server_binary
from serve_helpers import receive_all, request, served
from stream_oracle import burst_at
from waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]  # some start their own servers


def restart(server, r: redis.Redis, away: float = 0.5) -> None:
    """Save, stop, and start again after `away` seconds (on the same port, same data)."""
    r.save()
    server.stop()
    time.sleep(away)
    server.start()


def follow_sync(url: str, identity: str, got: list[Entry]) -> threading.Thread:
    def read() -> None:
        with rtastream.SessionReader(url, identity, block=0.2, reconnect_timeout=20) as reader:
            got.extend(reader.entries())

    thread = threading.Thread(target=read)
    thread.start()
    return thread


def follow_async(url: str, identity: str, got: list[Entry]) -> threading.Thread:
    async def read() -> None:
        async with rtastream.AsyncSessionReader(
            url, identity, block=0.2, reconnect_timeout=20
        ) as reader:
            async for entry in reader.entries():
                got.append(entry)

    thread = threading.Thread(target=asyncio.run, args=(read(),))
    thread.start()
    return thread


@pytest.mark.parametrize("follow", [follow_sync, follow_async])
def test_a_reader_following_a_session_rides_through_a_redis_restart(own_server, own_r, follow):
    session = open_session(own_r, "restarted", "car-1")
    got: list[Entry] = []
    reader = follow(own_server.url, "restarted", got)
    send_data(own_r, session, bursts=3)
    wait_until(lambda: len(got) == 4, what="the first bursts read")
    restart(own_server, own_r)
    send_data(own_r, session, bursts=3, start=T0 + 300_000_000)
    send_json(own_r, session, "closed")
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert [entry.id for entry in got] == session.entry_ids  # each once, in order
    assert got[-1].final_state == "closed"


@pytest.mark.parametrize("asynchronous", [False, True])
def test_redis_away_past_reconnect_timeout_is_unavailable(own_server, own_r, asynchronous):
    # Given a client, as after an outage mid-session (a URL is connected to at once, and
    # unreachable then raises at once, as the writers do at open).
    open_session(own_r, "abandoned", "car-1")
    own_server.stop()
    began = time.monotonic()
    with pytest.raises(RedisUnavailable) as info:
        if asynchronous:

            async def read() -> None:
                async with redis.asyncio.Redis.from_url(own_server.url) as client:
                    reader = rtastream.AsyncSessionReader(client, "abandoned", reconnect_timeout=1)
                    await reader.open()

            asyncio.run(read())
        else:
            rtastream.SessionReader(own_r, "abandoned", reconnect_timeout=1).open()
    waited = time.monotonic() - began
    assert 1 <= waited < 10
    assert str(info.value).startswith(f"cannot reach Redis at 127.0.0.1:{own_server.port}: ")
    assert str(info.value).endswith(" (for 1 s)")


def test_a_wrong_password_is_not_waited_for(own_server, own_r):
    own_r.config_set("requirepass", "right")
    url = own_server.url.replace("redis://", "redis://:wrong@")
    began = time.monotonic()
    with pytest.raises(redis.exceptions.AuthenticationError):
        rtastream.SessionReader(redis.Redis.from_url(url), "x", reconnect_timeout=30).open()
    assert time.monotonic() - began < 5


def test_tail_goes_on_through_a_redis_restart(own_server, own_r):
    session = open_session(own_r, "tailed", "car-1")
    with start_cli("tail", "tailed", "--from-start", "--json", "--redis", own_server.url) as tail:
        assert tail.stderr.readline().startswith("following stream:car-1")
        send_data(own_r, session, bursts=2)
        assert json.loads(tail.stdout.readline())["states"] == ["open"]
        restart(own_server, own_r)
        send_data(own_r, session, bursts=2, start=T0 + 200_000_000)
        send_json(own_r, session, "closed")
        bound = threading.Timer(30, tail.kill)  # should it not end with the session
        bound.start()
        rest = tail.stdout.read()  # (not communicate(): it would skip what readline() buffered)
        err = tail.stderr.read()
        bound.cancel()
    assert tail.returncode == 0, err
    assert [json.loads(line)["entry"] for line in rest.splitlines()] == session.entry_ids[1:]


def test_serve_feeds_its_clients_through_a_redis_restart(own_server, own_r):
    session = open_session(own_r, "served", "car-1")

    async def main():
        async with served(own_server.url) as server, server.ws("served") as ws:
            first = await ws.receive(timeout=10)
            await ws.send_bytes(request(all_data=True))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, send_data, own_r, session, (0, 1, 2), 2)
            await asyncio.sleep(0.5)
            await loop.run_in_executor(None, restart, own_server, own_r)
            await loop.run_in_executor(
                None, lambda: send_data(own_r, session, bursts=2, start=T0 + 200_000_000)
            )
            await loop.run_in_executor(None, send_json, own_r, session, "closed")
            return first, await receive_all(ws, timeout=30)

    _, got = asyncio.run(main())
    assert got.close_code == 1000 and got.states[-1] == "closed"
    for channel in (0, 1, 2):
        assert sorted(got.samples[channel]) == [T0 + k * 1_000_000 for k in range(400)]


def test_a_reader_rides_through_a_sentinel_failover():
    with SentinelGroup() as group:
        old = group.master()
        with redis.Redis(port=old.port) as master:
            session = open_session(master, "failover", "car-1")
            send_data(master, session, bursts=2)
            wait_for_replicas(old, 2)
        got: list[Entry] = []
        reader = follow_sync(group.url, "failover", got)
        wait_until(lambda: len(got) == 3, what="the first bursts read")
        group.kill(old)
        new = group.wait_for_new_master(old)
        with redis.Redis(port=new.port) as master:
            send_data(master, session, bursts=2, start=T0 + 200_000_000)
            send_json(master, session, "closed")
        reader.join(timeout=30)
        assert not reader.is_alive()
    assert [entry.id for entry in got] == session.entry_ids
    assert got[-1].final_state == "closed"


@pytest.mark.parametrize("follow", [follow_sync, follow_async])
def test_a_reader_rides_through_a_cluster_master_failover(follow):
    """The master holding the session's stream is killed; its replica takes over (about
    3 s); the writer goes on, and the reader reads every entry once, in order."""
    if server_binary() is None:
        pytest.skip("no redis-server")
    with LocalCluster(masters=3, replicas=1, node_timeout=1500) as cluster:
        victim = masters(cluster)[0]
        replica = replica_of(cluster, victim)
        assert replica is not None
        name = name_on(cluster, victim, keys.stream_key, "failover")
        url = next(s for s in masters(cluster) if s is not victim).url
        got: list[Entry] = []
        with RedisStreamBuffer(url, reconnect_timeout=30) as buffer:
            with buffer.open_session("cluster-failover", name) as session:
                reader = follow(url, "cluster-failover", got)
                for k in range(3):
                    session.write(burst_at(k))
                session.flush()
                wait_until(lambda: len(got) == 4, what="the first bursts read")
                kill_after_replica_caught_up(victim, replica)
                cluster.wait_ok()
                for k in range(3, 6):
                    session.write(burst_at(k))
        reader.join(timeout=30)
        assert not reader.is_alive()
        with RedisCluster.from_url(url) as client:
            stored = [
                entry_id.decode()
                for entry_id, fields in client.xrange(keys.stream_key(name))
                if int(fields[b"id"]) == session.stream_session_id
            ]
    assert [entry.id for entry in got] == stored
    assert got[-1].final_state == "closed"
    assert set(burst_numbers_of(got)) == set(range(6))


def burst_numbers_of(entries: list[Entry]) -> list[int]:
    """The k of each data burst read (burst_at(k) starts at T0 + k s)."""
    return [
        int(item.timestamps[0] - T0) // 10**9
        for entry in entries
        for item in entry.items
        if isinstance(item, rtastream.TimestampedItem) and item.channel_id == 1
    ]
