"""Ready REST chunks of a closed session: written once at compaction, served as a copy.

A closed session's chunks have stable boundaries (rtastream.chunks cuts on time buckets
and sample counts, never on the request), so they are cut and compressed once, when the
session is compacted, exactly as a whole-session request would get them, one file per
kind (`chunks-<kind>.parquet`). A request then selects the chunks overlapping its range
(rounded outwards to chunk boundaries, as RTA's data operations specify: no chunk is cut
or encoded again) and writes their packed payloads after headers made for the response.

Columns: `channel` (uint32: the chunk's channel; a row or event chunk's first, or 0),
`start` and `end` (int64 ns: its first and last sample), `channel_ids` (list<uint32>: the
header's), `unpacked` (uint32: the payload's length before LZ4), `body` (binary: the LZ4
raw block), `row_channels` (list<list<uint32>>: each distinct channel list of a row
chunk's rows; null for other kinds). Sorted by channel, then start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rtastream import chunks
from rtastream._native import compress
from rtastream._proto import model_data_pb2 as model
from rtastream.channels import MAX_CHANNEL, Channels
from rtastream.reader.entries import Series
from rtastream.store.files import Files
from rtastream.store.items import sample_items, series_of, table_items
from rtastream.store.tables import EVENTS, ROWS

KINDS = ("timestamped", "periodic", "row", "events")
EVERY = Channels(((0, MAX_CHANNEL),))
LATEST = 2**63 - 1
GROUP = 64
"""Chunks per Parquet row group (a few MiB): a request reads only groups its channels and
range may be in, by their statistics."""
BLOCK = chunks.BLOCK

SCHEMA = pa.schema(
    [
        ("channel", pa.uint32()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("channel_ids", pa.list_(pa.uint32())),
        ("unpacked", pa.uint32()),
        ("body", pa.binary()),
        ("row_channels", pa.list_(pa.list_(pa.uint32()))),
    ]
)
OPTIONS = {
    "compression": {name: "none" if name == "body" else "snappy" for name in SCHEMA.names},
    "use_dictionary": ["channel"],
    "write_statistics": ["channel", "start", "end"],
}
"""The bodies are LZ4 already: stored as they are, so reading them is a copy."""


def path_of(folder: str, kind: str) -> str:
    return f"{folder}/chunks-{kind}.parquet"


def write(files: Files, folder: str, tables: Mapping[str, pa.Table]) -> dict[str, dict[str, int]]:
    """Write the chunk file of each kind a session's tables have; {kind: {"chunks": count}}."""
    written = {}
    for kind in KINDS:
        count = write_kind(files, folder, kind, _source(kind, tables))
        if count:
            written[kind] = {"chunks": count}
    return written


def write_kind(files: Files, folder: str, kind: str, source: Iterable[Any]) -> int:
    """Write a kind's chunk file from `source`: for samples, (channel, Series) pairs in
    channel order, each channel's whole; for rows and events, their items in time order.
    No file when there are no chunks; returns how many."""
    return _write_file(files, path_of(folder, kind), _kind_chunks(kind, source))


def _source(kind: str, tables: Mapping[str, pa.Table]) -> Iterable[Any]:
    if kind == "row":
        return _items(tables, ROWS)
    if kind == "events":
        return _items(tables, EVENTS)
    return _series(kind, tables).items()


