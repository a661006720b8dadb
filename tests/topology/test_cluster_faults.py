"""The writers through topology changes of a real cluster: a slot moved by hand in the middle
of sessions (ASK during the move, MOVED after it), a master killed and its replica promoted
(three masters, three replicas), and a cluster that stays down past reconnect_timeout.
Every burst is read back: in order per session, duplicates counted, nothing missing."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from redis.cluster import RedisCluster

import rtastream.aio
from cluster_helpers import (
    SlotMove,
    kill_after_replica_caught_up,
    masters,
    name_on,
    redirections,
    refusals,
    replica_of,
    replicas,
    slot_of,
    streams_on_masters,
)
from rtastream import RedisStreamBuffer, RedisUnavailable, keys
from rtastream.redis_server import LocalCluster, server_binary
from stream_oracle import burst_at, burst_numbers, check_session, in_order_at_least_once

pytestmark = [pytest.mark.slow, pytest.mark.redis]
WRITERS = ["sync", "asyncio"]


def moves_for(cluster: LocalCluster, keys_: list[str]) -> list[SlotMove]:
    """Each key's slot to a master other than its own."""
    moves = []
    for key in keys_:
        source = cluster.master_of(slot_of(key))
        target = next(s for s in masters(cluster) if s is not source)
        moves.append(SlotMove(cluster, slot_of(key), target))
    return moves


STEPS = [None, "begin", "migrate", "end", None]
"""The moves' step before each phase of 10 bursts."""


@pytest.mark.parametrize("writer", WRITERS)
def test_slots_moved_mid_session_ask_during_moved_after(redis_cluster, cluster_url, rc, writer):
    """The slots of a session's stream and of its hash move while it writes, 10 bursts
    (waited for) per step of the move: the old masters answer ASK once the keys have
    migrated, MOVED once the move is over; every burst arrives once, in order."""
    stream, identity = f"moving-{writer}", f"mover-{writer}"
    moves = moves_for(redis_cluster, [keys.stream_key(stream), keys.session_key(identity)])
    counts: dict[str | None, list[dict[str, int]]] = {}

    def step(i: int) -> range:
        """The move's step before phase i, then the redirections so far; phase i's bursts."""
        for move in moves:
            if STEPS[i]:
                getattr(move, STEPS[i])()
        counts[STEPS[i]] = [redirections(move.source) for move in moves]
        return range(10 * i, 10 * i + 10)

    if writer == "sync":
        with RedisStreamBuffer(cluster_url) as buffer, buffer.open_session(identity, stream) as s:
            for i in range(len(STEPS)):
                for k in step(i):
                    s.write(burst_at(k))
                s.flush()
    else:

        async def main():
            async with rtastream.aio.RedisStreamBuffer(cluster_url) as buffer:
                async with buffer.open_session(identity, stream) as s:
                    for i in range(len(STEPS)):
                        for k in step(i):
                            await s.write(burst_at(k))
                        await s.flush()

        asyncio.run(main())
    after = [redirections(move.source) for move in moves]
    for begun, migrated, ended, last in zip(
        counts["begin"], counts["migrate"], counts["end"], after, strict=True
    ):
        assert migrated["ASK"] == begun["ASK"]  # the keys were still there: no redirection
        assert ended["ASK"] > migrated["ASK"]  # migrated: the old master sent them on (ASK)
        assert last["MOVED"] > ended["MOVED"]  # moved: it says where they are now (MOVED)
    record, _ = check_session(rc, identity, stream)
    assert burst_numbers(rc, stream, int(record[b"streamSessionId"])) == list(range(50))


@pytest.fixture(scope="module")
def replicated_cluster():
    """Three masters with a replica each; a silent master is failed over in about 3 s."""
    if server_binary() is None:
        pytest.skip("no redis-server")
    with LocalCluster(masters=3, replicas=1, node_timeout=1500) as cluster:
        yield cluster


def read_back(cluster: LocalCluster, names: list[str], written: dict[str, int]) -> int:
    """Check every session as on a single Redis and every burst in order; the duplicates."""
    duplicates = 0
    with RedisCluster.from_url(cluster.running()[0].url) as client:
        for name in names:
            record, _ = check_session(client, f"id-{name}", name)
            seen = burst_numbers(client, name, int(record[b"streamSessionId"]))
            assert in_order_at_least_once(seen, written[name]), (name, written[name], seen)
            duplicates += len(seen) - written[name]
    return duplicates


