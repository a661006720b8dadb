"""Segments written past the page cache (store/direct.py) are the same bytes pyarrow's
own IPC writer makes, whatever their length, and a store whose file system refuses
O_DIRECT writes them as usual."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtastream.store.direct import O_DIRECT
from rtastream.store.files import Files


def ipc_bytes(table: pa.Table) -> bytes:
    """The oracle: pyarrow writing the same table into memory."""
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def messages_table(sizes: list[int]) -> pa.Table:
    return pa.table({"data": pa.array([bytes([n % 251]) * n for n in sizes], pa.binary()),
                     "n": pa.array(sizes, pa.int64())})  # fmt: skip


@pytest.mark.skipif(not O_DIRECT, reason="this platform has no O_DIRECT")
@settings(max_examples=30, deadline=None)
@given(batches=st.lists(st.lists(st.integers(0, 70_000), max_size=40), min_size=1, max_size=4))
def test_a_segment_written_direct_is_the_ipc_file_byte_for_byte(tmp_path_factory, batches):
    files = Files(str(tmp_path_factory.mktemp("store")))
    for k, sizes in enumerate(batches):  # one writer, its buffer grown and reused
        table = messages_table(sizes)
        files.write_arrow(f"live/s/{k}.arrow", table)
        with open(files.path(f"live/s/{k}.arrow"), "rb") as f:
            assert f.read() == ipc_bytes(table)
        assert not files.direct.refused, "this file system takes O_DIRECT"
    assert sorted(os.listdir(files.path("live/s"))) == sorted(
        f"{k}.arrow" for k in range(len(batches))
    ), "no temporary file left behind"


def test_a_file_system_refusing_o_direct_gets_the_same_file_written_as_usual(tmp_path):
    files = Files(str(tmp_path))
    files.direct.refused = True  # what open(O_DIRECT) answering EINVAL leaves
    table = messages_table([0, 5, 4097, 65_536])
    files.write_arrow("live/s/a.arrow", table)
    with open(files.path("live/s/a.arrow"), "rb") as f:
        assert f.read() == ipc_bytes(table)
    assert files.direct.buffer is None, "nothing was made for direct writes"
