"""The pure-Python path: what a careful user writes without rtastream.

Official protobuf classes (upb), numpy for the timestamp deltas and their gcd, python-lz4
for the raw block, redis-py (with hiredis) for the writes. Nothing from rtastream is used
except the generated protobuf classes and the key names (rtastream.keys, so that both paths
write the very same layout). One StreamDataBurst per burst, serialized once, compressed once.
"""

from __future__ import annotations

import time

import lz4.block
import numpy as np
import redis

from rtastream import keys
from rtastream._proto import model_data_pb2 as model
from rtastream._proto import net_stream_pb2 as stream


def _deltas(timestamps: np.ndarray) -> tuple[int, list[int]]:
    """(scale, deltas) of TimestampedData: deltas divided by their gcd, first delta 0."""
    steps = np.diff(timestamps)
    scale = int(np.gcd.reduce(steps)) if steps.size else 0
    scale = scale or 1
    return scale, [0, *(steps // scale).tolist()]


def _time_range(timestamps: np.ndarray) -> stream.StreamData:
    span = stream.StreamTimeRange(start_time=int(timestamps[0]), end_time=int(timestamps[-1]))
    return stream.StreamData(time_range=span)


def _compress(items: list[stream.StreamData]) -> bytes:
    data = stream.StreamDataBurst(data=items).SerializeToString()
    return lz4.block.compress(data, store_size=False)


def timestamped(channel_ids: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """One TimestampedData per channel sharing the timestamps, plus the burst's time range."""
    scale, deltas = _deltas(timestamps)
    start = int(timestamps[0])
    items = [
        stream.StreamData(
            timestamped_data=model.TimestampedData(
                channel_id=channel,
                start_timestamp=start,
                timestamp_deltas_scale=scale,
                timestamp_deltas=deltas,
                buffer=row.tobytes(),
            )
        )
        for channel, row in zip(channel_ids.tolist(), values, strict=True)
    ]
    items.append(_time_range(timestamps))
    return _compress(items)


def periodic(channel_ids: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> bytes:
    start, interval, n = int(timestamps[0]), int(timestamps[1] - timestamps[0]), values.shape[1]
    items = [
        stream.StreamData(
            periodic_data=model.PeriodicData(
                channel_id=channel,
                start_timestamp=start,
                interval=interval,
                samples=n,
                buffer=row.tobytes(),
            )
        )
        for channel, row in zip(channel_ids.tolist(), values, strict=True)
    ]
    items.append(_time_range(timestamps))
    return _compress(items)


def rows(channel_ids: np.ndarray, timestamps: np.ndarray, rows: np.ndarray) -> bytes:
    """One RowData per instant: rows is (instants, channels)."""
    ids = channel_ids.tolist()
    items = [
        stream.StreamData(
            row_data=model.RowData(channel_ids=ids, timestamp=t, buffer=row.tobytes())
        )
        for t, row in zip(timestamps.tolist(), rows, strict=True)
    ]
    items.append(_time_range(timestamps))
    return _compress(items)


def events(
    definition_ids: np.ndarray, timestamps: np.ndarray, raw: np.ndarray, texts: list[str]
) -> bytes:
    items = [
        stream.StreamData(
            event=model.Event(
                event_definition_id=d,
                timestamp=t,
                status_text=text,
                raw_data=values.tolist(),
                app_name="bench",
            )
        )
        for d, t, values, text in zip(
            definition_ids.tolist(), timestamps.tolist(), raw, texts, strict=True
        )
    ]
    items.append(_time_range(timestamps))
    return _compress(items)


class Writer:
    """Writes one session's bursts: XADD of the message plus HSET of the session hash,
    in one redis-py pipeline (no transaction) per burst."""

    def __init__(self, client: redis.Redis, identity: str, stream_name: str) -> None:
        self.client = client
        self.stream_key = keys.stream_key(stream_name)
        self.session_key = keys.session_key(identity)
        session_id = client.incr(keys.LAST_STREAM_SESSION_ID)
        self.entry_id = str(session_id)
        client.sadd(keys.STREAMS, stream_name)
        client.hset(
            self.session_key,
            mapping={
                keys.STREAM_SESSION_ID: session_id,
                keys.STREAM_NAME: stream_name,
                keys.STREAM_POSITION: keys.NO_STREAM_POSITION,
            },
        )

    def write(self, message: bytes, start: int, end: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(self.stream_key, {keys.ENTRY_ID: self.entry_id, keys.ENTRY_DATA: message})
        pipe.hset(
            self.session_key,
            mapping={
                keys.T_START: start,
                keys.T_END: end,
                keys.LAST_UPDATED: int(time.time() * 1000),
            },
        )
        pipe.expire(self.session_key, keys.DEFAULT_SESSION_TTL)
        pipe.execute()


def chunked(channel_id: int, timestamps: np.ndarray, values: np.ndarray, per_list: int) -> bytes:
    """One channel's samples as an `application/vnd.mat.protobuf+chunked` body, the careful
    user's way: lists of `per_list` samples in results of 128, protobuf, python-lz4."""
    from rtastream._proto import net_chunks_pb2

    out, start, duration, compression = [], 0, 0, 0
    for i in range(0, len(timestamps), per_list):
        times, part = timestamps[i : i + per_list], values[i : i + per_list]
        results = []
        for k in range(0, len(times), 128):
            scale, deltas = _deltas(times[k : k + 128])
            results.append(
                model.TimestampedData(
                    channel_id=channel_id,
                    start_timestamp=int(times[k]),
                    timestamp_deltas_scale=scale,
                    timestamp_deltas=deltas,
                    buffer=part[k : k + 128].tobytes(),
                )
            )
        payload = model.TimestampedDataList(timestamped_data=results).SerializeToString()
        packed = lz4.block.compress(payload, store_size=False)
        first, last = int(times[0]), int(times[-1])
        header = net_chunks_pb2.ChunkTransferHeader(
            chunk_start_time_delta=first - start,
            chunk_duration_delta=(last - first) - duration,
            channel_ids=[channel_id],
            compression_delta=1 - compression,
            unpacked_length=len(payload),
            packed_length=len(packed),
        ).SerializeToString()
        start, duration, compression = first, last - first, 1
        out += [len(header).to_bytes(4, "little"), header, packed]
    return b"".join(out)
