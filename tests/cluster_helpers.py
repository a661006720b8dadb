"""Helpers for the Redis Cluster tests: names whose keys land on chosen masters, a slot moved
by hand in steps, and the redirections a node has answered."""

from __future__ import annotations

import redis
from redis.crc import key_slot

from rtastream import keys
from rtastream.redis_server import LocalCluster, RedisServer


def slot_of(key: str) -> int:
    return key_slot(key.encode())


def masters(cluster: LocalCluster) -> list[RedisServer]:
    """The masters holding slots now, by port."""
    owners = {cluster.master_of(slot).port for slot in (0, 8191, 16383)}
    return [s for s in cluster.running() if s.port in owners]


def streams_on_masters(cluster: LocalCluster, per_master: int, prefix: str = "car") -> list[str]:
    """Stream names whose stream keys spread evenly over every master: `per_master` each."""
    counts = {server.port: 0 for server in masters(cluster)}
    names = []
    for i in range(10_000):
        name = f"{prefix}-{i}"
        port = cluster.master_of(slot_of(keys.stream_key(name))).port
        if counts[port] < per_master:
            counts[port] += 1
            names.append(name)
        if all(count == per_master for count in counts.values()):
            return names
    raise AssertionError("no spread found")


def node_id(server: RedisServer) -> str:
    with redis.Redis(port=server.port) as client:
        return client.execute_command("CLUSTER", "MYID").decode()


def redirections(server: RedisServer) -> dict[str, int]:
    """How many ASK and MOVED errors the node has answered so far."""
    with redis.Redis(port=server.port) as client:
        stats = client.info("errorstats")
    return {kind: stats.get(f"errorstat_{kind}", {}).get("count", 0) for kind in ("ASK", "MOVED")}


def refusals(server: RedisServer) -> int:
    """How many commands the node has refused with CLUSTERDOWN so far."""
    with redis.Redis(port=server.port) as client:
        return client.info("errorstats").get("errorstat_CLUSTERDOWN", {}).get("count", 0)


class SlotMove:
    """Moving one slot to another master by hand, as redis-cli --cluster reshard does, in
    the steps a client notices: begin() (both nodes know), migrate() (the keys go: ASK from
    the source from then on), end() (every node knows the new owner: MOVED)."""

    def __init__(self, cluster: LocalCluster, slot: int, target: RedisServer) -> None:
        self.cluster, self.slot = cluster, slot
        self.source, self.target = cluster.master_of(slot), target
        assert self.source is not target

    def _on(self, server: RedisServer, *command) -> object:
        with redis.Redis(port=server.port) as client:
            return client.execute_command(*command)

    def begin(self) -> None:
        self._on(self.target, "CLUSTER", "SETSLOT", self.slot, "IMPORTING", node_id(self.source))
        self._on(self.source, "CLUSTER", "SETSLOT", self.slot, "MIGRATING", node_id(self.target))

    def migrate(self) -> None:
        names = self._on(self.source, "CLUSTER", "GETKEYSINSLOT", self.slot, 1000)
        if names:
            self._on(
                self.source, "MIGRATE", "127.0.0.1", self.target.port, "", 0, 10_000, "KEYS", *names
            )

    def end(self) -> None:
        owner = node_id(self.target)
        for server in dict.fromkeys([self.target, self.source, *masters(self.cluster)]):
            self._on(server, "CLUSTER", "SETSLOT", self.slot, "NODE", owner)


def name_on(cluster: LocalCluster, server: RedisServer, key, prefix: str) -> str:
    """The first `prefix-N` whose key (key(name)) lands on `server`."""
    return next(
        name
        for i in range(10_000)
        if cluster.master_of(slot_of(key(name := f"{prefix}-{i}"))).port == server.port
    )


def replicas(cluster: LocalCluster) -> dict[RedisServer, int]:
    """Each running replica, and the port of its master."""
    found = {}
    for server in cluster.running():
        with redis.Redis(port=server.port) as client:
            info = client.info("replication")
        if info["role"] == "slave":
            found[server] = info["master_port"]
    return found


def replica_of(cluster: LocalCluster, master: RedisServer) -> RedisServer | None:
    """A running replica of `master`, if it has one."""
    return next((s for s, port in replicas(cluster).items() if port == master.port), None)


def kill_after_replica_caught_up(master: RedisServer, replica: RedisServer) -> None:
    """SIGKILL the master while clients' writes are in flight, once its replica holds every
    write it acknowledged: writes are paused first (they wait, unanswered), so a write
    acknowledged just before the crash cannot be missing from the replica (replication is
    asynchronous: without the pause it could be; docs/cluster.md)."""
    with redis.Redis(port=master.port) as client:
        client.execute_command("CLIENT", "PAUSE", 30_000, "WRITE")
        offset = client.info("replication")["master_repl_offset"]
    with redis.Redis(port=replica.port) as client:
        LocalCluster._wait(
            lambda: client.info("replication")["slave_repl_offset"] >= offset,
            10.0,
            "the replica to catch up",
        )
    master.process.kill()
    master.process.wait()
