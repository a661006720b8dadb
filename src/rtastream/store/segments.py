"""A live stream's segments: the entries the recorder read, as they were in Redis.

A segment is one Arrow IPC file, `live/<stream>/<last entry id>-<count>.arrow`, holding
the entries read after the previous segment's last id, up to its own, that were new (a
re-sent duplicate is not kept); count is how many entries the stream was ever given up to
that id (what tells a trimmed gap, see rtastream.recorder). Its name is the recorder's
position in the stream: data and position are written by the same atomic rename, so a
recorder killed at any moment restarts exactly after the last segment it committed.

Arrow IPC, uncompressed: writing one is laying its columns' buffers into the file, where Parquet
encodes them into pages first (the messages are LZ4 blocks already: nothing to gain
from compressing them again). Stores written before kept Parquet segments; those are read
on (segment_format).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

SEGMENT_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),  # the Redis stream entry id
        ("stream_session_id", pa.int64()),
        ("identity", pa.string()),  # the session's identity, once known (null before)
        ("data", pa.binary()),  # the message as stored: one LZ4 raw block
        ("digest", pa.binary(16)),  # SHA-256 of data, its first 16 bytes: finds duplicates
        ("final_state", pa.string()),  # the closed state it ends its session with, or null
    ]
)


@dataclass(frozen=True)
class SegmentRow:
    entry_id: str
    stream_session_id: int
    identity: str | None
    data: bytes
    digest: bytes
    final_state: str | None


SUFFIX = ".arrow"
OLD_SUFFIX = ".parquet"
"""What segments of stores written before this version end with (Parquet files)."""


def segment_table(rows: list[SegmentRow], scratch: bytearray | None = None) -> pa.Table:
    """The segment of `rows`; its messages joined into `scratch` when given (memory the
    caller reuses for each segment it writes and lets go of the table first)."""
    return pa.table(
        {
            "entry_id": [r.entry_id for r in rows],
            "stream_session_id": [r.stream_session_id for r in rows],
            "identity": [r.identity for r in rows],
            "data": binary_array([r.data for r in rows], scratch),
            "digest": [r.digest for r in rows],
            "final_state": [r.final_state for r in rows],
        },
        schema=SEGMENT_SCHEMA,
    )


def binary_array(values: list[bytes], scratch: bytearray | None = None) -> pa.Array:
    """A binary array made from its two buffers: one join, where pa.array() grows its
    buffer by copies (several times slower for megabytes of messages). Joined into
    `scratch` when it is large enough: tens of MiB of new memory for every segment cost
    the kernel more than the copy (its pages are new each time)."""
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum([len(value) for value in values], out=offsets[1:])
    size = int(offsets[-1])
    if scratch is None or len(scratch) < size:
        data = pa.py_buffer(b"".join(values))
    else:
        with memoryview(scratch) as view:
            ends = offsets.tolist()
            for value, start, end in zip(values, ends[:-1], ends[1:], strict=True):
                view[start:end] = value
        data = pa.py_buffer(scratch)[:size]
    return pa.Array.from_buffers(pa.binary(), len(values), [None, pa.py_buffer(offsets), data])


def entry_key(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def id_name(entry_id: str) -> str:
    """An entry id as a file name part: names sort as the ids do."""
    ms, seq = entry_key(entry_id)
    return f"{ms:020d}-{seq:020d}"


def segment_name(last_id: str, before: int) -> str:
    """The file name of the segment ending at `last_id`, the `before`-th entry."""
    return f"{id_name(last_id)}-{before:020d}{SUFFIX}"


def segment_position(name: str) -> tuple[str, int]:
    """(last entry id, entries up to it) of a segment's file name."""
    ms, seq, before = name.removesuffix(SUFFIX).removesuffix(OLD_SUFFIX).split("-")
    return f"{int(ms)}-{int(seq)}", int(before)
