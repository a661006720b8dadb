"""Shared fixtures: a real redis-server the suite starts itself, on a free loopback port."""

from __future__ import annotations

import shutil

import pytest
import redis

from rtastream.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server():
    # Wheel builds test on machines without Redis (Windows, some containers): skip, not fail.
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH: the tests that need Redis are skipped")
    with RedisServer() as server:
        yield server


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
