"""`rtastream demo`: a generated session streamed through the writer, checked in Redis."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import cli_env, interrupt, run_cli, start_cli
from rtastream import PeriodicItem, TimestampedItem, decode, keys
from rtastream.cli.telemetry import ADC_STEP
from rtastream.redis_server import SERVER_ENV, missing_server_message, server_binary
from waiting import wait_until


def squash(text):
    return " ".join(text.split())


def session_items(r, stream, stream_session_id):
    """Every decoded item of one session, message by message, straight from the stream."""
    return [
        decode(fields[b"data"])
        for _, fields in r.xrange(keys.stream_key(stream))
        if fields[b"id"] == str(stream_session_id).encode()
    ]


def test_fast_demo_leaves_a_closed_session_and_reports_what_redis_holds(redis_url, r):
    result = run_cli(
        "demo",
        "--fast",
        "--duration",
        "3",
        "--rate",
        "200",
        "--channels",
        "8",
        "--identity",
        "demo-test",
        "--stream",
        "demotest",
        "--redis",
        redis_url,
    )
    assert result.returncode == 0, result.stderr
    session = {k.decode(): v.decode() for k, v in r.hgetall(keys.session_key("demo-test")).items()}
    assert json.loads(session[keys.JSON])["state"] == "closed"
    assert session[keys.STREAM_NAME] == "demotest" and r.sismember(keys.STREAMS, "demotest")

    messages = session_items(r, "demotest", session[keys.STREAM_SESSION_ID])
    assert json.loads(messages[0][0].text)["state"] == "open"
    assert json.loads(messages[-1][-1].text)["state"] == "closed"
    data = messages[1:-1]
    assert len(data) == 30  # 3 s at 10 bursts a second
    items = [item for message in data for item in message]
    analog = [i for i in items if isinstance(i, TimestampedItem)]
    integer = [i for i in items if isinstance(i, PeriodicItem)]
    assert {i.channel_id for i in analog} == set(range(6))
    assert {i.channel_id for i in integer} == {6, 7}
    assert sum(len(i.timestamps) for i in analog) + sum(i.samples for i in integer) == 8 * 600
    values = np.concatenate([i.values("<f8") for i in analog])
    assert np.array_equal(values, np.round(values / ADC_STEP) * ADC_STEP)  # ADC-quantised
    gears = np.concatenate([i.values("<i4") for i in integer if i.channel_id == 6])
    assert gears.min() >= 1 and gears.max() <= 8
    stamps = np.concatenate([i.timestamps for i in analog if i.channel_id == 0])
    assert np.all(np.diff(stamps) == 5_000_000)  # 200 Hz
    assert int(session[keys.T_START]) == stamps[0] and int(session[keys.T_END]) == stamps[-1]

    summary = squash(result.stdout)
    compressed = sum(len(f[b"data"]) for _, f in r.xrange("stream:demotest"))
    assert "state closed" in summary
    assert f"bursts {len(messages)} stream messages, 30 with data" in summary
    assert "samples 4,800 in 8 channels, 1 event, 3.0 s of data" in summary
    assert re.search(r"compressed (\d+\.\d) KiB", summary).group(1) == f"{compressed / 1024:.1f}"
    assert "demo: 3.0/3.0 s of data" in result.stderr  # the last progress line


def test_summary_numbers_read_as_one_number_each_and_rates_are_labelled(redis_url):
    # 13 channels at 100 Hz for 13 s: 10 float64 + 2 int32 + 1 uint16, 130 bursts of 10 samples.
    result = run_cli(
        "demo",
        "--fast",
        "--duration",
        "13",
        "--rate",
        "100",
        "--channels",
        "13",
        "--redis",
        redis_url,
    )
    assert result.returncode == 0, result.stderr
    summary = squash(result.stdout)
    assert "1,300 timestamped" in summary  # not "1 300 timestamped"
    assert "samples 16,900 in 13 channels, 5 events, 13.0 s of data" in summary
    assert "sample values 114.3 KiB" in summary  # 1300 x (10 x 8 + 2 x 4 + 2) bytes
    # The progress line's rate is the same quantity as the summary's, and says so.
    last = result.stderr.splitlines()[-1]
    assert re.search(r"samples/s  \d+\.\d (KiB|MiB)/s of sample values$", last), last
    assert re.search(
        r"throughput [\d,]+ samples/s, \d+\.\d (KiB|MiB)/s of sample values, ", summary
    )


def test_one_event_is_singular(redis_url):
    result = run_cli(
        "demo",
        "--fast",
        "--duration",
        "2.6",
        "--rate",
        "100",
        "--channels",
        "2",
        "--redis",
        redis_url,
    )
    assert result.returncode == 0, result.stderr
    assert "in 2 channels, 1 event, " in squash(result.stdout)


@pytest.mark.redis
def test_demo_without_redis_runs_a_private_server_and_stops_it():
    if server_binary() is None:
        pytest.skip(f"{missing_server_message()}: the demo's private server cannot start")
    result = run_cli("demo", "--fast", "--duration", "1", "--channels", "4")
    assert result.returncode == 0, result.stderr
    socket = re.search(r"private redis-server at unix://(\S+)", result.stderr).group(1)
    assert not os.path.exists(socket)  # stopped and cleaned up
    summary = squash(result.stdout)
    assert "state closed" in summary and "samples 4,000 in 4 channels" in summary


def test_demo_without_redis_server_says_how_to_install_one(tmp_path):
    env = {k: v for k, v in cli_env().items() if k != SERVER_ENV} | {"PATH": str(tmp_path)}
    result = run_cli("demo", "--fast", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("rtastream: error: no redis-server found on PATH; install one")


@pytest.mark.subprocess  # a process of its own, for signals or a terminal
def test_ctrl_c_truncates_the_session(redis_url, r):
    process = start_cli("demo", "--duration", "60", "--identity", "cut-short", "--redis", redis_url)
    wait_until(lambda: r.hexists(keys.session_key("cut-short"), keys.T_END), what="streamed data")
    out, err = interrupt(process)
    assert process.returncode == 130, err
    assert "ended as truncated" in err and "Traceback" not in err
    model = json.loads(r.hget(keys.session_key("cut-short"), keys.JSON))
    assert model["state"] == "truncated"
    sid = r.hget(keys.session_key("cut-short"), keys.STREAM_SESSION_ID).decode()
    assert json.loads(session_items(r, "demo", sid)[-1][-1].text)["state"] == "truncated"
    assert "state truncated" in squash(out)


@pytest.mark.subprocess  # a process of its own, for signals or a terminal
def test_progress_bar_on_a_terminal(redis_url):
    parent, child = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtastream",
            "demo",
            "--duration",
            "1.5",
            "--channels",
            "2",
            "--redis",
            redis_url,
        ],
        stdout=subprocess.PIPE,
        stderr=child,
        env=cli_env(),
        text=True,
    )
    os.close(child)
    out, _ = process.communicate(timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(parent, 4096)
        except OSError:  # the terminal's other side is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(parent)
    assert process.returncode == 0
    frames = [f for f in shown.decode().split("\r") if f.strip()]  # the terminal adds \r too
    assert sum(f.startswith("[") for f in frames) >= 3  # the bar, redrawn in place
    assert frames[-1].startswith("[" + "#" * 24 + "] 100%") and "bursts" in frames[-1]
    assert "state closed" in squash(out)


def test_bad_demo_arguments():
    for args in (["--duration", "nan"], ["--rate", "1e9"]):
        result = run_cli("demo", *args)
        assert result.returncode == 2, args


@pytest.mark.subprocess  # a process of its own, for signals or a terminal
def test_sigterm_truncates_the_session_and_exits_143(redis_url, r):
    process = start_cli(
        "demo", "--duration", "60", "--identity", "terminated", "--redis", redis_url
    )
    wait_until(lambda: r.hexists(keys.session_key("terminated"), keys.T_END), what="streamed data")
    process.terminate()  # SIGTERM, as timeout, systemd and docker stop send it
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert "ended as truncated" in err and "Traceback" not in err
    assert json.loads(r.hget(keys.session_key("terminated"), keys.JSON))["state"] == "truncated"
    assert "state truncated" in squash(out)
