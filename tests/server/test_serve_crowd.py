"""`rtastream serve` past redis-py's pool of 100 connections: a thousand WebSocket clients of
one session each get every sample, and a client refused for load is told so (1013).

The clients are aiohttp WebSockets in this process, on loopback, beside the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from cli_helpers import T0, open_session, send_data, send_json
from rtastream.server import SUBPROTOCOL, hub, make_app
from rtastream.server.app import HUB, REDIS
from serve_helpers import Received, receive_all, request, sine

pytestmark = pytest.mark.slow

CROWD = 1000


@contextlib.asynccontextmanager
async def crowd_server(redis_url: str):
    """The app, its URL, and a client session with no limit on connections (aiohttp's
    default of 100 would queue the clients before the server ever sees them)."""
    app = make_app(redis_url)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        yield app, f"http://{host}:{port}", http
    await runner.cleanup()


def test_a_thousand_clients_of_one_session_each_get_every_sample(redis_url, r):
    session = open_session(r, "crowd", "crowd")
    send_data(r, session, bursts=3)  # before anyone joins: back-filled to each

    async def client(http, base: str, joined: list[int]) -> Received:
        url = f"{base}/rta/v2/sessions/crowd/stream"
        async with http.ws_connect(url, protocols=[SUBPROTOCOL]) as ws:
            got = Received()
            first = await ws.receive(timeout=60)
            assert first.type == aiohttp.WSMsgType.BINARY, (first, ws.close_code)
            got.add(first.data)
            await ws.send_bytes(request(all_data=True))
            joined.append(1)
            return await receive_all(ws, got, timeout=120)

    async def main() -> tuple[list[Received | BaseException], dict]:
        async with crowd_server(redis_url) as (app, base, http):
            joined: list[int] = []
            clients = [asyncio.create_task(client(http, base, joined)) for _ in range(CROWD)]
            deadline = time.monotonic() + 90
            while len(joined) < CROWD and time.monotonic() < deadline:
                if any(task.done() for task in clients):
                    break  # a client failed: its exception is the story
                await asyncio.sleep(0.1)
            health = await (await http.get(base + "/health")).json()
            loop = asyncio.get_running_loop()
            for b in range(3, 6):  # live now, to every client at once
                await loop.run_in_executor(
                    None, lambda b=b: send_data(r, session, bursts=1, start=T0 + b * 100_000_000)
                )
            await loop.run_in_executor(None, send_json, r, session, "closed")
            done = await asyncio.gather(*clients, return_exceptions=True)
            assert not app[HUB].clients
            return done, health

    results, health = asyncio.run(main())
    failures = [result for result in results if isinstance(result, BaseException)]
    assert not failures, f"{len(failures)} clients failed, the first: {failures[0]!r}"
    assert health["clients"] == CROWD and health["streams"] == 1
    every = T0 + np.arange(6 * 100, dtype=np.int64) * 1_000_000
    for got in results:
        assert got.close_code == 1000 and got.states[-1] == "closed"
        for channel in (0, 1, 2):
            assert np.array_equal(sorted(got.samples[channel]), every), channel
            t = np.array(list(got.samples[channel]))
            assert np.array_equal(np.array(list(got.samples[channel].values())), sine(channel, t))


def test_a_client_that_finds_no_turn_for_redis_is_refused_with_1013_and_a_log_line(
    redis_url, r, monkeypatch, caplog
):
    open_session(r, "queued", "crowd")
    monkeypatch.setattr(hub, "QUERY_WAIT", 0.3)

    async def main() -> tuple[int | None, str, int]:
        async with crowd_server(redis_url) as (app, base, http):
            turns = app[HUB].turns
            for _ in range(hub.CLIENT_QUERIES):  # every turn taken, as by clients in Redis
                await turns.acquire()
            async with http.ws_connect(
                f"{base}/rta/v2/sessions/queued/stream", protocols=[SUBPROTOCOL]
            ) as ws:
                message = await ws.receive(timeout=10)
            async with http.get(base + "/rta/v2/sessions") as page:
                status = page.status
            for _ in range(hub.CLIENT_QUERIES):
                turns.release()
            return ws.close_code, message.extra or "", status

    with caplog.at_level(logging.WARNING, logger="rtastream.server"):
        code, reason, rest_status = asyncio.run(main())
    assert code == 1013 and reason.startswith("server busy: no turn for a Redis command")
    assert rest_status == 503
    assert "refusing a client of session queued for load" in caplog.text


def test_the_shared_reader_goes_on_with_every_client_connection_taken(redis_url, r):
    session = open_session(r, "starved", "crowd")

    async def main() -> tuple[Received, int | None]:
        async with crowd_server(redis_url) as (app, base, http):
            url = f"{base}/rta/v2/sessions/starved/stream"
            async with http.ws_connect(url, protocols=[SUBPROTOCOL]) as live:
                got = Received()
                got.add((await live.receive(timeout=10)).data)
                await live.send_bytes(request(all_data=True))
                await asyncio.sleep(0.3)  # its (empty) back-fill done
                pool = app[REDIS].connection_pool
                held = [await pool.get_connection() for _ in range(pool.max_connections)]
                async with http.ws_connect(url, protocols=[SUBPROTOCOL]) as late:
                    await late.receive(timeout=10)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, lambda: send_data(r, session, bursts=2))
                await loop.run_in_executor(None, send_json, r, session, "closed")
                await receive_all(live, got)
                for connection in held:
                    await pool.release(connection)
            return got, late.close_code

    got, late_code = asyncio.run(main())
    assert late_code == 1013  # a new client finds no connection: refused for load
    assert got.close_code == 1000 and got.states[-1] == "closed"
    every = T0 + np.arange(200, dtype=np.int64) * 1_000_000
    assert np.array_equal(sorted(got.samples[0]), every)
