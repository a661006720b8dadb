"""Failing to connect: one line naming the address and the cause, from both writers."""

from __future__ import annotations

import asyncio

import pytest
import redis

import rtastream.aio
from rtastream import RedisStreamBuffer
from rtastream.errors import RedisAuthenticationError, RedisRefused, RedisUnavailable


def open_with(writer, url, **options):
    """open_session on a fresh buffer of this writer, sync or asyncio; returns the error."""

    async def aio():
        async with writer(url, **options) as buffer:
            await buffer.open_session("x", "car-1")

    try:
        if writer is RedisStreamBuffer:
            with writer(url, **options) as buffer:
                buffer.open_session("x", "car-1")
        else:
            asyncio.run(aio())
    except Exception as e:
        assert "\n" not in str(e)
        return e
    raise AssertionError("open_session did not fail")


WRITERS = [RedisStreamBuffer, rtastream.aio.RedisStreamBuffer]


@pytest.mark.parametrize("writer", WRITERS)
def test_tls_against_a_plain_server_says_tls(redis_server, writer):
    url = redis_server.url.replace("redis://", "rediss://")
    error = open_with(writer, url, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert isinstance(error, RedisUnavailable)
    assert str(error) == (
        f"cannot reach Redis at 127.0.0.1:{redis_server.port}: Timeout "
        "connecting to server (rediss:// speaks TLS: is this a plain "
        "redis:// server?)"
    )


@pytest.fixture
def password_server(private_redis):
    server = private_redis()
    with redis.Redis.from_url(server.url) as client:
        client.config_set("requirepass", "s3cret")
    return server


@pytest.mark.parametrize("writer", WRITERS)
def test_a_missing_password_names_the_address(password_server, writer):
    error = open_with(writer, password_server.url)
    assert isinstance(error, RedisAuthenticationError)
    assert isinstance(error, redis.AuthenticationError)
    assert str(error).startswith(
        f"Redis at 127.0.0.1:{password_server.port} refused the "
        "connection: it needs a password (redis://[USER]:PASSWORD@"
        "HOST...): HELLO must be called with the client already "
        "authenticated"
    )


@pytest.mark.parametrize("writer", WRITERS)
def test_a_wrong_password_names_the_address_and_user(password_server, writer):
    url = password_server.url.replace("redis://", "redis://:wrong@")
    error = open_with(writer, url)
    assert isinstance(error, RedisAuthenticationError)
    assert str(error) == (
        f"Redis at 127.0.0.1:{password_server.port} refused the connection: "
        "user 'default': invalid username-password pair or user is "
        "disabled."
    )
    assert "wrong" not in str(error)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_database_the_server_lacks_is_a_clear_error(redis_server, writer):
    error = open_with(writer, redis_server.url.replace("/0", "/99"))
    assert isinstance(error, RedisRefused) and not isinstance(error, RedisUnavailable)
    assert str(error) == (
        f"Redis at 127.0.0.1:{redis_server.port} refused the connection: "
        "no database 99 (DB index is out of range)"
    )
