"""The writer's core without a server: scripted replies and failures fed straight into its
lanes and rounds (scripted_core.Script plays the driver). Each test takes milliseconds and
runs the same way every time; the fault tests against real servers show the same rules
end to end."""

from __future__ import annotations

import time

import pytest
import redis
from redis.crc import key_slot

from rtastream.errors import RedisCommandError, RedisUnavailable
from rtastream.writer.core import Backoff, NodeMoved
from rtastream.writer.rounds import Tracker
from rtastream.writer.sentinel import SentinelMaster
from scripted_core import Err, Script, block, cluster, refused, slots, standalone, xadd

THREE = [(0, 5460, 7000), (5461, 10922, 7001), (10923, 16383, 7002)]
KEY = "stream:c"  # slot 2382: 7000's in THREE
SLOT = 2382
OTHER = "sessions:a"  # slot 747: 7000's too


def wire(*commands: tuple[object, ...]) -> list[tuple[bytes, ...]]:
    """Commands as the server reads them: every argument a bulk string."""
    return [tuple(a if isinstance(a, bytes) else str(a).encode() for a in c) for c in commands]


def multi(*commands: tuple[object, ...], asking: bool = False) -> list[tuple[bytes, ...]]:
    return wire(*([("ASKING",)] if asking else []), ("MULTI",), *commands, ("EXEC",))


# ---- one server ----


def test_a_round_is_answered_reply_by_reply_and_settles_its_batches():
    script = standalone()
    owner = Tracker("s")
    batch = script.submit(
        owner, xadd("stream:s", b"m1"), ("HSET", "sessions:s", "a", "b"), replies=True
    )
    [lane] = script.core.lanes.values()
    assert script.send(lane) == wire(xadd("stream:s", b"m1"), ("HSET", "sessions:s", "a", "b"))
    assert not script.reply(lane, b"1-0")
    assert script.reply(lane, 1)  # fed a byte at a time: answered only at the last byte
    assert script.done(lane) is None
    assert (owner.pending, owner.error, batch.replies) == (0, None, [b"1-0", 1])
    assert script.core.take_round(lane) is None  # idle


def test_readonly_on_a_single_server_fails_the_command_not_the_round():
    script = standalone()
    ours, theirs = Tracker("ours"), Tracker("theirs")
    script.submit(ours, xadd("stream:a", b"m1"))
    script.submit(theirs, xadd("stream:b", b"m2"))
    [lane] = script.core.lanes.values()
    script.send(lane)
    script.reply(lane, Err("READONLY You can't write against a read only replica."), b"1-0")
    assert script.done(lane) is None
    assert isinstance(ours.error, RedisCommandError)
    assert str(ours.error) == (
        "Redis refused XADD on key 'stream:a': ReadOnlyError: You can't write against a read "
        "only replica.; 1 stream messages were not written"
    )
    assert ours.error.unsent == [b"m1"]
    assert theirs.error is None and theirs.pending == 0


def sentinel_naming(ports: list[int]):
    """A SentinelMaster whose sentinel names the master at ports[0] (pop it to fail over)."""

    def answer(node, command):
        assert command == ("SENTINEL", "MASTER", "mymaster")
        return [
            b"name",
            b"mymaster",
            b"ip",
            b"127.0.0.1",
            b"port",
            str(ports[0]).encode(),
            b"flags",
            b"master",
        ]

    topology = SentinelMaster("redis+sentinel://127.0.0.1:26379/mymaster", {}, redis.ConnectionPool)
    script = Script(topology, answer)
    script.discover()
    return script


