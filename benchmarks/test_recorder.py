"""The recorder and the store: does `rtastream record` keep up with the fastest writer, what
CPU it spends per million samples, how fresh a live session is in the store, and reading
one channel of a closed 1-hour 1 kHz session against pyarrow reading the same values from a
plain Parquet file (the floor).

The recorder runs as a process of its own (`rtastream record`), so its CPU time is read
from /proc; the writer (RedisStreamBuffer.write_messages, pre-packed messages: the writer's
fastest path) runs here. On this 2-core machine writer, recorder and redis-server share
the cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.test_live_edge import cpu_seconds
from rtastream import Burst, RedisStreamBuffer
from rtastream.store import Store
from rtastream.store.segments import SegmentRow

T0 = 1_767_225_600_000_000_000
MS = 1_000_000


def second_of_data(channels: int, second: int) -> list[bytes]:
    """One second of `channels` float64 channels at 1 kHz, packed (~64 KiB messages)."""
    burst = Burst()
    t = T0 + (second * 1000 + np.arange(1000)) * MS
    values = np.sin(np.arange(channels * 1000, dtype=np.float64) + second).reshape(channels, 1000)
    burst.timestamped(range(channels), t, values)
    return burst.pack()


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the recorder did not get there in time")
        time.sleep(0.01)


@pytest.mark.parametrize("channels", [1000, 2000])
def test_recorder_keeps_up_with_the_writer(benchmark, redis_url, tmp_path, smoke, channels):
    benchmark.group = "recorder: keeping up"
    seconds = 2 if smoke else 10
    messages = [m for s in range(seconds) for m in second_of_data(channels, s)]
    samples = channels * 1000 * seconds
    store = str(tmp_path / "store")
    recorder = subprocess.Popen(
        [sys.executable, "-m", "rtastream", "record", "--redis", redis_url, "--store", store],
        stderr=subprocess.DEVNULL,
    )
    reader = Store(store)
    result = {}

    def record_once() -> None:
        with RedisStreamBuffer(redis_url) as buffer:
            session = buffer.open_session(f"bench-{len(result)}", "bench")
            wait_for(lambda: reader.position("bench") is not None, 30)  # recorder is following
            cpu0, began = cpu_seconds(recorder.pid), time.perf_counter()
            session.write_messages(messages)
            session.flush()
            written = time.perf_counter() - began
            last = buffer_last_id(redis_url)
            wait_for(lambda: reader.position("bench")[0] == last, 120)
            recorded = time.perf_counter() - began
            cpu = cpu_seconds(recorder.pid) - cpu0
            session.close()
        result.update(written=written, recorded=recorded, cpu=cpu)

    try:
        benchmark.pedantic(record_once, rounds=1 if smoke else 3)
    finally:
        recorder.terminate()
        recorder.wait(timeout=60)
    write_rate = samples / result["written"]
    record_rate = samples / result["recorded"]
    benchmark.extra_info.update(
        variant=f"{channels} channels x 1 kHz",
        samples=samples,
        written_samples_per_s=write_rate,
        recorded_samples_per_s=record_rate,
        ratio_to_writer=record_rate / write_rate,
        recorder_cpu_s_per_million_samples=result["cpu"] / (samples / 1e6),
    )


def buffer_last_id(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.xrevrange("stream:bench", count=1)[0][0].decode()
    finally:
        client.close()


def test_live_session_freshness(benchmark, redis_url, tmp_path, smoke):
    """Seconds from a burst's flush to its samples being readable from the store, with the
    recorder's default commit interval (1 s): the median and the worst of a run."""
    benchmark.group = "recorder: freshness"
    store = str(tmp_path / "store")
    recorder = subprocess.Popen(
        [sys.executable, "-m", "rtastream", "record", "--redis", redis_url, "--store", store],
        stderr=subprocess.DEVNULL,
    )
    reader = Store(store)
    delays: list[float] = []

    def measure() -> None:
        with RedisStreamBuffer(redis_url) as buffer:
            session = buffer.open_session("fresh", "fresh")
            wait_for(lambda: reader.session("fresh") is not None, 30)
            for k in range(5 if smoke else 30):
                t = T0 + k * 100 * MS
                session.timestamped(0, [t], [float(k)])
                session.flush()
                began = time.perf_counter()
                wait_for(lambda t=t: reader.read("fresh", start=t, end=t), 10)
                delays.append(time.perf_counter() - began)
                time.sleep(0.1 * (k % 7))  # land at different moments of the commit cycle
            session.close()

    try:
        benchmark.pedantic(measure, rounds=1)
    finally:
        recorder.terminate()
        recorder.wait(timeout=60)
    benchmark.extra_info.update(
        variant="flush to readable in the store",
        median_s=float(np.median(delays)),
        worst_s=max(delays),
        measured=len(delays),
    )


@pytest.fixture(scope="module")
def closed_hour(tmp_path_factory, request):
    """A closed session of 2 channels x 1 kHz for an hour (a minute in smoke mode), built
    by the store's own commit and compaction, and the floor: channel 1's values alone in a
    plain Parquet file."""
    smoke = bool(request.config.getoption("benchmark_disable"))
    seconds = 60 if smoke else 3600
    folder = tmp_path_factory.mktemp("hour")
    store = Store(str(folder / "store"))
    rows, entry = [], 0
    for s in range(seconds):
        for message in second_of_data(2, s):
            entry += 1
            rows.append(SegmentRow(f"{entry}-0", 1, "hour", message, entry.to_bytes(16), None))
        if len(rows) > 500 or s == seconds - 1:
            store.commit_segment("hour", f"{entry}-0", entry, rows)
            rows = []
    burst = Burst()
    burst.session_json('{"identity": "hour", "state": "closed"}')
    entry += 1
    last = SegmentRow(f"{entry}-0", 1, "hour", burst.pack()[0], entry.to_bytes(16), "closed")
    store.commit_segment("hour", f"{entry}-0", entry, [last])
    # The channels' type (float64) from a bound configuration, as the floor has it.
    store.write_config("cfg", json.dumps({"app": {"channels": [{"id": 0}, {"id": 1}]}}))
    record = {"identity": "hour", "stream": "hour", "stream_session_id": 1, "state": "closed",
              "config_bindings": [{"identifier": "cfg"}]}  # fmt: skip
    store.compact(record)
    series = store.read("hour", channels=[1])[1]
    floor = str(folder / "floor.parquet")
    pq.write_table(pa.table({"timestamp": series.timestamps, "value": series.values}), floor)
    return store, floor, len(series.timestamps)


def test_read_one_channel_of_a_closed_hour_from_the_store(benchmark, closed_hour):
    benchmark.group = "store: one channel of a closed 1 h, 1 kHz session"
    store, _, samples = closed_hour
    got = benchmark(lambda: store.read("hour", channels=[1]))
    assert len(got[1].timestamps) == samples
    benchmark.extra_info.update(variant="Store.read", samples=samples)


def test_read_one_channel_floor_pyarrow(benchmark, closed_hour):
    benchmark.group = "store: one channel of a closed 1 h, 1 kHz session"
    _, floor, samples = closed_hour

    def read() -> tuple[np.ndarray, np.ndarray]:
        table = pq.read_table(floor)
        return table["timestamp"].to_numpy(), table["value"].to_numpy()

    timestamps, _ = benchmark(read)
    assert len(timestamps) == samples
    benchmark.extra_info.update(variant="floor: pyarrow, a plain file", samples=samples)
