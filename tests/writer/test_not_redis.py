"""A URL naming something that is not Redis (here an HTTP server) is one clear error, from
the writers and the readers alike, not redis-py's protocol-error traceback."""

from __future__ import annotations

import asyncio
import http.server
import threading

import pytest

import rtastream
import rtastream.aio
from rtastream.errors import RedisUnavailable
from test_writer_connection_errors import WRITERS, open_with


@pytest.fixture
def http_url():
    """redis:// URL of an HTTP server on a free loopback port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.server_address[1]}/0", server.server_address[1]
    server.shutdown()
    server.server_close()


def says_not_redis(error: BaseException, port: int) -> None:
    assert isinstance(error, RedisUnavailable), repr(error)
    assert error.address == f"127.0.0.1:{port}"
    assert str(error).startswith(
        f"cannot reach Redis at 127.0.0.1:{port}: it is not a Redis server"
    )
    assert "\n" not in str(error)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_writer_says_the_server_is_not_redis(http_url, writer):
    url, port = http_url
    says_not_redis(open_with(writer, url), port)


def test_the_sync_reader_says_the_server_is_not_redis(http_url):
    url, port = http_url
    with pytest.raises(RedisUnavailable) as caught:
        list(rtastream.SessionReader(url, "x", follow=False))
    says_not_redis(caught.value, port)


def test_the_asyncio_reader_says_the_server_is_not_redis(http_url):
    url, port = http_url

    async def read() -> None:
        async with rtastream.AsyncSessionReader(url, "x", follow=False) as reader:
            async for _ in reader:
                pass

    with pytest.raises(RedisUnavailable) as caught:
        asyncio.run(read())
    says_not_redis(caught.value, port)
