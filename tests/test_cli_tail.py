"""`rtastream tail`: one line per message, from a stream or one session, live or from the start."""

from __future__ import annotations

import json

from cli_helpers import (
    interrupt,
    open_session,
    run_cli,
    send_data,
    send_json,
    start_cli,
    write_session,
)


def tail(redis_url, *args):
    result = run_cli("tail", *args, "--redis", redis_url, timeout=30)
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
    assert rows[1]["compressed_bytes"] == len(r.xrange("stream:shared", mine.entry_ids[1],
                                                       mine.entry_ids[1])[0][1][b"data"])
    assert "session mine ended: failed" in result.stderr
    replay = run_cli("tail", "mine", "--redis", redis_url)  # ended, and not --from-start
    assert replay.returncode == 0 and replay.stdout == ""
    assert "session mine has ended (failed); --from-start replays it" in replay.stderr


def test_follows_new_messages_only(redis_url, r):
    write_session(r, "before", "live", bursts=2)
    process = start_cli("tail", "live", "--count", "3", "--redis", redis_url)
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


def test_unknown_stream_or_session(redis_url):
    result = run_cli("tail", "nothing", "--redis", redis_url)
    assert result.returncode == 1
    assert result.stderr.startswith("rtastream: error: unknown stream or session 'nothing'")


def test_count_must_be_positive(redis_url):
    result = run_cli("tail", "x", "--count", "0", "--redis", redis_url)
    assert result.returncode == 2 and "positive whole number" in result.stderr
