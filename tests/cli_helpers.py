"""Helpers for the CLI tests: run `rtastream` commands (in this process, or as a process of
their own), and write sessions straight to Redis by the protocol (docs/protocol.md).

Sessions are built from rtastream.Burst and plain redis-py commands, so the read-side
commands are tested independently of the writer.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
import redis

from rtastream import Burst, decode, keys
from rtastream.cli import main

T0 = 1_750_000_000_000_000_000  # ns since the epoch: 2025-06-15T15:06:40Z


def cli_env() -> dict[str, str]:
    """The environment without RTASTREAM_REDIS_URL, so each test says which Redis it means."""
    return {k: v for k, v in os.environ.items() if k != "RTASTREAM_REDIS_URL"}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`rtastream ARGS` run in this process, as `python -m rtastream` would run it: its exit
    status, and what it printed. A fresh interpreter costs a second of CPU for its imports;
    the tests that need one (signals, a terminal, the console script) use start_cli."""
    out, err = io.StringIO(), io.StringIO()
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    logged = list(logging.getLogger().handlers)
    saved_env = dict(os.environ)
    os.environ.clear()
    os.environ.update(env or cli_env())
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = _exit_status(args)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        logging.getLogger().handlers[:] = logged
    return subprocess.CompletedProcess(["rtastream", *args], code, out.getvalue(), err.getvalue())


def _exit_status(args: tuple[str, ...]) -> int:
    """main()'s status; an exception that escapes it is a traceback and status 1, as the
    interpreter would make it."""
    try:
        return main(list(args))
    except SystemExit as exc:  # argparse: --help, usage errors
        return exc.code if isinstance(exc.code, int) else 1
    except Exception:
        traceback.print_exc()
        return 1


def start_cli(*args: str) -> subprocess.Popen[str]:
    """A running `python -m rtastream ...` that a test can interrupt with interrupt()."""
    return subprocess.Popen(
        [sys.executable, "-m", "rtastream", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
        # A shell started in the background may hand SIGINT down ignored; a terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def interrupt(process: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """Ctrl+C as a terminal sends it (to the process group); the output once it exits."""
    os.killpg(process.pid, signal.SIGINT)
    return process.communicate(timeout=timeout)


def decode_error(data: bytes) -> str:
    """The decoder's own words for data it refuses (readers repeat them when they skip it)."""
    try:
        decode(data)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{data!r} decodes")


@dataclass
class WrittenSession:
    identity: str
    stream: str
    stream_session_id: int
    stream_position: str
    channels: tuple[int, ...]
    samples_per_channel: int
    events: int
    t_start: int
    t_end: int
    entry_ids: list[str] = field(default_factory=list)
    raw_bytes: int = 0
    compressed_bytes: int = 0


def model(identity: str, state: str) -> dict:
    return {
        "identity": identity,
        "identifier": f"test {identity}",
        "state": state,
        "timestamp": "2025-06-15T15:06:40+00:00",
    }


def open_session(
    r: redis.Redis, identity: str, stream: str = "test", ttl: int = keys.DEFAULT_SESSION_TTL
) -> WrittenSession:
    """Allocate an id, record the stream position and stream the first Session JSON."""
    stream_session_id = r.incrby(keys.LAST_STREAM_SESSION_ID, 1)
    last = r.xrevrange(keys.stream_key(stream), count=1)
    position = last[0][0].decode() if last else keys.NO_STREAM_POSITION
    r.sadd(keys.STREAMS, stream)
    session = WrittenSession(identity, stream, stream_session_id, position, (), 0, 0, 0, 0)
    r.hset(
        keys.session_key(identity),
        mapping={
            keys.STREAM_SESSION_ID: stream_session_id,
            keys.STREAM_NAME: stream,
            keys.STREAM_POSITION: position,
        },
    )
    send_json(r, session, "open", ttl)
    return session


def send(r: redis.Redis, session: WrittenSession, burst: Burst, ttl: int, **fields: object) -> None:
    for message in burst.pack():
        entry_id = r.xadd(
            keys.stream_key(session.stream),
            {keys.ENTRY_ID: session.stream_session_id, keys.ENTRY_DATA: message},
        )
        session.entry_ids.append(entry_id.decode())
        session.compressed_bytes += len(message)
    session.raw_bytes += burst.nbytes
    key = keys.session_key(session.identity)
    r.hset(key, mapping={keys.LAST_UPDATED: int(time.time() * 1000), **fields})
    r.expire(key, ttl)


def send_json(
    r: redis.Redis, session: WrittenSession, state: str, ttl: int = keys.DEFAULT_SESSION_TTL
) -> None:
    burst = Burst()
    text = model(session.identity, state)
    burst.session_json(text)
    send(r, session, burst, ttl, **{keys.JSON: json.dumps(text)})


def send_data(
    r: redis.Redis,
    session: WrittenSession,
    channels=(0, 1, 2),
    bursts: int = 5,
    samples: int = 100,
    interval: int = 1_000_000,
    start: int = T0,
    events: int = 1,
    ttl: int = keys.DEFAULT_SESSION_TTL,
) -> None:
    """`bursts` bursts of `samples` float64 samples per channel, a time range in each,
    and one event in each of the first `events` bursts."""
    session.channels = tuple(channels)
    for b in range(bursts):
        t = start + (b * samples + np.arange(samples, dtype=np.int64)) * interval
        values = np.sin(np.outer(np.arange(1, len(channels) + 1), t / 1e9))
        burst = Burst()
        burst.timestamped(list(channels), t, values)
        if b < events:
            burst.event(7, int(t[0]), status_text=f"lap {b + 1}", raw_data=(1.5, float(b)))
            session.events += 1
        session.t_start = session.t_start or start
        session.t_end = int(t[-1])
        burst.time_range(session.t_start, session.t_end)
        send(r, session, burst, ttl, **{keys.T_START: session.t_start, keys.T_END: session.t_end})
        session.samples_per_channel += samples


def write_session(
    r: redis.Redis, identity: str, stream: str = "test", final_state: str = "closed", **data: object
) -> WrittenSession:
    """A whole session: open, data bursts, final state (None leaves it open)."""
    session = open_session(r, identity, stream)
    send_data(r, session, **data)
    if final_state is not None:
        send_json(r, session, final_state)
    return session
