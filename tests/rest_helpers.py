"""Helpers for the REST tests: a reader of `application/vnd.mat.protobuf+chunked` bodies of
its own (struct, python-lz4 and the protobuf classes; nothing of the server's), and a
session of every kind of data written with the writer."""

from __future__ import annotations

import contextlib
import json
import struct
from dataclasses import dataclass

import aiohttp
import lz4.block
import numpy as np
from aiohttp import web

from cli_helpers import T0
from rtastream import Burst, RedisStreamBuffer, Session
from rtastream._proto import model_data_pb2, net_chunks_pb2
from rtastream.server import make_app
from rtastream.server.rest.context import SOURCES

LISTS = {
    "timestamped": model_data_pb2.TimestampedDataList,
    "periodic": model_data_pb2.PeriodicDataList,
    "row": model_data_pb2.RowDataList,
    "events": model_data_pb2.EventsList,
}


@dataclass
class ReadChunk:
    start: int  # absolute, once the deltas are summed
    duration: int
    compression: int
    channel_ids: list[int]
    unpacked_length: int
    payload: object  # the data list


def read_chunks(body: bytes, kind: str) -> list[ReadChunk]:
    chunks, offset = [], 0
    start = duration = compression = 0
    while offset < len(body):
        (length,) = struct.unpack_from("<i", body, offset)
        offset += 4
        header = net_chunks_pb2.ChunkTransferHeader.FromString(body[offset : offset + length])
        offset += length
        packed = body[offset : offset + header.packed_length]
        assert len(packed) == header.packed_length, "a chunk cut short"
        offset += header.packed_length
        start += header.chunk_start_time_delta
        duration += header.chunk_duration_delta
        compression += header.compression_delta
        assert compression == 1, "every chunk is LZ4"
        raw = lz4.block.decompress(packed, uncompressed_size=header.unpacked_length)
        chunks.append(
            ReadChunk(
                start,
                duration,
                compression,
                list(header.channel_ids),
                header.unpacked_length,
                LISTS[kind].FromString(raw),
            )
        )
    return chunks


def timestamps_of(data: model_data_pb2.TimestampedData) -> list[int]:
    t, found = data.start_timestamp, []
    for delta in data.timestamp_deltas:
        t += delta * data.timestamp_deltas_scale
        found.append(t)
    return found


MS = 1_000_000
ANALOG = (0x1, 0x2, 0xB)  # float64 at 1 kHz
PERIODIC = 0x20  # int16 at 100 Hz
SECONDS = 25  # three 10-s buckets


def written(seconds: int = SECONDS):
    """What the test session holds: per channel (times, values); rows; events."""
    t = T0 + np.arange(seconds * 1000, dtype=np.int64) * MS
    analog = {c: (t, np.sin(t / 1e9 * (i + 1))) for i, c in enumerate(ANALOG)}
    tp = T0 + np.arange(seconds * 100, dtype=np.int64) * 10 * MS
    periodic = (tp, (np.arange(len(tp)) % 3000 - 1500).astype("<i2"))
    rows = [
        (T0 + k * 50 * MS, (0x30, 0x31), struct.pack("<dd", k, -k)) for k in range(seconds * 20)
    ]
    rows += [(T0 + k * 50 * MS + 1, (0x32,), struct.pack("<d", k)) for k in range(seconds * 20)]
    events = [(T0 + k * 1000 * MS + 7, 7, f"lap {k}", (float(k), 1.5)) for k in range(seconds)]
    return analog, periodic, rows, events


