"""A closed session's files made from its segments, in bounded memory.

Pass 1 (`gather`) reads the session's entries in stream order and gathers them as
SessionTables does. Whenever the samples it holds pass the budget, they are sorted (by
channel, then time) and spilled to a scratch file: a run, one Arrow IPC file per kind and
sample width, one record batch per channel.

Pass 2 (`write`) takes each kind's channels in order. For each, it joins the channel's
pieces of every run in stream order: a stable sort by time (where time goes back) then
gives what one sort of the whole session would. It types them by the configurations bound
(known only once the last Session JSON has been read), and writes them to the session's
files and to its ready chunks as it goes.

Memory: the budget and about half as much again (a channel's samples are let go of as
their sorted copy is written; the allocator keeps idle pages), one channel's samples of
one kind, and the session's rows, events and Session JSON history.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from rtastream.reader.entries import Entry, Series
from rtastream.store import chunkfiles
from rtastream.store.files import Files
from rtastream.store.items import series_of, table_items
from rtastream.store.tables import (
    EVENTS,
    ROWS,
    SAMPLE_KINDS,
    Samples,
    SessionTables,
    sample_schema,
    stem_of,
    type_name,
    typed,
)

COMPACTION_MEMORY = 256 << 20
"""Bytes of decoded samples a compaction holds before it spills them to scratch files."""

ROW_GROUP = 65_536
"""Rows per Parquet row group: sorted by channel and time, each group covers one stretch
of time of one channel (or a few short ones), which its statistics let a reader skip."""

SESSION_OPTIONS = {
    "compression": "snappy",
    # A dictionary pays for channel ids (few, repeated), not for timestamps or values,
    # where pyarrow would try one, then give up.
    "use_dictionary": ["channel", "definition_id", "status_text", "app_name"],
    "write_statistics": True,
}
"""pyarrow.parquet options of a session's files."""

TIMESTAMPS = {"timestamp": "DELTA_BINARY_PACKED"}
"""Timestamps sorted within a channel differ by about one sampling interval: stored as
deltas they take next to nothing (half of a float64 sample file's size otherwise)."""


def file_options(schema: pa.Schema) -> dict[str, Any]:
    """The pyarrow.parquet writer options of a session file of `schema`."""
    encoding = TIMESTAMPS if "timestamp" in schema.names else None
    return {"column_encoding": encoding, **SESSION_OPTIONS}


def write_session_file(files: Files, path: str, table: pa.Table) -> None:
    files.write_table(path, table, row_group_size=ROW_GROUP, **file_options(table.schema))


class Run:
    """Samples of one kind and width from one stretch of the session, each channel's
    sorted by time: held in memory, or in a scratch file when `path` is given (one record
    batch per channel, written as each channel's samples are sorted)."""

    def __init__(self, samples: Samples, path: str | None) -> None:
        self.path = path
        self.held: dict[int, pa.Table] = {}
        self.batches: dict[int, int] = {}
        if path is None:
            self.held = dict(samples.channel_tables())
            return
        schema = sample_schema(type_name(None, samples.width))
        with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, schema) as writer:
            for i, (channel, table) in enumerate(samples.channel_tables()):
                writer.write_batch(table.combine_chunks().to_batches()[0])
                self.batches[channel] = i

    def __contains__(self, channel: int) -> bool:
        return channel in self.held or channel in self.batches

    @property
    def channels(self) -> Iterable[int]:
        return self.held.keys() | self.batches.keys()

    def piece(self, channel: int) -> pa.Table:
        """The channel's samples (it must have some here)."""
        if self.path is None:
            return self.held[channel]
        with pa.OSFile(self.path) as source:  # read, not mapped: mapped pages count as held
            return pa.Table.from_batches([ipc.open_file(source).get_batch(self.batches[channel])])


@dataclass(frozen=True)
class Written:
    """What pass 2 wrote: rows per file stem, chunks per kind, the data's time range."""

    files: dict[str, int]
    chunks: dict[str, dict[str, int]]
    data_range: tuple[int, int] | None


