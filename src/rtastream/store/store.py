"""The store: sessions, configurations and gap reports in Parquet and JSON files, with the
read API the REST service and analysts use and the write steps the recorder takes."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rtastream.channels import Channels
from rtastream.reader.entries import Entry, Series, decode_entry
from rtastream.store import chunkfiles
from rtastream.store.compaction import COMPACTION_MEMORY, Compaction, write_session_file
from rtastream.store.files import Files, name_of
from rtastream.store.items import series_of
from rtastream.store.segments import (
    SegmentRow,
    entry_key,
    id_name,
    segment_name,
    segment_position,
    segment_table,
)
from rtastream.store.tables import (
    SAMPLE_KINDS,
    SessionTables,
    bound_configurations,
    channel_dtypes,
    channel_names,
)

INDEX = "session.json"
SCRATCH = "compacting"
"""Where a local store's compactions keep their runs while they work (compaction.py)."""
_SELECTING = ["entry_id", "stream_session_id", "identity"]
_AFTER_ALL = (2**64, 0)


class Store:
    """A store at `url`: a directory, file://PATH, or s3://BUCKET/PREFIX[?options]."""

    def __init__(self, url: str, compaction_memory: int = COMPACTION_MEMORY) -> None:
        self.files = Files(url)
        self.compaction_memory = compaction_memory
        self._scratch = bytearray()  # a segment's messages joined (segment_table), reused

    # --- reading ---------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """Every session's index record, by identity."""
        found = (self.session_by_name(name) for name in self.files.list("sessions"))
        return [record for record in found if record is not None]

    def session(self, identity: str) -> dict[str, Any] | None:
        """The session's index record, or None when the store does not have it."""
        return self.session_by_name(name_of(identity))

    def session_by_name(self, name: str) -> dict[str, Any] | None:
        data = self.files.read_bytes(f"sessions/{name}/{INDEX}")
        record: dict[str, Any] | None = json.loads(data) if data is not None else None
        return record

    def config(self, identifier: str) -> str | None:
        """The configuration JSON bound under `identifier`, as it was in Redis."""
        data = self.files.read_bytes(f"configs/{name_of(identifier)}.json")
        return data.decode() if data is not None else None

    def reports(self) -> list[dict[str, Any]]:
        """Every gap report: data trimmed from Redis before the recorder read it."""
        found = []
        for stream in self.files.list("reports"):
            for name in self.files.list(f"reports/{stream}"):
                data = self.files.read_bytes(f"reports/{stream}/{name}")
                if data is not None:
                    found.append(json.loads(data))
        return found

    def stems(self, identity: str) -> list[str]:
        """The session's tables by file stem: `<kind>.<type>`, rows, events, history."""
        record = self._record(identity)
        if record["complete"]:
            return sorted(record["files"])
        return sorted(self.live_tables(record))

    def table(
        self,
        identity: str,
        stem: str,
        channels: Iterable[int] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> pa.Table:
        """One of the session's tables (see stems()), limited to `channels` (sample tables)
        and to timestamps in [start, end] (ns, inclusive). Live sessions are read from
        their segments. An unknown stem gives an empty result of no columns."""
        record = self._record(identity)
        condition = _condition(channels if "." in stem else None, start, end)
        if record["complete"]:
            if stem not in record["files"]:
                return pa.table({})
            path = f"sessions/{name_of(identity)}/{stem}.parquet"
            wanted = set(channels) if channels is not None and "." in stem else None
            return self._row_groups(path, wanted, start, end, condition)
        table = self.live_tables(record).get(stem)
        if table is None:
            return pa.table({})
        return table.filter(condition) if condition is not None else table

    def read(
        self,
        identity: str,
        kind: str = "timestamped",
        channels: Iterable[int] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> dict[int, Series]:
        """Per-channel arrays of a sample kind ("timestamped" or "periodic"): timestamps
        (int64 ns) and values in the channel's dtype (a void dtype of the sample's width
        when no configuration gives it), in time order, for timestamps in [start, end]."""
        if kind not in SAMPLE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SAMPLE_KINDS)}, got {kind!r}")
        wanted = list(channels) if channels is not None else None
        found: dict[int, Series] = {}
        for stem in self.stems(identity):
            if stem.split(".")[0] == kind:
                found.update(series_of(self.table(identity, stem, wanted, start, end)))
        return dict(sorted(found.items()))

    def ready_chunks(
        self, record: dict[str, Any], kind: str, channels: Channels | None, start: int, end: int
    ) -> Iterator[bytes] | None:
        """The REST response body to a request for a kind's `channels` (None: events) in
        [start, end] from the chunks written at compaction (store/chunkfiles.py), in
        blocks made as they are asked for; None when there are none to serve it (an open
        session, one compacted before chunks were kept, or rows the ready chunks do not
        fit: chunk the tables)."""
        ready = record.get("chunks") if record.get("complete") else None
        if ready is None:
            return None
        if kind not in ready:
            return iter(())  # the session has no data of this kind
        folder = f"sessions/{name_of(record['identity'])}"
        return chunkfiles.read(self.files, folder, kind, channels, start, end)

    def _row_groups(
        self,
        path: str,
        channels: set[int] | None,
        start: int | None,
        end: int | None,
        condition: pc.Expression | None,
    ) -> pa.Table:
        """The rows of a file matching `condition`: only row groups whose statistics say
        they may hold rows of `channels` in [start, end] are read (the file's sort order
        makes those few), and only those that may hold other rows too are filtered."""
        with self.files.fs.open_input_file(self.files.path(path)) as source:
            parquet = pq.ParquetFile(source)
            names = parquet.schema_arrow.names
            parts: list[pa.Table] = []
            run: list[int] = []  # consecutive groups wholly inside: read in one call
            for i in range(parquet.metadata.num_row_groups):
                holds = _holds(parquet.metadata.row_group(i), names, channels, start, end)
                if holds == ALL:
                    run.append(i)
                    continue
                if run:
                    parts.append(parquet.read_row_groups(run))
                    run = []
                if holds == SOME:
                    part = parquet.read_row_group(i)
                    parts.append(part.filter(condition) if condition is not None else part)
            if run:
                parts.append(parquet.read_row_groups(run))
            if not parts:
                return parquet.schema_arrow.empty_table()
            return pa.concat_tables(parts)

    def _record(self, identity: str) -> dict[str, Any]:
        record = self.session(identity)
        if record is None:
            raise KeyError(f"the store has no session {identity!r}")
        return record

    def dtypes(self, record: dict[str, Any]) -> dict[int, np.dtype | None]:
        """The channel dtypes the session's bound configurations give (those in the store)."""
        return channel_dtypes(self.bound(record))

    def names(self, record: dict[str, Any]) -> dict[int, str]:
        """The channel names the session's bound configurations give (those in the store)."""
        return channel_names(self.bound(record))

    def bound(self, record: dict[str, Any]) -> list[tuple[Any, int]]:
        """(configuration JSON, channel offset) of each binding the store has the
        configuration of."""
        return bound_configurations(record, self.config)

    def live_tables(self, record: dict[str, Any]) -> dict[str, pa.Table]:
        """An open session's tables, decoded from its stream's segments."""
        tables = SessionTables(self.dtypes(record))
        for entry in self.entries(
            record["stream"], record["stream_session_id"], identity=record["identity"]
        ):
            tables.add(entry.id, entry.items)
        return tables.tables()

    # --- segments (the recorder's) ---------------------------------------------------

    def segments(self, stream: str) -> list[str]:
        return self.files.list(f"live/{name_of(stream)}")

    def position(self, stream: str) -> tuple[str, int] | None:
        """The last entry id of the stream in the store (its newest segment's), and how
        many entries the stream was given up to it; None before the first segment."""
        names = self.segments(stream)
        return segment_position(names[-1]) if names else None

    def commit_segment(
        self, stream: str, last_id: str, before: int, rows: list[SegmentRow]
    ) -> None:
        """Write the entries read up to `last_id` (and so the stream's new position)."""
        path = f"live/{name_of(stream)}/{segment_name(last_id, before)}"
        size = sum(len(row.data) for row in rows)
        if len(self._scratch) < size:  # a new one: the old may still be viewed (an error's)
            self._scratch = bytearray(size)
        self.files.write_arrow(path, segment_table(rows, self._scratch))

    def segment_columns(self, stream: str, columns: list[str]) -> Iterable[pa.Table]:
        for name in self.segments(stream):
            yield self.files.read_segment(f"live/{name_of(stream)}/{name}", columns)

    def entries(
        self,
        stream: str,
        stream_session_id: int,
        names: list[str] | None = None,
        identity: str | None = None,
    ) -> Iterator[Entry]:
        """The stored entries of one stream session, in stream order, decoded as they are
        reached; an entry in two segments (two recorders that both believed they held the
        lease) once. Segments are held in memory only while their entry ranges overlap
        (most never do). `names`: only those segments (a listing taken before, see
        position()), else all. With `identity`, entries kept under another identity are
        left out: those of an earlier session under the same id (Redis started anew
        numbers from 1 again)."""
        key = f"stream:{stream}"
        condition = pc.field("stream_session_id") == stream_session_id
        if identity is not None:
            named = pc.field("identity")
            condition = condition & (named.is_null() | (named == identity))
        folder = f"live/{name_of(stream)}"
        firsts = []  # (first entry of the session in the segment, segment)
        for name in self.segments(stream) if names is None else names:
            found = self.files.read_segment(f"{folder}/{name}", _SELECTING).filter(condition)
            if found.num_rows:
                firsts.append((min(map(entry_key, found["entry_id"].to_pylist())), name))
        held: list[tuple[tuple[int, int], int, str, bytes]] = []  # a heap, by entry id
        last, loaded = None, itertools.count()  # (a copy loaded first is taken first)
        for first, name in [*sorted(firsts), (_AFTER_ALL, "")]:
            while held and held[0][0] < first:  # no segment left holds an earlier entry
                _, _, entry_id, data = heapq.heappop(held)
                if entry_id != last:
                    entry = decode_entry(key, entry_id, stream_session_id, data)
                    if isinstance(entry, Entry):  # stored entries were decoded once already
                        last = entry_id
                        yield entry
            if name:
                table = self.files.read_segment(f"{folder}/{name}", _SELECTING + ["data"])
                table = table.filter(condition)
                for entry_id, data in zip(
                    table["entry_id"].to_pylist(), table["data"].to_pylist(), strict=True
                ):
                    heapq.heappush(held, (entry_key(entry_id), next(loaded), entry_id, data))

    def prune(self, stream: str, done: set[int]) -> None:
        """Delete the segments whose every entry belongs to a compacted session, except the
        newest (it holds the stream's position)."""
        names = self.segments(stream)
        for name in names[:-1]:
            path = f"live/{name_of(stream)}/{name}"
            ids = set(self.files.read_segment(path, ["stream_session_id"])[0].to_pylist())
            if ids <= done:
                self.files.delete(path)

    # --- sessions, configurations, reports (the recorder's) ---------------------------

    def write_record(self, record: dict[str, Any]) -> None:
        """Write a session's index record (rewritten while live; final once complete)."""
        path = f"sessions/{name_of(record['identity'])}/{INDEX}"
        self.files.write_bytes(path, json.dumps(record, sort_keys=True).encode())

    def write_session_table(self, identity: str, stem: str, table: pa.Table) -> None:
        """One of a closed session's files (`stem`: "timestamped.float64", "rows", ...)."""
        write_session_file(self.files, f"sessions/{name_of(identity)}/{stem}.parquet", table)

    @contextlib.contextmanager
    def compaction(
        self, stream: str, stream_session_id: int, identity: str | None
    ) -> Iterator[Compaction]:
        """An ended session's entries gathered from its segments (compaction.py): in memory
        up to `compaction_memory` bytes of samples, in scratch files past it, which are
        removed when the block ends. compact() writes its files from it."""
        if self.files.local:
            scratch = self.files.path(f"{SCRATCH}/{name_of(stream)}/{stream_session_id}")
            shutil.rmtree(scratch, ignore_errors=True)  # what a compaction killed left
        else:
            scratch = tempfile.mkdtemp(prefix="rtastream-compacting-")
        try:
            gathered = Compaction(scratch, self.compaction_memory)
            gathered.gather(self.entries(stream, stream_session_id, identity=identity))
            yield gathered
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def remove_scratch(self, stream: str) -> None:
        """Remove what compactions of a stream's sessions killed midway left (local)."""
        if self.files.local:
            shutil.rmtree(self.files.path(f"{SCRATCH}/{name_of(stream)}"), ignore_errors=True)

    def compact(self, record: dict[str, Any], gathered: Compaction | None = None) -> dict[str, Any]:
        """Write an ended session's files from its segments (or from their entries
        `gathered` already), then its final record (last: a record marked complete means
        every file it names is whole). Returns the record."""
        if gathered is None:
            where = record["stream"], record["stream_session_id"], record["identity"]
            with self.compaction(*where) as gathered:
                return self.compact(record, gathered)
        folder = f"sessions/{name_of(record['identity'])}"
        written = gathered.write(self.files, folder, self.dtypes(record))
        final = dict(
            record,
            complete=True,
            files={stem: {"rows": rows} for stem, rows in written.files.items()},
            data_range=list(written.data_range) if written.data_range else None,
            chunks=written.chunks,
        )
        if gathered.tables.time_range is not None:
            final["time_range"] = list(gathered.tables.time_range)
        self.write_record(final)
        return final

    def write_config(self, identifier: str, text: str) -> None:
        """Keep a configuration (once: configurations are immutable under an identifier)."""
        path = f"configs/{name_of(identifier)}.json"
        if not self.files.exists(path):
            self.files.write_bytes(path, text.encode())

    def report(self, gap: dict[str, Any]) -> None:
        """Keep a gap report (named by where it starts: writing it again replaces it)."""
        path = f"reports/{name_of(gap['stream'])}/{id_name(gap['after'])}.json"
        self.files.write_bytes(path, json.dumps(gap, sort_keys=True).encode())


