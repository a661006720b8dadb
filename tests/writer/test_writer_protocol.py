"""The sync writer against the real redis-server: every rule of docs/protocol.md, read back
independently (stream_oracle: redis-py, python-lz4, protobuf)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pytest
import redis

import rtastream
from rtastream import Burst, IllegalTransition, RedisStreamBuffer, Session
from rtastream.redis_server import free_port, server_binary
from stream_oracle import check_session, entry_key, read_stream, session_entries
from waiting import wait_until

T0 = 1_750_000_000_000_000_000
MS = 1_000_000


def data_burst(t0: int, channels=(1, 2), samples=16) -> Burst:
    burst = Burst()
    times = t0 + np.arange(samples, dtype=np.int64) * 10 * MS
    burst.timestamped(
        list(channels),
        times,
        np.arange(len(channels) * samples, dtype=np.float64).reshape(len(channels), -1),
    )
    burst.time_range(T0, int(times[-1]))
    return burst


def test_opening_writes_ids_set_hash_and_first_message(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        session = buffer.open_session("run-1", "car-1")
        assert session.stream_session_id == 1 == int(r.get("lastStreamSessionId"))
        assert r.smembers("streams") == {b"car-1"}
        record = r.hgetall("sessions:run-1")
        assert record[b"streamSessionId"] == b"1"
        assert record[b"streamName"] == b"car-1"
        assert record[b"streamPosition"] == b"0-0"  # the stream did not exist
        assert abs(int(record[b"lastUpdated"]) - time.time() * 1000) < 60_000
        assert json.loads(record[b"json"])["state"] == "open"
        assert 24 * 3600 - 60 < r.ttl("sessions:run-1") <= 24 * 3600
        (entry,) = read_stream(r, "car-1")
        assert entry.session_id == 1 and entry.kinds() == ["session_json"]
        session.close()
    check_session(r, "run-1", "car-1")


def test_data_round_trips_and_session_follows_protocol(redis_url, r):
    values = np.random.default_rng(1).normal(size=(64, 128))
    times = T0 + np.arange(128, dtype=np.int64) * MS
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("run-2", "car-1") as session:
            burst = Burst()
            burst.timestamped(list(range(100, 164)), times, values)
            burst.time_range(T0, int(times[-1]))
            session.write(burst)
            session.event(7, int(times[-1]) + MS, "pit stop", [1.5], "app")
    record, entries = check_session(r, "run-2", "car-1")
    items = [
        item
        for e in entries[1:-1]
        for item in rtastream.decode(
            r.xrange("stream:car-1", e.entry_id, e.entry_id)[0][1][b"data"]
        )
    ]
    decoded = {i.channel_id: i for i in items if isinstance(i, rtastream.TimestampedItem)}
    assert sorted(decoded) == list(range(100, 164))
    for k, channel in enumerate(range(100, 164)):
        np.testing.assert_array_equal(decoded[channel].timestamps, times)
        np.testing.assert_array_equal(decoded[channel].values("<f8"), values[k])
    (event,) = [i for i in items if isinstance(i, rtastream.EventItem)]
    assert (event.definition_id, event.status_text, event.app_name) == (7, "pit stop", "app")
    # Final time range: from the first timestamp seen to the event, the latest one.
    assert (int(record[b"tStart"]), int(record[b"tEnd"])) == (T0, int(times[-1]) + MS)


def test_stream_position_is_the_last_entry_before_the_session(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("first", "car-1") as session:
            session.write(data_burst(T0))
        last_id = r.xrevrange("stream:car-1", count=1)[0][0]
        with buffer.open_session("second", "car-1") as second:
            second.write(data_burst(T0 + 10**9))
            assert second.stream_session_id == 2
    assert r.hget("sessions:second", "streamPosition") == last_id
    check_session(r, "first", "car-1")
    check_session(r, "second", "car-1")


def test_interleaved_sessions_on_one_stream_and_several_streams(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        a = buffer.open_session("a", "shared")
        b = buffer.open_session("b", "shared")
        c = buffer.open_session("c", "other")
        for k in range(5):
            for n, session in enumerate((a, b, c)):
                session.write(data_burst(T0 + (10 * k + n) * 10**9, channels=(n + 1,)))
        for session in (b, a, c):
            session.close()
    assert r.smembers("streams") == {b"shared", b"other"}
    ids = {name: int(r.hget(f"sessions:{name}", "streamSessionId")) for name in "abc"}
    assert sorted(ids.values()) == [1, 2, 3]
    shared = read_stream(r, "shared")
    assert {e.session_id for e in shared} == {ids["a"], ids["b"]}
    for name, stream in (("a", "shared"), ("b", "shared"), ("c", "other")):
        _, entries = check_session(r, name, stream)
        data = [e for e in entries if "timestamped_data" in e.kinds()]
        starts = [e.burst.data[0].timestamped_data.start_timestamp for e in data]
        assert len(data) == 5 and starts == sorted(starts)  # in order, none lost
        assert {
            d.timestamped_data.channel_id
            for e in data
            for d in e.burst.data
            if d.WhichOneof("data") == "timestamped_data"
        } == {"abc".index(name) + 1}
    # Interleaved: b's entries sit between a's first and last.
    a_ids = [entry_key(e.entry_id) for e in shared if e.session_id == ids["a"]]
    assert any(
        a_ids[0] < entry_key(e.entry_id) < a_ids[-1] for e in shared if e.session_id == ids["b"]
    )


def test_exception_fails_the_session_and_propagates(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with pytest.raises(ZeroDivisionError):
            with buffer.open_session("boom", "car-1") as session:
                session.write(data_burst(T0))
                1 / 0  # noqa: B018
        assert session.state is rtastream.SessionState.FAILED
    check_session(r, "boom", "car-1", final_state="failed")


def test_keyboard_interrupt_truncates_the_session(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with pytest.raises(KeyboardInterrupt):
            with buffer.open_session("ctrl-c", "car-1") as session:
                session.row([1, 2], T0, np.array([1.0, 2.0]).tobytes())
                raise KeyboardInterrupt
    check_session(r, "ctrl-c", "car-1", final_state="truncated")


def test_waiting_open_updates_and_illegal_transitions(redis_url, r):
    model = Session("prep", state="waiting", identifier="Qualifying", details={"track": "X"})
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("prep", "car-1", model) as session:
            assert session.state.json_name == "waiting"
            session.update(state="open")
            session.write(data_burst(T0))
            session.update(details={"track": "X", "lap": 2}, quality=0.9)
            with pytest.raises(IllegalTransition, match="from open to waiting"):
                session.update(state="waiting")
            with pytest.raises(ValueError, match="end a session by closing it"):
                session.update(state="closed")
        with pytest.raises(RuntimeError, match="session 'prep' is closed"):
            session.write(data_burst(T0))
    _, entries = check_session(r, "prep", "car-1")
    docs = [doc for e in entries for doc in e.jsons()]
    assert [d["state"] for d in docs] == ["waiting", "open", "open", "closed"]
    assert docs[0]["identifier"] == "Qualifying" and docs[0]["details"] == {"track": "X"}
    assert docs[-1]["details"] == {"track": "X", "lap": 2} and docs[-1]["quality"] == 0.9


def test_session_given_as_text_or_dict(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("t", "car-1", '{"identity": "t", "type": "Run"}'):
            pass
        with buffer.open_session("d", "car-1", {"identity": "d", "group": "G"}):
            pass
        with pytest.raises(ValueError, match="identity 'x' differs from identity 'y'"):
            buffer.open_session("y", "car-1", {"identity": "x"})
        with buffer.open_session("twice", "car-1"):
            with pytest.raises(ValueError, match="session 'twice' is already open"):
                buffer.open_session("twice", "car-2")
    assert check_session(r, "t", "car-1")[1][0].jsons()[0]["type"] == "Run"
    assert check_session(r, "d", "car-1")[1][0].jsons()[0]["group"] == "G"


def test_quiet_live_loop_is_flushed_by_the_timer(redis_url, r):
    with RedisStreamBuffer(redis_url, flush_interval=0.05) as buffer:
        with buffer.open_session("quiet", "car-1") as session:
            session.row([1, 2], T0, np.array([1.0, 2.0]).tobytes())
            session.periodic(3, T0 + MS, MS, np.arange(10, dtype=np.int16))
            wait_until(lambda: len(read_stream(r, "car-1")) >= 2, 5, "the timer's flush")
            entries = read_stream(r, "car-1")
            assert entries[1].kinds() == ["row_data", "periodic_data", "time_range"]
            assert entries[1].time_ranges() == [(T0, T0 + 10 * MS)]
            session.row([1, 2], T0 + 20 * MS, np.array([3.0, 4.0]).tobytes())
    _, entries = check_session(r, "quiet", "car-1")
    # Every flushed burst's range runs from the session start to the latest timestamp.
    assert [e.time_ranges() for e in entries[1:-1]] == [[(T0, T0 + 10 * MS)], [(T0, T0 + 20 * MS)]]


def test_busy_live_loop_flushes_at_the_target_size(redis_url, r):
    rows = 2000
    with RedisStreamBuffer(redis_url, target=4096, flush_interval=60) as buffer:
        with buffer.open_session("busy", "car-1") as session:
            for k in range(rows):
                session.row([1, 2, 3], T0 + k * MS, np.array([k, k, k], dtype="<f8"))
            session.flush()
            flushed = len(read_stream(r, "car-1")) - 1
            assert flushed >= 10  # at least 24 bytes of values a row: 48 KB in 4 KiB bursts
    _, entries = check_session(r, "busy", "car-1")
    row_times = [
        d.row_data.timestamp
        for e in entries
        for d in e.burst.data
        if d.WhichOneof("data") == "row_data"
    ]
    assert row_times == [T0 + k * MS for k in range(rows)]
    ends = [e.time_ranges()[-1] for e in entries[1:-1]]
    assert all(start == T0 for start, _ in ends)
    assert [end for _, end in ends] == sorted(end for _, end in ends)


def test_timer_flushes_concurrently_with_a_busy_loop(redis_url, r):
    # The timer thread takes the live burst while rows keep arriving: none lost or reordered.
    rows = 5000
    with RedisStreamBuffer(redis_url, flush_interval=0.001) as buffer:
        with buffer.open_session("racing", "car-1") as session:
            for k in range(rows):
                session.row([1], T0 + k * MS, np.array([k], dtype="<i4"))
            with pytest.raises(ValueError, match="identity cannot change"):
                session.update(identity="other")
    _, entries = check_session(r, "racing", "car-1")
    assert len(entries) > 3
    row_times = [
        d.row_data.timestamp
        for e in entries
        for d in e.burst.data
        if d.WhichOneof("data") == "row_data"
    ]
    assert row_times == [T0 + k * MS for k in range(rows)]


def test_prepacked_messages_and_hash_time_range(redis_url, r):
    messages = data_burst(T0).pack_with_time_ranges()
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("packed", "car-1") as session:
            session.write_messages(messages + [(messages[0][0], None)])
            session.flush()
            assert r.hmget("sessions:packed", "tStart", "tEnd") == [
                str(v).encode() for v in messages[-1][1]
            ]
    stored = [f[b"data"] for _, f in r.xrange("stream:car-1")]
    assert stored[1:3] == [messages[0][0]] * 2


def test_ttl_and_approximate_trimming_are_configurable(redis_url, r):
    with RedisStreamBuffer(redis_url, session_ttl=120, maxlen=10) as buffer:
        with buffer.open_session("trim", "car-1") as session:
            for k in range(300):
                session.write_messages([(rtastream.compress(b"x"), (T0, T0 + k))])
    assert 0 < r.ttl("sessions:trim") <= 120
    assert 10 <= r.xlen("stream:car-1") < 300  # approximate: whole nodes are dropped
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("no-trim", "car-2") as session:
            for _ in range(300):
                session.write_messages([(rtastream.compress(b"x"), None)])
    assert r.xlen("stream:car-2") == 302


def test_buffer_close_ends_sessions_left_open(redis_url, r):
    with pytest.raises(KeyboardInterrupt):
        with RedisStreamBuffer(redis_url) as buffer:
            buffer.open_session("left-open", "car-1").write(data_burst(T0))
            raise KeyboardInterrupt
    check_session(r, "left-open", "car-1", final_state="truncated")


def test_url_forms_unix_socket_db_and_acl_user(redis_url, r, private_redis):
    server = private_redis(unix_socket=True)
    with RedisStreamBuffer(server.url + "?db=2") as buffer:
        with buffer.open_session("unix", "car-1"):
            pass
    direct = redis.Redis.from_url(server.url + "?db=2")
    assert json.loads(direct.hget("sessions:unix", "json"))["state"] == "closed"
    direct.close()
    r.acl_setuser("writer", enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all"])
    try:
        url = redis_url.replace("redis://", "redis://writer:s3cret@").replace("/0", "/3")
        with RedisStreamBuffer(url) as buffer:
            with buffer.open_session("acl", "car-1"):
                pass
        db3 = redis.Redis.from_url(redis_url.replace("/0", "/3"))
        assert db3.exists("sessions:acl", "stream:car-1") == 2 and not r.exists("sessions:acl")
        db3.close()
        with pytest.raises(redis.AuthenticationError):
            RedisStreamBuffer(url.replace("s3cret", "wrong")).open_session("x", "car-1")
    finally:
        r.acl_deluser("writer")


@pytest.fixture
def tls_server(tmp_path):
    """redis-server with TLS only, on a self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            server_binary(),
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis.from_url(url) as probe:
                    probe.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("this redis-server was built without TLS")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait()


