"""Segments and compaction without Redis: overlapping segments, and what a compacted
session holds, checked with pyarrow against the arrays encoded."""

from __future__ import annotations

import lz4.block
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from rtastream import Burst
from rtastream._proto import model_data_pb2 as model
from rtastream.recorder.follow import digest_of
from rtastream.store import Store
from rtastream.store.segments import SegmentRow

T0 = 1_700_000_000_000_000_000


def message(k: int, values: np.ndarray) -> bytes:
    burst = Burst()
    if k == 0:
        burst.session_json('{"identity": "seg-1", "state": "open"}')
    burst.timestamped(4, T0 + k * 1000 + np.arange(len(values)), values)
    [packed] = burst.pack()
    return packed


def row(k: int, data: bytes) -> SegmentRow:
    return SegmentRow(f"{k + 1}-0", 7, "seg-1", data, digest_of(data), None)


def compact(store: Store) -> dict:
    record = {"identity": "seg-1", "stream": "s", "stream_session_id": 7, "state": "closed",
              "config_bindings": []}  # fmt: skip
    return store.compact(record)


def test_an_entry_in_two_overlapping_segments_is_compacted_once(tmp_path):
    store = Store(str(tmp_path))
    messages = [message(k, np.full(10, k, dtype=np.int32)) for k in range(4)]
    rows = [row(k, m) for k, m in enumerate(messages)]
    store.commit_segment("s", "3-0", 3, rows[:3])
    store.commit_segment("s", "4-0", 4, rows[1:])  # a second recorder read from 1-0 again
    compact(store)
    table = pq.read_table(tmp_path / "sessions/seg-1/timestamped.bytes4.parquet")
    assert table["timestamp"].to_pylist() == [
        T0 + k * 1000 + i for k in range(4) for i in range(10)
    ]
    assert [v.as_py() for v in table["value"]] == [
        np.int32(k).tobytes() for k in range(4) for _ in range(10)
    ]


def test_a_segment_is_an_arrow_ipc_file_with_the_documented_columns(tmp_path):
    store = Store(str(tmp_path))
    data = message(0, np.arange(3, dtype=np.int32))
    store.commit_segment("s", "1-0", 1, [row(0, data)])
    [path] = (tmp_path / "live/s").iterdir()
    assert path.name == "00000000000000000001-00000000000000000000-00000000000000000001.arrow"
    assert feather.read_table(path).to_pydict() == {
        "entry_id": ["1-0"],
        "stream_session_id": [7],
        "identity": ["seg-1"],
        "data": [data],
        "digest": [digest_of(data)],
        "final_state": [None],
    }


def test_parquet_segments_of_an_earlier_store_are_read_on(tmp_path):
    """A store whose recorder wrote Parquet segments (before they were Arrow IPC files):
    its position and entries are those segments' as a new Arrow segment follows them."""
    store = Store(str(tmp_path))
    messages = [message(k, np.full(5, k, dtype=np.int32)) for k in range(3)]
    old = pa.table(
        {
            "entry_id": ["1-0", "2-0"],
            "stream_session_id": [7, 7],
            "identity": ["seg-1", "seg-1"],
            "data": pa.array(messages[:2], pa.binary()),
            "digest": pa.array([digest_of(m) for m in messages[:2]], pa.binary(16)),
            "final_state": pa.array([None, None], pa.string()),
        }
    )
    (tmp_path / "live/s").mkdir(parents=True)
    name = "00000000000000000002-00000000000000000000-00000000000000000002.parquet"
    pq.write_table(old, tmp_path / "live/s" / name)
    assert store.position("s") == ("2-0", 2)
    store.commit_segment("s", "3-0", 3, [row(2, messages[2])])
    assert store.position("s") == ("3-0", 3)
    assert [e.data for e in store.entries("s", 7, identity="seg-1")] == messages
    compact(store)
    table = pq.read_table(tmp_path / "sessions/seg-1/timestamped.bytes4.parquet")
    assert [v.as_py() for v in table["value"]] == [
        np.int32(k).tobytes() for k in range(3) for _ in range(5)
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(-(2**15), 2**15 - 1), min_size=1, max_size=40), min_size=1, max_size=8
    ),  # fmt: skip
    st.integers(1, 4),
)
def test_compaction_keeps_every_sample_whatever_the_segment_cuts(tmp_path_factory, bursts, cut):
    store = Store(str(tmp_path_factory.mktemp("store")))
    arrays = [np.array(b, dtype="<i2") for b in bursts]
    rows = [row(k, message(k, a)) for k, a in enumerate(arrays)]
    for first in range(0, len(rows), cut):
        last = min(first + cut, len(rows))
        store.commit_segment("s", f"{last}-0", last, rows[first:last])
    record = compact(store)
    table = pq.read_table(f"{store.files.root}/sessions/seg-1/timestamped.bytes2.parquet")
    expected = [
        (T0 + k * 1000 + i, a[i].tobytes()) for k, a in enumerate(arrays) for i in range(len(a))
    ]
    got = list(
        zip(table["timestamp"].to_pylist(), [v.as_py() for v in table["value"]], strict=True)
    )
    assert got == sorted(expected, key=lambda pair: pair[0])
    assert record["files"]["timestamped.bytes2"]["rows"] == len(expected)


def test_a_lone_periodic_sample_and_a_repeated_time_are_compacted_and_chunked(tmp_path):
    """Periodic samples at 0, 10, 20 ns, again at 10 (re-sent with another value) and at
    40 (after a gap): the file keeps all five; the ready chunks, decoded with python-lz4
    and the protobuf classes, give each time once (the first value sent) with intervals
    > 0 (a lone sample has none of its own)."""
    store = Store(str(tmp_path))
    parts = [(0, [1.0, 2.0, 3.0]), (10, [9.0]), (40, [5.0])]
    messages = []
    for k, (start, values) in enumerate(parts):
        burst = Burst()
        if k == 0:
            burst.session_json('{"identity": "seg-1", "state": "open"}')
        burst.periodic(4, T0 + start, 10, np.array(values))
        messages.extend(burst.pack())
    store.commit_segment(
        "s", f"{len(messages)}-0", len(messages), [row(k, m) for k, m in enumerate(messages)]
    )
    final = compact(store)
    assert final["files"]["periodic.bytes8"] == {"rows": 5}
    table = pq.read_table(tmp_path / "sessions/seg-1/periodic.bytes8.parquet")
    assert [t - T0 for t in table["timestamp"].to_pylist()] == [0, 10, 10, 20, 40]
    chunks = pq.read_table(tmp_path / "sessions/seg-1/chunks-periodic.parquet").to_pylist()
    got = []
    for chunk in chunks:
        payload = lz4.block.decompress(chunk["body"], uncompressed_size=chunk["unpacked"])
        for result in model.PeriodicDataList.FromString(payload).periodic_data:
            assert result.interval > 0
            values = np.frombuffer(result.buffer, "<f8").tolist()
            got += [
                (result.start_timestamp - T0 + i * result.interval, v) for i, v in enumerate(values)
            ]
    assert got == [(0, 1.0), (10, 2.0), (20, 3.0), (40, 5.0)]
