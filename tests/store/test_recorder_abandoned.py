"""Sessions whose writer died: compacted all the same, as `abandoned`, their files final
and their segments gone; a session whose writer still beats its heartbeat is left live."""

from __future__ import annotations

import threading
import time

import pyarrow.parquet as pq
import pytest
import redis

from cli_helpers import T0, open_session, run_cli, send_data, send_json
from recorder_helpers import complete, record_of, recording, wait_for
from rtastream import keys
from rtastream.store import Store

pytestmark = pytest.mark.slow


def stale(r, identity, seconds=120):
    """The session's heartbeat `seconds` old, as a writer killed that long ago left it."""
    r.hset(keys.session_key(identity), keys.LAST_UPDATED, int(time.time() * 1000) - seconds * 1000)


def heartbeat(url, identity, stop):
    """What a live writer with nothing to send does: refresh lastUpdated."""
    client = redis.Redis.from_url(url)
    while not stop.wait(0.2):
        client.hset(keys.session_key(identity), keys.LAST_UPDATED, int(time.time() * 1000))
    client.close()


def stored_timestamps(store, identity):
    # no configuration is bound: the values are kept as their bytes, 8 a sample
    table = pq.read_table(f"{store}/sessions/{identity}/timestamped.bytes8.parquet")
    return sorted(zip(table["channel"].to_pylist(), table["timestamp"].to_pylist(), strict=True))


def written_timestamps(channels=(0, 1, 2), bursts=5, samples=100):
    return sorted((c, T0 + k * 1_000_000) for c in channels for k in range(bursts * samples))


def test_a_session_whose_heartbeat_stopped_is_compacted_as_abandoned(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    dead, alive = open_session(r, "dead", "car"), open_session(r, "alive", "car")
    send_data(r, dead)
    send_data(r, alive, bursts=1)
    stale(r, "dead")
    beating = threading.Event()
    heart = threading.Thread(target=heartbeat, args=(redis_url, "alive", beating))
    heart.start()
    try:
        with recording(redis_url, store, abandon_after=1.0):
            wait_for(lambda: complete(store, "dead"), what="the dead writer's session compacted")
            time.sleep(2.5)  # past abandon_after with no entry of "alive", only its heartbeat
            assert not complete(store, "alive")
    finally:
        beating.set()
        heart.join()
    record = record_of(store, "dead")
    assert record["state"] == "abandoned"
    assert "heartbeat" in record["abandoned_by_recorder"]
    assert stored_timestamps(store, "dead") == written_timestamps()
    assert Store(store).session("alive")["state"] == "open"


def test_a_session_ended_by_trim_is_compacted(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    session = open_session(r, "trimmed", "car")
    send_data(r, session)
    stale(r, "trimmed")
    with recording(redis_url, store):  # the default abandon_after: trim comes first
        wait_for(lambda: record_of(store, "trimmed"), what="the open session recorded")
        result = run_cli("trim", "--redis", redis_url, "--stale-after", "60")
        assert result.returncode == 0, result.stderr
        wait_for(lambda: complete(store, "trimmed"), what="the session compacted")
    record = record_of(store, "trimmed")
    assert record["state"] == "abandoned" and "abandoned_by_recorder" not in record
    assert stored_timestamps(store, "trimmed") == written_timestamps()


def test_a_session_whose_hash_is_gone_is_compacted_and_its_segments_pruned(redis_url, r, tmp_path):
    store = str(tmp_path / "store")
    first = open_session(r, "expired", "car")
    send_data(r, first)
    with recording(redis_url, store, abandon_after=1.0):
        wait_for(lambda: record_of(store, "expired"), what="the open session recorded")
        r.delete(keys.session_key("expired"))  # its hash expired
        wait_for(lambda: complete(store, "expired"), what="the session compacted")
        later = open_session(r, "later", "car")  # segments after the compacted session's
        send_data(r, later, bursts=1)
        send_json(r, later, "closed")
        wait_for(lambda: complete(store, "later"), what="the next session compacted")
    assert "no session hash" in record_of(store, "expired")["abandoned_by_recorder"]
    assert stored_timestamps(store, "expired") == written_timestamps()
    reader = Store(store)
    ids = {
        session_id
        for table in reader.segment_columns("car", ["stream_session_id"])
        for session_id in table["stream_session_id"].to_pylist()
    }
    assert ids == {later.stream_session_id}  # the newest segment alone is left: the position