@pytest.mark.redis  # tls_server starts a redis-server of its own
def test_tls_url(tls_server):
    with RedisStreamBuffer(tls_server) as buffer:
        assert buffer._core.topology.node.connection_class is redis.SSLConnection
        with buffer.open_session("tls", "car-1") as session:
            session.write(data_burst(T0))
    with redis.Redis.from_url(tls_server) as client:
        check_session(client, "tls", "car-1")


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("session_ttl", 0, "session_ttl must be a positive"),
        ("maxlen", 0, "maxlen must be None or a positive int"),
        ("target", 0, "target must be between"),
        ("flush_interval", 0, "flush_interval must be > 0"),
        ("queue_size", 0, "queue_size must be a positive"),
    ],
)
def test_bad_options_are_named(option, value, message):
    with pytest.raises(ValueError, match=message):
        RedisStreamBuffer("redis://127.0.0.1:1/0", **{option: value})


def test_bad_url_is_named():
    with pytest.raises(ValueError, match="bad Redis url 'http://x'"):
        RedisStreamBuffer("http://x")


def test_sessions_of_one_entry_per_session(redis_url, r):
    # An empty session still ends with a time range: its wall-clock lifetime.
    before = time.time_ns()
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("empty", "car-1"):
            pass
    record, entries = check_session(r, "empty", "car-1")
    assert before <= int(record[b"tStart"]) <= int(record[b"tEnd"]) <= time.time_ns()
    assert len(session_entries(r, "car-1", 1)) == 2
