"""Sentinel: both writers, the readers, the server and the command line on a
redis+sentinel:// URL, and sessions that live through a change of master: one made by hand
(at once), SIGKILL of the master, and a planned switch (SENTINEL FAILOVER). Every server and
sentinel is a real process the tests start (tests/replication.py).

The failover tests print what they measured (run with -s to see it): bursts written, found
on the new master and lost, and how long the session stalled."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

import rtastream
from cli_helpers import run_cli
from replication import WRITERS, SentinelGroup, client, session_of
from rtastream import RedisRefused, RedisUnavailable
from rtastream.redis_server import RedisServer, free_port
from serve_helpers import served
from stream_oracle import burst_at, burst_numbers, check_session, in_order_at_least_once

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("writer", WRITERS)
def test_the_buffer_names_the_master_it_found(sentinel_group, writer):
    assert writer(sentinel_group.url).address == ""  # the sentinels not asked yet
    with session_of(writer, sentinel_group.url, "found") as session:
        assert session._buffer.address == f"127.0.0.1:{sentinel_group.master().port}"


@pytest.mark.parametrize("writer", WRITERS)
def test_writers_write_to_the_master_the_sentinels_name(sentinel_group, writer):
    with client(sentinel_group.master()) as m:
        m.flushall()
        with session_of(writer, sentinel_group.url, "via-sentinel", wait_replicas=2) as session:
            for k in range(5):
                session.write(burst_at(k))
            session.flush()
            for server in sentinel_group.servers:  # every replica has it once flush() returns
                with client(server) as s:
                    assert burst_numbers(s, "car-1", session.stream_session_id) == list(range(5))
        check_session(m, "via-sentinel", "car-1")


def assert_whole_on(server: RedisServer, identity: str, stream_session_id: int, written: int):
    """The session ended `closed` on `server`, every burst 0..written-1 there, in order."""
    with client(server) as c:
        check_session(c, identity, "car-1")
        seen = burst_numbers(c, "car-1", stream_session_id)
    assert in_order_at_least_once(seen, written), seen


@pytest.mark.parametrize("writer", WRITERS)
def test_a_demoted_master_answering_readonly_is_left_for_the_new_one(sentinel_group, writer):
    """The master becomes a replica under the writer (its connection stays open): the next
    write gets READONLY, the writer asks the sentinels again and re-sends to the new master."""
    with session_of(writer, sentinel_group.url, "demoted") as session:
        for k in range(5):
            session.write(burst_at(k))
        session.flush()
        old, new = sentinel_group.switch_by_hand(demote_old=True)
        for k in range(5, 10):
            session.write(burst_at(k))
    with client(old) as o:
        assert o.info("errorstats").get("errorstat_READONLY", {}).get("count", 0) >= 1
    assert_whole_on(new, "demoted", session.stream_session_id, 10)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_short_wait_asks_the_sentinels_whether_the_master_moved(sentinel_group, writer):
    """The sentinels name a new master while the old one still takes writes (as in a planned
    switch), but without its replicas: WAIT comes back short, the writer asks the sentinels,
    and goes on with the master they name, re-sending the round."""
    options = dict(wait_replicas=1, wait_timeout=0.1)
    with session_of(writer, sentinel_group.url, "moved", **options) as session:
        session.write(burst_at(0))
        session.flush()
        old, new = sentinel_group.switch_by_hand(demote_old=False)
        for k in range(1, 6):
            session.write(burst_at(k))
    with client(old) as o:
        o.replicaof("127.0.0.1", new.port)  # the group whole again for the next tests
    assert_whole_on(new, "moved", session.stream_session_id, 6)


@pytest.mark.parametrize("writer", WRITERS)
def test_no_master_for_the_service_is_refused_naming_the_url(sentinel_group, writer):
    url = sentinel_group.url.replace("//", "//me:secret@").replace("/rta", "/nope")
    with pytest.raises(RedisRefused) as info:
        with session_of(writer, url, "x"):
            pass
    shown = url.replace(":secret@", ":***@")
    ports = [s.port for s in sentinel_group.sentinels]
    assert str(info.value) == (
        f"Redis at {shown} refused the connection: no sentinel names a master for 'nope' ("
        + "; ".join(f"127.0.0.1:{port}: No such master with that name" for port in ports)
        + ")"
    )


@pytest.mark.parametrize("writer", WRITERS)
def test_no_sentinel_answering_is_unavailable(writer):
    url = f"redis+sentinel://127.0.0.1:{free_port()}/rta"
    with pytest.raises(RedisUnavailable) as info:
        with session_of(writer, url, "x", socket_connect_timeout=1):
            pass
    assert str(info.value).startswith(
        f"cannot reach Redis at {url}: no sentinel names a master for 'rta' (127.0.0.1:"
    )
    assert "\n" not in str(info.value)


def channels(items: list) -> set[int]:
    return {i.channel_id for i in items if isinstance(i, rtastream.TimestampedItem)}


def test_readers_and_the_server_read_through_the_sentinels(sentinel_group):
    with session_of(rtastream.RedisStreamBuffer, sentinel_group.url, "read-me") as session:
        session.write(burst_at(0))
    with rtastream.SessionReader(sentinel_group.url, "read-me", follow=False) as reader:
        assert channels(list(reader)) == {1, 2, 3, 4}

    async def read_async() -> None:
        async with rtastream.AsyncSessionReader(sentinel_group.url, "read-me") as reader:
            assert channels([item async for item in reader]) == {1, 2, 3, 4}
        async with served(sentinel_group.url) as server:
            async with server.http.get(f"{server.base}/rta/v2/sessions/read-me") as response:
                assert (await response.json())["state"] == "closed"

    asyncio.run(read_async())


def test_every_command_takes_a_sentinel_url(sentinel_group):
    url = sentinel_group.url
    demo = run_cli("demo", "--fast", "--duration", "1", "--identity", "cli", "--redis", url)
    assert demo.returncode == 0, demo.stderr
    assert f"redis       {url}" in demo.stdout
    inspect = run_cli("inspect", "cli", "--json", "--redis", url)
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["messages"]["states"] == ["open", "closed"]
    tail = run_cli("tail", "cli", "--from-start", "--count", "2", "--redis", url)
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 2, tail.stderr
    trim = run_cli("trim", "--maxlen", "5", "--dry-run", "--redis", url)
    assert trim.returncode == 0, trim.stderr
    bad = run_cli("inspect", "--redis", url.replace("/rta", ""))
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith(
        "no service name: expected redis+sentinel://HOST[:PORT][,...]/SERVICE"
    )


# ---- failovers -------------------------------------------------------------------------


@dataclass
class Failover:
    """What a session saw while the master changed; times in seconds from the switch."""

    written: int = 0
    acknowledged: dict[int, float] = field(default_factory=dict)  # burst: its flush() returned
    stall: float = 0.0  # the longest write + flush
    named: float = 0.0  # when the sentinels named the new master
    old: RedisServer | None = None
    new: RedisServer | None = None
    stream_session_id: int = 0

    def found(self, server: RedisServer) -> list[int]:
        with client(server) as c:
            return burst_numbers(c, "car-1", self.stream_session_id)

    def report(self, name: str, found: list[int]) -> None:
        lost = sorted(set(self.acknowledged) - set(found))
        when = [self.acknowledged[k] for k in lost]
        span = f" (acknowledged {min(when):.2f} to {max(when):.2f} s in)" if lost else ""
        print(
            f"\n{name}: {self.written} bursts written, {len(set(found))} found on the new "
            f"master ({len(found)} entries), {len(lost)} acknowledged and lost{span}; longest "
            f"stall {self.stall:.2f} s; the sentinels named the new master {self.named:.2f} s "
            f"after the switch began"
        )


def in_order(found: list[int]) -> bool:
    """Each burst's first copy comes after the previous burst's (re-sent ones may repeat)."""
    first_copies = list(dict.fromkeys(found))
    return first_copies == sorted(first_copies)


def stream_through(
    group: SentinelGroup, switch: Callable[[RedisServer], None], writer: type, **options
) -> Failover:
    """Write numbered bursts, each flushed, while `switch(master)` happens 0.3 s in; go on
    until 1 s after the sentinels name a new master, then close the session."""
    run = Failover(old=group.master())
    started = threading.Event()
    switched_at: list[float] = []

    def switch_master() -> None:
        started.wait(30)
        time.sleep(0.3)
        switched_at.append(time.monotonic())
        switch(run.old)
        run.new = group.wait_for_new_master(run.old)
        run.named = time.monotonic() - switched_at[0]

    switcher = threading.Thread(target=switch_master)
    switcher.start()
    options = dict(reconnect_timeout=30.0, wait_timeout=0.2, **options)
    try:
        with session_of(writer, group.url, "through", **options) as session:
            run.stream_session_id = session.stream_session_id
            started.set()
            while switcher.is_alive() or time.monotonic() < switched_at[0] + run.named + 1.0:
                began = time.monotonic()
                session.write(burst_at(run.written))
                session.flush()
                done = time.monotonic()
                run.stall = max(run.stall, done - began)
                run.acknowledged[run.written] = done
                run.written += 1
    finally:
        started.set()
        switcher.join()
    run.acknowledged = {k: t - switched_at[0] for k, t in run.acknowledged.items()}
    return run


@pytest.mark.parametrize("writer", WRITERS[:1], ids=["sync"])
def test_master_killed_with_wait_replicas_loses_nothing(own_sentinel_group, writer):
    run = stream_through(own_sentinel_group, own_sentinel_group.kill, writer, wait_replicas=1)
    run.report("SIGKILL, wait_replicas=1", run.found(run.new))
    assert_whole_on(run.new, "through", run.stream_session_id, run.written)


@pytest.mark.parametrize("writer", WRITERS[1:], ids=["asyncio"])
def test_master_killed_without_waiting_loses_at_most_what_was_not_replicated(
    own_sentinel_group, writer
):
    run = stream_through(own_sentinel_group, own_sentinel_group.kill, writer)
    found = run.found(run.new)
    run.report("SIGKILL, wait_replicas=0", found)
    with client(run.new) as n:
        check_session(n, "through", "car-1")
    # Whatever is missing was acknowledged by the old master before the new one was named;
    # everything after is there, in order.
    lost = set(run.acknowledged) - set(found)
    assert all(run.acknowledged[k] < run.named for k in lost), sorted(lost)
    assert in_order(found)


@pytest.mark.parametrize("writer", WRITERS[1:], ids=["asyncio"])
def test_planned_switch_with_wait_replicas(own_sentinel_group, writer):
    """What is lost was acknowledged by the replica that Sentinel had not reconfigured yet,
    between the promotion of the other one and its reconfiguration."""
    run = stream_through(
        own_sentinel_group, lambda _: own_sentinel_group.failover(), writer, wait_replicas=1
    )
    found = run.found(run.new)
    run.report("SENTINEL FAILOVER, wait_replicas=1", found)
    with client(run.new) as n:
        check_session(n, "through", "car-1")
    lost = set(run.acknowledged) - set(found)
    assert all(0 <= run.acknowledged[k] < run.named for k in lost), sorted(lost)
    assert in_order(found)


@pytest.mark.parametrize("writer", WRITERS[:1], ids=["sync"])
def test_planned_switch_without_waiting_loses_what_the_old_master_took(own_sentinel_group, writer):
    """The writer goes on with the old master, which takes writes until Sentinel demotes it
    (about 10 s after the switch): none of them reaches the new master."""
    run = stream_through(own_sentinel_group, lambda _: own_sentinel_group.failover(), writer)
    found = run.found(run.new)
    run.report("SENTINEL FAILOVER, wait_replicas=0", found)
    assert found == list(range(len(found))) and len(found) < run.written
    with client(run.new) as n:
        assert json.loads(n.hget("sessions:through", "json"))["state"] == "open"
    with client(run.old) as o:  # all there, on the server the switch discards
        check_session(o, "through", "car-1")
    assert run.found(run.old) == list(range(run.written))
