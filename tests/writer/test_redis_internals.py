"""The contract with redis-py's internals (rtastream.writer.internals), checked against the
installed release: a release that changes one fails here, naming it, before a writer does."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis
import redis.asyncio
import redis.exceptions

from rtastream.writer import internals
from rtastream.writer.internals import RedisInternalsChanged


def test_error_replies_become_redis_pys_exception_classes():
    parse = internals.error_parser()
    assert type(parse("READONLY You can't write against a read only replica.")) is (
        redis.exceptions.ReadOnlyError
    )
    assert type(parse("OOM command not allowed")) is redis.exceptions.OutOfMemoryError
    assert type(parse("WRONGTYPE Operation")) is redis.exceptions.ResponseError


def test_a_connected_sync_connection_gives_its_socket(redis_url):
    conn = redis.Redis.from_url(redis_url).connection_pool.make_connection()
    conn.connect()
    try:
        sock = internals.live_socket(conn)
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")  # the socket redis-py connected, ours now
        assert sock.recv(64) == b"+PONG\r\n"
    finally:
        conn.disconnect()


def test_a_connected_asyncio_connection_gives_its_transport(redis_url):
    async def main() -> None:
        conn = redis.asyncio.Redis.from_url(redis_url).connection_pool.make_connection()
        await conn.connect()
        transport = internals.transport_of(conn)
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()
        lost: asyncio.Future[None] = loop.create_future()

        class Protocol(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                got.set_result(data)

            def connection_lost(self, exc: Exception | None) -> None:
                internals.release_streams(conn)  # as the writer does: we closed it
                lost.set_result(None)

        transport.set_protocol(Protocol())
        transport.write(b"*1\r\n$4\r\nPING\r\n")
        assert await asyncio.wait_for(got, 10) == b"+PONG\r\n"
        transport.close()
        await asyncio.wait_for(lost, 10)
        await conn.disconnect()  # redis-py has nothing left to close

    asyncio.run(main())


class Changed:
    """A connection as a redis-py release that renamed its attributes would give it."""

    def __init__(self) -> None:
        self.sock = socket.socket()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    ("accessor", "named"),
    [
        (internals.live_socket, "Connection._sock"),
        (internals.transport_of, "asyncio Connection._writer.transport"),
        (internals.release_streams, "asyncio Connection._reader and _writer"),
    ],
)
def test_a_changed_attribute_is_named(accessor, named):
    conn = Changed()
    try:
        with pytest.raises(RedisInternalsChanged, match=f"redis-py {redis.__version__} changed "):
            accessor(conn)
        with pytest.raises(RedisInternalsChanged) as info:
            accessor(conn)
        assert named in str(info.value) and "rtastream's writers rely on" in str(info.value)
    finally:
        conn.close()
