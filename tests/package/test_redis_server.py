"""Choosing the server the suite and the demo start: $RTASTREAM_REDIS_SERVER (CI runs the
suite against several Redis and Valkey versions this way), else redis-server from PATH."""

from __future__ import annotations

import os
import re

import pytest
import redis

from rtastream.redis_server import SERVER_ENV, RedisServer, server_binary


@pytest.mark.redis  # starts a server of its own
def test_the_variable_names_the_server_to_start(tmp_path, monkeypatch):
    real = server_binary()
    if real is None:
        pytest.skip("no redis-server to start under another name")
    (tmp_path / "chosen-server").symlink_to(real)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(SERVER_ENV, "chosen-server")
    with RedisServer() as server, redis.Redis.from_url(server.url) as client:
        assert server.binary == str(tmp_path / "chosen-server")
        # the server answering is the process started from the chosen name
        assert server.process.args[0] == server.binary
        assert client.info("server")["process_id"] == server.process.pid


def test_a_missing_chosen_server_is_named(monkeypatch):
    monkeypatch.setenv(SERVER_ENV, "no-such-server")
    message = f"${SERVER_ENV} is 'no-such-server', which is neither an executable file nor on PATH"
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        RedisServer()


def test_without_a_server_the_message_says_how_to_install_one(tmp_path, monkeypatch):
    monkeypatch.delenv(SERVER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        FileNotFoundError,
        match="^no redis-server found on PATH; install one "
        r"\(Debian/Ubuntu: apt-get install redis-server",
    ):
        RedisServer()


@pytest.mark.redis  # starts servers of its own
def test_a_picked_port_taken_before_the_server_binds_it_is_picked_again(redis_server):
    # Parallel test workers pick free ports independently: another process can take one
    # between the pick and the server's bind. The server must not answer for the stranger.
    server = RedisServer()
    server.port = redis_server.port  # as if redis_server had taken it meanwhile
    with server, redis.Redis.from_url(server.url) as client:
        assert server.port != redis_server.port
        assert client.info("server")["process_id"] == server.process.pid


@pytest.mark.redis
def test_a_given_port_already_taken_fails_with_the_server_log(redis_server):
    with pytest.raises(RuntimeError, match="Address already in use"):
        RedisServer(port=redis_server.port).start(timeout=5)
