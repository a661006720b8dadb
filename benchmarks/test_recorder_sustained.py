"""Does `rtastream record` keep up for seconds on end, not only over one burst?

A writer streams 1000 float64 channels at 1 kHz into a stream trimmed as the Stream
Service trims it (MAXLEN ~ 10 000 entries), paced at 10 and 30 times real time and as fast
as it goes, while a recorder follows the stream. Every 20 ms the benchmark reads the lag:
how long the oldest entry the store lacks has been in the stream (entry ids carry Redis's
clock). A recorder falling behind shows as a lag that grows, and one that falls 10 000
entries behind loses entries to the trimming (reported as gaps: counted here). A fourth run
measures capacity: the recorder, stopped while the writer fills the stream, drains the
backlog alone; its rate beside the writer's alone says whether it keeps up when each has
its own core.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from benchmarks.test_live_edge import cpu_seconds
from benchmarks.test_recorder import buffer_last_id, second_of_data, start_recorder, wait_for
from rtastream import RedisStreamBuffer
from rtastream.store import Store
from rtastream.store.segments import entry_key

CHANNELS = 1000
TRIMMED_TO = 10_000
"""The Stream Service's default stream length (entries)."""

PACES = {"10x real time": 10.0, "30x real time": 30.0, "as fast as it goes": None}
DATA_SECONDS = {"10x real time": 40, "30x real time": 120, "as fast as it goes": 120}
"""Seconds of data per run: about four seconds of writing at each pace."""


def stream_ms(entry_id: str) -> int:
    return entry_key(entry_id)[0]


class LagProbe(threading.Thread):
    """Samples, every 20 ms, how long the oldest entry the store does not have yet has
    been in the stream (ms; 0 when the store has every entry): entry ids carry Redis's
    clock, this machine's."""

    def __init__(self, redis_url: str, store: Store) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(redis_url)
        self.store = store
        self.lags: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            position = self.store.position("bench")
            if position is None:
                continue
            waiting = self.client.xrange("stream:bench", "(" + position[0], "+", count=1)
            oldest = stream_ms(waiting[0][0].decode()) if waiting else None
            self.lags.append(0 if oldest is None else max(0, int(time.time() * 1000) - oldest))

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.client.close()


def stored_entries(store: Store) -> int:
    return sum(t.num_rows for t in store.segment_columns("bench", ["entry_id"]))


@contextmanager
def following(redis_url: str, store_url: str, **writer_options: object) -> Iterator[tuple]:
    """(recorder process, store, session): a recorder following stream `bench` and a
    session "bench" opened on it, in the store already; the session closed and the
    recorder stopped afterwards."""
    recorder = start_recorder(redis_url, store_url)
    store = Store(store_url)
    try:
        with RedisStreamBuffer(redis_url, **writer_options) as buffer:
            session = buffer.open_session("bench", "bench")
            session.flush()
            wait_for(lambda: store.session("bench") is not None, 60)
            yield recorder, store, session
            session.close()
    finally:
        os.kill(recorder.pid, signal.SIGCONT)  # were it left stopped (backlog_run)
        recorder.terminate()
        recorder.wait(timeout=60)


def sustained_run(redis_url: str, store_url: str, seconds: int, pace: float | None) -> dict:
    """A recorder follows while `seconds` of data are written at `pace` times real time
    (None: no pause), a second of data at a time, into a trimmed stream."""
    messages = [second_of_data(CHANNELS, s) for s in range(seconds)]
    with following(redis_url, store_url, maxlen=TRIMMED_TO) as (recorder, store, session):
        probe = LagProbe(redis_url, store)
        before = stored_entries(store)
        cpu0 = cpu_seconds(recorder.pid)
        probe.start()
        began = time.perf_counter()
        for s, second in enumerate(messages):
            session.write_messages(second)
            session.flush()
            if pace is not None:
                time.sleep(max(0.0, began + (s + 1) / pace - time.perf_counter()))
        written_s = time.perf_counter() - began
        last = entry_key(buffer_last_id(redis_url))
        wait_for(lambda: entry_key(store.position("bench")[0]) >= last, 300)
        recorded_s = time.perf_counter() - began
        cpu_s = cpu_seconds(recorder.pid) - cpu0
        probe.stop()
        written = sum(len(second) for second in messages)
        lost = sum(gap["entries"] for gap in store.reports())
        stored = stored_entries(store) - before
    return {
        "samples": CHANNELS * 1000 * seconds,
        "written_s": written_s,
        "recorded_s": recorded_s,
        "cpu_s": cpu_s,
        "entries_written": written,
        "entries_stored": stored,
        "entries_lost_to_trimming": lost,
        "lags_ms": probe.lags,
    }


