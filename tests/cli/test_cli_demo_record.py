"""`rtastream demo --record DIR`: the demo session recorded into a store while it streams,
read back with pyarrow alone and held to what the stream carried (decoded with
rtastream.decode, not through the store's code)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from cli_helpers import run_cli
from rtastream import PeriodicItem, TimestampedItem, decode, keys
from rtastream.redis_server import missing_server_message, server_binary

pytestmark = pytest.mark.subprocess  # the command line, in its own process


def demo(store, identity, *more):
    result = run_cli(
        "demo", "--duration", "2", "--rate", "100", "--channels", "6", "--identity", identity,
        "--stream", "rec", "--record", str(store), *more,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def streamed_samples(r, identity):
    """(kind, channel) -> [(timestamp, value bytes)] of the session, from the stream."""
    session_id = r.hget(keys.session_key(identity), keys.STREAM_SESSION_ID)
    found = {}
    for _, fields in r.xrange(keys.stream_key("rec")):
        if fields[b"id"] != session_id:
            continue
        for item in decode(fields[b"data"]):
            if isinstance(item, (TimestampedItem, PeriodicItem)):
                kind = "timestamped" if isinstance(item, TimestampedItem) else "periodic"
                width = len(item.buffer) // len(item.timestamps)
                data = bytes(item.buffer)
                pairs = found.setdefault((kind, item.channel_id), [])
                pairs += [
                    (int(t), data[i * width : (i + 1) * width])
                    for i, t in enumerate(item.timestamps)
                ]
    return found


def stored_samples(folder):
    """The same from the session's sample files, read with pyarrow alone."""
    found = {}
    for path in sorted(folder.glob("*.parquet")):
        kind = path.name.split(".")[0]
        if kind not in ("timestamped", "periodic"):
            continue
        table = pq.read_table(path)
        values = table["value"].to_numpy()
        for channel, timestamp, value in zip(
            table["channel"].to_pylist(), table["timestamp"].to_pylist(), values, strict=True
        ):
            found.setdefault((kind, channel), []).append((timestamp, value.tobytes()))
    return found


def test_demo_records_its_session_into_the_store(tmp_path, redis_url, r):
    store = tmp_path / "store"
    result = demo(store, "demo-rec", "--redis", redis_url)
    folder = store / "sessions" / "demo-rec"
    assert f"store       {store}/sessions/demo-rec/ (complete, state closed)" in result.stdout
    record = json.loads((folder / "session.json").read_text())
    assert (record["complete"], record["state"], record["stream"]) == (True, "closed", "rec")
    assert json.loads(record["json"])["identity"] == "demo-rec"

    stored = stored_samples(folder)
    assert stored == streamed_samples(r, "demo-rec")
    # 6 channels: a quarter (1) an integer, periodic; the other 5 analog, timestamped
    assert sorted(stored) == [("periodic", 5)] + [("timestamped", c) for c in range(5)]
    for pairs in stored.values():  # 2 s at 100 Hz, every sample in time order
        stamps = np.array([t for t, _ in pairs])
        assert len(stamps) == 200 and np.all(np.diff(stamps) == 10_000_000)
    history = pq.read_table(folder / "history.parquet").to_pydict()["json"]
    assert [json.loads(h)["state"] for h in history] == ["open", "closed"]


def test_demos_on_private_servers_share_one_store(tmp_path):
    """Each run's private Redis numbers its stream's sessions from 1 again: the second
    session is recorded under its own identity, not taken for the first one."""
    if server_binary() is None:
        pytest.skip(f"{missing_server_message()}: the demo's private server cannot start")
    store = tmp_path / "store"
    demo(store, "first")
    demo(store, "second")
    for identity in ("first", "second"):
        record = json.loads((store / "sessions" / identity / "session.json").read_text())
        assert record["complete"] and record["stream_session_id"] == 1
        stamps = pq.read_table(
            store / "sessions" / identity / "timestamped.float64.parquet", columns=["timestamp"]
        )
        assert stamps.num_rows == 5 * 200
