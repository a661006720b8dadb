"""`rtastream serve`, the live edge, through a Python WebSocket client (aiohttp's) speaking
the RTA protocol: handshake, first message, time ranges, subscriptions, back-fill, filters,
session end, many clients on one Redis reader, slow clients, REST.

Sessions are written by the protocol with Burst and plain redis-py (tests/cli_helpers.py);
what clients receive is decoded with the protobuf-based decoder.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

import aiohttp
import numpy as np
import pytest
import yarl

import rtastream
from cli_helpers import T0, cli_env, open_session, run_cli, send, send_data, send_json
from rtastream import Burst, SessionJsonItem, TimeRangeItem, TimestampedItem, decode, keys
from rtastream.server import SUBPROTOCOL
from serve_helpers import Received, receive_all, request, served, sine
from waiting import wait_until


def run(coro):
    return asyncio.run(coro)


async def first_message(ws) -> list:
    message = await ws.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.BINARY, message
    return decode(message.data)


def test_handshake_echoes_the_subprotocol_and_sends_the_session_json_alone_first(redis_url, r):
    session = open_session(r, "s1", "cars")
    send_data(r, session, bursts=2)

    async def main():
        async with served(redis_url) as server, server.ws("s1") as ws:
            assert ws.protocol == SUBPROTOCOL
            [item] = await first_message(ws)
            assert isinstance(item, SessionJsonItem) and item.json()["state"] == "open"
            assert await first_message(ws) == [TimeRangeItem(session.t_start, session.t_end)]
            with pytest.raises(asyncio.TimeoutError):  # no data before a subscription
                await ws.receive(timeout=0.5)

    run(main())


def test_not_an_upgrade_is_400_and_no_subprotocol_is_406(redis_url, r):
    open_session(r, "s1", "cars")

    async def main():
        async with served(redis_url) as server:
            url = f"{server.base}/rta/v2/sessions/s1/stream"
            async with server.http.get(url) as plain:
                assert plain.status == 400
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await server.http.ws_connect(url)
            assert refused.value.status == 406
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await server.http.ws_connect(url, protocols=["another"])
            assert refused.value.status == 406

    run(main())


def test_unknown_session_handshakes_then_closes_normally(redis_url, r):
    r.hset(keys.session_key("nojson"), keys.STREAM_NAME, "x")  # not streamable yet

    async def main():
        async with served(redis_url) as server:
            for identity in ("nobody", "nojson"):
                async with server.ws(identity) as ws:
                    assert ws.protocol == SUBPROTOCOL
                    got = await receive_all(ws)
                    assert got.messages == [] and got.close_code == 1000

    run(main())


def test_closed_session_sends_its_final_state_then_closes(redis_url, r):
    session = open_session(r, "done", "cars")
    send_data(r, session, bursts=1)
    send_json(r, session, "truncated")

    async def main():
        async with served(redis_url) as server, server.ws("done") as ws:
            got = await receive_all(ws)
            assert got.states == ["truncated"] and len(got.messages) == 1
            assert got.close_code == 1000

    run(main())


def test_subscription_filters_and_widening_backfills_from_the_start(redis_url, r):
    session = open_session(r, "s1", "cars")
    send_data(r, session, channels=(0, 1, 2), bursts=3, events=3)
    history = T0 + np.arange(300, dtype=np.int64) * 1_000_000

    async def main():
        async with served(redis_url) as server, server.ws("s1") as ws:
            got = Received()
            got.add((await ws.receive(timeout=10)).data)
            await ws.send_bytes(request(channels=[1]))
            await read_until(ws, got, lambda: len(got.samples[1]) == 300)
            assert set(got.samples) == {1} and got.events == []  # filtered
            assert np.array_equal(sorted(got.samples[1]), history)
            assert list(got.samples[1].values()) == list(sine(1, np.array(list(got.samples[1]))))
            await ws.send_bytes(request(channels=[2], all_events=True))  # widen
            await read_until(ws, got, lambda: len(got.samples[2]) == 300 and len(got.events) == 3)
            await ws.send_bytes(request(channels=[0]))  # narrowing is impossible: 1, 2 stay
            await read_until(ws, got, lambda: len(got.samples[0]) == 300)
            await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: (
                    send_data(r, session, bursts=1, start=T0 + 300_000_000, events=1),
                    send_json(r, session, "closed"),
                ),
            )
            await receive_all(ws, got)
            for channel in (0, 1, 2):
                assert len(got.samples[channel]) == 400
            assert len({e.timestamp for e in got.events}) == 4
            assert got.states[0] == "open" and got.states[-1] == "closed"
            assert got.close_code == 1000, ws.exception()

    run(main())


def test_since_leaves_out_of_the_backfill_what_is_timed_wholly_before_it(redis_url, r):
    session = open_session(r, "s1", "cars")
    send_data(r, session, channels=(0, 1), bursts=3, events=3)  # 100 ms a burst, from T0
    since = T0 + 150_000_000  # mid-way through the second burst

    async def main():
        async with served(redis_url) as server:
            url = f"{server.base}/rta/v2/sessions/s1/stream"
            for bad in ("-1", "soon", str(2**63)):
                async with server.http.get(url, params={"since": bad}) as reply:
                    assert reply.status == 400
                    assert await reply.text() == (
                        f"since must be ns since the Unix epoch, 0 to {2**63 - 1}"
                    )
            async with server.http.ws_connect(
                url, params={"since": str(since)}, protocols=[SUBPROTOCOL]
            ) as ws:
                got = Received()
                got.add((await ws.receive(timeout=10)).data)
                await ws.send_bytes(request(channels=[1], all_events=True))
                await read_until(ws, got, lambda: len(got.samples[1]) == 200)
                await asyncio.get_running_loop().run_in_executor(
                    None,
                    lambda: (
                        send_data(r, session, channels=(0, 1), bursts=1, start=T0 + 300_000_000),
                        send_json(r, session, "closed"),
                    ),
                )
                return await receive_all(ws, got)

    got = run(main())
    # The first burst lies wholly before `since`: left out; the second is sent whole; what
    # comes live is never filtered.
    assert sorted(got.samples[1]) == (T0 + np.arange(100, 400) * 1_000_000).tolist()
    assert [e.timestamp for e in got.events] == [T0 + 200_000_000, T0 + 300_000_000]
    assert got.close_code == 1000


async def read_until(ws, got: Received, done, timeout: float = 20) -> None:
    async def read():
        while not done():
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.BINARY, message
            got.add(message.data)

    await asyncio.wait_for(read(), timeout)


def test_a_client_joining_late_gets_every_sample(redis_url, r):
    session = open_session(r, "busy", "cars")
    bursts = 40
    written = threading.Event()

    def produce():
        for b in range(bursts):
            send_data(r, session, bursts=1, start=T0 + b * 100_000_000)
            time.sleep(0.01)
        written.set()
        send_json(r, session, "closed")

    async def main():
        async with served(redis_url) as server:
            producer = threading.Thread(target=produce)
            producer.start()
            await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: wait_until(
                    lambda: len(session.entry_ids) > 10, what="the session under way"
                ),
            )
            async with server.ws("busy") as ws:
                got = Received()
                got.add((await ws.receive(timeout=10)).data)
                await ws.send_bytes(request(all_data=True, all_events=True))
                await receive_all(ws, got)
            producer.join()
            return got

    got = run(main())
    assert written.is_set() and got.close_code == 1000
    every = T0 + np.arange(bursts * 100, dtype=np.int64) * 1_000_000
    for channel in (0, 1, 2):  # overlap is allowed, a gap never
        assert np.array_equal(sorted(got.samples[channel]), every), channel
        t = np.array(list(got.samples[channel]))
        assert np.array_equal(np.array(list(got.samples[channel].values())), sine(channel, t))
    assert len({e.timestamp for e in got.events}) == bursts
    assert got.states[-1] == "closed"


def test_time_ranges_come_at_most_ten_times_a_second(redis_url, r):
    session = open_session(r, "fast", "cars")

    async def main():
        async with served(redis_url) as server, server.ws("fast") as ws:
            got = Received()
            got.add((await ws.receive(timeout=10)).data)
            started = time.monotonic()

            def produce():  # 60 bursts with time ranges over about a second: 60 Hz
                for b in range(60):
                    send_data(r, session, bursts=1, samples=10, start=T0 + b * 10_000_000)
                    time.sleep(1 / 60)
                send_json(r, session, "closed")

            await asyncio.get_running_loop().run_in_executor(None, produce)
            await receive_all(ws, got)
            return got, time.monotonic() - started

    got, elapsed = run(main())
    assert got.of(TimestampedItem) == [] and got.events == []  # not subscribed
    assert got.time_ranges[-1] == (T0, session.t_end)  # the last one, before the end
    assert 3 <= len(got.time_ranges) <= elapsed / 0.1 + 2
    assert got.states == ["open", "closed"]


def test_one_redis_reader_per_stream_shared_by_every_client(redis_url, r):
    sessions = [open_session(r, f"s{i}", "shared") for i in range(2)]

    async def main():
        async with served(redis_url) as server:
            sockets = [await server.ws(f"s{i % 2}").__aenter__() for i in range(6)]
            for ws in sockets:
                await ws.receive(timeout=10)
                await ws.send_bytes(request(all_data=True))
            async with server.http.get(f"{server.base}/health") as health:
                assert (await health.json())["clients"] == 6
            # Not one reader per client, nor per session: one connection blocked in XREAD.
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_until(lambda: blocked_readers(r) == 1, what="one blocked XREAD")
            )
            await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: [(send_data(r, s, bursts=1), send_json(r, s, "closed")) for s in sessions],
            )
            received = [await receive_all(ws) for ws in sockets]
            for ws in sockets:
                await ws.close()
            return received

    for got in run(main()):
        assert len(got.samples[0]) == 100 and got.states[-1] == "closed"


def blocked_readers(r) -> int:
    return sum(c.get("cmd") == "xread" and "b" in c.get("flags", "") for c in r.client_list())


def test_a_client_too_slow_is_closed_with_1013_and_the_server_stays_bounded(redis_url, r):
    session = open_session(r, "flood", "cars")
    queue = 256 * 1024

    async def main():
        async with served(redis_url, queue_bytes=queue) as server:
            host, port = server.base[7:].split(":")
            slow = await asyncio.get_running_loop().run_in_executor(
                None, raw_client, host, int(port), "flood"
            )
            rng = np.random.default_rng(1)
            for b in range(200):  # ~12 MiB of incompressible data, never read by the client
                burst = Burst()
                t = T0 + b * 128 + np.arange(128, dtype=np.int64)
                burst.timestamped(range(64), t, rng.normal(size=(64, 128)))
                send(r, session, burst, keys.DEFAULT_SESSION_TTL)
                async with server.http.get(f"{server.base}/health") as health:
                    if (await health.json())["slowClientsClosed"]:
                        break
            else:
                raise AssertionError("the slow client was never closed")
            code, reason = await asyncio.get_running_loop().run_in_executor(
                None, read_to_close, slow
            )
            return code, reason

    code, reason = run(main())
    assert code == 1013 and reason == f"too slow: outgoing queue over {queue} bytes"


def raw_client(host: str, port: int, identity: str) -> socket.socket:
    """A WebSocket client with a tiny receive buffer that subscribes to everything and then
    stops reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /rta/v2/sessions/{identity}/stream HTTP/1.1\r\nHost: {host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.sendall(masked_frame(0x2, request(all_data=True)))
    return sock


def masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def read_to_close(sock: socket.socket) -> tuple[int, str]:
    """Read frames until the close frame; answer it; (code, reason)."""
    sock.settimeout(30)
    buffer = b""

    def take(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed without a close frame"
            buffer += chunk
        data, buffer = buffer[:n], buffer[n:]
        return data

    while True:
        first, second = take(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack(">H", take(2))[0]
        elif size == 127:
            size = struct.unpack(">Q", take(8))[0]
        payload = take(size)
        if first & 0x0F == 0x8:
            sock.sendall(masked_frame(0x8, payload[:2]))
            sock.close()
            return struct.unpack(">H", payload[:2])[0], payload[2:].decode()


def test_bad_client_messages_close_the_socket(redis_url, r):
    open_session(r, "s1", "cars")

    async def main():
        async with served(redis_url) as server:
            async with server.ws("s1") as ws:
                await ws.receive(timeout=10)
                await ws.send_str("subscribe please")
                got = await receive_all(ws, Received())
                assert got.close_code == 1003
            async with server.ws("s1") as ws:
                await ws.receive(timeout=10)
                await ws.send_bytes(b"\xff\xff\xff")
                got = await receive_all(ws, Received())
                assert got.close_code == 1007

    run(main())


def test_rest_sessions_page_one_session_health_and_root(redis_url, r):
    for i, stamp in enumerate(
        ["2025-06-15T15:06:40+00:00", "2025-06-15T17:00:00+02:00", "2025-06-15T15:10:00Z"]
    ):
        session = open_session(r, f"s{i}", "cars")
        model = {"identity": f"s{i}", "identifier": f"run {i}", "state": "open", "timestamp": stamp}
        r.hset(keys.session_key(f"s{i}"), keys.JSON, json.dumps(model))
        del session
    r.hset(keys.session_key("unstreamable"), keys.STREAM_NAME, "cars")

    async def main():
        async with served(redis_url) as server:

            async def get(path):
                async with server.http.get(server.base + path) as reply:
                    return reply.status, await reply.json()

            status, page = await get("/rta/v2/sessions")
            assert status == 200
            assert [s["identity"] for s in page["sessions"]] == ["s2", "s0", "s1"]  # newest first
            status, page = await get("/rta/v2/sessions?sort=identifier:asc&pageSize=2&pageIndex=1")
            assert [s["identity"] for s in page["sessions"]] == ["s2"]
            async with server.http.get(server.base + "/rta/v2/sessions?pageSize=-1") as reply:
                assert reply.status == 400
                assert await reply.text() == ("pageIndex >= 0 and 0 <= pageSize <= 10000 expected")
            assert await get("/rta/v2/sessions/s1") == (
                200,
                {
                    "identity": "s1",
                    "identifier": "run 1",
                    "state": "open",
                    "timestamp": "2025-06-15T17:00:00+02:00",
                },
            )
            for unknown in ("nobody", "unstreamable"):
                async with server.http.get(f"{server.base}/rta/v2/sessions/{unknown}") as reply:
                    assert reply.status == 404
            status, health = await get("/health")
            assert status == 200 and health["status"] == "healthy"
            status, root = await get("/")
            assert status == 200 and root["service"] == "rtastream"
            async with server.http.get(server.base + "/", headers={"Accept": "text/html"}) as page:
                assert page.status == 200
                assert '<script src="/static/rta.js"></script>' in await page.text()

    run(main())


def test_serve_command_listens_on_loopback_and_answers(redis_url):
    process = subprocess.Popen(
        [sys.executable, "-m", "rtastream", "serve", "--port", "0", "--redis", redis_url],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        line = process.stderr.readline()
        assert line.startswith(f"serving the sessions in {redis_url} at http://127.0.0.1:")
        url = line.split(" at ")[1].split()[0]

        async def main():
            async with aiohttp.ClientSession() as http, http.get(url + "health") as reply:
                return reply.status

        assert run(main()) == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_serve_without_aiohttp_names_the_extra(redis_url):
    code = (
        "import sys; sys.modules['aiohttp'] = None; from rtastream.cli import main; "
        f"sys.exit(main(['serve', '--redis', {redis_url!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == (
        "rtastream: error: rtastream serve needs aiohttp, which is not "
        "installed: pip install 'rtastream[serve]'\n"
    )


def test_serve_bad_port_and_busy_port(redis_url):
    result = run_cli("serve", "--port", "70000", "--redis", redis_url)
    assert result.returncode == 2 and "TCP port from 0 to 65535, got '70000'" in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--redis", redis_url)
    assert result.returncode == 1
    assert result.stderr.startswith(f"rtastream: error: cannot listen on 127.0.0.1:{port}: ")


def test_an_identity_with_a_slash_is_served_as_one_percent_encoded_segment(redis_url, r):
    # The rule, for the writer and the server alike: any identity; in a URL it is one path
    # segment, percent-encoded (`/` as %2F), decoded once.
    identities = ("team/run 1", "50%2Fodd")  # the second holds a literal '%2F'
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        for identity in identities:
            with buffer.open_session(identity, "slashes") as session:
                session.timestamped([1], np.array([T0], dtype=np.int64), np.array([[0.5]]))

    async def main():
        async with served(redis_url) as server:
            for identity in identities:
                segment = urllib.parse.quote(identity, safe="")
                url = yarl.URL(f"{server.base}/rta/v2/sessions/{segment}", encoded=True)
                async with server.http.get(url) as reply:
                    assert reply.status == 200, identity
                    assert (await reply.json())["identity"] == identity
                async with server.http.ws_connect(url / "stream", protocols=[SUBPROTOCOL]) as ws:
                    received = await receive_all(ws)
                assert received.states == ["closed"] and received.close_code == 1000
            literal = yarl.URL(f"{server.base}/rta/v2/sessions/team/run%201", encoded=True)
            async with server.http.get(literal) as reply:
                assert reply.status == 404  # a bare '/' separates segments

    run(main())


def test_rest_sessions_page_names_the_sessions_whose_heartbeat_stopped(redis_url, r):
    """The Session JSON keeps RTA's states; `stale` lists the open sessions whose
    lastUpdated is older than keys.STALE_AFTER, which the page shows as stale."""
    now_ms = int(time.time() * 1000)
    old_ms = now_ms - int(keys.STALE_AFTER * 1000) - 5000
    for identity, state, updated in [
        ("dead", "open", old_ms),
        ("alive", "open", now_ms),
        ("ended", "closed", old_ms),
    ]:
        open_session(r, identity, "cars")
        model = {"identity": identity, "state": state, "timestamp": "2025-06-15T15:06:40Z"}
        r.hset(
            keys.session_key(identity),
            mapping={keys.JSON: json.dumps(model), keys.LAST_UPDATED: updated},
        )

    async def main():
        async with served(redis_url) as server:
            async with server.http.get(server.base + "/rta/v2/sessions") as reply:
                page = await reply.json()
            assert page["stale"] == ["dead"]
            states = {s["identity"]: s["state"] for s in page["sessions"]}
            assert states == {"dead": "open", "alive": "open", "ended": "closed"}

    run(main())
