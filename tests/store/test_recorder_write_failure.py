"""A segment that cannot be written (the store's folder blocked) is written again once it
can be: its entries are not lost with the failed write."""

from __future__ import annotations

import json
import time

import pytest

from cli_helpers import open_session, send_data, send_json
from recorder_helpers import complete, recording, wait_for
from rtastream import keys
from rtastream.store import Store
from test_recorder_abandoned import stored_timestamps, written_timestamps

pytestmark = pytest.mark.slow


def test_a_failed_segment_write_is_written_again(redis_url, r, tmp_path):
    store = tmp_path / "store"
    r.sadd(keys.STREAMS, "car")
    with recording(redis_url, str(store)) as recorder:
        wait_for(lambda: "car" in recorder.followed, what="the stream followed")
        (store / "live").mkdir(parents=True, exist_ok=True)
        (store / "live" / "car").write_text("a file where the stream's folder goes")
        session = open_session(r, "blocked", "car")
        send_data(r, session)
        send_json(r, session, "closed")
        wait_for(lambda: recorder.followed["car"].pending, what="entries read")
        time.sleep(1.0)  # several commits, each failing
        assert not complete(str(store), "blocked")
        (store / "live" / "car").unlink()
        wait_for(lambda: complete(str(store), "blocked"), what="the session compacted")
    assert stored_timestamps(str(store), "blocked") == written_timestamps()
    record = json.loads((store / "sessions" / "blocked" / "session.json").read_text())
    assert record["state"] == "closed"
    assert Store(str(store)).position("car")[0] == session.entry_ids[-1]