def test_readonly_from_a_sentinel_master_is_a_move_the_round_goes_to_the_new_master():
    ports = [7000, 7001]
    script = sentinel_naming(ports)
    owner = Tracker("s")
    script.submit(owner, xadd("stream:s", b"m1"), xadd("stream:s", b"m2"))
    old = script.lane(7000)
    script.send(old)
    with pytest.raises(NodeMoved, match="127.0.0.1:7000: no master any more"):
        script.reply(old, b"1-0", Err("READONLY You can't write against a read only replica."))
    delay = script.core.connection_lost(old, NodeMoved("demoted"))
    assert delay == pytest.approx(0.02)  # the first step of the backoff
    ports.pop(0)  # the sentinels now name 7001
    script.discover(old)
    assert old.retired and old.round is None
    new = script.lane(7001)
    assert script.send(new) == wire(xadd("stream:s", b"m2"))  # only what was not acknowledged
    script.reply(new, b"2-0")
    assert script.done(new) is None
    assert (owner.pending, owner.error) == (0, None)


def test_a_connection_lost_mid_round_sends_again_what_was_not_acknowledged():
    script = standalone()
    owner = Tracker("s")
    commands = [xadd("stream:s", b"m%d" % i) for i in range(3)]
    script.submit(owner, *commands)
    [lane] = script.core.lanes.values()
    script.send(lane)
    assert not script.reply(lane, b"1-0")
    lane.received(b"$3\r\n2-")  # a reply cut short by the lost connection
    assert script.core.connection_lost(lane, ConnectionError("reset")) is not None
    script.discover(lane)
    assert script.send(lane) == wire(*commands[1:])
    assert script.reply(lane, b"2-0", b"3-0")  # the cut reply does not prefix these
    assert script.done(lane) is None
    assert (owner.pending, owner.error) == (0, None)


def test_the_reconnect_delays_double_up_to_a_second():
    backoff = Backoff(budget=60.0, since=time.monotonic())
    assert [backoff.next() for _ in range(8)] == pytest.approx(
        [0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0, 1.0]
    )


def test_past_the_reconnect_budget_the_round_fails_with_what_was_not_written():
    script = standalone(reconnect_timeout=0.05)
    owner = Tracker("s")
    script.submit(
        owner, xadd("stream:s", b"m1"), ("HSET", "sessions:s", "a", "b"), xadd("stream:s", b"m2")
    )
    [lane] = script.core.lanes.values()
    script.send(lane)
    script.reply(lane, b"1-0")
    waited = 0.0
    while (delay := script.core.connection_lost(lane, ConnectionError("refused"))) is not None:
        time.sleep(delay)  # as the driver waits: the budget is wall time
        waited += delay
    assert waited <= 0.05 + 1e-9
    assert lane.round is None and owner.pending == 0
    assert isinstance(owner.error, RedisUnavailable)
    assert str(owner.error) == (
        "cannot reach Redis at 127.0.0.1:7000: connection lost and not restored within 0.05 s "
        "(refused); 1 stream messages were not written"
    )
    assert owner.error.unsent == [b"m2"]


LOADING = Err("LOADING Redis is loading the dataset in memory")


@pytest.mark.parametrize("last", [LOADING, b"2-0"], ids=["refused", "ran-once-loaded"])
def test_loading_sends_the_refused_command_and_all_after_it_again(last):
    """LOADING is not now, not never: from the first refused command on, the round goes
    again after a backoff (a command after it that ran once the loading ended goes again
    too: at least once, and the latest last)."""
    script = standalone()
    owner = Tracker("s")
    m1, hset, m2 = (
        xadd("stream:s", b"m1"),
        ("HSET", "sessions:s", "a", "b"),
        xadd("stream:s", b"m2"),
    )
    batch = script.submit(owner, m1, hset, m2, replies=True)
    [lane] = script.core.lanes.values()
    script.send(lane)
    assert script.reply(lane, b"1-0", LOADING, last)
    assert script.done(lane) == pytest.approx(0.02)  # the first step of the backoff
    assert (owner.pending, owner.error) == (1, None)
    script.discover(lane)
    assert script.send(lane) == wire(hset, m2)
    script.reply(lane, 1, b"3-0")
    assert script.done(lane) is None
    assert (owner.pending, owner.error, batch.replies) == (0, None, [b"1-0", 1, b"3-0"])


