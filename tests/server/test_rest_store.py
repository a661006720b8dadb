"""The REST API served from the recorder's store and Redis joined (rtastream serve --store):
a session read over REST in every state it goes through, only in Redis, in both while
open (its early part trimmed from Redis while the recorder runs), closed in both, closed
and forgotten by Redis, and open but forgotten. Every sample is compared with what was
written, as a list: none missing, none twice (at the source too, before the chunker's
own de-duplication could hide a doubled join)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp
import numpy as np
import pytest

import test_rest_atlas as atlas
from cli_helpers import T0, cli_env, run_cli
from recorder_helpers import record_session, recording
from rest_helpers import (
    MS,
    PATHS,
    atlas_history,
    burst_of,
    contents,
    every_sample,
    expected,
    read_chunks,
    serving,
    timestamps_of,
)
from rtastream import Burst, RedisStreamBuffer, Session, keys
from rtastream.channels import parse_channels
from rtastream.recorder.follow import session_record
from rtastream.server import SUBPROTOCOL
from rtastream.session import ConfigBinding
from rtastream.store import Store
from rtastream.store.segments import SegmentRow
from waiting import wait_until


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


def test_atlas_flow_on_a_recorded_session_redis_forgot(redis_url, r, tmp_path):
    """ATLAS's steps (session, configurations, data) on a session Redis no longer has:
    the configuration and every sample come from the store."""
    store_url = str(tmp_path / "store")
    r.set(keys.config_key("demo-config-1"), json.dumps(atlas.CONFIG))
    model = Session(
        "atlas-2",
        identifier="recorded",
        config_bindings=(ConfigBinding("demo-config-1", atlas.OFFSET),),
    )
    with recording(redis_url, store_url), RedisStreamBuffer(redis_url) as buffer:
        session = buffer.open_session("atlas-2", "cars", model)
        for second in range(12):
            session.write(atlas.burst(second))
        session.close()
        wait_until(
            lambda: (Store(store_url).session("atlas-2") or {}).get("complete"), what="compacted"
        )
    r.flushall()

    async def main():
        async with serving(redis_url, store_url) as (base, http, _):
            async with http.get(f"{base}/sessions/atlas-2") as reply:
                found = await reply.json()
            channels, history, events = await atlas_history(http, base, found, "atlas-2")
            async with http.ws_connect(
                f"{base}/sessions/atlas-2/stream", protocols=[SUBPROTOCOL]
            ) as ws:
                await ws.receive(timeout=10)
                closed = ws.close_code
            return found, channels, history, events, closed

    found, channels, history, events, closed = asyncio.run(main())
    assert found["state"] == "closed" and channels == [atlas.OFFSET + 1, atlas.OFFSET + 2]
    every = T0 + np.arange(12 * 1000, dtype=np.int64) * MS
    for channel in channels:
        got = [
            (t, v)
            for chunk in history
            for data in chunk.payload.timestamped_data
            if data.channel_id == channel
            for t, v in zip(
                timestamps_of(data), np.frombuffer(data.buffer, "<f8").tolist(), strict=True
            )
        ]
        assert got == list(zip(every.tolist(), atlas.values(channel, every).tolist(), strict=True))
    assert [e.status_text for c in events for e in c.payload.events] == [
        f"lap {s}" for s in range(12)
    ]
    assert closed == 1000  # the WebSocket: no live session to stream, closed cleanly


@pytest.mark.subprocess
def test_serve_store_without_redis_from_the_command_line(tmp_path):
    store = Store(str(tmp_path / "store"))
    model = {"identity": "cli-1", "state": "closed", "identifier": "from the CLI"}
    store.write_record(
        {"identity": "cli-1", "json": json.dumps(model), "complete": True, "files": {}}
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtastream",
            "serve",
            "--port",
            "0",
            "--no-redis",
            "--store",
            str(tmp_path / "store"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        line = process.stderr.readline()
        assert line.startswith(f"serving the store {tmp_path / 'store'} at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split()[0]

        async def main():
            async with aiohttp.ClientSession() as http:
                async with http.get(url + "rta/v2/sessions") as reply:
                    page = await reply.json()
                async with http.get(url + "rta/v2/sessions/cli-1/data/timestamped/-") as reply:
                    empty = (reply.status, await reply.read())
                async with http.get(url + "health") as reply:
                    health = await reply.json()
            return page, empty, health

        page, empty, health = asyncio.run(main())
        assert page["sessions"] == [model]
        assert empty == (200, b"")  # a session with no samples: no chunks
        assert health == {"status": "healthy", "redis": None}
    finally:
        process.terminate()
        process.communicate(timeout=30)
    result = run_cli("serve", "--no-redis")
    assert (
        result.returncode == 2 and "--no-redis serves a store alone: give --store" in result.stderr
    )


def test_typed_untyped_and_periodic_samples_of_a_closed_session_byte_for_byte(
    redis_url, r, tmp_path
):
    store = str(tmp_path / "store")
    written = record_session(redis_url, r, store, "typed-1")
    r.flushall()
    assert asyncio.run(every_sample(None, store, "typed-1")) == written.samples


def test_a_join_redis_trimmed_under_it_is_read_again_not_served_with_a_hole(redis_url, r, tmp_path):
    """The race the join checks for: the store's part is read, then the recorder commits
    past it and Redis trims what it committed, before Redis's edge is read. Served anyway,
    seconds 5-8 would be missing; every sample is served once instead."""
    store_url = str(tmp_path / "store")
    store = Store(store_url)
    with RedisStreamBuffer(redis_url) as buffer:
        session = buffer.open_session("race-1", "cars", Session("race-1", identifier="race"))
        for second in range(5):
            session.write(burst_of(second))
        session.flush()
        with recording(redis_url, store_url):
            wait_until(lambda: committed(store, r), what="seconds 0-4 committed")
        for second in range(5, 10):
            session.write(burst_of(second))
        session.flush()

        def commit_and_trim() -> None:
            with recording(redis_url, store_url):
                wait_until(lambda: committed(store, r), what="seconds 5-9 committed")
            position = store.position("cars")
            assert position is not None
            r.xtrim(keys.stream_key("cars"), minid=position[0], approximate=False)

        async def main():
            async with serving(redis_url, store_url) as (base, http, sources):
                part = sources.data.store.part
                parts = []

                async def racing_part(*args):
                    found = await part(*args)
                    if not parts:  # the first read of the store: the race, once
                        await asyncio.to_thread(commit_and_trim)
                    parts.append(found)
                    return found

                sources.data.store.part = racing_part
                path = f"{base}/sessions/race-1/data/{PATHS['timestamped']}"
                async with http.get(path) as reply:
                    assert reply.status == 200, await reply.text()
                    body = await reply.read()
                return read_chunks(body, "timestamped"), len(parts)

        chunks, reads = asyncio.run(main())
        session.close()
    assert sorted(contents({"timestamped": chunks})["timestamped"]) == expected(10)["timestamped"]
    assert reads == 2, "the store's part was not read again"


def test_a_store_only_open_session_is_listed_stale_once_its_stream_is_silent(tmp_path):
    """With no Redis, an open session in the store whose stream has had nothing recorded
    for keys.STALE_AFTER s is listed stale (its writer or recorder is gone); one recorded
    a moment ago is not."""
    store_url = str(tmp_path / "store")
    store = Store(store_url)
    now_ms = int(time.time() * 1000)
    ages = {"silent-1": 10 * keys.STALE_AFTER, "recent-1": 0.0}
    for stream, (identity, age) in zip(("s1", "s2"), ages.items(), strict=True):
        json_text = json.dumps({"identity": identity, "state": "open"})
        burst = Burst()
        burst.session_json(json_text)
        entry_id = f"{now_ms - int(age * 1000)}-0"
        row = SegmentRow(entry_id, 1, identity, burst.pack()[0], b"d" * 16, None)
        store.commit_segment(stream, entry_id, 1, [row])
        store.write_record(session_record(stream, 1, json_text))

    async def main():
        async with serving(None, store_url) as (base, http, _):
            async with http.get(f"{base}/sessions") as reply:
                assert reply.status == 200, await reply.text()
                return await reply.json()

    listing = asyncio.run(main())
    assert sorted(m["identity"] for m in listing["sessions"]) == ["recent-1", "silent-1"]
    assert {m["identity"]: m["state"] for m in listing["sessions"]}["silent-1"] == "open"
    assert listing["stale"] == ["silent-1"]
