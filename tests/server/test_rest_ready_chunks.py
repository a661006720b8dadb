"""A closed session served from the chunks written at its compaction (store/chunkfiles.py):
every kind, whole and in ranges cutting into chunks, decoded by the tests' own reader and
compared with what was written and with what the path that chunks the tables serves (the
same store with its chunk files taken away, as a session compacted before they existed)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest
import redis

from cli_helpers import T0
from recorder_helpers import recording
from rest_helpers import (
    ANALOG,
    MS,
    PATHS,
    PERIODIC,
    SECONDS,
    contents,
    expected,
    read_chunks,
    serving,
    write,
)
from rtastream.channels import parse_channels
from rtastream.store import Store
from waiting import wait_until

IDENTITY = "ready-1"


@pytest.fixture(scope="module")
def stores(redis_server, tmp_path_factory):
    """(store with ready chunks, the same store without them), of one closed session
    recorded from Redis (then forgotten by it: served from the store alone)."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    ready = str(tmp_path_factory.mktemp("ready") / "store")
    with recording(redis_server.url, ready):
        write(redis_server.url, IDENTITY)
        wait_until(lambda: (Store(ready).session(IDENTITY) or {}).get("complete"), what="compacted")
    client.flushall()
    client.close()
    plain = str(tmp_path_factory.mktemp("plain") / "store")
    shutil.copytree(ready, plain)
    folder = f"{plain}/sessions/{IDENTITY}"
    with open(f"{folder}/session.json") as file:
        record = json.load(file)
    for kind in record.pop("chunks"):
        os.remove(f"{folder}/chunks-{kind}.parquet")
    Store(plain).write_record(record)
    return ready, plain


async def bodies(store: str, paths: list[str]) -> list[bytes]:
    """The response bodies to GET `paths` (under the session's data/)."""
    found = []
    async with serving(None, store) as (base, http, _):
        for path in paths:
            async with http.get(f"{base}/sessions/{IDENTITY}/data/{path}") as reply:
                assert reply.status == 200, await reply.text()
                found.append(await reply.read())
    return found


def test_compaction_writes_ready_chunks_of_every_kind(stores):
    ready, plain = stores
    record = Store(ready).session(IDENTITY)
    assert set(record["chunks"]) == {"timestamped", "periodic", "row", "events"}
    assert "chunks" not in Store(plain).session(IDENTITY)


def test_whole_session_of_every_kind_as_written_and_as_the_tables_give_it(stores):
    ready, plain = stores
    paths = list(PATHS.values())
    from_chunks = asyncio.run(bodies(ready, paths))
    from_tables = asyncio.run(bodies(plain, paths))
    want = expected(SECONDS)
    for kind, body, other in zip(PATHS, from_chunks, from_tables, strict=True):
        read = read_chunks(body, kind)
        assert sorted(contents({kind: read})[kind]) == want[kind], kind
        assert body == other, f"{kind}: chunk boundaries or payloads differ from the tables'"
        starts = [chunk.start for chunk in read]
        assert starts == sorted(starts), f"{kind}: chunks not in ascending time"


# Ranges cutting into chunks: a timestamped chunk holds 3584 samples (3.584 s at 1 kHz),
# a bucket is 10 s; rows and events are pieced per bucket.
RANGES = [
    (T0 + 3300 * MS, T0 + 12_700 * MS),
    (T0 + 1, T0 + 1),
    (T0 + 9999 * MS, T0 + 10_000 * MS),
    (T0 + 24_000 * MS, T0 + 10**12),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_ranges_cutting_into_chunks(stores, start, end):
    ready, plain = stores
    paths = [f"{path}?start={start}&end={end}" for path in PATHS.values()]
    from_chunks = asyncio.run(bodies(ready, paths))
    from_tables = asyncio.run(bodies(plain, paths))
    whole = expected(SECONDS)
    for kind, body, other in zip(PATHS, from_chunks, from_tables, strict=True):
        read = read_chunks(body, kind)
        found = contents({kind: read})[kind]
        time_of = (lambda s: s[1]) if kind in ("timestamped", "periodic") else (lambda s: s[0])
        inside = [s for s in whole[kind] if start <= time_of(s) <= end]
        assert set(inside) <= set(found), f"{kind}: samples of the range missing"
        assert set(found) <= set(whole[kind]) and len(found) == len(set(found)), kind
        for chunk in read:  # whole chunks, each overlapping the range
            assert chunk.start <= end and chunk.start + chunk.duration >= start, kind
        assert sorted(found) == sorted(contents({kind: read_chunks(other, kind)})[kind]), kind


def test_same_request_same_bytes_and_adjacent_ranges_share_only_whole_chunks(stores):
    ready, _ = stores
    middle = T0 + 5000 * MS
    first, again, before, after = asyncio.run(
        bodies(
            ready,
            [
                "timestamped/-",
                "timestamped/-",
                f"timestamped/-?start={T0}&end={middle}",
                f"timestamped/-?start={middle + 1}&end={T0 + 10**12}",
            ],
        )
    )
    assert first == again
    spans = {
        (tuple(c.channel_ids), c.start, c.duration)
        for body in (before, after)
        for c in read_chunks(body, "timestamped")
    }
    whole = {(tuple(c.channel_ids), c.start, c.duration) for c in read_chunks(first, "timestamped")}
    assert spans == whole, "adjacent ranges gave chunks the whole session does not have"


def test_rows_of_some_channels_served_exactly(stores):
    """Rows holding 0x30 share their buckets with rows holding only 0x32: the ready row
    chunks (pieced from every row) are not that request's, so the tables are chunked."""
    ready, plain = stores
    store = Store(ready)
    record = store.session(IDENTITY)
    assert store.ready_chunks(record, "row", parse_channels("30"), 0, 2**63 - 1) is None
    assert store.ready_chunks(record, "row", parse_channels("30-32"), 0, 2**63 - 1)
    some, every = asyncio.run(bodies(ready, ["row/30", "row/30-32"]))
    rows = expected(SECONDS)["row"]
    assert sorted(contents({"row": read_chunks(some, "row")})["row"]) == [
        row for row in rows if 0x30 in row[1]
    ]
    assert sorted(contents({"row": read_chunks(every, "row")})["row"]) == rows


def test_samples_of_some_channels(stores):
    ready, plain = stores
    paths = [
        f"timestamped/{ANALOG[1]:X}",
        f"periodic/{PERIODIC:X}",
        f"timestamped/{ANALOG[2]:X}-FF",
    ]
    want = expected(SECONDS)
    for path, body, other in zip(
        paths, asyncio.run(bodies(ready, paths)), asyncio.run(bodies(plain, paths)), strict=True
    ):
        kind = path.split("/")[0]
        channels = parse_channels(path.split("/")[1])
        assert sorted(contents({kind: read_chunks(body, kind)})[kind]) == [
            s for s in want[kind] if s[0] in channels
        ]
        assert body == other