def burst_of(second: int) -> Burst:
    """Second `second` of the test session, as a logger would send it: one burst."""
    analog, (tp, vp), rows, events = written()
    burst = Burst()
    ms = slice(second * 1000, (second + 1) * 1000)
    t = analog[ANALOG[0]][0][ms]
    burst.timestamped(list(ANALOG), t, np.stack([analog[c][1][ms] for c in ANALOG]))
    burst.periodic(PERIODIC, int(tp[second * 100]), 10 * MS, vp[second * 100 : (second + 1) * 100])
    for time, ids, buf in (
        rows[second * 20 : (second + 1) * 20]
        + rows[len(rows) // 2 :][second * 20 : (second + 1) * 20]
    ):
        burst.row(list(ids), time, buf)
    time, definition, status, raw = events[second]
    burst.event(definition, time, status_text=status, raw_data=raw)
    burst.time_range(T0, int(t[-1]))
    return burst


def write(url: str, identity: str, close: bool = True):
    buffer = RedisStreamBuffer(url)
    session = buffer.open_session(identity, "cars", Session(identity, identifier="data test"))
    for second in range(SECONDS):
        session.write(burst_of(second))
    if close:
        session.close()
        buffer.close()
        return None
    session.flush()
    return buffer, session


# --- every sample of a session, as a list: what a join must give exactly once -------------

PATHS = {
    "timestamped": "timestamped/-",
    "periodic": "periodic/-",
    "row": "row/-",
    "events": "events",
}


def contents(chunks: dict[str, list[ReadChunk]]) -> dict[str, list]:
    """What the chunks of each kind hold, in the order sent: (channel, time, value) samples,
    (time, channels, bytes) rows, (time, definition, status, raw data) events."""
    found: dict[str, list] = {kind: [] for kind in PATHS}
    for chunk in chunks.get("timestamped", []):
        for data in chunk.payload.timestamped_data:
            values = np.frombuffer(data.buffer, "<f8").tolist()
            found["timestamped"] += [
                (data.channel_id, t, v) for t, v in zip(timestamps_of(data), values, strict=True)
            ]
    for chunk in chunks.get("periodic", []):
        for data in chunk.payload.periodic_data:
            times = (data.start_timestamp + data.interval * np.arange(data.samples)).tolist()
            values = np.frombuffer(data.buffer, "<i2").tolist()
            found["periodic"] += [
                (data.channel_id, t, v) for t, v in zip(times, values, strict=True)
            ]
    for chunk in chunks.get("row", []):
        found["row"] += [
            (r.timestamp, tuple(r.channel_ids), r.buffer) for r in chunk.payload.row_data
        ]
    for chunk in chunks.get("events", []):
        found["events"] += [
            (e.timestamp, e.event_definition_id, e.status_text, tuple(e.raw_data))
            for e in chunk.payload.events
        ]
    return found


def expected(seconds: int) -> dict[str, list]:
    """What contents() must find once the first `seconds` of the test session are written
    (every sample once; sorted, as contents() is compared sorted)."""
    analog, (tp, vp), rows, events = written()
    end = T0 + seconds * 1000 * MS
    samples = [
        (c, int(t), float(v)) for c in ANALOG for t, v in zip(*analog[c], strict=True) if t < end
    ]
    periodic = [(PERIODIC, int(t), int(v)) for t, v in zip(tp, vp, strict=True) if t < end]
    return {
        "timestamped": sorted(samples),
        "periodic": sorted(periodic),
        "row": sorted(row for row in rows if row[0] < end),
        "events": sorted(event for event in events if event[0] < end),
    }


def sample_bytes(chunks: list[ReadChunk], kind: str) -> dict[int, list[tuple[int, bytes]]]:
    """(time, value bytes) of every sample, per channel, in the order sent (the form
    recorder_helpers.Written keeps what was written in)."""
    found: dict[int, list[tuple[int, bytes]]] = {}
    for chunk in chunks:
        listed = (
            chunk.payload.timestamped_data if kind == "timestamped" else chunk.payload.periodic_data
        )
        for data in listed:
            if kind == "timestamped":
                times = timestamps_of(data)
            else:
                times = (data.start_timestamp + data.interval * np.arange(data.samples)).tolist()
            width = len(data.buffer) // len(times)
            pairs = found.setdefault(data.channel_id, [])
            pairs += [(t, data.buffer[i * width : (i + 1) * width]) for i, t in enumerate(times)]
    return found


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


async def every_sample(redis_url: str | None, store: str, identity: str):
    """Every sample REST serves of the session, by (kind, channel): (time, value bytes)."""
    found = {}
    async with serving(redis_url, store) as (base, http, _):
        for kind in ("timestamped", "periodic"):
            async with http.get(f"{base}/sessions/{identity}/data/{kind}/-") as reply:
                assert reply.status == 200, await reply.text()
                chunks = read_chunks(await reply.read(), kind)
            found |= {(kind, c): pairs for c, pairs in sample_bytes(chunks, kind).items()}
    return found


async def atlas_history(http: aiohttp.ClientSession, base: str, found: dict, identity: str):
    """ATLAS's steps after the session: each bound configuration (HEAD, then GET), then the
    configured channels' timestamped history and the events, as chunks read back here.
    (session channel ids, timestamped chunks, event chunks)."""
    channels = []
    for binding in found["configBindings"]:
        name = binding["identifier"]
        async with http.head(f"{base}/configs/{name}") as reply:
            assert reply.status == 200
        async with http.get(f"{base}/configs/{name}") as reply:
            assert reply.headers["Content-Type"] == "application/vnd.mat.config+json"
            config = json.loads(await reply.read())
        for group in config.values():
            channels += [c["id"] + binding["channelOffset"] for c in group["channels"]]
    expression = ",".join(f"{c:X}" for c in channels)
    async with http.get(f"{base}/sessions/{identity}/data/timestamped/{expression}") as reply:
        history = read_chunks(await reply.read(), "timestamped")
    async with http.get(f"{base}/sessions/{identity}/data/events") as reply:
        events = read_chunks(await reply.read(), "events")
    return channels, history, events