@pytest.mark.parametrize("writer", WRITERS)
def test_master_killed_and_replica_promoted(replicated_cluster, writer):
    """Six sessions (two per master) each write a burst every 10 ms from a thread (task) of
    their own; a master is killed with writes in flight. The other masters refuse
    (CLUSTERDOWN) until its replica takes over; the writers back off, find the new master
    and go on, and every burst arrives in order."""
    cluster = replicated_cluster
    names = streams_on_masters(cluster, 2, prefix=f"failover-{writer}")
    victim = cluster.master_of(slot_of(keys.stream_key(names[0])))
    replica = replica_of(cluster, victim)
    assert replica is not None
    others = {server: refusals(server) for server in masters(cluster) if server is not victim}
    written: dict[str, int] = {}
    stop = threading.Event()

    def fail_over() -> None:
        time.sleep(0.5)
        kill_after_replica_caught_up(victim, replica)
        cluster.wait_ok()
        time.sleep(0.5)
        stop.set()

    url = next(s for s in replicas(cluster) if s is not replica).url  # any node will do
    options = dict(reconnect_timeout=30, queue_size=10_000)  # room while a master is away
    if writer == "sync":
        with RedisStreamBuffer(url, **options) as buffer:

            def write(name: str) -> None:
                with buffer.open_session(f"id-{name}", name) as session:
                    n = 0
                    while not stop.is_set():
                        session.write(burst_at(n))
                        n += 1
                        time.sleep(0.01)
                written[name] = n

            threads = [threading.Thread(target=write, args=(name,)) for name in names]
            for thread in threads:
                thread.start()
            fail_over()
            for thread in threads:
                thread.join()
            address = buffer.address
    else:

        async def main() -> str:
            async with rtastream.aio.RedisStreamBuffer(url, **options) as buffer:

                async def write(name: str) -> None:
                    async with buffer.open_session(f"id-{name}", name) as session:
                        n = 0
                        while not stop.is_set():
                            await session.write(burst_at(n))
                            n += 1
                            await asyncio.sleep(0.01)
                    written[name] = n

                killer = asyncio.get_running_loop().run_in_executor(None, fail_over)
                await asyncio.gather(*(write(name) for name in names))
                await killer
                return buffer.address

        address = asyncio.run(main())
    assert f":{replica.port}" in address and f":{victim.port}" not in address
    refused = sum(refusals(server) - before for server, before in others.items())
    assert refused > 0  # the other masters refused while the cluster was down
    duplicates = read_back(cluster, names, written)
    print(
        f"{writer}: {sum(written.values())} bursts written by {len(names)} sessions, all read "
        f"back in order, {duplicates} duplicates; master {victim.port} killed, replica "
        f"{replica.port} promoted; {refused} commands refused with CLUSTERDOWN meanwhile"
    )


def test_a_cluster_down_past_the_budget_reports_what_was_not_written():
    """A master dies with no replica to take over: its session's writes fail when the
    connection stays lost past reconnect_timeout; `unsent` lists the messages. (The other
    masters refusing with CLUSTERDOWN past it: test_writer_core, with the server's words.)"""
    if server_binary() is None:
        pytest.skip("no redis-server")
    with LocalCluster(masters=3, node_timeout=1000) as cluster:
        victim, other = masters(cluster)[:2]
        buffer = RedisStreamBuffer(cluster.url, reconnect_timeout=1)
        sessions = {}
        for server in (victim, other):
            identity = name_on(cluster, server, keys.session_key, f"on-{server.port}")
            stream = name_on(cluster, server, keys.stream_key, f"on-{server.port}")
            sessions[server] = buffer.open_session(identity, stream)
        victim.process.kill()
        victim.process.wait()
        messages = burst_at(1).pack_with_time_ranges(8192)
        sessions[victim].write_messages(messages)
        with pytest.raises(
            RedisUnavailable, match="connection lost and not restored within 1 s"
        ) as lost:
            sessions[victim].flush()
        assert lost.value.unsent == [m for m, _ in messages]
        with pytest.raises(RedisUnavailable):
            buffer.close("failed")
