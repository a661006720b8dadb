"""Sessions with a configuration, on a real Redis, through both writers: the configuration
published once at configs:<identifier>, bound in the stream's and the hash's Session JSON
(read back with python-lz4 and the official protobuf classes), and every data call checked
against it, a refused call losing nothing written before it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re

import numpy as np
import pytest

import rtastream
import rtastream.aio
from rtastream.configuration import Configuration
from stream_oracle import read_stream

CONFIG = Configuration.simple(
    "car",
    {
        "speed": (np.float64, "timestamped", "km/h"),
        "rpm": (np.int32, "periodic", "1/min"),
        "gear": (np.uint8, "row", ""),
        "fuel": (np.float32, "row", "kg"),
    },
    events={8: "0008:car Pit lane"},
)
T0 = 1_750_000_000_000_000_000


class Synced:
    """An asyncio session driven from sync test code: each call run to completion on the
    test's own event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, session) -> None:
        self.loop, self.session = loop, session

    def __getattr__(self, name):
        method = getattr(self.session, name)
        return lambda *a, **k: self.loop.run_until_complete(method(*a, **k))


@contextlib.contextmanager
def opened(driver: str, url: str, identity: str, **kwargs):
    """A session of the sync or the asyncio writer, closed at the end."""
    if driver == "sync":
        with rtastream.RedisStreamBuffer(url) as buffer:
            with buffer.open_session(identity, "cars", **kwargs) as session:
                yield session
        return
    loop = asyncio.new_event_loop()
    buffer = rtastream.aio.RedisStreamBuffer(url)
    try:
        session = loop.run_until_complete(buffer.open_session(identity, "cars", **kwargs))
        yield Synced(loop, session)
        loop.run_until_complete(session.close())
    finally:
        loop.run_until_complete(buffer.close())
        loop.close()


DRIVERS = ["sync", "asyncio"]


def stream_jsons(r) -> list[dict]:
    return [j for entry in read_stream(r, "cars") for j in entry.jsons()]


def hash_json(r, identity: str) -> dict:
    return json.loads(r.hget(f"sessions:{identity}", "json"))


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_configuration_is_published_and_bound_in_stream_and_hash(driver, r, redis_url):
    with opened(driver, redis_url, "lap1", config=CONFIG.to_dict()) as session:
        session.flush()
        key = f"configs:{CONFIG.identifier}"
        stored = r.get(key)
        assert hashlib.sha256(stored).hexdigest() == CONFIG.identifier
        assert json.loads(stored)["car"]["channels"][0] == {
            "id": 1,
            "name": "speed",
            "source": "timestamped",
            "type": "f64",
        }
        assert r.ttl(key) == -1  # no expiry
        binding = [{"identifier": CONFIG.identifier, "channelOffset": 0}]
        assert hash_json(r, "lap1")["configBindings"] == binding
        assert stream_jsons(r)[0]["configBindings"] == binding
    # The final Session JSON keeps it, in the stream and in the hash.
    assert [j["configBindings"] for j in stream_jsons(r)] == [binding, binding]
    assert hash_json(r, "lap1")["state"] == "closed"
    assert hash_json(r, "lap1")["configBindings"] == binding


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_channel_offset_is_bound_and_checked_in_session_channels(driver, r, redis_url):
    with opened(driver, redis_url, "lap1", config=CONFIG, channel_offset=1000) as session:
        session.timestamped(1001, [T0], np.array([1.5]))
        with pytest.raises(ValueError, match=r"channel 1 is not in the session's configuration"):
            session.timestamped(1, [T0 + 1], np.array([1.5]))
        session.flush()
        assert hash_json(r, "lap1")["configBindings"] == [
            {"identifier": CONFIG.identifier, "channelOffset": 1000}
        ]


