"""`rtastream trim`: stream caps like the Stream Service's trimmer, and stale-session cleanup."""

from __future__ import annotations

import json

from cli_helpers import run_cli, write_session
from rtastream import keys
from stream_oracle import read_stream

HOUR_AGO_MS = 1_000  # lastUpdated far in the past (1970)


def trim(redis_url, *args):
    result = run_cli("trim", *args, "--redis", redis_url)
    assert result.returncode == 0, result.stderr
    return result.stdout


def fill(r, name, entries):
    r.sadd(keys.STREAMS, name)
    for _ in range(entries):
        r.xadd(keys.stream_key(name), {keys.ENTRY_ID: 1, keys.ENTRY_DATA: b"x" * 10})


def test_exact_cap_and_dry_run(redis_url, r):
    fill(r, "long", 30)
    fill(r, "short", 5)
    r.xadd("stream:unlisted", {"id": 1, "data": b""})
    out = trim(redis_url, "--maxlen", "10", "--dry-run")
    assert "dry run: trimming to MAXLEN = 10" in out
    assert "stream long: 30 entries, would trim 20" in out
    assert "stream short: 5 entries, kept" in out
    assert r.xlen("stream:long") == 30  # nothing changed

    out = trim(redis_url, "--maxlen", "10")
    assert "stream long: 30 entries, trimmed 20" in out
    assert out.splitlines()[1] == "removed 20 entries from 2 stream(s), 0 session(s), 0 stream(s)"
    assert r.xlen("stream:long") == 10 and r.xlen("stream:short") == 5
    assert r.xlen("stream:unlisted") == 1  # only streams listed in `streams` are trimmed


def test_approximate_cap_keeps_at_least_maxlen(redis_url, r):
    r.config_set("stream-node-max-entries", 10)  # small nodes so ~ can remove whole ones
    try:
        fill(r, "long", 100)
        doc = json.loads(trim(redis_url, "--maxlen", "25", "--approx", "--json"))
    finally:
        r.config_set("stream-node-max-entries", 100)
    [stream] = doc["streams"]
    assert doc["approx"] is True and stream["removed"] == 100 - r.xlen("stream:long")
    assert 25 <= r.xlen("stream:long") < 100


def test_default_maxlen_is_the_stream_service_default(redis_url, r):
    fill(r, "s", 3)
    doc = json.loads(trim(redis_url, "--json"))
    assert doc["maxlen"] == 10_000 and doc["streams"][0]["action"] == "kept"


def test_stale_sessions_and_idle_streams_are_removed(redis_url, r):
    write_session(r, "stale", "old")
    write_session(r, "fresh", "busy")
    write_session(r, "stale-on-busy", "busy")
    r.hset(keys.session_key("stale"), keys.LAST_UPDATED, HOUR_AGO_MS)
    r.hset(keys.session_key("stale-on-busy"), keys.LAST_UPDATED, HOUR_AGO_MS)
    r.hdel(keys.session_key("fresh"), keys.LAST_UPDATED)  # cannot tell its age: kept
    # An idle stream: its last entry is from 1970 and no session uses it.
    r.sadd(keys.STREAMS, "abandoned")
    r.xadd("stream:abandoned", {"id": 5, "data": b""}, id="1000-0")
    # A recently written stream whose sessions are gone is kept: someone writes to it.
    fill(r, "recent", 2)
    r.sadd(keys.STREAMS, "ghost")  # listed, no key

    out = trim(redis_url, "--stale-after", "3600", "--dry-run")
    assert "session stale (stream old, updated" in out and "would remove" in out
    assert r.exists(keys.session_key("stale"), "stream:abandoned") == 2

    out = trim(redis_url, "--stale-after", "3600")
    assert "session stale (stream old, updated 20" in out  # decades ago
    assert "session fresh (stream busy, updated never): kept: no lastUpdated field" in out
    assert "stream abandoned (no live session, last entry" in out
    assert "stream ghost (no live session, last entry never): removed" in out
    assert out.splitlines()[1].endswith("2 session(s), 2 stream(s)")
    assert not r.exists(keys.session_key("stale"), keys.session_key("stale-on-busy"))
    assert r.exists(keys.session_key("fresh"))
    assert not r.exists("stream:abandoned") and r.exists("stream:recent", "stream:busy") == 2
    # "old" lost its only session, but was written seconds ago: it stays.
    assert {m.decode() for m in r.smembers(keys.STREAMS)} == {"busy", "old", "recent"}


