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