def test_a_connection_lost_after_loading_sends_again_from_the_refused_command():
    script = standalone()
    owner = Tracker("s")
    commands = [xadd("stream:s", b"m%d" % i) for i in range(3)]
    script.submit(owner, *commands)
    [lane] = script.core.lanes.values()
    script.send(lane)
    assert not script.reply(lane, b"1-0", LOADING)
    script.core.connection_lost(lane, ConnectionError("reset"))
    assert script.send(lane) == wire(*commands[1:])


def test_loading_past_the_budget_fails_with_what_was_not_written():
    script = standalone(reconnect_timeout=0)
    owner = Tracker("s")
    script.submit(owner, xadd("stream:s", b"m1"), xadd("stream:s", b"m2"))
    [lane] = script.core.lanes.values()
    script.send(lane)
    script.reply(lane, LOADING, LOADING)
    assert script.done(lane) is None
    assert isinstance(owner.error, RedisUnavailable)
    assert str(owner.error) == (
        "cannot reach Redis at 127.0.0.1:7000: still refused after 0 s (BusyLoadingError: "
        "Redis is loading the dataset in memory); 2 stream messages were not written"
    )
    assert owner.error.unsent == [b"m1", b"m2"]


def test_loading_under_wait_sends_every_command_again_with_its_wait():
    script = standalone(wait_replicas=1)
    owner = Tracker("s")
    m1, m2 = xadd("stream:s", b"m1"), xadd("stream:s", b"m2")
    script.submit(owner, m1, m2)
    [lane] = script.core.lanes.values()
    script.send(lane)
    script.reply(lane, b"1-0", LOADING, LOADING)  # WAIT refused too: nothing counts
    assert script.done(lane) is not None
    script.discover(lane)
    assert script.send(lane) == wire(m1, m2, ("WAIT", 1, 1000))
    script.reply(lane, b"1-0", b"2-0", 1)
    assert script.done(lane) is None
    assert (owner.pending, owner.error) == (0, None)


# ---- waiting for replicas ----


def test_a_short_wait_asks_wait_alone_again_on_the_same_connection():
    script = standalone(wait_replicas=2, wait_timeout=0.05)
    owner = Tracker("s")
    script.submit(owner, xadd("stream:s", b"m1"))
    [lane] = script.core.lanes.values()
    assert script.send(lane) == wire(xadd("stream:s", b"m1"), ("WAIT", 2, 50))
    script.reply(lane, b"1-0", 1)
    assert script.done(lane) is not None  # one replica of two: again after a backoff
    assert owner.pending == 1
    script.discover(lane)
    assert script.send(lane) == wire(("WAIT", 2, 50))  # nothing is written twice
    script.reply(lane, 2)
    assert script.done(lane) is None
    assert (owner.pending, owner.error) == (0, None)


def test_a_wait_cut_by_a_lost_connection_sends_every_command_again():
    script = standalone(wait_replicas=1)
    owner = Tracker("s")
    script.submit(owner, xadd("stream:s", b"m1"), xadd("stream:s", b"m2"))
    [lane] = script.core.lanes.values()
    script.send(lane)
    script.reply(lane, b"1-0", b"2-0")  # acknowledged by the master, not yet by a replica
    script.core.connection_lost(lane, ConnectionError("reset"))
    assert script.send(lane) == wire(
        xadd("stream:s", b"m1"), xadd("stream:s", b"m2"), ("WAIT", 1, 1000)
    )


def test_a_wait_short_past_the_budget_names_the_count():
    script = standalone(wait_replicas=2, reconnect_timeout=0)
    owner = Tracker("s")
    script.submit(owner, xadd("stream:s", b"m1"))
    [lane] = script.core.lanes.values()
    script.send(lane)
    script.reply(lane, b"1-0", 1)
    assert script.done(lane) is None
    assert str(owner.error) == (
        "cannot reach Redis at 127.0.0.1:7000: 1 of the 2 replicas wanted acknowledged the "
        "writes within 0 s (WAIT); 1 stream messages were not written"
    )
    assert owner.error.unsent == [b"m1"]


