"""The REST API served from the recorder's store (`rtastream serve --store`, no Redis):
the session list's latency with 10 000 sessions in the store, and samples per second
delivered to an HTTP client on loopback for one channel of a closed 1-hour 1 kHz session
and all 64 channels of a 10-minute one, beside the same values read from the store's
files with pyarrow alone (the floor) and the pure-Python path (decode the data list
with the official protobuf classes, re-chunk, encode).

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

from rtastream.server.background import ServerThread
from rtastream.server.rest.stored import Index
from rtastream.store import Store

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
