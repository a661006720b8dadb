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
from rtastream.store.segments import SegmentRow, entry_key

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


RECORD = [sys.executable, "-m", "rtastream", "record"]
"""The recorder under test: `rtastream record`, as a process of its own."""

COMMIT_INTERVAL = 0.2
"""The recorder's --flush-interval here: a burst written in a fraction of a second is not
measured against the default one-second wait for its last commit."""


def start_recorder(redis_url: str, store: str, command: list[str] = RECORD) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *command,
            "--redis",
            redis_url,
            "--store",
            store,
            "--stream",
            "bench",
            "--flush-interval",
            str(COMMIT_INTERVAL),
        ],  # fmt: skip
        stderr=subprocess.DEVNULL,
    )


def write_session(
    redis_url: str, name: str, channels: int, seconds: int, writer: str, before_close
) -> dict:
    """One session of `seconds` of data on stream `bench`, written as fast as the writer
    goes: "pre-packed" hands the writer messages packed beforehand (its fastest path, no
    encoding), "encoding" gives it each second as arrays (Burst.timestamped, packing and
    compressing included). `before_close(run)` is called before the session is closed (so
    that a recorder behind does not compact it while its following is measured). Returns
    the writer's seconds, the last entry's id and when writing began."""
    if writer == "pre-packed":
        messages = [m for s in range(seconds) for m in second_of_data(channels, s)]
    values = np.sin(np.arange(channels * 1000, dtype=np.float64)).reshape(channels, 1000)
    with RedisStreamBuffer(redis_url) as buffer:
        session = buffer.open_session(name, "bench")
        session.flush()
        began = time.perf_counter()
        if writer == "pre-packed":
            session.write_messages(messages)
        else:
            for s in range(seconds):
                session.timestamped(range(channels), T0 + (s * 1000 + np.arange(1000)) * MS, values)
        session.flush()
        run = {"written_s": time.perf_counter() - began, "last": buffer_last_id(redis_url)}
        before_close(dict(run, began=began))
        session.close()
    return run


def record_run(
    redis_url: str, store: str, channels: int, seconds: int, writer: str, command=RECORD
) -> dict:
    """A recorder follows stream `bench` while a session is written as fast as it can be:
    the writer's seconds, the seconds until the recorder has the last entry in the store,
    the recorder's CPU seconds for that, and for compacting the session once it ended."""
    recorder = start_recorder(redis_url, store, command)
    reader = Store(store)
    try:
        with RedisStreamBuffer(redis_url) as buffer:  # the recorder follows the stream first
            buffer.open_session("warm-up", "bench").close()
        wait_for(lambda: (reader.session("warm-up") or {}).get("complete"), 60)
        cpu0 = cpu_seconds(recorder.pid)
        followed: dict = {}

        def recorded(run: dict) -> None:  # the recorder has the last entry in the store
            last = entry_key(run["last"])
            wait_for(lambda: entry_key(reader.position("bench")[0]) >= last, 300)
            followed.update(recorded_s=time.perf_counter() - run["began"])
            followed.update(cpu_s=cpu_seconds(recorder.pid) - cpu0)

        run = write_session(redis_url, "bench", channels, seconds, writer, recorded)
        cpu1 = cpu_seconds(recorder.pid)
        wait_for(lambda: (reader.session("bench") or {}).get("complete"), 300)
        cpu2 = cpu_seconds(recorder.pid)
    finally:
        recorder.terminate()
        recorder.wait(timeout=60)
    return dict(run, **followed, samples=channels * 1000 * seconds, compact_cpu_s=cpu2 - cpu1)


@pytest.mark.parametrize(
    ("channels", "writer"), [(1000, "encoding"), (1000, "pre-packed"), (2000, "pre-packed")]
)
def test_recorder_keeps_up_with_the_writer(benchmark, redis_url, tmp_path, smoke, channels, writer):
    benchmark.group = "recorder: keeping up"
    if smoke and (channels, writer) != (1000, "pre-packed"):
        pytest.skip("smoke mode runs one variant (the recorder's start dominates its time)")
    seconds = 1 if smoke else 20
    result: dict = {}

    def record_once() -> None:
        result.update(record_run(redis_url, str(tmp_path / f"store{len(result)}"), channels,
                                 seconds, writer))  # fmt: skip

    benchmark.pedantic(record_once, rounds=1)
    benchmark.extra_info.update(variant=f"{channels} channels x 1 kHz, {writer} writer",
                                **recording_figures(result))  # fmt: skip


def recording_figures(result: dict) -> dict:
    millions = result["samples"] / 1e6
    write_rate = result["samples"] / result["written_s"]
    record_rate = result["samples"] / result["recorded_s"]
    return {
        "samples": result["samples"],
        "written_samples_per_s": write_rate,
        "recorded_samples_per_s": record_rate,
        "ratio_to_writer": record_rate / write_rate,
        "recorder_cpu_s_per_million_samples": result["cpu_s"] / millions,
        "compaction_cpu_s_per_million_samples": result["compact_cpu_s"] / millions,
    }


def buffer_last_id(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.xrevrange("stream:bench", count=1)[0][0].decode()
    finally:
        client.close()


def test_live_session_freshness(benchmark, redis_url, tmp_path, smoke):
    """Seconds from a burst's flush to its samples being readable from the store, with the
    recorder's default commit interval (1 s): the median, 99th percentile and worst of a run."""
    benchmark.group = "recorder: freshness"
    store = str(tmp_path / "store")
    recorder = subprocess.Popen([*RECORD, "--redis", redis_url, "--store", store],
                                stderr=subprocess.DEVNULL)  # fmt: skip
    reader = Store(store)
    delays: list[float] = []

    def measure() -> None:
        with RedisStreamBuffer(redis_url) as buffer:
            session = buffer.open_session("fresh", "fresh")
            wait_for(lambda: reader.session("fresh") is not None, 30)
            for k in range(2 if smoke else 60):
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
        p99_s=float(np.percentile(delays, 99)),
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