@pytest.mark.parametrize("pace_name", list(PACES))
def test_recorder_sustained(benchmark, redis_url, tmp_path, smoke, pace_name):
    benchmark.group = "recorder: sustained"
    if smoke and pace_name != "10x real time":
        pytest.skip("smoke mode runs one pace")
    seconds = 2 if smoke else DATA_SECONDS[pace_name]
    result: dict = {}
    benchmark.pedantic(
        lambda: result.update(
            sustained_run(redis_url, str(tmp_path / "store"), seconds, PACES[pace_name])
        ),
        rounds=1,
    )
    assert (
        result["entries_stored"] + result["entries_lost_to_trimming"] >= result["entries_written"]
    ), "every entry written is stored or reported lost"
    lags = sorted(result.pop("lags_ms")) or [0]
    rate = result["samples"] / result["written_s"]
    benchmark.extra_info.update(
        variant=f"{CHANNELS} channels x 1 kHz, {pace_name}",
        written_samples_per_s=rate,
        recorded_samples_per_s=result["samples"] / result["recorded_s"],
        ratio_to_writer=result["written_s"] / result["recorded_s"],
        recorder_cpu_s_per_million_samples=result["cpu_s"] / (result["samples"] / 1e6),
        lag_median_s=lags[len(lags) // 2] / 1e3,
        lag_max_s=lags[-1] / 1e3,
        **result,
    )


def backlog_run(redis_url: str, store_url: str, seconds: int) -> dict:
    """The writer alone fills the stream (untrimmed) while the recorder is stopped
    (SIGSTOP); then the recorder alone drains it."""
    messages = [m for s in range(seconds) for m in second_of_data(CHANNELS, s)]
    entries = len(messages)
    with following(redis_url, store_url) as (recorder, store, session):
        time.sleep(0.5)  # past the commit of the session's first entry
        os.kill(recorder.pid, signal.SIGSTOP)
        began = time.perf_counter()
        session.write_messages(messages)
        session.flush()
        written_s = time.perf_counter() - began
        last = entry_key(buffer_last_id(redis_url))
        cpu0 = cpu_seconds(recorder.pid)
        began = time.perf_counter()
        os.kill(recorder.pid, signal.SIGCONT)
        commits = []  # (when, entries up to the store's position) of each commit seen

        def drained() -> bool:
            position = store.position("bench")
            if not commits or commits[-1][1] != position[1]:
                commits.append((time.perf_counter(), position[1]))
            return entry_key(position[0]) >= last

        wait_for(drained, 300)
        drained_s = time.perf_counter() - began
        cpu_s = cpu_seconds(recorder.pid) - cpu0
    return {
        "samples": CHANNELS * 1000 * seconds,
        "entries": entries,
        "written_s": written_s,
        "drained_s": drained_s,
        "cpu_s": cpu_s,
        "steady": steady_rate(commits),
    }


def steady_rate(commits: list[tuple[float, int]]) -> float | None:
    """Entries a second between the drain's first commit and its last but one: its pace
    while reading, without the wait before its first read and its last commit (up to a
    commit interval). None with fewer than three commits (a smoke-sized backlog)."""
    if len(commits) < 3:
        return None
    (t0, n0), (t1, n1) = commits[0], commits[-2]
    return (n1 - n0) / (t1 - t0)


def test_recorder_capacity(benchmark, redis_url, tmp_path, smoke):
    benchmark.group = "recorder: capacity"
    result: dict = {}
    benchmark.pedantic(
        lambda: result.update(backlog_run(redis_url, str(tmp_path / "store"), 1 if smoke else 20)),
        rounds=1,
    )
    benchmark.extra_info.update(
        variant=f"{CHANNELS} channels x 1 kHz, a 20 s backlog",
        written_samples_per_s=result["samples"] / result["written_s"],
        drained_samples_per_s=result["samples"] / result["drained_s"],
        ratio_to_writer=result["written_s"] / result["drained_s"],
        steady_ratio_to_writer=(
            result["steady"] * result["written_s"] / result["entries"] if result["steady"] else None
        ),
        recorder_cpu_s_per_million_samples=result["cpu_s"] / (result["samples"] / 1e6),
        **result,
    )
