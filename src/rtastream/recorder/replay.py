"""A stored session streamed back into Redis through the writer, as a new live session."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from typing import Any

import numpy as np

from rtastream._native import Burst
from rtastream.reader.entries import CLOSED_STATES
from rtastream.store import Store
from rtastream.store.tables import EVENTS, HISTORY, ROWS, SAMPLE_KINDS
from rtastream.writer import RedisStreamBuffer

SLICE_NS = 100_000_000
"""Data time each burst covers: 100 ms, sent when the replay's clock reaches it."""


def replay(
    store: Store,
    identity: str,
    redis: str,
    *,
    speed: float = 1.0,
    new_identity: str | None = None,
    stream: str | None = None,
    keep_time: bool = False,
) -> str:
    """Stream session `identity` of the store into the Redis at `redis` as a new session
    (identity `new_identity`, default `<identity>-replay-<8 hex>`; on `stream`, default
    the original's), with its original timing `speed` times faster (0: as fast as
    possible). Timestamps are shifted so that the session starts now, unless keep_time.
    Its Session JSON is the original's first (details, configuration bindings), open, then
    its final state. Returns the new identity."""
    if speed < 0:
        raise ValueError(f"speed must be 0 (no waiting) or positive, got {speed!r}")
    record = store.session(identity)
    if record is None:
        raise KeyError(f"the store has no session {identity!r}")
    new_identity = new_identity or f"{identity}-replay-{uuid.uuid4().hex[:8]}"
    slices = _slices(store, identity)
    first = min(slices) if slices else 0
    shift = 0 if keep_time else time.time_ns() - first * SLICE_NS
    model = _first_model(store, identity)
    model.update(identity=new_identity, state="open")
    for name in ("timestamp", "timeRange", "startTimestamp", "endTimestamp"):
        model.pop(name, None)
    final = str(record["state"]) if record.get("state") in CLOSED_STATES else "closed"
    began = time.monotonic()
    with RedisStreamBuffer(redis) as buffer:
        session = buffer.open_session(new_identity, stream or record["stream"], model)
        for index in sorted(slices):
            if speed:
                due = began + (index - first) * SLICE_NS / 1e9 / speed
                time.sleep(max(0.0, due - time.monotonic()))
            burst = Burst()
            for add in slices[index]:
                add(burst, shift)
            session.write(burst)
        session.close(final)
    return new_identity


Adder = Any  # a callable(burst, shift) adding one piece of data


def _slices(store: Store, identity: str) -> dict[int, list[Adder]]:
    """What each 100 ms slice of the session holds, as calls that add it to a burst."""
    slices: dict[int, list[Adder]] = defaultdict(list)
    for kind in SAMPLE_KINDS:
        for channel, series in store.read(identity, kind).items():
            values = _writable(series.values)
            interval = _interval(series.timestamps) if kind == "periodic" else None
            cuts = series.timestamps // SLICE_NS
            edges = np.flatnonzero(cuts[1:] != cuts[:-1]) + 1
            for a, b in zip(np.r_[0, edges], np.r_[edges, len(cuts)], strict=True):
                ts, vs = series.timestamps[a:b], values[a:b]
                slices[int(cuts[a])].append(_samples(channel, ts, vs, interval))
    stems = store.stems(identity)
    if ROWS in stems:
        for row in store.table(identity, ROWS).to_pylist():
            slices[row["timestamp"] // SLICE_NS].append(_row(row))
    if EVENTS in stems:
        for event in store.table(identity, EVENTS).to_pylist():
            slices[event["timestamp"] // SLICE_NS].append(_event(event))
    return slices


def _writable(values: np.ndarray) -> np.ndarray:
    """Samples kept as bytes (no configuration gave their type) as unsigned integers of
    their width: the same bytes on the wire."""
    if values.dtype.kind == "V" and values.dtype.itemsize in (1, 2, 4, 8):
        return values.view(f"<u{values.dtype.itemsize}")
    return values


def _interval(timestamps: np.ndarray) -> int | None:
    steps = np.diff(timestamps)
    return int(steps[0]) if len(steps) and (steps == steps[0]).all() else None


def _samples(channel: int, ts: np.ndarray, values: np.ndarray, interval: int | None) -> Adder:
    def add(burst: Burst, shift: int) -> None:
        if interval is not None:
            burst.periodic(channel, int(ts[0]) + shift, interval, values)
        else:
            burst.timestamped(channel, ts + shift, values)

    return add


def _row(row: dict[str, Any]) -> Adder:
    def add(burst: Burst, shift: int) -> None:
        burst.row(row["channels"], row["timestamp"] + shift, row["data"])

    return add


def _event(event: dict[str, Any]) -> Adder:
    def add(burst: Burst, shift: int) -> None:
        burst.event(
            event["definition_id"],
            event["timestamp"] + shift,
            event["status_text"],
            event["raw_data"],
            event["app_name"],
        )

    return add


def _first_model(store: Store, identity: str) -> dict[str, Any]:
    history = store.table(identity, HISTORY)
    texts = history["json"].to_pylist() if history.num_rows else []
    model = json.loads(texts[0]) if texts else {"identity": identity}
    return model if isinstance(model, dict) else {"identity": identity}