def test_the_same_configuration_is_reused_a_changed_one_gets_a_new_key(r, redis_url):
    with opened("sync", redis_url, "lap1", config=CONFIG):
        pass
    first = {k: r.get(k) for k in r.keys("configs:*")}
    r.set(f"configs:{CONFIG.identifier}", b"sentinel: not overwritten")
    with opened("sync", redis_url, "lap2", config=CONFIG.to_json()):
        pass
    assert r.get(f"configs:{CONFIG.identifier}") == b"sentinel: not overwritten"
    changed = Configuration.simple("car", {"speed": (np.float32, "timestamped", "km/h")})
    with opened("sync", redis_url, "lap3", config=changed):
        pass
    assert set(r.keys("configs:*")) == {*first, f"configs:{changed.identifier}".encode()}
    assert hash_json(r, "lap2")["configBindings"][0]["identifier"] == CONFIG.identifier
    assert hash_json(r, "lap3")["configBindings"][0]["identifier"] == changed.identifier


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_bad_configuration_writes_nothing(driver, r, redis_url):
    bad = CONFIG.to_dict()
    bad["car"]["parameters"][0]["conv"] = "missing:car"
    with pytest.raises(ValueError, match=re.escape("car.parameters[0].conv: 'missing:car'")):
        with opened(driver, redis_url, "lap1", config=bad):
            pass
    assert r.keys("*") == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_session_can_be_bound_later(driver, r, redis_url):
    with opened(driver, redis_url, "lap1") as session:
        session.timestamped(1, [T0], np.array([1.0], np.float32))  # not checked yet
        session.update(config=CONFIG, details={"driver": "A"})
        with pytest.raises(ValueError, match=r"channel 1 \(speed:car\) is configured f64"):
            session.timestamped(1, [T0 + 1], np.array([1.0], np.float32))
        session.timestamped(1, [T0 + 2], np.array([2.0]))
        session.flush()
        assert r.exists(f"configs:{CONFIG.identifier}")
        updated = hash_json(r, "lap1")
        assert updated["details"] == {"driver": "A"}
        assert updated["configBindings"] == [{"identifier": CONFIG.identifier, "channelOffset": 0}]
        assert "configBindings" not in stream_jsons(r)[0]
        assert stream_jsons(r)[1]["configBindings"] == updated["configBindings"]


# ---- every data call checked ----

REFUSALS = [
    (
        lambda s: s.timestamped(1, [T0 + 10], np.array([1], np.float32)),
        "timestamped(): channel 1 (speed:car) is configured f64 (numpy float64), got float32 "
        "values: convert them (np.asarray(values, dtype=np.float64))",
    ),
    (
        lambda s: s.timestamped([1, 9], [T0 + 10], np.zeros((2, 1))),
        "timestamped(): channel 9 is not in the session's configuration (it has channel 1 "
        "(speed:car), channel 2 (rpm:car), channel 3 (gear:car), channel 4 (fuel:car))",
    ),
    (
        lambda s: s.periodic(1, T0 + 10, 1000, np.zeros(4)),
        "periodic(): channel 1 (speed:car) is configured timestamped: write it with "
        "timestamped(), not periodic()",
    ),
    (
        lambda s: s.periodic(2, T0 + 10, 1000, np.zeros(4)),
        "periodic(): channel 2 (rpm:car) is configured s32 (numpy int32), got float64 values",
    ),
    (
        lambda s: s.periodics([2, 3], T0 + 10, 1000, np.zeros((2, 4), np.int32)),
        "periodics(): channel 3 (gear:car) is configured row: write it with row() or rows(), "
        "not periodics()",
    ),
    (
        lambda s: s.row([2], T0 + 10, b"\0\0\0\0"),
        "row(): channel 2 (rpm:car) is configured periodic: write it with periodic() or "
        "periodics(), not row()",
    ),
    (
        lambda s: s.row([3, 4], T0 + 10, b"\0" * 8),
        "row(): the buffer holds 8 bytes, but channels [3, 4] are configured as u8, f32: 5 bytes",
    ),
    (
        lambda s: s.row([3, 4], T0 + 10, np.zeros(1, dtype=[("g", "u1"), ("f", "f8")])),
        "row(): channel 4 (fuel:car) is configured f32 (numpy float32), got float64 values",
    ),
    (
        lambda s: s.rows([3], [T0 + 10], np.zeros((1, 1), np.int8)),
        "rows(): channel 3 (gear:car) is configured u8 (numpy uint8), got int8 values",
    ),
    (
        lambda s: s.timestamped(3, [T0 + 10], [1.0]),
        "timestamped(): channel 3 (gear:car) is configured row: write it with row() or rows()",
    ),
    (
        lambda s: s.event(9, T0 + 10, "pit"),
        "event id 9 is not defined in the session's configuration (defined: 8)",
    ),
    (
        lambda s: s.events([8, 7], [T0 + 10, T0 + 11]),
        "event id 7 is not defined in the session's configuration (defined: 8)",
    ),
]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(("call", "message"), REFUSALS)
def test_every_data_call_is_checked_and_a_refusal_loses_nothing(
    driver, r, redis_url, call, message
):
    with opened(driver, redis_url, "lap1", config=CONFIG) as session:
        session.timestamped(1, [T0, T0 + 1], np.array([1.0, 2.0]))
        session.periodic(2, T0, 1000, np.array([7, 8], np.int32))
        session.row([3, 4], T0 + 5, np.array([3], np.uint8).tobytes() + np.float32(2.5).tobytes())
        session.rows([3], [T0 + 6], np.array([[4]], np.uint8))
        session.event(8, T0 + 7, "pit")
        with pytest.raises(ValueError, match=re.escape(message)):
            call(session)
        session.flush()
    data = [d for entry in read_stream(r, "cars") for d in entry.burst.data]
    kinds = [d.WhichOneof("data") for d in data]
    assert kinds.count("timestamped_data") == 1
    assert kinds.count("periodic_data") == 1
    assert kinds.count("row_data") == 2
    assert kinds.count("event") == 1
    (ts,) = [d.timestamped_data for d in data if d.WhichOneof("data") == "timestamped_data"]
    assert np.frombuffer(ts.buffer, np.float64).tolist() == [1.0, 2.0]


