"""The data endpoints: samples and events of sessions written with the writer, read back
through `application/vnd.mat.protobuf+chunked` with the tests' own chunk reader, every
sample compared with what was written, and RTA's chunk rules checked on every chunk."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from cli_helpers import T0
from rest_helpers import ANALOG, MS, PERIODIC, SECONDS, read_chunks, timestamps_of, write, written
from rtastream.chunks import BUCKET_NS
from serve_helpers import served


def run(coro):
    return asyncio.run(coro)


async def fetch(server, path: str) -> tuple[int, bytes, str]:
    async with server.http.get(server.base + path) as reply:
        return reply.status, await reply.read(), reply.headers.get("Content-Type", "")


def check_rules(chunks, closed: bool = True):
    """RTA's chunk rules: ascending start, results of at most 128 samples, lists of at most
    64 KiB before compression, start and duration those of the data, no overlap."""
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    last_end: dict[tuple[int, ...], int] = {}
    for c in chunks:
        assert c.unpacked_length <= 64 * 1024 + 1024
        key = tuple(c.channel_ids)
        if closed and key in last_end:
            assert c.start > last_end[key], "chunks of a channel overlap"
        last_end[key] = c.start + c.duration


def test_timestamped_every_sample_back_in_rule_abiding_chunks(redis_url):
    write(redis_url, "ts")
    analog = written()[0]

    async def main():
        async with served(redis_url) as server:
            status, body, kind = await fetch(server, "/rta/v2/sessions/ts/data/timestamped/-")
            assert status == 200 and kind == "application/vnd.mat.protobuf+chunked"
            chunks = read_chunks(body, "timestamped")
            check_rules(chunks)
            got: dict[int, list] = {c: [[], []] for c in ANALOG}
            for chunk in chunks:
                assert len(chunk.channel_ids) == 1
                times = []
                for data in chunk.payload.timestamped_data:
                    assert data.channel_id == chunk.channel_ids[0]
                    assert 1 <= len(data.timestamp_deltas) <= 128
                    t = timestamps_of(data)
                    times += t
                    got[data.channel_id][0] += t
                    got[data.channel_id][1] += np.frombuffer(data.buffer, "<f8").tolist()
                assert (chunk.start, chunk.start + chunk.duration) == (times[0], times[-1])
                assert times[0] // BUCKET_NS == times[-1] // BUCKET_NS  # within a bucket
            for c in ANALOG:
                assert np.array_equal(got[c][0], analog[c][0]), c
                assert np.array_equal(got[c][1], analog[c][1]), c
            return chunks

    full = run(main())
    assert len(full) > 3 * 3  # three buckets of three channels, some cut in pieces


def test_a_range_gets_the_same_chunks_rounded_outwards(redis_url):
    write(redis_url, "ranged")
    analog = written()[0]
    start, end = T0 + 12_345 * MS, T0 + 13_000 * MS

    async def main():
        async with served(redis_url) as server:
            _, whole, _ = await fetch(server, "/rta/v2/sessions/ranged/data/timestamped/2")
            _, part, _ = await fetch(
                server, f"/rta/v2/sessions/ranged/data/timestamped/2?start={start}&end={end}"
            )
            _, upper, _ = await fetch(
                server, "/rta/v2/sessions/ranged/data/timestamped/B,2?start=0"
            )
            return read_chunks(whole, "timestamped"), read_chunks(part, "timestamped"), upper

    whole, part, upper = run(main())
    key = [(c.start, c.duration, c.payload.SerializeToString()) for c in whole]
    assert part and all((c.start, c.duration, c.payload.SerializeToString()) in key for c in part)
    times = [t for c in part for d in c.payload.timestamped_data for t in timestamps_of(d)]
    t, _ = analog[2]
    inside = t[(t >= start) & (t <= end)]
    assert set(inside.tolist()) <= set(times)  # everything asked for, over-read allowed
    assert min(times) <= start and max(times) >= end
    assert {tuple(c.channel_ids) for c in read_chunks(upper, "timestamped")} == {(2,), (0xB,)}


def test_periodic_rows_and_events(redis_url):
    write(redis_url, "kinds")
    _, (tp, vp), rows, events = written()

    async def main():
        async with served(redis_url) as server:
            out = {}
            for kind, path in [
                ("periodic", "periodic/1F-21"),
                ("row", "row/31"),
                ("events", "events"),
                ("timestamped", "timestamped/20"),
            ]:
                status, body, _ = await fetch(server, f"/rta/v2/sessions/kinds/data/{path}")
                assert status == 200, path
                out[kind] = read_chunks(body, kind)
            return out

    out = run(main())
    check_rules(out["periodic"])
    times, values = [], []
    for chunk in out["periodic"]:
        for data in chunk.payload.periodic_data:
            assert data.channel_id == PERIODIC and 1 <= data.samples <= 128
            times += (data.start_timestamp + data.interval * np.arange(data.samples)).tolist()
            values += np.frombuffer(data.buffer, "<i2").tolist()
    assert times == tp.tolist() and values == vp.tolist()

    check_rules(out["row"])
    got_rows = [
        (r.timestamp, tuple(r.channel_ids), r.buffer)
        for c in out["row"]
        for r in c.payload.row_data
    ]
    assert got_rows == [row for row in rows if 0x31 in row[1]]  # rows holding channel 31, whole
    assert all(c.channel_ids == [0x30, 0x31] for c in out["row"])

    check_rules(out["events"])
    got_events = [
        (e.timestamp, e.event_definition_id, e.status_text, tuple(e.raw_data))
        for c in out["events"]
        for e in c.payload.events
    ]
    assert got_events == events
    assert all(c.channel_ids == [] for c in out["events"])
    assert out["timestamped"] == []  # channel 20 is periodic: no timestamped data


def test_an_open_session_serves_what_redis_holds_so_far(redis_url):
    buffer, session = write(redis_url, "live", close=False)
    try:

        async def main():
            async with served(redis_url) as server:
                _, body, _ = await fetch(server, "/rta/v2/sessions/live/data/timestamped/1")
                return read_chunks(body, "timestamped")

        chunks = run(main())
        n = sum(len(d.timestamp_deltas) for c in chunks for d in c.payload.timestamped_data)
        assert n == SECONDS * 1000
    finally:
        session.close()
        buffer.close()


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("timestamped/G", 400, "bad channel term 'G'"),
        ("timestamped/1,,2", 400, "bad channel term ''"),
        ("timestamped/5-3", 400, "channel range '5-3' runs backwards (5 > 3)"),
        ("timestamped/123456789", 400, "bad channel term '123456789'"),
        ("periodic/1--2", 400, "bad channel term '1--2'"),
        ("timestamped/1?start=5&end=4", 400, "start (5) is after end (4)"),
        ("row/1?start=-1", 400, "start must be ns since the Unix epoch"),
        ("events?end=1e9", 400, "end must be ns since the Unix epoch"),
        ("events?end=9223372036854775808", 400, "end must be ns since the Unix epoch"),
        ("events?start=%C2%B2", 400, "start must be ns since the Unix epoch"),  # a superscript 2
    ],
)
def test_malformed_data_requests_get_400_with_the_reason(redis_url, path, status, reason):
    write(redis_url, "bad")

    async def main():
        async with served(redis_url) as server:
            return await fetch(server, f"/rta/v2/sessions/bad/data/{path}")

    got, body, _ = run(main())
    assert got == status
    assert body.decode().startswith(reason) and "\n" not in body.decode()


def test_unknown_session_is_404_and_empty_selection_is_an_empty_body(redis_url):
    write(redis_url, "known")

    async def main():
        async with served(redis_url) as server:
            unknown = await fetch(server, "/rta/v2/sessions/nobody/data/timestamped/-")
            empty = await fetch(server, "/rta/v2/sessions/known/data/timestamped/100-?start=0")
            before = await fetch(server, f"/rta/v2/sessions/known/data/events?end={T0 - BUCKET_NS}")
            return unknown, empty, before

    unknown, empty, before = run(main())
    assert unknown[0] == 404 and unknown[1] == b"no session 'nobody'"
    assert empty[:2] == (200, b"") and before[:2] == (200, b"")


def test_head_on_data_is_405_not_a_body(redis_url):
    write(redis_url, "heads")

    async def main():
        async with served(redis_url) as server:
            found = []
            for path in ("timestamped/-", "events"):
                url = f"{server.base}/rta/v2/sessions/heads/data/{path}"
                async with server.http.head(url) as reply:
                    found.append((reply.status, await reply.read()))
            return found

    assert run(main()) == [(405, b""), (405, b"")]
