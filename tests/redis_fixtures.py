"""The Redis fixtures of the tests and the benchmarks (a pytest plugin: `-p redis_fixtures` in
pyproject.toml): real redis-servers the suite starts itself on free loopback ports, a Redis
Cluster of them, and Sentinel groups. Each pytest-xdist worker starts its own."""

from __future__ import annotations

import pytest
import redis
from redis.cluster import RedisCluster

from replication import SentinelGroup
from rtastream.redis_server import LocalCluster, RedisServer, missing_server_message, server_binary


def _need_redis_server() -> None:
    # Wheel builds test on machines without Redis (Windows, some containers): skip, not fail.
    if server_binary() is None:
        pytest.skip(f"{missing_server_message()}: the tests that need Redis are skipped")


REDIS_FIXTURES = {
    "redis_server",
    "private_redis",
    "redis_cluster",
    "sentinel_group",
    "own_sentinel_group",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a Redis fixture, so `-m "not redis"` needs no server."""
    for item in items:
        if REDIS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="session")
def redis_server():
    _need_redis_server()
    with RedisServer() as server:
        yield server


@pytest.fixture
def private_redis():
    """Starts redis-servers of the test's own (to stop, restart or configure them);
    `private_redis(unix_socket=True)` returns a started RedisServer, closed after the test."""
    _need_redis_server()
    servers = []

    def start(**options) -> RedisServer:
        servers.append(RedisServer(**options).start())
        return servers[-1]

    yield start
    for server in reversed(servers):  # replicas before their master, which would wait for them
        server.close()


@pytest.fixture
def own_server(private_redis):
    """A redis-server of the test's own, started (to stop, freeze or restart)."""
    return private_redis()


@pytest.fixture
def own_r(own_server):
    """An independent redis-py client of own_server."""
    client = redis.Redis.from_url(own_server.url)
    yield client
    client.close()


@pytest.fixture
def redis_url(redis_server) -> str:
    """URL of an empty database on the suite's redis-server."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def r(redis_url):
    """An independent redis-py client for reading back what the library wrote."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_cluster():
    """A Redis Cluster of three masters (no replicas), started once for the suite."""
    _need_redis_server()
    with LocalCluster(masters=3) as cluster:
        yield cluster


@pytest.fixture
def cluster_url(redis_cluster) -> str:
    """URL of one node of the suite's cluster, every master emptied."""
    with RedisCluster.from_url(redis_cluster.url) as client:
        client.flushall()
    return redis_cluster.url


@pytest.fixture
def rc(cluster_url):
    """An independent redis-py cluster client, for reading back what the library wrote."""
    client = RedisCluster.from_url(cluster_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def sentinel_group():
    """One master, two replicas and three sentinels (tests/replication.py), shared by a
    module's tests; those that switch masters leave it with a master the sentinels name."""
    _need_redis_server()
    with SentinelGroup() as group:
        yield group


@pytest.fixture
def own_sentinel_group():
    """A Sentinel group of the test's own, to fail over."""
    _need_redis_server()
    with SentinelGroup() as group:
        yield group
