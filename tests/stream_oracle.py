"""Reads what a writer put in Redis and checks it against docs/protocol.md, independently of the
writer: redis-py for the commands, python-lz4 + the official protobuf classes for the bursts,
and the state numbers and key names spelled out here from the protocol text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import lz4.block
import numpy as np
import redis

from rtastream import Burst
from rtastream._proto import net_stream_pb2

T0 = 1_750_000_000_000_000_000
MS = 1_000_000

STATE_NUMBERS = {
    "unknown": 0,
    "waiting": 1,
    "open": 2,
    "closed": 4,
    "truncated": 12,
    "failed": 28,
    "abandoned": 44,
}
FINAL_STATES = {"closed", "truncated", "failed"}
HASH_FIELDS = {
    b"streamSessionId",
    b"streamName",
    b"streamPosition",
    b"lastUpdated",
    b"json",
    b"tStart",
    b"tEnd",
}


@dataclass
class Entry:
    entry_id: str
    session_id: int
    burst: net_stream_pb2.StreamDataBurst

    def kinds(self) -> list[str]:
        return [d.WhichOneof("data") for d in self.burst.data]

    def jsons(self) -> list[dict]:
        return [
            json.loads(d.session_json)
            for d in self.burst.data
            if d.WhichOneof("data") == "session_json"
        ]

    def time_ranges(self) -> list[tuple[int, int]]:
        return [
            (d.time_range.start_time, d.time_range.end_time)
            for d in self.burst.data
            if d.WhichOneof("data") == "time_range"
        ]


def entry_key(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def read_stream(r: redis.Redis, stream: str) -> list[Entry]:
    entries = []
    for entry_id, fields in r.xrange(f"stream:{stream}"):
        assert set(fields) == {b"id", b"data"}, fields.keys()
        burst = net_stream_pb2.StreamDataBurst()
        burst.ParseFromString(lz4.block.decompress(fields[b"data"], uncompressed_size=1 << 20))
        entries.append(Entry(entry_id.decode(), int(fields[b"id"]), burst))
    return entries


def session_entries(r: redis.Redis, stream: str, session_id: int) -> list[Entry]:
    return [e for e in read_stream(r, stream) if e.session_id == session_id]


def check_session(
    r: redis.Redis, identity: str, stream: str, final_state: str = "closed", ttl: int = 24 * 3600
) -> tuple[dict, list[Entry]]:
    """Every per-session rule of docs/protocol.md; returns the hash and the session's entries."""
    key = f"sessions:{identity}"
    record = r.hgetall(key)
    assert set(record) == HASH_FIELDS, sorted(record)
    assert record[b"streamName"].decode() == stream
    assert 0 < r.ttl(key) <= ttl
    assert stream.encode() in r.smembers("streams")
    session_id = int(record[b"streamSessionId"])
    assert session_id <= int(r.get("lastStreamSessionId"))
    entries = session_entries(r, stream, session_id)
    assert len(entries) >= 2

    # The position is an entry id older than this session's first message (or 0-0).
    position = record[b"streamPosition"].decode()
    assert entry_key(position) < entry_key(entries[0].entry_id)

    # First message: Session JSON only, in state open or waiting; last: final state.
    assert entries[0].kinds() == ["session_json"]
    first = entries[0].jsons()[0]
    assert first["identity"] == identity and first["state"] in ("open", "waiting")
    last = entries[-1].jsons()
    assert entries[-1].kinds()[-1] == "session_json"
    assert last[-1]["state"] == final_state
    assert json.loads(record[b"json"]) == last[-1]

    # Session JSON: required properties, camelCase, no nulls; states move forward only.
    states = []
    for entry in entries:
        for doc in entry.jsons():
            assert {"identity", "state", "timestamp", "identifier"} <= set(doc)
            assert None not in doc.values() and all("_" not in k for k in doc)
            assert "+" in doc["timestamp"] or doc["timestamp"].endswith("Z")
            states.append(doc["state"])
    assert all(s not in FINAL_STATES for s in states[:-1]), states
    numbers = [STATE_NUMBERS[s] for s in states]
    assert numbers == sorted(numbers), states

    # The hash's time range is the last one streamed, and the final JSON's timeRange.
    ranges = [tr for e in entries for tr in e.time_ranges()]
    assert ranges, "no time range streamed"
    t_start, t_end = int(record[b"tStart"]), int(record[b"tEnd"])
    assert ranges[-1] == (t_start, t_end)
    assert last[-1]["timeRange"] == {"startTime": t_start, "endTime": t_end}
    assert all(a <= b for a, b in ranges)
    return record, entries


# ---- Numbered test bursts: which ones reached Redis, in which order. ----


def burst_at(k: int) -> Burst:
    """Burst number k: 4 channels x 256 samples starting at T0 + k s (its identity)."""
    burst = Burst()
    times = T0 + k * 10**9 + np.arange(256, dtype=np.int64) * MS
    burst.timestamped([1, 2, 3, 4], times, np.random.default_rng(k).normal(size=(4, 256)))
    burst.time_range(T0, int(times[-1]))
    return burst


def burst_numbers(r: redis.Redis, stream: str, session_id: int) -> list[int]:
    """The k of every data burst of a session, in stream order (duplicates kept)."""
    return [
        (e.burst.data[0].timestamped_data.start_timestamp - T0) // 10**9
        for e in read_stream(r, stream)
        if e.session_id == session_id and e.kinds()[0] == "timestamped_data"
    ]


def in_order_at_least_once(seen: list[int], written: int) -> bool:
    """Every burst 0..written-1 present; re-sent ones only repeat already-seen bursts."""
    deduplicated = [k for i, k in enumerate(seen) if k not in seen[:i]]
    return deduplicated == list(range(written))
