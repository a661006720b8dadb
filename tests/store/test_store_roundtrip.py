"""Every item kind through Redis, the recorder and the store, read back with pyarrow alone
against the arrays the test wrote."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import rtastream
from recorder_helpers import (
    CONFIG,
    MS,
    T0,
    read_file,
    record_of,
    record_session,
    recording,
    stored_samples,
    wait_for,
)
from rtastream.store import Store

pytestmark = pytest.mark.slow


def test_every_item_kind_is_stored_byte_for_byte(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    written = record_session(redis_url, r, store, "run-1")

    assert stored_samples(store, "run-1") == written.samples
    record = record_of(store, "run-1")
    assert record["state"] == "closed"
    assert record["details"] == {"driver": "A. Test"}
    assert record["config_bindings"] == [{"identifier": "cfg-1", "channelOffset": 10}]
    assert record["data_range"] == [T0, T0 + 1999 * MS]
    assert json.loads((tmp_path / "store/configs/cfg-1.json").read_text()) == CONFIG

    types = {
        name: str(pq.read_schema(f"{store}/sessions/run-1/{name}.parquet").field("value").type)
        for name in record["files"]
        if name.startswith(("timestamped", "periodic"))
    }
    assert types == {
        "timestamped.float32": "float",
        "timestamped.uint8": "uint8",
        "timestamped.int16": "int16",
        "timestamped.float64": "double",
        "timestamped.bytes8": "fixed_size_binary[8]",
        "periodic.int16": "int16",
    }
    rows = read_file(store, "run-1", "rows")
    assert rows["timestamp"] == [T0 + k * 100 * MS for k in range(20)]
    assert rows["channels"] == [[20, 21]] * 20
    assert rows["data"] == [np.array([k, -k], dtype="<i4").tobytes() for k in range(20)]
    events = read_file(store, "run-1", "events")
    assert events["status_text"] == [f"lap {k}" for k in range(20)]
    assert events["raw_data"] == [[float(k), 0.5] for k in range(20)]
    assert set(events["app_name"]) == {"timing"} and set(events["definition_id"]) == {5}
    history = [json.loads(text) for text in read_file(store, "run-1", "history")["json"]]
    assert [h["state"] for h in history] == ["open", "closed"]


def test_sample_files_are_sorted_by_channel_then_time(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    record_session(redis_url, r, store, "run-2")
    table = pq.read_table(f"{store}/sessions/run-2/timestamped.bytes8.parquet")
    keys = list(zip(table["channel"].to_pylist(), table["timestamp"].to_pylist(), strict=True))
    assert keys == sorted(keys)


def test_a_live_session_is_read_from_its_segments_within_a_second(redis_url, tmp_path):
    store = str(tmp_path / "store")
    t = T0 + np.arange(1000) * MS
    with recording(redis_url, store), rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("live-1", "car") as s:
            s.timestamped(3, t, np.arange(1000, dtype=np.float64))
            s.flush()
            wait_for(lambda: record_of(store, "live-1") is not None, what="the live record")
            reader = Store(store)
            wait_for(lambda: reader.read("live-1", channels=[3]), what="the live samples")
            series = reader.read("live-1", channels=[3], start=T0 + 10 * MS, end=T0 + 19 * MS)
            assert not reader.session("live-1")["complete"]
    assert list(series) == [3]
    assert series[3].timestamps.tolist() == t[10:20].tolist()
    assert series[3].values.view("<f8").tolist() == list(range(10, 20))


def test_the_read_api_gives_closed_sessions_per_channel(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    written = record_session(redis_url, r, store, "run-3")
    reader = Store(store)
    assert [s["identity"] for s in reader.sessions()] == ["run-3"]
    assert json.loads(reader.config("cfg-1")) == CONFIG
    got = reader.read("run-3", "timestamped", channels=[11, 1], start=T0, end=T0 + 499 * MS)
    assert sorted(got) == [1, 11]
    assert got[11].values.dtype == np.uint8
    expected = written.samples[("timestamped", 11)][:500]
    assert [(int(t), v.tobytes()) for t, v in zip(*got[11], strict=True)] == expected
    assert len(got[1].timestamps) == 500 and got[1].values.dtype.itemsize == 8