def test_bad_arguments(redis_url):
    for args in (["--maxlen", "0"], ["--stale-after", "-5"]):
        result = run_cli("trim", *args, "--redis", redis_url)
        assert result.returncode == 2, args
        assert "rtastream trim: error: argument" in result.stderr


def test_dry_run_filters_and_limit_with_the_totals_first(redis_url, r):
    for name in ("a", "b", "c"):
        fill(r, name, 12)
    for i in range(6):
        write_session(r, f"old{i}", "abc"[i % 3], final_state=("closed", None)[i % 2])
        r.hset(keys.session_key(f"old{i}"), keys.LAST_UPDATED, HOUR_AGO_MS)
    out = trim(redis_url, "--maxlen", "10", "--stale-after", "60", "--dry-run", "--limit", "2")
    lines = out.splitlines()
    # each stream: 12 filled + a closed session's 7 entries + an open one's 6, capped to 10
    assert lines[1] == (
        "would remove 45 entries from 3 stream(s), 3 session(s), 0 stream(s); "
        "would abandon 3 open session(s)"
    )
    assert sum(line.startswith("session ") for line in lines) == 2
    assert "... 4 more sessions (--all lists every one)" in lines
    assert "... 1 more streams (--all lists every one)" in lines

    out = trim(redis_url, "--stale-after", "60", "--dry-run", "--stream", "a", "--state", "open")
    assert out.splitlines()[1] == (
        "would remove 0 entries from 1 stream(s), 0 session(s), 0 stream(s); "
        "would abandon 1 open session(s)"
    )
    assert "session old3 (stream a, updated" in out and "old0" not in out
    assert state_of(r, "old3") == "open"  # a dry run
    trim(redis_url, "--stale-after", "60", "--stream", "a", "--state", "open")
    assert state_of(r, "old3") == "abandoned" and state_of(r, "old0") == "closed"
    assert r.exists("stream:a")


def state_of(r, identity):
    return json.loads(r.hget(keys.session_key(identity), keys.JSON))["state"]


def test_a_stale_open_session_is_abandoned_in_its_shared_stream(redis_url, r):
    """Its writer died (no heartbeat): ended `abandoned` with a final Session JSON message,
    as close() would have written it; the stream it shares with a live session stays."""
    dead = write_session(r, "dead", "shared", final_state=None)
    write_session(r, "alive", "shared", final_state=None)
    r.hset(keys.session_key("dead"), keys.LAST_UPDATED, HOUR_AGO_MS)
    time_range = tuple(int(r.hget(keys.session_key("dead"), f)) for f in (b"tStart", b"tEnd"))
    entries_before = read_stream(r, "shared")

    out = trim(redis_url, "--stale-after", "60")
    assert "session dead (stream shared, updated 20" in out and "): abandoned" in out
    assert out.splitlines()[1].endswith("; abandoned 1 open session(s)")
    assert state_of(r, "dead") == "abandoned" and state_of(r, "alive") == "open"
    entries = read_stream(r, "shared")
    assert entries[: len(entries_before)] == entries_before  # nothing else touched
    [last] = entries[len(entries_before) :]
    assert last.session_id == dead.stream_session_id
    assert last.kinds() == ["time_range", "session_json"]
    assert last.time_ranges() == [time_range]
    [final] = last.jsons()
    assert final == json.loads(r.hget(keys.session_key("dead"), keys.JSON))
    assert final["identity"] == "dead" and final["state"] == "abandoned"
    assert "endTimestamp" in final

    again = trim(redis_url, "--stale-after", "60")  # ended now: its hash goes, the stream stays
    assert "session dead (stream shared, updated 20" in again and "): removed" in again
    assert not r.exists(keys.session_key("dead")) and r.exists("stream:shared")