class Compaction:
    """One session's entries gathered (pass 1), ready to be written (pass 2). Spilled
    runs go in folder `scratch` (made when first needed; its owner removes it)."""

    def __init__(self, scratch: str, budget: int = COMPACTION_MEMORY) -> None:
        self.scratch = scratch
        self.budget = budget
        self.tables = SessionTables({})  # the types are chosen in pass 2
        self.runs: dict[tuple[str, int], list[Run]] = {}
        self.first_entry: str | None = None
        self.last_entry: str | None = None
        self._spilled = itertools.count()

    @property
    def history(self) -> list[str]:
        """The session's Session JSON updates, in stream order."""
        return [text for _, text in self.tables.history]

    def gather(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            if self.first_entry is None:
                self.first_entry = entry.id
            self.last_entry = entry.id
            self.tables.add(entry.id, entry.items)
            if self.tables.held > self.budget:
                self._keep(spill=True)
        self._keep(spill=False)

    def _keep(self, spill: bool) -> None:
        """Sort the samples gathered since the last run into new runs."""
        for key, samples in sorted(self.tables.take_samples().items()):
            path = None
            if spill:
                os.makedirs(self.scratch, exist_ok=True)
                path = os.path.join(self.scratch, f"{next(self._spilled)}.arrow")
            self.runs.setdefault(key, []).append(Run(samples, path))

    def write(self, files: Files, folder: str, dtypes: Mapping[int, np.dtype | None]) -> Written:
        """Write the session's files and ready chunks into `folder`, channels typed by
        `dtypes` (those of the configurations bound)."""
        rows: dict[str, int] = {}
        written: dict[str, dict[str, int]] = {}
        ends: list[tuple[int, int]] = []
        for kind in SAMPLE_KINDS:
            with contextlib.ExitStack() as stack:
                stems = _StemFiles(stack, files, folder)
                series = self._channels(kind, dtypes, stems, ends)
                count = chunkfiles.write_kind(files, folder, kind, series)
                rows.update(stems.finish())
            if count:
                written[kind] = {"chunks": count}
        rest = self.tables.tables()  # rows, events, history: the samples are in the runs
        for stem, table in rest.items():
            write_session_file(files, f"{folder}/{stem}.parquet", table)
            rows[stem] = table.num_rows
            if stem in (ROWS, EVENTS):
                timestamps = table["timestamp"].to_numpy()
                ends.append((int(timestamps.min()), int(timestamps.max())))
                kind = "row" if stem == ROWS else "events"
                count = chunkfiles.write_kind(files, folder, kind, table_items(table))
                if count:
                    written[kind] = {"chunks": count}
        data_range = (min(a for a, _ in ends), max(b for _, b in ends)) if ends else None
        return Written(rows, written, data_range)

    def _channels(
        self,
        kind: str,
        dtypes: Mapping[int, np.dtype | None],
        stems: _StemFiles,
        ends: list[tuple[int, int]],
    ) -> Iterator[tuple[int, Series]]:
        """Each channel of a kind in order, its samples written to its file; yields the
        channel's samples for its chunks (those of the file sorting last when it has
        samples of two widths, as Store.read gives them)."""
        widths = sorted(width for k, width in self.runs if k == kind)
        channels = sorted({c for w in widths for run in self.runs[kind, w] for c in run.channels})
        for channel in channels:
            made: list[tuple[str, pa.Table]] = []
            for width in widths:
                runs = self.runs[kind, width]
                pieces = [run.piece(channel) for run in runs if channel in run]
                if not pieces:
                    continue
                table = pa.concat_tables(pieces)
                timestamps = table["timestamp"].to_numpy()
                if (np.diff(timestamps) < 0).any():
                    order = np.argsort(timestamps, kind="stable")
                    table, timestamps = table.take(pa.array(order)), timestamps[order]
                stem = stem_of(kind, dtypes.get(channel), width)
                table = typed(table, stem.split(".", 1)[1])
                stems.add(stem, table)
                ends.append((int(timestamps[0]), int(timestamps[-1])))
                made.append((stem, table))
            _, last = max(made, key=lambda stem_table: stem_table[0])
            yield channel, series_of(last)[channel]


class _StemFiles:
    """A kind's session files, open while its channels are written in order; each written
    in whole row groups of ROW_GROUP rows, as one write of the whole table would cut them."""

    def __init__(self, stack: contextlib.ExitStack, files: Files, folder: str) -> None:
        self.stack, self.files, self.folder = stack, files, folder
        self.open: dict[str, _StemFile] = {}

    def add(self, stem: str, table: pa.Table) -> None:
        found = self.open.get(stem)
        if found is None:
            sink = self.stack.enter_context(self.files.sink(f"{self.folder}/{stem}.parquet"))
            writer = pq.ParquetWriter(sink, table.schema, **file_options(table.schema))
            found = self.open[stem] = _StemFile(self.stack.enter_context(writer))
        found.add(table)

    def finish(self) -> dict[str, int]:
        """Write what each file holds back; rows per stem."""
        return {stem: found.finish() for stem, found in self.open.items()}


class _StemFile:
    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer = writer
        self.held: list[pa.Table] = []
        self.waiting = 0  # rows held, fewer than a row group's once add() returns
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        self.held.append(table)
        self.waiting += table.num_rows
        self.rows += table.num_rows
        whole = self.waiting // ROW_GROUP * ROW_GROUP
        if whole:
            joined = pa.concat_tables(self.held)
            self.writer.write_table(joined.slice(0, whole), row_group_size=ROW_GROUP)
            self.held, self.waiting = [joined.slice(whole)], self.waiting - whole

    def finish(self) -> int:
        if self.waiting:
            self.writer.write_table(pa.concat_tables(self.held), row_group_size=ROW_GROUP)
        return self.rows
