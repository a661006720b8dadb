"""A long response is streamed: `rtastream serve --store` (a process of its own, so its
peak RSS is its own) sends a closed session's ready chunks as they are read, holding about
a row group and two blocks whatever the response's length, and a client that leaves
mid-response costs the server no traceback."""

from __future__ import annotations

import json
import socket
import struct
import time
import urllib.request

import numpy as np
import pyarrow as pa
import pytest

from cli_helpers import interrupt, start_cli
from rest_helpers import read_chunks, timestamps_of
from rtastream.store import Store, chunkfiles
from rtastream.store.tables import sample_schema

T0 = 1_767_225_600_000_000_000
MS = 1_000_000
CHANNELS, SECONDS = 4, 2400  # at 1 kHz, random values (LZ4 keeps them near their size)
# The server's peak RSS may grow by this much for the whole response (the body held whole,
# twice, as before, grows it by over four times this; 20 MiB was met at its edge under load).
BOUND = 32 << 20
IDENTITY = "long-1"

# A server process of its own (its memory is what is measured: not under the sanitizers).
pytestmark = pytest.mark.subprocess


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store_dir = str(tmp_path_factory.mktemp("long") / "store")
    store = Store(store_dir)
    times = T0 + np.arange(SECONDS * 1000, dtype=np.int64) * MS
    values = np.random.default_rng(1).random(CHANNELS * len(times))
    table = pa.table(
        [
            pa.array(np.repeat(np.arange(CHANNELS, dtype=np.uint32), len(times))),
            pa.array(np.tile(times, CHANNELS)),
            pa.array(values),
        ],
        schema=sample_schema("float64"),
    )
    store.write_session_table(IDENTITY, "timestamped.float64", table)
    record = {
        "identity": IDENTITY,
        "json": json.dumps({"identity": IDENTITY, "state": "closed"}),
        "complete": True,
        "files": {"timestamped.float64": {"rows": table.num_rows}},
        "chunks": chunkfiles.write(
            store.files, f"sessions/{IDENTITY}", {"timestamped.float64": table}
        ),
    }
    store.write_record(record)
    port = _free_port()
    process = start_cli("serve", "--store", store_dir, "--no-redis", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=5).close()
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "server not up"
            time.sleep(0.2)
    yield base, process, times
    _, err = interrupt(process)
    # Only the responses' tracebacks: serve's own shutdown is not this file's subject.
    assert "rest/data.py" not in err and "ConnectionResetError" not in err, err


def _url(base: str, query: str = "") -> str:
    return f"{base}/rta/v2/sessions/{IDENTITY}/data/timestamped/0-{CHANNELS - 1:X}{query}"


def test_a_long_response_holds_a_bounded_part_of_itself(server):
    base, process, times = server
    with urllib.request.urlopen(_url(base, f"?start={T0}&end={T0}"), timeout=60) as reply:
        assert reply.read()  # the server's imports and first file reads are behind it
    before = _peak_rss(process.pid)
    body = urllib.request.urlopen(_url(base), timeout=120).read()
    grown = _peak_rss(process.pid) - before
    assert len(body) > 2 * BOUND, "the response must be well over the bound"
    assert grown < BOUND, f"peak RSS grew by {grown >> 20} MiB for a {len(body) >> 20} MiB body"
    chunks = read_chunks(body, "timestamped")
    starts = [c.start for c in chunks]
    assert starts == sorted(starts), "chunks in ascending time"
    for channel in range(CHANNELS):
        served = [
            t
            for c in chunks
            if c.channel_ids == [channel]
            for d in c.payload.timestamped_data
            for t in timestamps_of(d)
        ]
        assert served == times.tolist(), f"channel {channel}: every sample once, in order"


def test_a_client_leaving_mid_response_costs_no_traceback(server):
    base, process, _ = server
    host, port = base.removeprefix("http://").split(":")
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=30) as client:
            client.sendall(f"GET {_url('', '')} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert client.recv(1 << 16).startswith(b"HTTP/1.1 200")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with urllib.request.urlopen(_url(base, f"?start={T0}&end={T0}"), timeout=60) as reply:
        assert reply.status == 200 and reply.read()  # served on, after the resets
