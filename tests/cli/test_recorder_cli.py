"""`rtastream export` and `replay`: a recorded session out to files, and back into Redis."""

from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from cli_helpers import run_cli
from recorder_helpers import (
    complete,
    read_file,
    record_session,
    recording,
    stored_samples,
    wait_for,
)
from rtastream.reader.entries import entry_time_ms

pytestmark = pytest.mark.slow


@pytest.fixture
def recorded(redis_url, r, tmp_path):
    """A store holding session run-1 (every item kind, configuration cfg-1 bound)."""
    store = str(tmp_path / "store")
    record_session(redis_url, r, store, "run-1")
    return store


def test_export_parquet_is_the_stored_tables_with_channel_names(recorded, tmp_path):
    out = tmp_path / "out"
    done = run_cli("export", "run-1", "--store", recorded, "--out", str(out))
    assert done.returncode == 0, done.stderr
    exported = pq.read_table(out / "timestamped.uint8.parquet").to_pydict()
    stored = read_file(recorded, "run-1", "timestamped.uint8")
    assert exported.pop("name") == ["gear"] * len(stored["channel"])
    assert exported == stored
    assert json.loads((out / "session.json").read_text())["identity"] == "run-1"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}.parquet" for stem in json.loads((out / "session.json").read_text())["files"]]
        + ["session.json"]
    )


def test_export_arrow_and_csv_hold_the_same_values(recorded, tmp_path):
    for fmt in ("arrow", "csv"):
        done = run_cli("export", "run-1", "--store", recorded, "--format", fmt, "--out",
                       str(tmp_path / fmt))  # fmt: skip
        assert done.returncode == 0, done.stderr
    stored = read_file(recorded, "run-1", "timestamped.int16")
    arrow = feather.read_table(tmp_path / "arrow" / "timestamped.int16.arrow").to_pydict()
    csv = pacsv.read_csv(tmp_path / "csv" / "timestamped.int16.csv").to_pydict()
    for exported in (arrow, csv):
        assert exported["value"] == stored["value"]
        assert exported["timestamp"] == stored["timestamp"]
        assert set(exported["name"]) == {"rpm"}
    rows = pacsv.read_csv(tmp_path / "csv" / "rows.csv").to_pydict()
    assert rows["data"] == [d.hex() for d in read_file(recorded, "run-1", "rows")["data"]]


def test_export_of_an_unknown_session_fails_in_one_line(recorded, tmp_path):
    done = run_cli("export", "nope", "--store", recorded, "--out", str(tmp_path / "x"))
    assert done.returncode == 1
    assert done.stderr.strip() == "rtastream: error: the store has no session 'nope'"


def test_replay_then_record_gives_the_same_session(recorded, redis_url, r):
    with recording(redis_url, recorded):
        done = run_cli("replay", "run-1", "--store", recorded, "--redis", redis_url, "--speed",
                       "0", "--keep-time", "--as", "again")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "again"
        wait_for(lambda: complete(recorded, "again"), what="the replay compacted")
    assert stored_samples(recorded, "again") == stored_samples(recorded, "run-1")
    for stem in ("rows", "events"):
        assert read_file(recorded, "again", stem) == read_file(recorded, "run-1", stem)
    history = [json.loads(j) for j in read_file(recorded, "again", "history")["json"]]
    assert history[0]["details"] == {"driver": "A. Test"}
    assert history[0]["configBindings"] == [{"identifier": "cfg-1", "channelOffset": 10}]


def test_replay_keeps_the_timing_at_the_speed_asked(recorded, redis_url, r):
    done = run_cli("replay", "run-1", "--store", recorded, "--redis", redis_url, "--speed",
                   "10", "--as", "fast")  # fmt: skip
    assert done.returncode == 0, done.stderr
    session_id = r.hget("sessions:fast", "streamSessionId")
    times = [entry_time_ms(i.decode()) for i, f in r.xrange("stream:car") if f[b"id"] == session_id]
    # 2 s of data at 10 times the speed: about 0.2 s of stream, not at once
    assert 150 <= times[-1] - times[0] <= 2000
    start = json.loads(r.hget("sessions:fast", "json"))["timeRange"]["startTime"]
    assert abs(start // 1_000_000 - times[0]) < 5000  # timestamps moved to start now


def test_record_refuses_a_commit_interval_past_the_lease(redis_url, tmp_path):
    done = run_cli("record", "--redis", redis_url, "--store", str(tmp_path / "s"),
                   "--flush-interval", "20")  # fmt: skip
    assert done.returncode == 2
    assert "flush_interval (20.0 s) must be positive and below lease_ttl (10.0 s)" in done.stderr
