"""Names in the store: a stream, identity or identifier is one path component, whatever its
length or characters (file systems refuse components over 255 bytes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recorder_helpers import recording, wait_for
from rtastream import RedisStreamBuffer
from rtastream.store import Store
from rtastream.store.files import name_of

pytestmark = pytest.mark.slow


@given(st.text(min_size=1, max_size=400), st.text(min_size=1, max_size=400))
@example(".", "..")
@example(".tmp-1", "%2Etmp-1")
def test_every_name_is_one_short_component_and_no_two_texts_share_one(a, b):
    for text in (a, b):
        name = name_of(text)
        assert "/" not in name and len(name.encode()) <= 255
        assert not name.startswith(".")  # not ".", "..", nor a temporary file's name
    assert (name_of(a) == name_of(b)) == (a == b)


def test_a_session_with_a_long_identity_is_recorded_and_found(redis_url, tmp_path):
    identity = "Ñ" * 150 + "/lap 1"  # 900 bytes percent-encoded
    store = str(tmp_path / "store")
    t = 1_700_000_000_000_000_000 + np.arange(10, dtype=np.int64) * 1_000_000
    with recording(redis_url, store):
        with RedisStreamBuffer(redis_url) as buffer:
            with buffer.open_session(identity, "car") as session:
                session.timestamped(1, t, np.arange(10.0))
        wait_for(lambda: (r := Store(store).session(identity)) and r["complete"], what="stored")
    assert Store(store).session(identity)["identity"] == identity
    assert Store(store).session(identity + "x") is None
    series = Store(store).read(identity, "timestamped", [1])[1]
    assert series.timestamps.tolist() == t.tolist()
    assert series.values.tobytes() == np.arange(10.0).tobytes()