def _kind_chunks(kind: str, source: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """The rows of a kind's chunk file, in file order."""
    if kind == "row":
        for chunk in chunks.row_chunks(source, EVERY, 0, LATEST):
            listed = model.RowDataList.FromString(chunk.payload).row_data
            sets = sorted({tuple(row.channel_ids) for row in listed})
            yield _row(chunk, [list(ids) for ids in sets])
        return
    if kind == "events":
        for chunk in chunks.event_chunks(source, 0, LATEST):
            yield _row(chunk)
        return
    cut = chunks.periodic_chunks if kind == "periodic" else chunks.timestamped_chunks
    for channel_id, series in source:  # one channel at a time
        for chunk in cut(sample_items(kind, {channel_id: series}), EVERY, 0, LATEST):
            yield _row(chunk)


def _items(tables: Mapping[str, pa.Table], stem: str) -> list[Any]:
    return list(table_items(tables[stem])) if stem in tables else []


def _series(kind: str, tables: Mapping[str, pa.Table]) -> dict[int, Series]:
    """Each channel's samples of a kind, as Store.read gives them (a later table wins)."""
    found: dict[int, Series] = {}
    for stem in sorted(tables):
        if stem.split(".")[0] == kind:
            found.update(series_of(tables[stem]))
    return dict(sorted(found.items()))


def _row(chunk: chunks.Chunk, row_channels: list[list[int]] | None = None) -> dict[str, Any]:
    return {
        "channel": chunk.channel_ids[0] if chunk.channel_ids else 0,
        "start": chunk.start,
        "end": chunk.end,
        "channel_ids": list(chunk.channel_ids),
        "unpacked": len(chunk.payload),
        "body": compress(chunk.payload),
        "row_channels": row_channels,
    }


def _write_file(files: Files, path: str, rows: Iterable[dict[str, Any]]) -> int:
    """Write `rows` GROUP at a time (a session's bodies are not all held at once); no file
    when there are none. Returns how many."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    count = 0

    def fill(sink: Any) -> None:
        nonlocal count
        with pq.ParquetWriter(sink, SCHEMA, **OPTIONS) as writer:
            group = [first]
            for row in iterator:
                group.append(row)
                if len(group) == GROUP:
                    writer.write_table(pa.Table.from_pylist(group, SCHEMA))
                    count, group = count + len(group), []
            if group:
                writer.write_table(pa.Table.from_pylist(group, SCHEMA))
                count += len(group)

    files.write_with(path, fill)
    return count


# --- serving ----------------------------------------------------------------------------

HEADS = ["channel", "start", "end", "unpacked", "channel_ids"]
"""The columns a request's selection and headers need: every picked row's, read first
(small); the bodies are read after, a row group at a time."""


def read(
    files: Files, folder: str, kind: str, channels: Channels | None, start: int, end: int
) -> Iterator[bytes] | None:
    """The response body to a request for `channels` of a kind in [start, end], in blocks
    made as they are asked for; None where the ready chunks are not what the request gets
    (then the caller chunks the tables): row chunks of a bucket some of whose rows hold
    none of the channels. Errors of the file's heads come now, before any block."""
    lo, hi = chunks.widen(start, end)
    path = files.path(path_of(folder, kind))
    with files.fs.open_input_file(path) as source:
        parquet = pq.ParquetFile(source)
        groups = list(_groups(parquet.metadata, kind, channels, lo, min(hi, LATEST)))
        names = HEADS + (["row_channels"] if kind == "row" else [])
        table = parquet.read_row_groups(groups, columns=names, use_threads=False)
    if kind == "row" and not _rows_all_held(table, channels):
        return None
    starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
    held = (starts <= end) & (ends >= start)
    if kind in ("timestamped", "periodic"):
        held &= _held(table["channel"].to_numpy(), channels)
    picked = np.flatnonzero(held)
    if kind in ("timestamped", "periodic"):  # ascending time, channels interleaved
        picked = picked[np.lexsort((table["channel"].to_numpy()[picked], starts[picked]))]
    sizes = [parquet.metadata.row_group(g).num_rows for g in groups]
    return _framed(files, path, groups, sizes, table, picked)


def _groups(
    metadata: pq.FileMetaData, kind: str, channels: Channels | None, lo: int, hi: int
) -> Iterator[int]:
    """The row groups whose statistics say they may hold chunks of the request."""
    sample = kind in ("timestamped", "periodic") and channels is not None
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        stats = {
            group.column(j).path_in_schema: group.column(j).statistics
            for j in range(group.num_columns)
        }
        if _outside(stats["start"], None, hi) or _outside(stats["end"], lo, None):
            continue
        if sample and channels is not None and stats["channel"] is not None:
            found = stats["channel"]
            if found.has_min_max and not any(
                a <= found.max and b >= found.min for a, b in channels.ranges
            ):
                continue
        yield g


def _outside(stats: Any, lo: int | None, hi: int | None) -> bool:
    if stats is None or not stats.has_min_max:
        return False
    return (hi is not None and stats.min > hi) or (lo is not None and stats.max < lo)


def _held(channel: np.ndarray, channels: Channels | None) -> np.ndarray:
    """Which rows' channels are of `channels` (each row's channel: a sample chunk's)."""
    if channels is None:
        return np.ones(len(channel), dtype=bool)
    held = np.zeros(len(channel), dtype=bool)
    for a, b in channels.ranges:
        held |= (channel >= a) & (channel <= b)
    return held


def _rows_all_held(table: pa.Table, channels: Channels | None) -> bool:
    """Whether every row in these chunks holds one of `channels` (the chunks are then the
    ones the request gets: its rows, pieced the same)."""
    if channels is None:
        return True
    sets = {tuple(ids) for listed in table["row_channels"].to_pylist() for ids in listed or ()}
    return all(channels.any_of(ids) for ids in sets)


def _framed(
    files: Files,
    path: str,
    groups: list[int],
    sizes: list[int],
    table: pa.Table,
    picked: np.ndarray,
) -> Iterator[bytes]:
    """Header and body of each picked chunk, gathered into blocks of about BLOCK bytes.
    A row group's bodies are read when its first picked chunk is reached and let go after
    its last: the file's order (by channel) holds one group per channel being sent."""
    starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
    unpacked = table["unpacked"].to_numpy()
    ids = table["channel_ids"].combine_chunks()
    id_ends, id_values = ids.offsets.to_numpy(), ids.values.to_numpy()
    first_row = np.cumsum([0, *sizes])
    group_of = np.searchsorted(first_row, picked, side="right") - 1
    last_use = {int(g): p for p, g in enumerate(group_of.tolist())}
    with files.fs.open_input_file(path) as source:
        parquet = pq.ParquetFile(source)
        held: dict[int, list[memoryview]] = {}
        framer = chunks.Framer()
        parts: list[bytes | memoryview] = []
        size = 0
        for p, (i, g) in enumerate(zip(picked.tolist(), group_of.tolist(), strict=True)):
            if g not in held:
                held[g] = _bodies(parquet.read_row_group(groups[g], ["body"], use_threads=False))
            body = held[g][i - first_row[g]]
            channel_ids = id_values[id_ends[i] : id_ends[i + 1]].tolist()
            head = framer.head(
                int(starts[i]), int(ends[i]), channel_ids, int(unpacked[i]), len(body)
            )
            parts += (head, body)
            size += len(head) + len(body)
            if last_use[g] == p:
                del held[g]
            if size >= BLOCK:
                yield b"".join(parts)
                parts, size = [], 0
        if parts:
            yield b"".join(parts)


def _bodies(table: pa.Table) -> list[memoryview]:
    """Each body where pyarrow read it (no copy until the response's blocks are joined)."""
    found = []
    for array in table["body"].chunks:
        _, offsets, data = array.buffers()
        ends = np.frombuffer(offsets, dtype=np.int32)[array.offset : array.offset + len(array) + 1]
        view = memoryview(data if data is not None else b"")
        found += [view[a:b] for a, b in zip(ends[:-1].tolist(), ends[1:].tolist(), strict=True)]
    return found