# ---- a cluster ----


def test_the_keys_hash_to_the_slots_named_here():
    assert [key_slot(k.encode()) for k in (KEY, OTHER)] == [SLOT, 747]


def test_moved_sends_the_key_and_what_waits_behind_it_to_the_new_master():
    layout = slots(*THREE)
    script = cluster(layout)
    owner = Tracker("s")
    first, second = xadd(KEY, b"m1"), xadd(KEY, b"m2")
    script.submit(owner, first)
    old, new = script.lane(7000), script.lane(7001)
    assert script.send(old) == multi(first)
    script.submit(owner, second)  # waits on the old master's lane: its key is pinned there
    script.reply(old, *refused(f"MOVED {SLOT} 127.0.0.1:7001", 1))
    assert script.done(old) is None
    assert not old.waiting
    assert script.send(new) == multi(first, second)  # the refused one first, in one block
    script.reply(new, *block(b"1-0", b"2-0"))
    assert script.done(new) is None
    assert (owner.pending, owner.error) == (0, None)
    script.submit(owner, xadd(KEY, b"m3"))  # the slot map learnt the move
    assert script.send(new) == multi(xadd(KEY, b"m3"))


def test_ask_sends_each_block_after_asking_until_the_key_is_settled():
    script = cluster(slots(*THREE))
    owner = Tracker("s")
    script.submit(owner, xadd(KEY, b"m1"))
    source, target = script.lane(7000), script.lane(7001)
    script.send(source)
    script.reply(source, *refused(f"ASK {SLOT} 127.0.0.1:7001", 1))
    assert script.done(source) is None
    assert script.send(target) == multi(xadd(KEY, b"m1"), asking=True)
    script.reply(target, *block(b"1-0", asking=True))
    assert script.done(target) is None
    assert owner.pending == 0
    script.submit(owner, xadd(KEY, b"m2"))  # settled: the slot map leads back to the source
    assert script.send(source) == multi(xadd(KEY, b"m2"))


def test_a_second_migration_while_the_key_is_sent_after_ask_keeps_its_order():
    """The slot migrates from 7000 to 7001; while the key's commands still go to 7001 after
    ASK, that move ends and a second one, to 7002, begins: 7001 answers ASK too. Every
    command reaches 7002 once, in order, with what was submitted meanwhile."""
    script = cluster(slots(*THREE))
    owner = Tracker("s")
    m = [xadd(KEY, b"m%d" % i) for i in range(4)]
    first, second, third = script.lane(7000), script.lane(7001), script.lane(7002)
    script.submit(owner, m[0])
    script.send(first)
    script.submit(owner, m[1])  # behind m0, on the lane its key is pinned to
    script.reply(first, *refused(f"ASK {SLOT} 127.0.0.1:7001", 1))
    assert script.done(first) is None
    assert script.send(second) == multi(m[0], m[1], asking=True)
    script.submit(owner, m[2])  # pinned to 7001 while m0 and m1 are in flight there
    script.reply(second, *refused(f"ASK {SLOT} 127.0.0.1:7002", 2, asking=True))
    assert script.done(second) is None
    assert not second.waiting  # m2 followed its key
    assert script.send(third) == multi(m[0], m[1], m[2], asking=True)
    script.submit(owner, m[3])  # pinned to 7002 until the block is answered
    script.reply(third, *block(b"1-0", b"2-0", b"3-0", asking=True))
    assert script.done(third) is None
    assert script.send(third) == multi(m[3], asking=True)
    script.reply(third, *block(b"4-0", asking=True))
    assert script.done(third) is None
    assert (owner.pending, owner.error) == (0, None)
    assert not script.core.topology.pins  # every key settled


