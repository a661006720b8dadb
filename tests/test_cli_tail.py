"""`rtastream tail`: one line per message, from a stream or one session, live or from the start."""

from __future__ import annotations

import json

from cli_helpers import (
    decode_error,
    interrupt,
    open_session,
    run_cli,
    send_data,
    send_json,
    start_cli,
    write_session,
)


def tail(redis_url, *args):
    result = run_cli("tail", *args, "--redis", redis_url)
    assert result.returncode == 0, result.stderr
    return result


def test_stream_from_start_names_each_session(redis_url, r):
    a = write_session(r, "sess-a", "shared", channels=(0, 1, 2, 7), bursts=2)
    b = write_session(r, "sess-b", "shared", bursts=1)
    total = len(a.entry_ids) + len(b.entry_ids)
    lines = tail(redis_url, "shared", "--from-start", "--count", str(total)).stdout.splitlines()
    assert len(lines) == total == 7
    assert [line.split()[1] for line in lines] == ["sess-a"] * 4 + ["sess-b"] * 3
    assert "json open" in lines[0] and "json closed" in lines[3]
    data = lines[1].split("  ")
    assert "1 event, 1 time_range, 4 timestamped" in data
    assert "ch 0-2,7 (4)" in data and "400 samples" in data
    assert "15:06:40.000-15:06:40.099" in data


def test_session_ends_when_it_closes(redis_url, r):
    write_session(r, "other", "shared", bursts=2)
    mine = write_session(r, "mine", "shared", bursts=3, final_state="failed")
    result = tail(redis_url, "mine", "--from-start", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["entry"] for row in rows] == mine.entry_ids
    assert {row["session"] for row in rows} == {"mine"}
    assert rows[0]["states"] == ["open"] and rows[-1]["states"] == ["failed"]
    assert rows[1]["samples"] == 300 and rows[1]["channels"] == [0, 1, 2]
    assert rows[1]["compressed_bytes"] == len(
        r.xrange("stream:shared", mine.entry_ids[1], mine.entry_ids[1])[0][1][b"data"]
    )
    assert "session mine ended: failed" in result.stderr
    replay = run_cli("tail", "mine", "--redis", redis_url)  # ended, and not --from-start
    assert replay.returncode == 0 and replay.stdout == ""
    assert "session mine has ended (failed); --from-start or --last N replays it" in replay.stderr


def test_follows_new_messages_only(redis_url, r):
    write_session(r, "before", "live", bursts=2)
    process = start_cli("tail", "live", "--last", "0", "--count", "3", "--redis", redis_url)
    assert process.stderr.readline().startswith("following stream:live")
    after = open_session(r, "after", "live")
    send_data(r, after, bursts=2)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["after"] * 3
    assert "json open" in lines[0] and "300 samples" in lines[2]


def test_ctrl_c_exits_cleanly(redis_url, r):
    session = open_session(r, "waiting", "quiet")
    process = start_cli("tail", "waiting", "--redis", redis_url)
    assert process.stderr.readline().startswith("following stream:quiet for session waiting")
    send_json(r, session, "open")  # still open: tail keeps following
    assert "json open" in process.stdout.readline()
    out, err = interrupt(process)
    assert process.returncode == 0
    assert out == "" and "Traceback" not in err


def test_a_stream_not_there_yet_is_waited_for_like_tail_F(redis_url, r):
    process = start_cli("tail", "later", "--count", "2", "--redis", redis_url)
    assert process.stderr.readline() == (
        "no stream or session 'later' yet: waiting for stream:later to appear (Ctrl+C to stop)\n"
    )
    assert process.stderr.readline().startswith("following stream:later")
    session = write_session(r, "late", "later", bursts=1)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert [line.split()[1] for line in out.splitlines()] == ["late", "late"]
    assert len(session.entry_ids) == 3


def test_bad_entries_are_reported_in_one_line_each_and_skipped(redis_url, r):
    session = open_session(r, "mine", "dirty")
    foreign = r.xadd("stream:dirty", {"foo": "bar"}).decode()
    garbage = r.xadd("stream:dirty", {"id": session.stream_session_id, "data": b"garbage"})
    send_data(r, session, bursts=1)
    send_json(r, session, "closed")
    for target in ("dirty", "mine"):  # the stream, and the session
        result = tail(redis_url, target, "--from-start", "--count", "3")
        assert [line.split()[1] for line in result.stdout.splitlines()] == ["mine"] * 3
        bad = [line for line in result.stderr.splitlines() if line.startswith("rtastream:")]
        assert bad == [
            f"rtastream: skipped entry {foreign} of stream:dirty: no 'id' or 'data' field "
            "(fields: 'foo')",
            f"rtastream: skipped entry {garbage.decode()} of stream:dirty: cannot decode its "
            "data (7 bytes): " + decode_error(b"garbage"),
        ]
        assert "Traceback" not in result.stderr


def test_last_n_messages_then_exit_with_count(redis_url, r):
    mine = write_session(r, "mine", "shared", bursts=3)
    other = write_session(r, "other", "shared", bursts=1)
    lines = tail(redis_url, "shared", "--last", "2", "--count", "2").stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["other", "other"]
    assert "json closed" in lines[1]
    rows = [
        json.loads(line)
        for line in tail(redis_url, "mine", "--last", "2", "--json").stdout.splitlines()
    ]  # a session ends at its final state
    assert [row["entry"] for row in rows] == mine.entry_ids[-2:]
    assert len(other.entry_ids) == 3


def test_count_alone_on_an_idle_stream_shows_the_last_messages_and_exits(redis_url, r):
    session = write_session(r, "quiet", "idle", bursts=4)
    rows = [
        json.loads(line)
        for line in tail(redis_url, "idle", "--count", "3", "--json").stdout.splitlines()
    ]
    assert [row["entry"] for row in rows] == session.entry_ids[-3:]


def test_count_must_be_positive_and_last_not_negative(redis_url):
    result = run_cli("tail", "x", "--count", "0", "--redis", redis_url)
    assert result.returncode == 2 and "positive whole number, got '0'" in result.stderr
    result = run_cli("tail", "x", "--last", "-1", "--redis", redis_url)
    assert result.returncode == 2 and "whole number >= 0, got '-1'" in result.stderr
