"""The REST API served from the recorder's store (`rtastream serve --store`, no Redis):
the session list's latency with 10 000 sessions in the store, and samples per second
delivered to an HTTP client on loopback for one channel of a closed 1-hour 1 kHz session
and all 64 channels of a 10-minute one, beside the same values read from the store's
files with pyarrow alone (the floor) and the pure-Python path (decode the data list
with the official protobuf classes, re-chunk, encode). Served twice: from the chunks
compaction keeps (store/chunkfiles.py: a copy), and from the tables, chunked per request
(the path of a session compacted before chunks were kept).

The server runs on a thread of its own (ServerThread: its own event loop); the client is a
plain blocking HTTP client in the benchmark's thread. Both share this process, and the
2-core machine with whatever else runs.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks import purepython
from benchmarks.report_sections import CHUNKED, READY, REST_FLOOR, REST_PURE
from rtastream.server.background import ServerThread
from rtastream.server.rest.stored import Index
from rtastream.store import Store, chunkfiles
from rtastream.store.tables import sample_schema

T0 = 1_767_225_600_000_000_000
MS = 1_000_000


def get(url: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def many_sessions(store: Store, count: int) -> None:
    """`count` closed sessions, as the recorder leaves them (index records only)."""
    for i in range(count):
        model = {
            "identity": f"run-{i:05d}",
            "identifier": f"run {i}",
            "state": "closed",
            "timestamp": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
            "details": {"Driver": ["Ann", "Bob", "Cy"][i % 3], "Lap": i % 50},
        }
        record = {"identity": model["identity"], "json": json.dumps(model), "complete": True}
        store.write_record(record | {"files": {}})


def test_session_list_latency(benchmark, tmp_path, smoke):
    benchmark.group = "rest: session list"
    count = 300 if smoke else 10_000
    store_url = str(tmp_path / "store")
    store = Store(store_url)
    many_sessions(store, count)
    index = Index(store)
    started = time.perf_counter()
    assert len(index.sessions()) == count
    first = time.perf_counter() - started  # every record read once
    index.read_at = -1e9
    started = time.perf_counter()
    index.sessions()
    refresh = time.perf_counter() - started  # the folder listed again, records cached
    server = ServerThread(None, "127.0.0.1", 0, store=store_url)
    times: list[float] = []

    def one() -> None:
        started = time.perf_counter()
        status, body = get(server.url, "/rta/v2/sessions?pageSize=100")
        times.append(time.perf_counter() - started)
        assert status == 200 and len(json.loads(body)["sessions"]) == 100

    try:
        get(server.url, "/rta/v2/sessions?pageSize=1")  # the index read once
        benchmark.pedantic(one, rounds=5 if smoke else 300, iterations=1)
    finally:
        server.close()
    benchmark.extra_info.update(
        sessions=count,
        p50_s=float(np.percentile(times, 50)),
        p99_s=float(np.percentile(times, 99)),
        first_listing_s=first,
        refresh_s=refresh,
    )


# --- data: samples per second to an HTTP client ---------------------------------------

WORKLOADS = {
    # name: (channels in the session, channels asked for, seconds at 1 kHz; smoke seconds)
    "1 channel of a 1-hour session": (4, 1, 3600, 20),
    "64 channels of a 10-minute session": (64, 64, 600, 5),
}


def closed_session(
    store: Store, identity: str, channels: int, seconds: int, ready: bool = False
) -> None:
    """A closed session of `channels` float64 channels at 1 kHz, as compaction writes it
    (`ready`: with its chunk files; else as compacted before they were kept)."""
    t = T0 + np.arange(seconds * 1000, dtype=np.int64) * MS
    table = pa.table(
        [
            pa.array(np.repeat(np.arange(channels, dtype=np.uint32), len(t))),
            pa.array(np.tile(t, channels)),
            pa.array(np.sin(np.arange(channels * len(t)) / 100.0)),
        ],
        schema=sample_schema("float64"),
    )
    store.write_session_table(identity, "timestamped.float64", table)
    folder = f"sessions/{identity}"
    model = {"identity": identity, "state": "closed"}
    files = {"timestamped.float64": {"rows": table.num_rows}}
    record = {"identity": identity, "json": json.dumps(model), "complete": True, "files": files}
    if ready:
        record["chunks"] = chunkfiles.write(store.files, folder, {"timestamped.float64": table})
    store.write_record(record)


@pytest.fixture(scope="module")
def data_store(tmp_path_factory, smoke):
    url = str(tmp_path_factory.mktemp("rest-data") / "store")
    store = Store(url)
    for name, (channels, _, seconds, smoke_seconds) in WORKLOADS.items():
        seconds = smoke_seconds if smoke else seconds
        closed_session(store, name.replace(" ", "-"), channels, seconds)
        closed_session(store, f"{name.replace(' ', '-')}-ready", channels, seconds, ready=True)
    server = ServerThread(None, "127.0.0.1", 0, store=url)
    yield store, server
    server.close()


def floor(store: Store, identity: str, channels: int) -> int:
    """The same values read from the session's file with pyarrow alone."""
    path = store.files.path(f"sessions/{identity}/timestamped.float64.parquet")
    table = pq.read_table(path, filters=[("channel", "<", channels)])
    timestamps, values = table["timestamp"].to_numpy(), table["value"].to_numpy()
    return len(timestamps) + len(values)


def pure_python(store: Store, identity: str, channels: int) -> int:
    """Read with pyarrow, re-chunked and encoded with protobuf and python-lz4."""
    path = store.files.path(f"sessions/{identity}/timestamped.float64.parquet")
    table = pq.read_table(path, filters=[("channel", "<", channels)])
    ids, t, v = (table[name].to_numpy() for name in ("channel", "timestamp", "value"))
    body = b"".join(
        purepython.chunked(c, t[ids == c], v[ids == c], per_list=3584) for c in range(channels)
    )
    assert body
    return len(t)


def served(url: str, identity: str, channels: int) -> int:
    status, body = get(url, f"/rta/v2/sessions/{identity}/data/timestamped/0-{channels - 1:X}")
    assert status == 200 and body
    return len(body)


PATHS = (READY, CHUNKED, REST_FLOOR, REST_PURE)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_serving_samples_from_the_store(benchmark, data_store, smoke, workload, path):
    benchmark.group = f"rest: {workload}"
    store, server = data_store
    _, asked, seconds, smoke_seconds = WORKLOADS[workload]
    identity = workload.replace(" ", "-")
    run = {
        READY: lambda: served(server.url, f"{identity}-ready", asked),
        CHUNKED: lambda: served(server.url, identity, asked),
        REST_FLOOR: lambda: floor(store, identity, asked),
        REST_PURE: lambda: pure_python(store, identity, asked),
    }[path]
    benchmark.pedantic(run, rounds=1 if smoke else 3, iterations=1, warmup_rounds=0)
    samples = asked * 1000 * (smoke_seconds if smoke else seconds)
    benchmark.extra_info.update(variant=path, samples=samples)
