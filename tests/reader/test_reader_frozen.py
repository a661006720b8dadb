"""A Redis that stops answering but keeps its connections (SIGSTOP: the kernel still holds
TCP up) is bounded by reconnect_timeout for the readers as for the writers: the sync and
asyncio SessionReader, `rtastream tail` and serve's shared readers raise (or report)
RedisUnavailable once no reply has come for that long (plus XREAD's block; for `serve`, the
budget given by --reconnect-timeout), and serve serves again once Redis does. Each test
freezes a private redis-server of its own."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import WSMsgType

from cli_helpers import T0, open_session, send_data, send_json, start_cli
from following import follow_async, follow_sync
from freezing import frozen
from rtastream import RedisUnavailable
from rtastream.server import SUBPROTOCOL
from serve_helpers import receive_all, request, served
from waiting import wait_until

pytestmark = pytest.mark.slow

BUDGET = 1.0  # reconnect_timeout of every reader here
BLOCK = 0.2  # their XREAD BLOCK, seconds
BOUND = BLOCK + BUDGET + 3.0  # the most a reader may take to give up, with slack for the CI


@pytest.mark.parametrize("follow", [follow_sync, follow_async])
def test_a_reader_following_a_frozen_redis_raises_unavailable_after_the_budget(
    own_server, own_r, follow
):
    session = open_session(own_r, "frozen-read", "car-1")
    send_data(own_r, session, bursts=2)
    reader = follow(own_server.url, "frozen-read", block=BLOCK, reconnect_timeout=BUDGET)
    reader.start()
    try:
        wait_until(lambda: len(reader.entries) == 3, what="the bursts written read")
        with frozen(own_server):
            froze = time.monotonic()
            wait_until(lambda: not reader.is_alive(), timeout=BOUND, what="the reader to give up")
        assert isinstance(reader.error, RedisUnavailable), reader.error
        assert str(reader.error).startswith(f"cannot reach Redis at 127.0.0.1:{own_server.port}: ")
        assert str(reader.error).endswith(f"(for {BUDGET:g} s)")
        assert reader.ended_at is not None and reader.ended_at - froze >= BUDGET
    finally:
        reader.stop()


@pytest.mark.parametrize("follow", [follow_sync, follow_async])
def test_a_block_longer_than_the_budget_is_no_timeout(own_server, own_r, follow):
    """XREAD BLOCK waits `block` by design: its socket timeout is block + reconnect_timeout,
    so an idle stream followed with block=1.5 and reconnect_timeout=0 reads on (a socket
    timeout of the budget alone, at least 1 s, would fire inside the block)."""
    session = open_session(own_r, "idle-read", "car-1")
    reader = follow(own_server.url, "idle-read", block=1.5, reconnect_timeout=0)
    reader.start()
    try:
        wait_until(lambda: len(reader.entries) == 1, what="the first Session JSON read")
        time.sleep(3.2)  # the stream idle for two whole blocks and more
        assert reader.is_alive() and reader.error is None, reader.error
        send_json(own_r, session, "closed")
        reader.join(timeout=10)
        assert reader.error is None and reader.entries[-1].final_state == "closed"
    finally:
        reader.stop()


def test_tail_of_a_frozen_redis_exits_with_the_error(own_server, own_r):
    session = open_session(own_r, "frozen-tail", "car-1")
    args = ("tail", "frozen-tail", "--from-start", "--json", "--reconnect-timeout", "1")
    with start_cli(*args, "--redis", own_server.url) as tail:
        try:
            assert tail.stderr.readline().startswith("following stream:car-1")
            send_data(own_r, session, bursts=1)
            assert tail.stdout.readline()  # the first message shown
            with frozen(own_server):
                froze = time.monotonic()
                wait_until(lambda: tail.poll() is not None, timeout=BUDGET + 1 + 5)
                took = time.monotonic() - froze
        finally:
            tail.kill()
        err = tail.stderr.read()
    assert tail.returncode == 1
    assert err.startswith(
        f"rtastream: error: lost the connection to Redis: cannot reach Redis at "
        f"127.0.0.1:{own_server.port}: "
    )
    assert took >= 1


async def closing(ws) -> tuple[int | None, str]:
    """Read until the server closes the socket: its close code and reason."""
    while (message := await ws.receive()).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED):
        assert message.type == WSMsgType.BINARY, message
    return ws.close_code, message.extra or ""


def test_serve_closes_the_clients_of_a_frozen_redis_with_1011_and_serves_again(own_server, own_r):
    session = open_session(own_r, "frozen-serve", "car-1")

    async def main():
        async with served(own_server.url, reconnect_timeout=BUDGET) as server:
            async with server.ws("frozen-serve") as ws:
                await ws.receive(timeout=10)  # its Session JSON: the client is live
                with frozen(own_server):
                    froze = time.monotonic()
                    closed = await asyncio.wait_for(closing(ws), BOUND)
                    took = time.monotonic() - froze
            # Redis answers again: a new client is served, live data and all.
            async with server.ws("frozen-serve") as ws:
                await ws.receive(timeout=10)
                await ws.send_bytes(request(all_data=True))
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, send_data, own_r, session, (0,), 1)
                await loop.run_in_executor(None, send_json, own_r, session, "closed")
                after = await receive_all(ws, timeout=20)
            return closed, took, after

    (code, reason), took, after = asyncio.run(main())
    assert code == 1011
    assert reason.startswith(
        f"reading stream:car-1 failed: cannot reach Redis at 127.0.0.1:{own_server.port}: "
    )
    assert BUDGET <= took < BOUND
    assert after.close_code == 1000 and after.states[-1] == "closed"
    assert sorted(after.samples[0]) == [T0 + k * 1_000_000 for k in range(100)]


@pytest.mark.subprocess
def test_serve_command_uses_the_reconnect_timeout_it_is_given(own_server, own_r):
    """`rtastream serve --reconnect-timeout 1`: a frozen Redis closes the live client with
    1011 after 1 s, not the default 10, and REST answers 503 after 1 s too."""
    open_session(own_r, "frozen-cli", "car-1")
    args = ("serve", "--port", "0", "--reconnect-timeout", str(BUDGET), "--redis", own_server.url)
    with start_cli(*args) as serve:
        try:
            line = serve.stderr.readline()
            assert " at http://127.0.0.1:" in line, line
            base = line.split(" at ")[1].split()[0].rstrip("/")

            async def main():
                async with aiohttp.ClientSession() as http:
                    url = f"{base}/rta/v2/sessions/frozen-cli/stream"
                    async with http.ws_connect(url, protocols=[SUBPROTOCOL]) as ws:
                        await ws.receive(timeout=10)  # its Session JSON: the client is live
                        with frozen(own_server):
                            froze = time.monotonic()
                            closed = await asyncio.wait_for(closing(ws), BOUND)
                            took = time.monotonic() - froze
                            asked = time.monotonic()
                            async with http.get(f"{base}/rta/v2/sessions/frozen-cli") as reply:
                                answer = reply.status, await reply.text()
                            answered = time.monotonic() - asked
                return closed, took, answer, answered

            (code, reason), took, (status, text), answered = asyncio.run(main())
        finally:
            serve.kill()
            serve.communicate(timeout=30)
    assert code == 1011 and reason.startswith("reading stream:car-1 failed: cannot reach Redis")
    assert BUDGET <= took < BOUND  # the default (10 s) would be far past BOUND
    assert status == 503 and "Redis" in text, text
    assert BUDGET <= answered < BOUND
