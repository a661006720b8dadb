"""Careless arguments to the writers: each refused at once, with a message naming it."""

from __future__ import annotations

import numpy as np
import pytest

import rtastream.aio
from rtastream import RedisStreamBuffer
from stream_oracle import T0, burst_at, check_session, session_entries

WRITERS = [RedisStreamBuffer, rtastream.aio.RedisStreamBuffer]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_misspelled_keyword_is_refused_by_the_constructor(writer):
    with pytest.raises(
        TypeError,
        match=r"^RedisStreamBuffer\(\) got an unexpected keyword "
        r"argument 'flush_intervall' \(did you mean "
        r"'flush_interval'\?\)$",
    ):
        writer("redis://127.0.0.1:1/0", flush_intervall=0.5)
    with pytest.raises(
        TypeError,
        match="unexpected keyword argument 'sockt_timeout' "
        r"\(did you mean 'socket_timeout'\?\)",
    ):
        writer("redis://127.0.0.1:1/0", sockt_timeout=2)
    # redis-py's own options still pass: connection, TLS and pool keywords.
    writer("rediss://127.0.0.1:1/0", socket_timeout=2, ssl_cert_reqs="none", max_connections=4)


@pytest.mark.parametrize("writer", WRITERS)
def test_sentinel_options_are_checked_by_the_constructor(writer):
    url = "redis+sentinel://127.0.0.1:1/rta"
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'sockt_timeout'"):
        writer(url, sockt_timeout=2)
    with pytest.raises(TypeError, match=r"^RedisStreamBuffer\(\) sentinel_kwargs: .*'pasword'"):
        writer(url, sentinel_kwargs={"pasword": "x"})
    with pytest.raises(ValueError, match="^cluster=True, but a Sentinel URL names a master"):
        writer(url, cluster=True)
    writer(url, socket_timeout=2, sentinel_kwargs={"password": "x"})  # redis-py's own pass


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(
    "url, problem",
    [
        ("redis://host/abc", "database 'abc' is not a number"),
        (
            "redis://:secret@host:notaport/0",
            "Port could not be cast to integer value as 'notaport'",
        ),
        ("redis://:secret@/0", "no host"),
        ("unix://", "unix:// needs a socket path"),
        (
            "http://host",
            "expected redis://HOST[:PORT][/DB], rediss://..., unix:///PATH or "
            "redis+sentinel://HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]",
        ),
        ("redis://host/0?db=x", "Invalid value for 'db' in connection URL."),
        (
            "redis+sentinel://h1:1,h2:2",
            "no service name: expected redis+sentinel://HOST[:PORT][,...]/SERVICE",
        ),
        (
            "rediss+sentinel://:secret@h1/",
            "no service name: expected rediss+sentinel://HOST[:PORT][,...]/SERVICE",
        ),
        ("redis+sentinel://h1,,h2/m", "no host"),
        ("redis+sentinel://h1:x/m", "Port could not be cast to integer value as 'x'"),
        ("redis+sentinel://h1/m/one", "database 'one' is not a number"),
        (
            "redis+sentinel://h1/m?socket_timeout=soon",
            "Invalid value for 'socket_timeout' in connection URL.",
        ),
    ],
)
def test_a_malformed_url_is_refused_by_the_library(writer, url, problem):
    with pytest.raises(ValueError) as info:
        writer(url)
    shown = url.replace(":secret@", ":***@")
    assert str(info.value) == f"bad Redis url {shown!r}: {problem}"


def test_update_with_an_unknown_property_names_update(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("lap", "car-1") as session:
            with pytest.raises(
                TypeError,
                match=r"^update\(\) got an unexpected keyword argument "
                r"'lap': it takes Session properties \(.*"
                r"details, .*\); put your own fields in "
                r"details=\{\.\.\.\}$",
            ):
                session.update(lap=3)
            session.update(details={"lap": 3})
    _, entries = check_session(r, "lap", "car-1")
    assert [d.get("details") for e in entries for d in e.jsons()] == [None, {"lap": 3}, {"lap": 3}]


def test_write_messages_takes_pack_output_as_it_is(redis_url, r):
    burst = burst_at(0)
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("bare", "car-1") as session:
            session.write_messages(burst.pack(8192))  # bare messages: no time range
            session.flush()
            assert r.hget("sessions:bare", "tStart") is None
            session.write_messages(burst.pack_with_time_ranges(8192))
    entries = session_entries(r, "car-1", session.stream_session_id)
    assert len(entries) == 2 + 2 * len(burst.pack(8192))
    check_session(r, "bare", "car-1")


@pytest.mark.parametrize(
    "messages, shown",
    [
        ([("not bytes", None)], "tuple ('not bytes', None)"),
        ([bytearray(b"x")], "bytearray bytearray(b'x')"),
        ([(b"x", (2, 1))], "tuple (b'x', (2, 1))"),
        ([(b"x", None, None)], "tuple (b'x', None, None)"),
    ],
)
def test_write_messages_says_what_it_expects(redis_url, r, messages, shown):
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("wrong", "car-1") as session:
            session.row([1], T0, np.array([1.0]))
            with pytest.raises(TypeError) as info:
                session.write_messages([(b"ok", (T0, T0))] + messages)
            assert str(info.value) == (
                "write_messages() takes messages as Burst.pack() gives them (bytes) or as "
                "pack_with_time_ranges() gives them ((bytes, (start, end) or None) pairs), "
                f"got {shown}"
            )
    # Nothing of the refused call was written; the row given before it was.
    _, entries = check_session(r, "wrong", "car-1")
    assert [e.kinds() for e in entries[1:]] == [
        ["row_data", "time_range"],
        ["time_range", "session_json"],
    ]
