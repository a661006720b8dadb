"""Where the store's files live: a local directory or an S3 prefix, through pyarrow's
filesystems. Every write is all-or-nothing for a reader: a local file is written under a
temporary name and renamed; an S3 object appears only once its upload completes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from rtastream.store.direct import DirectWriter

TEMPORARY = ".tmp-"
"""Marks a local file being written: ignored by readers, removed when a writer starts."""


LONGEST_NAME = 200
"""Bytes of a path component, below the 255 most file systems allow (S3 allows 1024 a key)."""


def name_of(text: str) -> str:
    """A stream name, identity or identifier as one path component: percent-encoded (a
    leading dot too); past LONGEST_NAME, its first part and a SHA-256 digest of the whole
    after a `+` (which percent-encoding never leaves bare, so no other text gets that name)."""
    name = quote(text, safe="")
    if name.startswith("."):  # ".", ".." and TEMPORARY's names are not the text's to take
        name = "%2E" + name[1:]
    if len(name) <= LONGEST_NAME:
        return name
    head = name[:100]
    if "%" in head[-2:]:  # an escape cut in two
        head = head[: head.rindex("%")]
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{head}+{digest}"


class Files:
    """The store's root: `url` is a directory path, file://PATH or s3://BUCKET/PREFIX
    (pyarrow's S3 options go in the query: ?endpoint_override=HOST:PORT&scheme=http)."""

    def __init__(self, url: str) -> None:
        if "://" in url and not url.startswith("file://"):
            try:
                filesystem, root = pafs.FileSystem.from_uri(url)
            except (pa.ArrowInvalid, ValueError) as exc:
                raise ValueError(f"cannot open the store {url!r}: {exc}") from exc
            self.local = False
        else:
            root = os.path.abspath(url.removeprefix("file://"))
            os.makedirs(root, exist_ok=True)
            filesystem = pafs.LocalFileSystem()
            self.local = True
        self.fs: pafs.FileSystem = filesystem
        self.direct = DirectWriter()
        self.root = root.rstrip("/")
        self.url = url

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def write_bytes(self, relative: str, data: bytes) -> None:
        self.write_with(relative, lambda sink: sink.write(data))

    def write_table(self, relative: str, table: pa.Table, **options: object) -> None:
        """Write `table` as one Parquet file (pyarrow's write_table options), straight
        into the file or object: no copy of it in memory."""
        self.write_with(relative, lambda sink: pq.write_table(table, sink, **options))

    def write_arrow(self, relative: str, table: pa.Table) -> None:
        """Write `table` as one Arrow IPC file, uncompressed: its buffers as they are.
        A local file is written past the page cache where the file system allows it
        (direct.py): the recorder's segments, tens of MiB a second."""

        def fill(sink: pa.NativeFile) -> None:
            with ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)

        self.write_with(relative, fill, direct_size=ipc_size(table))

    def write_with(
        self, relative: str, fill: Callable[[Any], None], direct_size: int | None = None
    ) -> None:
        """Write a file by `fill(sink)` (sink: a pyarrow output stream), all or nothing.
        With `direct_size` (no fewer than the file's bytes), a local file is written past the
        page cache where the file system allows it (direct.py)."""
        if direct_size is not None and self.local:
            temporary = self._temporary(relative)
            if self.direct.write(temporary, fill, direct_size):
                self.fs.move(temporary, self.path(relative))  # rename(2): atomic, replaces
                return
        with self.sink(relative) as sink:
            fill(sink)

    @contextlib.contextmanager
    def sink(self, relative: str) -> Iterator[pa.NativeFile]:
        """An output stream for a file, all or nothing: a local file is written under a
        temporary name, renamed when the block ends and removed if it raises."""
        if not self.local:
            final = self.path(relative)
            self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
            with self.fs.open_output_stream(final) as stream:
                yield stream
            return
        temporary = self._temporary(relative)
        try:
            with self.fs.open_output_stream(temporary) as stream:
                yield stream
        except BaseException:
            self.delete_absolute(temporary)
            raise
        self.fs.move(temporary, self.path(relative))  # rename(2): atomic, replaces

    def _temporary(self, relative: str) -> str:
        """A temporary path beside a local file about to be written (its folder made)."""
        parent = self.path(relative).rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        return f"{parent}/{TEMPORARY}{uuid.uuid4().hex}"

    def read_bytes(self, relative: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(self.path(relative)) as source:
                data: bytes = source.read()
                return data
        except FileNotFoundError:
            return None

    def read_segment(self, relative: str, columns: list[str]) -> pa.Table:
        """`columns` of an Arrow IPC file (mapped, not read, when local), or of a Parquet
        file (a segment of a store written before segments were Arrow IPC)."""
        path = self.path(relative)
        if relative.endswith(".parquet"):
            return pq.read_table(path, filesystem=self.fs, columns=columns)
        source = pa.memory_map(path) if self.local else self.fs.open_input_file(path)
        with source:  # the footer first, for the columns' places: only those are read
            schema = ipc.open_file(source).schema
            fields = sorted(schema.get_field_index(name) for name in columns)
            options = ipc.IpcReadOptions(included_fields=fields)
            return ipc.open_file(source, options=options).read_all().select(columns)

    def list(self, relative: str) -> list[str]:
        """Names in a folder (sorted; none if it does not exist), temporary files left out."""
        selector = pafs.FileSelector(self.path(relative), allow_not_found=True)
        names = (info.base_name for info in self.fs.get_file_info(selector))
        return sorted(name for name in names if not name.startswith(TEMPORARY))

    def exists(self, relative: str) -> bool:
        found: bool = self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound
        return found

    def delete(self, relative: str) -> None:
        self.delete_absolute(self.path(relative))

    def delete_absolute(self, path: str) -> None:
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            pass

    def remove_temporaries(self, relative: str) -> None:
        """Remove what a writer killed mid-write left in a folder (local stores only)."""
        if not self.local:
            return
        selector = pafs.FileSelector(self.path(relative), allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            if info.base_name.startswith(TEMPORARY):
                self.fs.delete_file(info.path)


def ipc_size(table: pa.Table) -> int:
    """At least the bytes of `table` as an uncompressed Arrow IPC file: its buffers, each
    padded to 64 bytes, and room for the schema, batch headers and footer."""
    buffers = [b for column in table.columns for chunk in column.chunks for b in chunk.buffers()]
    sizes: list[int] = [b.size for b in buffers if b is not None]
    return sum(-(-size // 64) * 64 for size in sizes) + (64 << 10)
