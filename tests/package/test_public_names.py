"""The public names: asyncio twins under the sync names (rtastream.aio, rtastream.reader.aio),
their former names kept as the same objects for a release, what rtastream.reader exports,
and RtaStreamError under every error rtastream raises of its own."""

from __future__ import annotations

import pytest
import redis

import rtastream
import rtastream.aio
import rtastream.reader
import rtastream.reader.aio
import rtastream.reader.sync
from rtastream import RtaStreamError, Session

AT = "127.0.0.1:1"


def test_the_asyncio_twins_carry_the_sync_names():
    for module in (rtastream.aio, rtastream.reader.aio):
        for name in ("SessionReader",):
            assert getattr(module, name).__name__ == getattr(rtastream, name).__name__
    assert rtastream.aio.SessionReader is rtastream.reader.aio.SessionReader
    assert rtastream.reader.aio.StreamReader.__name__ == rtastream.reader.StreamReader.__name__
    assert rtastream.reader.aio.run.__name__ == rtastream.reader.run.__name__ == "run"
    assert rtastream.reader.aio.SessionReader is not rtastream.reader.sync.SessionReader


def test_the_former_asyncio_names_are_the_same_objects():
    assert rtastream.AsyncSessionReader is rtastream.aio.SessionReader
    assert rtastream.reader.AsyncSessionReader is rtastream.reader.aio.SessionReader
    assert rtastream.reader.AsyncStreamReader is rtastream.reader.aio.StreamReader
    assert rtastream.reader.run_async is rtastream.reader.aio.run


def test_the_reader_exports_what_users_need():
    assert set(rtastream.reader.__all__) == {
        "aio",
        "SessionReader",
        "StreamReader",
        "run",
        "SessionNotFound",
        "Entry",
        "BadEntry",
        "Series",
        "collect",
        "SessionRecord",
        "StreamRecord",
        "list_sessions",
        "read_session",
        "read_stream",
        "scan_sessions",
        "stream_names",
        "stream_sessions",
        # deprecated, for one release
        "AsyncSessionReader",
        "AsyncStreamReader",
        "run_async",
    }
    for name in rtastream.reader.__all__:
        assert hasattr(rtastream.reader, name), name


@pytest.mark.parametrize(
    "error, also",
    [
        (
            rtastream.RedisUnavailable(AT, "refused"),
            (redis.ConnectionError, ConnectionError),
        ),
        (rtastream.RedisRefused(AT, "no such db"), (redis.ConnectionError,)),
        (
            rtastream.RedisAuthenticationError(AT, "WRONGPASS"),
            (redis.AuthenticationError,),
        ),
        (
            rtastream.RedisCommandError("XADD", "stream:x", ValueError("OOM")),
            (redis.ResponseError,),
        ),
        (rtastream.SessionNotFound("x"), (LookupError,)),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_every_error_is_an_rtastream_error_and_what_it_was(error, also):
    assert isinstance(error, RtaStreamError)
    assert isinstance(error, also)


def test_an_illegal_transition_is_an_rtastream_error_and_a_value_error():
    closed = Session(identity="x").transition("closed")
    with pytest.raises(RtaStreamError) as info:
        closed.transition("open")
    assert isinstance(info.value, rtastream.IllegalTransition)
    assert isinstance(info.value, ValueError)