def test_a_migration_given_up_sends_the_key_back_and_on_to_the_new_target():
    """The slot's move to 7001 is undone and begun again to 7002 while the key is sent to
    7001 after ASK: 7001 answers MOVED back to the owner, which answers ASK 7002."""
    script = cluster(slots(*THREE))
    owner = Tracker("s")
    first, second, third = script.lane(7000), script.lane(7001), script.lane(7002)
    script.submit(owner, xadd(KEY, b"m1"))
    script.send(first)
    script.reply(first, *refused(f"ASK {SLOT} 127.0.0.1:7001", 1))
    script.done(first)
    script.send(second)
    script.reply(second, *refused(f"MOVED {SLOT} 127.0.0.1:7000", 1, asking=True))
    script.done(second)
    assert script.send(first) == multi(xadd(KEY, b"m1"))  # no ASKING: 7000 owns the slot
    script.reply(first, *refused(f"ASK {SLOT} 127.0.0.1:7002", 1))
    script.done(first)
    assert script.send(third) == multi(xadd(KEY, b"m1"), asking=True)
    script.reply(third, *block(b"1-0", asking=True))
    assert script.done(third) is None
    assert (owner.pending, owner.error) == (0, None)


@pytest.mark.parametrize(
    "refusal",
    [
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "CLUSTERDOWN The cluster is down",
        "LOADING Redis is loading the dataset in memory",
    ],
)
def test_a_refusal_for_now_sends_that_block_again_after_asking_the_slot_map(refusal):
    script = cluster(slots(*THREE))
    owner = Tracker("s")
    hset = ("HSET", OTHER, "a", "b")  # another key of the same master, answered at once
    script.submit(owner, xadd(KEY, b"m1"), hset)
    lane = script.lane(7000)
    assert script.send(lane) == [*multi(xadd(KEY, b"m1")), *multi(hset)]  # a block per key
    script.reply(lane, *refused(refusal, 1), *block(1))
    assert script.done(lane) == pytest.approx(0.02)  # the first step of the backoff
    asked = len(script.asked)
    script.discover(lane)
    # The refusing node is asked last: another master tells the slot map.
    assert script.asked[asked:] == [("127.0.0.1:7001", ("CLUSTER", "SLOTS"))]
    assert script.send(lane) == multi(xadd(KEY, b"m1"))  # only the refused block
    script.reply(lane, *block(b"1-0"))
    assert script.done(lane) is None
    assert (owner.pending, owner.error) == (0, None)


def test_clusterdown_past_the_budget_fails_with_what_was_not_written():
    script = cluster(slots(*THREE), reconnect_timeout=0)
    owner = Tracker("s")
    script.submit(owner, xadd(KEY, b"m1"), xadd(KEY, b"m2"))
    lane = script.lane(7000)
    script.send(lane)
    script.reply(lane, *refused("CLUSTERDOWN The cluster is down", 2))
    assert script.done(lane) is None
    assert str(owner.error) == (
        "cannot reach Redis at 127.0.0.1:7000: still refused after 0 s (ClusterDownError: "
        "The cluster is down); 2 stream messages were not written"
    )
    assert owner.error.unsent == [b"m1", b"m2"]
    assert not script.core.topology.pins


def test_a_master_lost_mid_round_hands_its_keys_to_the_promoted_replica():
    layout = slots(*THREE)
    script = cluster(layout)
    owner = Tracker("s")
    m = [xadd(KEY, b"m%d" % i) for i in range(2)]
    script.submit(owner, m[0])
    script.submit(owner, m[1])
    lost = script.lane(7000)
    script.send(lost)
    assert script.core.connection_lost(lost, ConnectionError("reset")) is not None
    layout[0] = slots((0, 5460, 7003))[0]  # the replica took over
    script.discover(lost)
    assert lost.retired
    promoted = script.lane(7003)
    assert script.send(promoted) == multi(m[0], m[1])
    script.reply(promoted, *block(b"1-0", b"2-0"))
    assert script.done(promoted) is None
    assert (owner.pending, owner.error) == (0, None)
