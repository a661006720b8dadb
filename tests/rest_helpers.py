"""Helpers for the REST tests: a reader of `application/vnd.mat.protobuf+chunked` bodies of
its own (struct, python-lz4 and the protobuf classes; nothing of the server's), and the
server on a free loopback port."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import lz4.block

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
