"""compress() and decompress(): LZ4 raw blocks (no frame, no size prefix) of at most 1 MiB,
held to python-lz4's reading and writing of the same blocks."""

from __future__ import annotations

import lz4.block
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rtastream

MiB = 1 << 20
data = st.one_of(st.binary(max_size=4096), st.binary(max_size=64).map(lambda b: b * 500))


@given(data)
def test_decompress_reads_what_python_lz4_writes(raw):
    assert rtastream.decompress(lz4.block.compress(raw, store_size=False)) == raw


@given(data)
def test_decompress_undoes_compress(raw):
    block = rtastream.compress(raw)
    assert lz4.block.decompress(block, uncompressed_size=len(raw)) == raw
    assert rtastream.decompress(block) == raw


def test_decompress_takes_any_bytes_like_object():
    block = rtastream.compress(b"abc" * 100)
    assert rtastream.decompress(bytearray(block)) == rtastream.decompress(memoryview(block))


def test_decompress_names_its_argument_in_errors():
    with pytest.raises(ValueError, match="^data is not an LZ4 raw block of at most 1 MiB"):
        rtastream.decompress(b"\xff\xff")
    big = rtastream.compress(bytes(MiB))
    with pytest.raises(ValueError, match="^data is not an LZ4 raw block of at most 1 MiB"):
        rtastream.decompress(big + big)  # 2 MiB once decompressed
    with pytest.raises(ValueError, match="^data is 2097152 bytes: no LZ4 block of at most 1 MiB"):
        rtastream.decompress(bytes(2 * MiB))
    with pytest.raises(TypeError, match="data"):
        rtastream.decompress("text")
