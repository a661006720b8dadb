"""The recorder under faults: SIGKILL at random moments, entries re-sent or trimmed before
they were read, Redis restarting, two recorders on one stream. Exactly once, or reported."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import redis

import rtastream
from recorder_helpers import (
    MS,
    T0,
    Written,
    complete,
    record_of,
    recorded,
    recording,
    stored_samples,
    wait_for,
)
from rtastream.store import Store

pytestmark = pytest.mark.slow


def write_bursts(url: str, identity: str, written: Written, bursts: int, pause: float) -> None:
    """`bursts` bursts of 50 samples of channel 1 (float64), `pause` seconds apart."""
    with rtastream.RedisStreamBuffer(url) as buffer, buffer.open_session(identity, "car") as s:
        for k in range(bursts):
            t = T0 + (k * 50 + np.arange(50)) * MS
            values = np.arange(k * 50, k * 50 + 50, dtype=np.float64)
            s.timestamped(1, t, values)
            written.add("timestamped", 1, t, values)
            s.flush()
            time.sleep(pause)


def record_command(url: str, store: str, *more: str) -> list[str]:
    return [sys.executable, "-m", "rtastream", "record", "--redis", url, "--store", store,
            "--flush-interval", "0.1", *more]  # fmt: skip


def test_sigkill_at_random_moments_loses_nothing_and_stores_nothing_twice(redis_url, tmp_path):
    store = str(tmp_path / "store")
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    command = record_command(redis_url, store, "--name", "rec-A", "--lease-ttl", "5")
    written = Written()
    writer = threading.Thread(target=write_bursts, args=(redis_url, "kill-1", written, 120, 0.03))
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    writer.start()
    kills = 0
    while writer.is_alive() or kills < 6:
        time.sleep(rng.uniform(0.05, 0.7))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    writer.join()
    try:
        wait_for(lambda: complete(store, "kill-1"), timeout=60, what="the session compacted")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    stored = stored_samples(store, "kill-1")
    assert stored == written.samples, f"seed {seed}, {kills} kills"
    history = Store(store).table("kill-1", "history")["json"].to_pylist()
    assert [json.loads(h)["state"] for h in history] == ["open", "closed"], f"seed {seed}"


def test_resent_messages_are_stored_once(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    written = Written()
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("dup-1", "car") as s:
            for k in range(10):
                t = T0 + (k * 50 + np.arange(50)) * MS
                values = np.full(50, k, dtype=np.float64)
                s.timestamped(1, t, values)
                written.add("timestamped", 1, t, values)
                s.flush()
            for _, fields in r.xrange("stream:car")[1:6]:  # what a reconnecting writer re-sends
                r.xadd("stream:car", fields)
    with recording(redis_url, store) as recorder:
        wait_for(lambda: complete(store, "dup-1"), what="the session compacted")
    assert recorder.followed["car"].duplicates == 5
    assert stored_samples(store, "dup-1") == written.samples


def redis_major(client: redis.Redis) -> int:
    return int(str(client.info("server")["redis_version"]).split(".")[0])


def test_entries_trimmed_before_they_were_read_are_reported(redis_url, r, tmp_path):
    if redis_major(r) < 7:
        pytest.skip("gap reports need XINFO's max-deleted-entry-id (Redis 7.0)")
    store = str(tmp_path / "store")
    kept = Written()
    t = T0 + np.arange(100) * MS
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("trim-1", "car") as s:
            with recording(redis_url, store):
                s.timestamped(1, t[:50], np.arange(50.0))
                s.flush()
                kept.add("timestamped", 1, t[:50], np.arange(50.0))
                wait_for(lambda: recorded(store, "trim-1"), what="the first part recorded")
            s.timestamped(1, t[50:80], np.arange(50.0, 80.0))  # lost: trimmed while unread
            s.flush()
            position, _ = Store(store).position("car")
            lost = len(r.xrange("stream:car", "(" + position, "+"))
            r.xtrim("stream:car", maxlen=0)
            s.timestamped(1, t[80:], np.arange(80.0, 100.0))
            kept.add("timestamped", 1, t[80:], np.arange(80.0, 100.0))
            s.flush()
            after_gap = r.xrange("stream:car", count=1)[0][0].decode()
    gaps = []
    with recording(redis_url, store, on_gap=gaps.append):
        wait_for(lambda: complete(store, "trim-1"), what="the session compacted")
    assert [(g["after"], g["before"], g["entries"], g["sessions"]) for g in gaps] == [
        (position, after_gap, lost, ["trim-1"])
    ]
    assert Store(store).reports() == gaps
    assert record_of(store, "trim-1")["gaps"] == gaps
    assert stored_samples(store, "trim-1") == kept.samples


def test_a_redis_restart_mid_session_loses_nothing(private_redis, tmp_path):
    server = private_redis()
    store = str(tmp_path / "store")
    written = Written()
    with recording(server.url, store):
        with rtastream.RedisStreamBuffer(server.url, reconnect_timeout=30) as buffer:
            with buffer.open_session("restart-1", "car") as s:
                t = T0 + np.arange(200) * MS
                s.timestamped(1, t[:100], np.arange(100.0))
                written.add("timestamped", 1, t[:100], np.arange(100.0))
                s.flush()
                wait_for(lambda: recorded(store, "restart-1"), what="the first part recorded")
                server.stop()
                server.start()
                s.timestamped(1, t[100:], np.arange(100.0, 200.0))
                written.add("timestamped", 1, t[100:], np.arange(100.0, 200.0))
        wait_for(lambda: complete(store, "restart-1"), what="the session compacted")
    assert stored_samples(store, "restart-1") == written.samples


def test_two_recorders_on_one_stream_store_it_once(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    written = Written()
    with recording(redis_url, store, name="first") as first:
        wait_for(lambda: True)
        with recording(redis_url, store, name="second") as second:
            writer = threading.Thread(
                target=write_bursts, args=(redis_url, "two-1", written, 40, 0.02)
            )
            writer.start()
            wait_for(lambda: "car" in first.followed or "car" in second.followed)
            holder, other = (first, second) if "car" in first.followed else (second, first)
            assert r.get("recorders:lease:car").decode() == holder.name
            assert "car" not in other.followed
            time.sleep(0.3)
            holder.stop()  # gives the lease back: the other takes the stream over
            wait_for(lambda: "car" in other.followed, what="the other taking over")
            writer.join()
            wait_for(lambda: complete(store, "two-1"), what="the session compacted")
    assert stored_samples(store, "two-1") == written.samples


def test_record_exits_0_on_sigterm_and_gives_its_leases_back(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    with rtastream.RedisStreamBuffer(redis_url) as buffer, buffer.open_session("term-1", "car"):
        pass
    process = subprocess.Popen(record_command(redis_url, store), stderr=subprocess.PIPE)
    wait_for(lambda: complete(store, "term-1"), what="the session compacted")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert b"recording" in err
    assert r.get("recorders:lease:car") is None
    assert os.listdir(tmp_path / "store" / "live" / "car")  # the position stays


def test_a_redis_cluster_is_recorded_stream_by_stream(cluster_url, tmp_path):
    store = str(tmp_path / "store")
    written = {name: Written() for name in ("car-a", "car-b", "car-c")}
    with recording(cluster_url, store):
        for name, samples in written.items():
            write_bursts_on(cluster_url, f"{name}-run", name, samples)
        for name in written:
            wait_for(lambda n=name: complete(store, f"{n}-run"), what=f"{name} compacted")
    for name, samples in written.items():
        assert stored_samples(store, f"{name}-run") == samples.samples


def write_bursts_on(url: str, identity: str, stream: str, written: Written) -> None:
    with rtastream.RedisStreamBuffer(url) as buffer, buffer.open_session(identity, stream) as s:
        for k in range(5):
            t = T0 + (k * 50 + np.arange(50)) * MS
            s.timestamped(1, t, np.full(50, k, dtype=np.float64))
            written.add("timestamped", 1, t, np.full(50, k, dtype=np.float64))
            s.flush()


def test_a_master_behind_sentinel_is_recorded(sentinel_group, tmp_path):
    store = str(tmp_path / "store")
    written = Written()
    with recording(sentinel_group.url, store):
        write_bursts_on(sentinel_group.url, "sentinel-run", "car-s", written)
        wait_for(lambda: complete(store, "sentinel-run"), what="the session compacted")
    assert stored_samples(store, "sentinel-run") == written.samples


def test_a_recorder_killed_mid_compaction_compacts_the_session_again(redis_url, tmp_path):
    """Killed while its runs are in scratch files: restarted, it compacts the session
    from its segments again, every sample once, and leaves no scratch file behind."""
    store = str(tmp_path / "store")
    written = Written()
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("spill-1", "car") as session:
            for k in range(40):
                t = T0 + (k * 2000 + np.arange(2000)) * MS
                values = np.random.default_rng(k).random((16, 2000))
                session.timestamped(list(range(16)), t, values)
                for channel in range(16):
                    written.add("timestamped", channel, t, values[channel])
    command = record_command(redis_url, store, "--name", "rec-A", "--compaction-memory", "1")
    scratch = tmp_path / "store/compacting/car"
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: list(scratch.glob("*/*.arrow")), what="runs in scratch files")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not complete(store, "spill-1"), "compacted before it could be killed"
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: complete(store, "spill-1"), timeout=60, what="the session compacted")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert stored_samples(store, "spill-1") == written.samples
    assert list(scratch.glob("*")) == []
