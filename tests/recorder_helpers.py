"""What the recorder's tests share: a recorder on a thread, waiting with a deadline, and a
session of every item kind whose arrays the test keeps (the oracle the store is held to)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq

import rtastream
from rtastream.recorder import Recorder

T0 = 1_700_000_000_000_000_000
MS = 1_000_000

CONFIG = {
    "app": {
        "channels": [
            {"id": 0, "name": "speed", "type": "f32"},
            {"id": 1, "name": "gear", "type": "u8"},
            {"id": 2, "name": "rpm", "type": "s16"},
            {"id": 3, "name": "temp"},  # f64 by default
        ]
    }
}
"""Bound at offset 10: channels 10-13 typed; every other channel is kept as bytes."""


def wait_for(condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


@contextmanager
def recording(url: str, store: str, **options: object) -> Iterator[Recorder]:
    """A recorder running on a thread, stopped (committed, leases given back) at the end."""
    options.setdefault("flush_interval", 0.2)
    options.setdefault("refresh", 0.2)
    recorder = Recorder(url, store, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=recorder.run, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        recorder.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the recorder did not stop"


def session_file(store: str, identity: str, stem: str) -> str:
    return f"{store}/sessions/{identity}/{stem}.parquet"


def read_file(store: str, identity: str, stem: str) -> dict[str, list]:
    """A session file read with pyarrow alone, as columns of Python values."""
    return pq.read_table(session_file(store, identity, stem)).to_pydict()


def record_of(store: str, identity: str) -> dict | None:
    try:
        with open(f"{store}/sessions/{identity}/session.json") as file:
            return json.load(file)
    except FileNotFoundError:
        return None


def complete(store: str, identity: str) -> bool:
    record = record_of(store, identity)
    return bool(record and record["complete"])


@dataclass
class Written:
    """Samples the test wrote, per (kind, channel): timestamps and the values' bytes."""

    samples: dict[tuple[str, int], list[tuple[int, bytes]]] = field(default_factory=dict)

    def add(self, kind: str, channel: int, timestamps: np.ndarray, values: np.ndarray) -> None:
        width = values.dtype.itemsize
        data = values.astype(values.dtype.newbyteorder("<")).tobytes()
        pairs = self.samples.setdefault((kind, channel), [])
        pairs += [(int(t), data[i * width : (i + 1) * width]) for i, t in enumerate(timestamps)]


def stored_samples(store: str, identity: str) -> dict[tuple[str, int], list[tuple[int, bytes]]]:
    """Every sample file of a session, read with pyarrow, as (timestamp, value bytes) per
    (kind, channel), in file order."""
    return samples_in(f"{store}/sessions/{identity}")


def samples_in(folder: str) -> dict[tuple[str, int], list[tuple[int, bytes]]]:
    """The same of the Parquet sample files in a folder (a session's, an export's)."""
    import os

    found: dict[tuple[str, int], list[tuple[int, bytes]]] = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".parquet"):
            continue
        kind = name.split(".")[0]
        if kind not in ("timestamped", "periodic"):
            continue
        table = pq.read_table(f"{folder}/{name}")
        values = table["value"].combine_chunks()
        if values.type.id == 15 or str(values.type).startswith("fixed_size_binary"):
            raw = [v.as_py() for v in values]
        else:
            raw = [
                np.asarray([v], dtype=values.type.to_pandas_dtype()).tobytes()
                for v in values.to_pylist()
            ]
        for channel, timestamp, value in zip(
            table["channel"].to_pylist(), table["timestamp"].to_pylist(), raw, strict=True
        ):
            found.setdefault((kind, channel), []).append((timestamp, value))
    return found


def recorded(store: str, identity: str) -> bool:
    """Whether the store has samples of the session (live or closed)."""
    from rtastream.store import Store

    reader = Store(store)
    return reader.session(identity) is not None and bool(reader.read(identity))


def write_session(url: str, identity: str, written: Written, stream: str = "car") -> None:
    """Two seconds of data of every kind, in 20 bursts, with configuration `cfg-1` bound at
    offset 10 (channels 10-13 typed, the others not)."""
    rng = np.random.default_rng(7)
    session = {
        "identity": identity,
        "state": "open",
        "details": {"driver": "A. Test"},
        "configBindings": [{"identifier": "cfg-1", "channelOffset": 10}],
    }
    with (
        rtastream.RedisStreamBuffer(url) as buffer,
        buffer.open_session(identity, stream, session) as s,
    ):
        for k in range(20):
            t = T0 + k * 100 * MS + np.arange(100) * MS
            for channel, dtype in (
                (10, np.float32),
                (11, np.uint8),
                (12, np.int16),
                (13, np.float64),
            ):
                values = rng.integers(0, 100, size=100).astype(dtype)
                s.timestamped(channel, t, values)
                written.add("timestamped", channel, t, values)
            untyped = rng.normal(size=100)  # channel 1: no configuration, kept as 8 bytes
            s.timestamped(1, t, untyped)
            written.add("timestamped", 1, t, untyped)
            periodic = rng.integers(-5, 5, size=50).astype(np.int16)
            s.periodic(12, int(t[0]), 2 * MS, periodic)
            written.add("periodic", 12, t[0] + np.arange(50) * 2 * MS, periodic)
            s.row([20, 21], int(t[0]), np.array([k, -k], dtype=np.int32).tobytes())
            s.event(5, int(t[0]), f"lap {k}", raw_data=[float(k), 0.5], app_name="timing")
            s.flush()


def record_session(redis_url: str, r, store: str, identity: str) -> Written:
    """Session `identity` (write_session, configuration cfg-1 in Redis) recorded into the
    store until compacted; what was written."""
    r.set("configs:cfg-1", json.dumps(CONFIG))
    written = Written()
    with recording(redis_url, store):
        write_session(redis_url, identity, written)
        wait_for(lambda: complete(store, identity), what="the session compacted")
    return written
