"""Opening a session: a refused open leaves nothing that looks live, and a re-used identity
starts afresh."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

import rtastream.aio
from rtastream import RedisCommandError, RedisStreamBuffer
from stream_oracle import T0, burst_at, check_session

OPENED_FIELDS = {b"streamSessionId", b"streamName", b"streamPosition", b"lastUpdated", b"json"}


@pytest.fixture
def no_xadd_url(redis_url, r):
    """A user who may do everything but XADD."""
    r.acl_setuser(
        "no-xadd", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-xadd"]
    )
    yield redis_url.replace("redis://", "redis://no-xadd:pw@")
    r.acl_deluser("no-xadd")


def test_a_refused_first_message_leaves_no_hash(no_xadd_url, r):
    with RedisStreamBuffer(no_xadd_url) as buffer:
        with pytest.raises(
            RedisCommandError, match="XADD on key 'stream:car-1': NoPermissionError"
        ):
            buffer.open_session("refused", "car-1")
    assert not r.exists("sessions:refused")


def test_a_refused_first_message_leaves_no_hash_asyncio(no_xadd_url, r):
    async def main():
        async with rtastream.aio.RedisStreamBuffer(no_xadd_url) as buffer:
            with pytest.raises(RedisCommandError, match="XADD on key 'stream:car-1'"):
                await buffer.open_session("refused", "car-1")

    asyncio.run(main())
    assert not r.exists("sessions:refused")


def test_reopening_an_identity_starts_with_its_own_fields(redis_url, r):
    with RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("again", "car-1", {"identity": "again", "group": "old"}) as s:
            s.write(burst_at(0))
        assert int(r.hget("sessions:again", "tStart")) == T0
        before = time.time_ns()
        with buffer.open_session("again", "car-1") as session:
            assert set(r.hgetall("sessions:again")) == OPENED_FIELDS
            record = json.loads(r.hget("sessions:again", "json"))
            assert record["state"] == "open" and "group" not in record
            assert int(r.hget("sessions:again", "streamSessionId")) == session.stream_session_id
    record, _ = check_session(r, "again", "car-1")
    assert before <= int(record[b"tStart"]) <= int(record[b"tEnd"]) <= time.time_ns()