NONE, SOME, ALL = range(3)


def _holds(
    group: pq.RowGroupMetaData,
    names: list[str],
    channels: set[int] | None,
    start: int | None,
    end: int | None,
) -> int:
    """Whether a row group's statistics say it holds NONE, SOME or ALL rows of `channels`
    (None: any) with timestamps in [start, end]."""

    def bounds(column: str) -> tuple[int, int] | None:
        stats = group.column(names.index(column)).statistics
        return (stats.min, stats.max) if stats is not None and stats.has_min_max else None

    holds = ALL
    if channels is not None:
        found = bounds("channel")
        if found is None:
            holds = SOME
        elif not any(found[0] <= c <= found[1] for c in channels):
            return NONE
        elif not (found[0] == found[1] or set(range(found[0], found[1] + 1)) <= channels):
            holds = SOME
    if start is None and end is None:
        return holds
    found = bounds("timestamp")
    if found is None:
        return SOME
    if (start is not None and found[1] < start) or (end is not None and found[0] > end):
        return NONE
    inside = (start is None or found[0] >= start) and (end is None or found[1] <= end)
    return holds if inside else SOME


def _condition(
    channels: Iterable[int] | None, start: int | None, end: int | None
) -> pc.Expression | None:
    parts = []
    if channels is not None:
        parts.append(pc.field("channel").isin(pa.array(list(channels), type=pa.uint32())))
    if start is not None:
        parts.append(pc.field("timestamp") >= start)
    if end is not None:
        parts.append(pc.field("timestamp") <= end)
    condition = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition
