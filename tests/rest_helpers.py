"""Helpers for the REST tests: a reader of `application/vnd.mat.protobuf+chunked` bodies of
its own (struct, python-lz4 and the protobuf classes; nothing of the server's), and a
session of every kind of data written with the writer."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import lz4.block
import numpy as np

from cli_helpers import T0
from rtastream import Burst, RedisStreamBuffer, Session
from rtastream._proto import model_data_pb2, net_chunks_pb2

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


def write(url: str, identity: str, close: bool = True):
    analog, (tp, vp), rows, events = written()
    buffer = RedisStreamBuffer(url)
    session = buffer.open_session(identity, "cars", Session(identity, identifier="data test"))
    for second in range(SECONDS):  # one burst a second, as a logger would
        burst = Burst()
        ms = slice(second * 1000, (second + 1) * 1000)
        t = analog[ANALOG[0]][0][ms]
        burst.timestamped(list(ANALOG), t, np.stack([analog[c][1][ms] for c in ANALOG]))
        burst.periodic(
            PERIODIC, int(tp[second * 100]), 10 * MS, vp[second * 100 : (second + 1) * 100]
        )
        for time, ids, buf in (
            rows[second * 20 : (second + 1) * 20]
            + rows[len(rows) // 2 :][second * 20 : (second + 1) * 20]
        ):
            burst.row(list(ids), time, buf)
        time, definition, status, raw = events[second]
        burst.event(definition, time, status_text=status, raw_data=raw)
        burst.time_range(T0, int(t[-1]))
        session.write(burst)
    if close:
        session.close()
        buffer.close()
        return None
    session.flush()
    return buffer, session
