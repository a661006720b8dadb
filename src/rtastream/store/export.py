"""One session out of the store for analysts: its tables as Parquet, Arrow IPC or CSV files."""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from rtastream import keys
from rtastream.store.store import Store
from rtastream.store.tables import (
    SessionTables,
    bound_configurations,
    channel_dtypes,
    channel_names,
)

FORMATS = {"parquet": "parquet", "arrow": "arrow", "csv": "csv"}
"""Export formats and their file extensions."""


def export(store: Store, identity: str, fmt: str, out: str) -> list[str]:
    """Write session `identity` of the store into folder `out`: session.json, and each
    table as `<stem>.<ext>`; sample tables gain a `name` column when a bound configuration
    names their channels. CSV writes bytes as hex and lists as JSON. Returns the paths
    written."""
    check_format(fmt)
    record = store.session(identity)
    if record is None:
        raise KeyError(f"the store has no session {identity!r}")
    tables = {stem: store.table(identity, stem) for stem in store.stems(identity)}
    return write_session(record, tables, store.names(record), fmt, out)


def export_from_redis(client: Any, identity: str, fmt: str, out: str) -> list[str]:
    """The same as export(), straight from Redis: the session as Redis holds it now (its
    messages from its first, those not trimmed yet), in the store's layout."""
    check_format(fmt)
    from rtastream.reader.sync import SessionReader
    from rtastream.recorder.follow import session_record

    with SessionReader(client, identity, follow=False) as reader:
        session = reader.session
        entries = list(reader.entries())
    location = session.location
    if session.json is None or location is None:
        raise KeyError(f"session {identity!r} has no Session JSON or stream in Redis yet")
    record = session_record(*location, session.json)
    bound = bound_configurations(record, lambda identifier: _config(client, identifier))
    tables = SessionTables(channel_dtypes(bound))
    for entry in entries:
        tables.add(entry.id, entry.items)
    built = tables.tables()
    if tables.time_range is not None:
        record["time_range"] = list(tables.time_range)
    return write_session(record, built, channel_names(bound), fmt, out)


def _config(client: Any, identifier: str) -> str | None:
    value = client.get(keys.config_key(identifier))
    return value.decode() if isinstance(value, bytes) else value


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def write_session(
    record: dict[str, Any], tables: dict[str, pa.Table], names: dict[int, str], fmt: str, out: str
) -> list[str]:
    """Write a session's record and tables into folder `out`; the paths written."""
    os.makedirs(out, exist_ok=True)
    written = [os.path.join(out, "session.json")]
    with open(written[0], "w") as file:
        json.dump(record, file, indent=2, sort_keys=True)
    for stem, table in tables.items():
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
