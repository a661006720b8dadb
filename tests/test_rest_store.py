"""The REST API served from the recorder's store and Redis joined (rtastream serve --store):
a session read over REST in every state it goes through, only in Redis, in both while
open (its early part trimmed from Redis while the recorder runs), closed in both, closed
and forgotten by Redis, and open but forgotten. Every sample is compared with what was
written, as a list: none missing, none twice (at the source too, before the chunker's
own de-duplication could hide a doubled join)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
from aiohttp import web

from recorder_helpers import recording
from rest_helpers import PATHS, burst_of, contents, expected, read_chunks
from rtastream import RedisStreamBuffer, Session, keys
from rtastream.server import make_app
from rtastream.server.rest.channels import parse_channels
from rtastream.server.rest.context import SOURCES
from rtastream.store import Store
from waiting import wait_until


@contextlib.asynccontextmanager
async def serving(redis_url: str | None, store: str):
    """(base URL, HTTP client, the app's sources) of a server on a free loopback port."""
    runner = web.AppRunner(make_app(redis_url, store=store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as http:
            yield f"http://{host}:{port}/rta/v2", http, runner.app[SOURCES]
    finally:
        await runner.cleanup()


async def served_contents(redis_url: str | None, store: str, identity: str):
    """(Session JSON, what REST serves of every kind, samples the data source gave)."""
    async with serving(redis_url, store) as (base, http, sources):
        async with http.get(f"{base}/sessions/{identity}") as reply:
            assert reply.status == 200, await reply.text()
            model = await reply.json()
        chunks = {}
        for kind, path in PATHS.items():
            async with http.get(f"{base}/sessions/{identity}/data/{path}") as reply:
                assert reply.status == 200, await reply.text()
                chunks[kind] = read_chunks(await reply.read(), kind)
        items = await sources.data.read(identity, "timestamped", parse_channels("-"), 0, 2**62)
        return model, contents(chunks), sum(len(item.timestamps) for item in items)


def check(redis_url: str | None, store: str, identity: str, seconds: int, state: str) -> None:
    model, found, source_samples = asyncio.run(served_contents(redis_url, store, identity))
    want = expected(seconds)
    assert model["state"] == state
    for kind, values in want.items():
        assert sorted(found[kind]) == values, f"{kind} of {identity} after {seconds} s"
    assert source_samples == len(want["timestamped"]), "the join doubled or dropped items"


def committed(store: Store, r, stream: str = "cars") -> bool:
    """Whether the store's position on the stream is the stream's last entry."""
    last = r.xrevrange(keys.stream_key(stream), count=1)
    position = store.position(stream)
    return bool(last) and position is not None and position[0] == last[0][0].decode()


def test_a_session_read_over_rest_in_every_state_of_redis_and_store(redis_url, r, tmp_path):
    store_url = str(tmp_path / "store")
    store = Store(store_url)
    buffer = RedisStreamBuffer(redis_url)
    other = RedisStreamBuffer(redis_url)
    try:
        session = buffer.open_session("join-1", "cars", Session("join-1", identifier="join"))
        for second in range(5):
            session.write(burst_of(second))
        session.flush()
        check(redis_url, store_url, "join-1", 5, "open")  # only in Redis

        with recording(redis_url, store_url):
            wait_until(lambda: committed(store, r), what="seconds 0-4 committed")
        r.xtrim(keys.stream_key("cars"), maxlen=2, approximate=False)  # the early part gone
        for second in range(5, 8):
            session.write(burst_of(second))
        session.flush()  # seconds 5-7: in Redis only
        check(redis_url, store_url, "join-1", 8, "open")

        forgotten = other.open_session("join-2", "cars", Session("join-2", identifier="gone"))
        with recording(redis_url, store_url):
            for second in range(8, 14):  # trimmed as the recorder commits, read meanwhile
                session.write(burst_of(second))
                session.flush()
                position = store.position("cars")
                assert position is not None
                r.xtrim(keys.stream_key("cars"), minid=position[0], approximate=False)
                check(redis_url, store_url, "join-1", second + 1, "open")
            for second in range(3):
                forgotten.write(burst_of(second))
            forgotten.flush()
            session.close()
            wait_until(lambda: (store.session("join-1") or {}).get("complete"), what="compacted")
            wait_until(lambda: committed(store, r), what="join-2 committed")
        check(redis_url, store_url, "join-1", 14, "closed")  # closed in both
        r.flushall()  # Redis forgets both: hashes expired, streams trimmed
        check(redis_url, store_url, "join-1", 14, "closed")
        check(redis_url, store_url, "join-2", 3, "open")
        check(None, store_url, "join-1", 14, "closed")  # and with no Redis at all
        check(None, store_url, "join-2", 3, "open")
    finally:
        other.close()
        buffer.close()


async def listed(redis_url: str | None, store: str) -> dict[str, str]:
    async with serving(redis_url, store) as (base, http, _):
        async with http.get(f"{base}/sessions") as reply:
            page = await reply.json()
        async with http.get(f"{base}/sessions/nobody/data/events") as reply:
            assert reply.status == 404
        async with http.get(f"{base}/sessions/s-0/stream") as reply:  # no Redis: no live edge
            assert reply.status == (404 if redis_url is None else 400)
    return {s["identity"]: s["state"] for s in page["sessions"]}


def test_the_list_joins_both_the_closed_copy_winning(redis_url, r, tmp_path):
    store = Store(str(tmp_path / "store"))
    for identity, state in (("both", "closed"), ("stored", "closed"), ("stale-copy", "open")):
        model = {"identity": identity, "state": state}
        store.write_record({"identity": identity, "json": json.dumps(model), "complete": True})
    r.hset(
        keys.session_key("both"),
        mapping={keys.JSON: json.dumps({"identity": "both", "state": "open"})},
    )
    r.hset(
        keys.session_key("live"),
        mapping={keys.JSON: json.dumps({"identity": "live", "state": "open"})},
    )
    r.hset(
        keys.session_key("stale-copy"),
        mapping={keys.JSON: json.dumps({"identity": "stale-copy", "state": "closed"})},
    )
    assert asyncio.run(listed(redis_url, str(tmp_path / "store"))) == {
        "both": "closed",
        "stored": "closed",
        "stale-copy": "closed",
        "live": "open",
    }
    assert asyncio.run(listed(None, str(tmp_path / "store"))) == {
        "both": "closed",
        "stored": "closed",
        "stale-copy": "open",
    }