def test_configured_calls_write_what_they_did_before(r, redis_url):
    with opened("sync", redis_url, "lap1", config=CONFIG) as session:
        session.timestamped([1], [T0], np.array([[1.0]]))
        session.timestamped(np.array([1], np.uint32), [T0 + 1], np.array([[2.0]]))
        session.periodics([2], T0, 1000, np.array([[1, 2]], np.int32))
        session.row(np.array([4, 3]), T0, np.float32(1).tobytes() + b"\1")
        session.events(np.array([8, 8]), [T0, T0 + 1])
    data = [d for entry in read_stream(r, "cars") for d in entry.burst.data]
    by_kind: dict[str, list] = {}
    for d in data:
        by_kind.setdefault(d.WhichOneof("data"), []).append(getattr(d, d.WhichOneof("data")))
    (ts,) = by_kind["timestamped_data"]
    assert (ts.channel_id, np.frombuffer(ts.buffer, np.float64).tolist()) == (1, [1.0, 2.0])
    (periodic,) = by_kind["periodic_data"]
    assert np.frombuffer(periodic.buffer, "<i4").tolist() == [1, 2]
    (row,) = by_kind["row_data"]
    assert (list(row.channel_ids), row.buffer) == ([4, 3], np.float32(1).tobytes() + b"\1")
    assert [e.event_definition_id for e in by_kind["event"]] == [8, 8]


def test_on_a_redis_cluster_the_configuration_goes_to_its_keys_node(rc, cluster_url):
    changed = Configuration.simple("car", {"speed": (np.float32, "timestamped", "km/h")})
    with opened("sync", cluster_url, "lap1", config=CONFIG) as session:
        session.timestamped(1, [T0], np.array([1.0]))
        session.update(config=changed, channel_offset=100)
        session.timestamped(101, [T0], np.array([1.0], np.float32))
    assert rc.get(f"configs:{CONFIG.identifier}") == CONFIG.to_json().encode()
    assert rc.get(f"configs:{changed.identifier}") == changed.to_json().encode()
    assert json.loads(rc.hget("sessions:lap1", "json"))["configBindings"] == [
        {"identifier": CONFIG.identifier, "channelOffset": 0},
        {"identifier": changed.identifier, "channelOffset": 100},
    ]


def test_unbinding_stops_the_checks(r, redis_url):
    with opened("sync", redis_url, "lap1", config=CONFIG) as session:
        session.update(config_bindings=[])
        session.timestamped(9, [T0], np.array([1.0], np.float32))  # no configuration now
        session.flush()
        assert "configBindings" not in hash_json(r, "lap1")
