"""`rtastream inspect`: the overview of streams and sessions, and one session decoded."""

from __future__ import annotations

import json
import time

from cli_helpers import (
    T0,
    decode_error,
    open_session,
    run_cli,
    send_data,
    send_json,
    write_session,
)
from rtastream import keys


def squash(text):
    """The text with runs of whitespace as one space: labels are padded to varying widths."""
    return " ".join(text.split())


def inspect(redis_url, *args):
    result = run_cli("inspect", *args, "--redis", redis_url)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_empty_redis(redis_url):
    out = inspect(redis_url)
    assert "Streams (0)" in out and "Sessions (0)" in out


def test_overview_lists_streams_and_sessions(redis_url, r):
    a = write_session(r, "sess-a", "alpha")
    write_session(r, "sess-b", "alpha", final_state=None)
    write_session(r, "sess-c", "beta", final_state="truncated")
    r.sadd(keys.STREAMS, "ghost")  # listed, but the stream key does not exist

    out = inspect(redis_url)
    assert "Streams (3)" in out and "Sessions (3)" in out
    alpha = next(line for line in out.splitlines() if line.strip().startswith("alpha "))
    assert f" {r.xlen('stream:alpha')} " in alpha and "KiB" in alpha
    ghost = next(line for line in out.splitlines() if line.strip().startswith("ghost"))
    assert "(missing)" in ghost
    row = {line.split()[0]: line.split() for line in out.splitlines()[-3:]}
    assert row["sess-a"][1:4] == ["closed", "alpha", str(a.stream_session_id)]
    assert row["sess-b"][1] == "open" and row["sess-c"][1:3] == ["truncated", "beta"]
    assert "2025-06-15T15:06:40.000Z" in row["sess-a"]  # tStart as an ISO date

    doc = json.loads(inspect(redis_url, "--json"))
    streams = {s["name"]: s for s in doc["streams"]}
    assert streams["alpha"]["length"] == r.xlen("stream:alpha")
    ids = [entry_id.decode() for entry_id, _ in r.xrange("stream:alpha")]
    assert streams["alpha"]["first_entry"]["id"] == ids[0]
    assert streams["alpha"]["last_entry"]["id"] == ids[-1]
    assert streams["alpha"]["memory_bytes"] == r.memory_usage("stream:alpha")
    assert streams["ghost"]["exists"] is False
    sessions = {s["identity"]: s for s in doc["sessions"]}
    assert sessions["sess-a"]["t_start"] == a.t_start and sessions["sess-a"]["t_end"] == a.t_end
    assert sessions["sess-a"]["stream_position"] == keys.NO_STREAM_POSITION
    assert sessions["sess-b"]["stream_position"] == a.entry_ids[-1]
    assert 0 < sessions["sess-a"]["ttl_s"] <= keys.DEFAULT_SESSION_TTL
    assert 0 <= sessions["sess-a"]["age_s"] < 60


def test_one_session_decoded(redis_url, r):
    write_session(r, "other", "shared", channels=(0, 1), bursts=2)  # same stream, other id
    s = write_session(
        r, "mine", "shared", channels=(3, 4, 5), bursts=4, samples=50, interval=2_000_000, events=2
    )
    doc = json.loads(inspect(redis_url, "mine", "--json"))
    m = doc["messages"]
    assert m["messages"] == len(s.entry_ids) == 6 and m["data_bursts"] == 4
    assert m["states"] == ["open", "closed"] and m["starts_with_session_json"]
    assert m["items"] == {"event": 2, "session_json": 2, "time_range": 4, "timestamped": 12}
    assert m["samples"] == 3 * 200
    assert set(m["channels"]) == {"3", "4", "5"}  # nothing from the other session
    ch = m["channels"]["4"]
    assert ch["samples"] == 200 and ch["bytes"] == 200 * 8 and ch["first"] == T0
    assert ch["last"] == T0 + 199 * 2_000_000 and ch["rate_hz"] == 500.0
    assert m["events"]["7"]["count"] == 2 and m["events"]["7"]["last_status_text"] == "lap 2"
    assert m["raw_bytes"]["total"] == s.raw_bytes
    assert m["compressed_bytes"]["total"] == s.compressed_bytes
    assert m["compression_ratio"] == s.raw_bytes / s.compressed_bytes
    assert doc["session"]["stream_session_id"] == str(s.stream_session_id)

    out = squash(inspect(redis_url, "mine"))
    assert "state closed" in out and "open -> closed" in out
    assert "600 in 3 channels" in out and "500.0 Hz" in out and "lap 2" in out
    assert "ratio" in out and "note:" not in out


def test_session_cut_by_trimming_is_pointed_out(redis_url, r):
    session = open_session(r, "cut", "tiny")
    send_data(r, session, bursts=5)
    r.xtrim("stream:tiny", maxlen=2, approximate=False)
    out = squash(inspect(redis_url, "cut"))
    assert "messages 2 (2 with data)" in out
    assert "not a Session JSON update" in out


def test_session_without_messages(redis_url, r):
    r.hset(
        keys.session_key("empty"), mapping={keys.STREAM_NAME: "nowhere", keys.STREAM_SESSION_ID: 9}
    )
    out = squash(inspect(redis_url, "empty"))
    assert "messages 0 (0 with data)" in out and "note: no messages with id 9" in out
    assert "state (no json)" in out


