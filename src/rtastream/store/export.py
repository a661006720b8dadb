"""One session out of the store for analysts: its tables as Parquet, Arrow IPC or CSV files."""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from rtastream.store.store import Store

FORMATS = {"parquet": "parquet", "arrow": "arrow", "csv": "csv"}
"""Export formats and their file extensions."""


def export(store: Store, identity: str, fmt: str, out: str) -> list[str]:
    """Write session `identity` into folder `out`: session.json, and each table as
    `<stem>.<ext>`; sample tables gain a `name` column when a bound configuration names
    their channels. CSV writes bytes as hex and lists as JSON. Returns the paths written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    record = store.session(identity)
    if record is None:
        raise KeyError(f"the store has no session {identity!r}")
    os.makedirs(out, exist_ok=True)
    names = store.names(record)
    written = [os.path.join(out, "session.json")]
    with open(written[0], "w") as file:
        json.dump(record, file, indent=2, sort_keys=True)
    for stem in store.stems(identity):
        table = store.table(identity, stem)
        if "channel" in table.column_names and names:
            channel_names = [names.get(c) for c in table["channel"].to_pylist()]
            table = table.append_column("name", pa.array(channel_names, type=pa.string()))
        path = os.path.join(out, f"{stem}.{FORMATS[fmt]}")
        if fmt == "parquet":
            pq.write_table(table, path)
        elif fmt == "arrow":
            feather.write_feather(table, path, compression="uncompressed")
        else:
            pacsv.write_csv(_printable(table), path)
        written.append(path)
    return written


def _printable(table: pa.Table) -> pa.Table:
    """Bytes as hex, lists as JSON: what CSV can hold."""
    columns: list[Any] = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_binary(kind) or pa.types.is_fixed_size_binary(kind):
            column = pa.array([v.hex() for v in column.to_pylist()], type=pa.string())
        elif pa.types.is_list(kind):
            column = pa.array([json.dumps(v) for v in column.to_pylist()], type=pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)
