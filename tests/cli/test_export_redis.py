"""`rtastream export` without --store: a session straight from Redis, in the store's layout,
read back with pyarrow alone against the arrays the test wrote, and the same tables as the
export of its recording."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from cli_helpers import run_cli
from recorder_helpers import CONFIG, MS, T0, Written, record_session, samples_in, write_session

pytestmark = pytest.mark.slow


def export(redis_url, identity, out, *more):
    done = run_cli("export", identity, "--redis", redis_url, "--out", str(out), *more)
    assert done.returncode == 0, done.stderr
    return done


def test_export_from_redis_holds_every_item_as_written(redis_url, r, tmp_path):
    r.set("configs:cfg-1", json.dumps(CONFIG))
    written = Written()
    write_session(redis_url, "run-r", written)
    out = tmp_path / "out"
    done = export(redis_url, "run-r", out)

    assert samples_in(str(out)) == written.samples
    printed = done.stdout.split()
    assert printed[0] == str(out / "session.json")
    assert sorted(printed[1:]) == sorted(str(p) for p in out.glob("*.parquet"))
    record = json.loads((out / "session.json").read_text())
    assert (record["identity"], record["state"], record["stream"]) == ("run-r", "closed", "car")
    gear = pq.read_table(out / "timestamped.uint8.parquet").to_pydict()
    assert set(gear["name"]) == {"gear"} and set(gear["channel"]) == {11}
    rows = pq.read_table(out / "rows.parquet").to_pydict()
    assert rows["data"] == [np.array([k, -k], dtype="<i4").tobytes() for k in range(20)]
    assert rows["timestamp"] == [T0 + k * 100 * MS for k in range(20)]
    events = pq.read_table(out / "events.parquet").to_pydict()
    assert events["status_text"] == [f"lap {k}" for k in range(20)]
    history = pq.read_table(out / "history.parquet").to_pydict()["json"]
    assert [json.loads(h)["state"] for h in history] == ["open", "closed"]


def test_export_from_redis_and_from_the_store_give_the_same_tables(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    record_session(redis_url, r, store, "run-s")
    export(redis_url, "run-s", tmp_path / "redis")
    done = run_cli("export", "run-s", "--store", store, "--out", str(tmp_path / "store-out"))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "redis").glob("*.parquet"))
    assert names == sorted(p.name for p in (tmp_path / "store-out").glob("*.parquet"))
    for name in names:
        assert pq.read_table(tmp_path / "redis" / name).equals(
            pq.read_table(tmp_path / "store-out" / name)
        ), name


def test_export_of_a_session_redis_does_not_have_fails_in_one_line(redis_url, tmp_path):
    done = run_cli("export", "nope", "--redis", redis_url, "--out", str(tmp_path / "x"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "nope" in done.stderr and "Traceback" not in done.stderr