def test_unknown_session(redis_url):
    result = run_cli("inspect", "nope", "--redis", redis_url)
    assert result.returncode == 1
    assert result.stderr == "rtastream: error: unknown session 'nope': no hash at sessions:nope\n"
    assert result.stdout == ""


def test_bad_entries_of_a_session_are_reported_and_skipped(redis_url, r):
    session = open_session(r, "mine", "dirty")
    foreign = r.xadd("stream:dirty", {"foo": "bar"}).decode()
    send_data(r, session, bursts=2)
    garbage = r.xadd("stream:dirty", {"id": session.stream_session_id, "data": b"\x00" * 9})
    result = run_cli("inspect", "mine", "--redis", redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"rtastream: skipped entry {foreign} of stream:dirty: no 'id' or 'data' field "
        "(fields: 'foo')",
        f"rtastream: skipped entry {garbage.decode()} of stream:dirty: cannot decode its data "
        "(9 bytes): " + decode_error(b"\x00" * 9),
    ]
    out = squash(result.stdout)
    assert "messages 3 (2 with data), 2 bad entries skipped" in out  # every valid one
    assert "samples 600 in 3 channels" in out
    doc = json.loads(inspect(redis_url, "mine", "--json"))
    assert doc["messages"]["skipped_entries"] == 2


def many_sessions(r, now_ms):
    """24 sessions on 3 streams (s00 on a, s01 on b, ...), in threes open, closed, truncated,
    open...; s00 updated now, s01 a minute ago, and so on."""
    for i in range(24):
        stream = "abc"[i % 3]
        state = ("open", "closed", "truncated")[i // 3 % 3]
        session = open_session(r, f"s{i:02d}", stream)
        if state != "open":
            send_json(r, session, state)
        r.hset(keys.session_key(f"s{i:02d}"), keys.LAST_UPDATED, now_ms - i * 60_000)


def test_overview_filters_and_limit_with_a_summary_first(redis_url, r):
    many_sessions(r, int(time.time() * 1000))
    out = inspect(redis_url, "--limit", "5").splitlines()
    assert out[1] == "3 streams, 24 sessions (open 9, closed 9, truncated 6)"
    assert "Sessions (5 of 24; --all lists every one)" in out
    shown = [
        line.split()[0]
        for line in out[out.index("Sessions (5 of 24; --all lists every one)") + 2 :]
    ]
    assert shown == ["s00", "s01", "s02", "s03", "s04"]  # most recently updated first

    out = inspect(redis_url, "--stream", "a", "--state", "closed", "--state", "truncated")
    assert out.splitlines()[1] == (
        "1 stream, 5 sessions (closed 3, truncated 2) matching, of 24 in Redis"
    )
    assert "Streams (1)" in out and "Sessions (5)" in out

    doc = json.loads(inspect(redis_url, "--older-than", "600", "--newer-than", "1200", "--json"))
    assert doc["summary"] == {"streams": 3, "sessions": 10, "sessions_in_redis": 24}
    assert [s["identity"] for s in doc["sessions"]] == [f"s{i}" for i in range(10, 20)]

    assert len(json.loads(inspect(redis_url, "--all", "--json"))["sessions"]) == 24
    assert len(json.loads(inspect(redis_url, "--json"))["sessions"]) == 24  # under the default


def test_filter_arguments_are_checked(redis_url):
    result = run_cli("inspect", "--state", "shut", "--redis", redis_url)
    assert result.returncode == 2 and "argument --state: invalid choice: 'shut'" in result.stderr
    result = run_cli("inspect", "--limit", "0", "--redis", redis_url)
    assert result.returncode == 2 and "positive whole number, got '0'" in result.stderr
    result = run_cli("inspect", "--scan", "--from-streams", "--redis", redis_url)
    assert result.returncode == 2
    assert "argument --from-streams: not allowed with argument --scan" in result.stderr


def test_an_open_session_without_a_recent_heartbeat_shows_as_stale(redis_url, r):
    write_session(r, "dead", "alpha", final_state=None)
    write_session(r, "alive", "alpha", final_state=None)
    write_session(r, "ended", "alpha")
    old = int(time.time() * 1000) - int(keys.STALE_AFTER * 1000) - 5000
    for identity in ("dead", "ended"):
        r.hset(keys.session_key(identity), keys.LAST_UPDATED, old)

    def beat() -> None:  # the live writer's heartbeat, however slowly this machine runs
        r.hset(keys.session_key("alive"), keys.LAST_UPDATED, int(time.time() * 1000))

    beat()
    out = inspect(redis_url)
    row = {line.split()[0]: line.split() for line in out.splitlines()[-3:]}
    assert (row["dead"][1], row["alive"][1], row["ended"][1]) == ("stale", "open", "closed")
    assert "state stale" in squash(inspect(redis_url, "dead"))
    beat()
    sessions = {s["identity"]: s for s in json.loads(inspect(redis_url, "--json"))["sessions"]}
    assert sessions["dead"]["state"] == "open" and sessions["dead"]["stale"] is True
    assert sessions["alive"]["stale"] is False and sessions["ended"]["stale"] is False
