"""`rtastream demo`: stream a generated live session through the writer, then read it back."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import numpy as np

from rtastream import (
    Burst,
    RedisStreamBuffer,
    Session,
    SessionNotFound,
    SessionReader,
    Terminated,
    end_sessions_on_sigterm,
    keys,
)
from rtastream.cli import format as fmt
from rtastream.cli import record, serve
from rtastream.cli.arguments import positive_int, positive_number
from rtastream.cli.connection import URL_ENV, CliError, check_url, connect, redact
from rtastream.cli.filters import plural
from rtastream.cli.inspect import report_bad_entry
from rtastream.cli.progress import Progress
from rtastream.cli.stats import SessionStats, session_stats
from rtastream.cli.telemetry import INTEGER_NAMES, LAP_EVENT, Block, Telemetry
from rtastream.configuration import Configuration, Conversion, EventDefinition
from rtastream.redis_server import RedisServer

REDIS_DEFAULT = f"${URL_ENV}, else a private redis-server"
DEFAULT_DURATION = 10.0
DEMO_APP = "demo"  # the configuration's application
BURST_SECONDS = 0.1  # data per burst: bursts at 10 Hz in real time, as the protocol asks


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "demo",
        parents=[parent],
        help="stream a generated live session and summarise it",
        description="Generate telemetry (sums of sines with noise, plus integer channels and "
        "lap events), stream it as one session through RedisStreamBuffer in real "
        "time (bursts at about 10 Hz), then print a summary read back from Redis. "
        f"Without --redis (or ${URL_ENV}) a private redis-server is started in a "
        "temporary directory and stopped at the end. Ctrl+C ends the session as "
        "truncated (exit status 130), and so does SIGTERM (exit status 143).",
    )
    parser.add_argument("--stream", default="demo", help="stream name (default: demo)")
    parser.add_argument(
        "--channels",
        type=positive_int,
        default=16,
        metavar="N",
        help="channels; a quarter of them (up to 3) are integers (default: 16)",
    )
    parser.add_argument(
        "--rate",
        type=positive_number("Hz", limit=1e6),
        default=1000.0,
        metavar="HZ",
        help="samples per second per channel (default: 1000)",
    )
    parser.add_argument(
        "--duration",
        type=positive_number("seconds"),
        metavar="SECONDS",
        help="seconds of data (default: 10; with --serve, until Ctrl+C)",
    )
    parser.add_argument(
        "--identity", metavar="ID", help="session identity (default: demo-<UTC time>-<random>)"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="stream as fast as possible instead of in real time (the data then ends now)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve the live session while it streams, as `rtastream serve` "
        "does, and print the URL of the page that draws it",
    )
    parser.add_argument(
        "--record",
        metavar="DIR|URL",
        help="record the demo's stream into this store while it streams, as `rtastream "
        "record` does (the session gets its files there when it ends); needs the store "
        "extra: pip install 'rtastream[store]'",
    )
    serve.add_listen_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    end_sessions_on_sigterm()
    identity = args.identity or default_identity()
    url = args.redis or os.environ.get(URL_ENV)
    if url is not None:
        check_url(url)
    if args.duration is None and not (args.serve and not args.fast):
        args.duration = DEFAULT_DURATION
    with redis_for_demo(url) as (url, private):
        client = connect(url)
        with client, serving(args, url, identity), recording(args, url) as store:
            status, wall_s = stream(args, url, identity, client)
            try:
                with SessionReader(
                    client, identity, follow=False, on_bad_entry=report_bad_entry
                ) as reader:
                    session, stats = reader.session, session_stats(reader)
            except SessionNotFound as exc:
                raise CliError(f"after streaming: {exc}") from None
        print(summary(session, stats, wall_s, url, private))
        if store is not None:
            print(stored(store, args.record, identity))
    return status


@contextlib.contextmanager
def serving(args: argparse.Namespace, url: str, identity: str) -> Iterator[None]:
    """With --serve, the live edge for as long as the demo streams."""
    if not args.serve:
        yield
        return
    server = serve.start(url, args.host, args.port)
    print(f"watch it live: {server.url}#{identity}", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        server.close()


@contextlib.contextmanager
def recording(args: argparse.Namespace, url: str) -> Iterator[Any]:
    """With --record, a recorder of the demo's stream on a thread for as long as the demo
    streams, then drained (everything written is in the store); yields the store."""
    if args.record is None:
        yield None
        return
    store = record.store_of(args.record)
    from rtastream.recorder import Recorder

    recorder = Recorder(url, store, streams_only=[args.stream], refresh=0.2)
    failed: list[BaseException] = []

    def run_recorder() -> None:
        try:
            recorder.run()
        except Exception as exc:  # told once the demo ends, not lost on the thread
            failed.append(exc)

    thread = threading.Thread(target=run_recorder, name="rtastream demo recorder", daemon=True)
    thread.start()
    print(f"recording stream {args.stream} into the store {args.record}", file=sys.stderr)
    try:
        yield store
    finally:
        recorder.stop(drain=True)
        thread.join()
    if failed:
        raise CliError(f"the recorder failed: {failed[0]!r}")


def stored(store: Any, where: str, identity: str) -> str:
    """Where the store keeps the demo session, and how complete it is there."""
    from rtastream.store.files import name_of

    record = store.session(identity)
    if record is None:
        return f"store       {where}: the session is not there (see the warnings above)"
    state = "complete" if record["complete"] else "live (not ended yet)"
    return (
        f"store       {where.rstrip('/')}/sessions/{name_of(identity)}/ "
        f"({state}, state {record['state']}); "
        f"rtastream export {identity} --store {where} --out {identity}/"
    )


def default_identity() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"demo-{stamp}-{secrets.token_hex(2)}"


@contextlib.contextmanager
def redis_for_demo(url: str | None) -> Iterator[tuple[str, bool]]:
    """The given Redis, or a private redis-server on a unix socket for the demo's lifetime."""
    if url is not None:
        yield url, False
        return
    try:
        server = RedisServer(unix_socket=True)
    except FileNotFoundError as missing:
        raise CliError(str(missing)) from None
    with server:
        print(
            f"started a private redis-server at {server.url} (stopped at the end; "
            "pass --redis URL to keep the data)",
            file=sys.stderr,
        )
        yield server.url, True


def stream(args: argparse.Namespace, url: str, identity: str, client: Any) -> tuple[int, float]:
    """Stream the session; (exit status: 0, or 130 / 143 if Ctrl+C / SIGTERM cut it short,
    wall seconds)."""
    total = max(1, round(args.duration * args.rate)) if args.duration else math.inf
    start_ns = time.time_ns()
    if args.fast:  # the data ends now rather than in the future
        start_ns -= round(args.duration * 1e9)
    telemetry = Telemetry(args.channels, args.rate, start_ns)
    model = Session(
        identity,
        identifier=f"rtastream demo ({args.channels} channels at {args.rate:g} Hz)",
        details={"channels": args.channels, "rate": args.rate, "generator": "rtastream demo"},
    )
    key = keys.stream_key(args.stream)
    length = f"for {args.duration:g} s" if args.duration else "until Ctrl+C"
    print(
        f"streaming {args.channels} channels at {args.rate:g} Hz {length} "
        f"{'as fast as possible' if args.fast else 'in real time'} to {key} as session "
        f"{identity} (Ctrl+C to truncate)",
        file=sys.stderr,
        flush=True,
    )
    progress = Progress(sys.stderr, total / args.rate)
    step = max(1, round(BURST_SECONDS * args.rate))  # samples per channel per burst
    status = 0
    started = time.monotonic()
    entries_before = client.xlen(key)
    sent = samples = nbytes = 0
    try:
        with (
            RedisStreamBuffer(url) as buffer,
            buffer.open_session(
                identity, args.stream, model, config=configuration(telemetry)
            ) as session,
        ):
            while sent < total:
                count = min(step, total - sent)
                if not args.fast:  # wait until the block's last sample has "happened"
                    time.sleep(max(0.0, started + (sent + count) / args.rate - time.monotonic()))
                block = telemetry.block(sent, count)
                session.write(burst_of(telemetry, block))
                sent += count
                samples += count * telemetry.channels()
                nbytes += block.nbytes
                if progress.due():  # XLEN only as often as the line is drawn
                    progress.update(
                        sent / args.rate, samples, nbytes, client.xlen(key) - entries_before
                    )
    except (KeyboardInterrupt, Terminated) as exc:
        # The writer has ended the session as truncated on the way out.
        status = 143 if isinstance(exc, Terminated) else 130
    wall_s = time.monotonic() - started
    progress.update(sent / args.rate, samples, nbytes, client.xlen(key) - entries_before)
    progress.close()
    if status:
        print(f"interrupted: session {identity} ended as truncated", file=sys.stderr)
    return status, wall_s


def configuration(telemetry: Telemetry) -> Configuration:
    """What ATLAS needs to show the demo's channels and lap events."""
    integer_types = [np.int32, np.int32, np.uint16]  # as Telemetry.block() gives them
    channels: dict[str, tuple[Any, ...]] = {
        f"analog{i}": (np.float64, "timestamped", "") for i in telemetry.analog_ids
    }
    for name, dtype in zip(INTEGER_NAMES, integer_types[: telemetry.n_integer], strict=False):
        channels[name] = (dtype, "periodic", "", telemetry.interval)
    simple = Configuration.simple(DEMO_APP, channels, first_channel=0)
    (app,) = simple.applications
    lap = [
        Conversion(name=f"lap:{DEMO_APP}", format="%d"),
        Conversion(name=f"lapTime:{DEMO_APP}", unit="s"),
    ]
    event = EventDefinition(
        id=LAP_EVENT,
        description=f"{LAP_EVENT:04X}:{DEMO_APP} Lap",
        priority="low",
        conversions=tuple(c.name for c in lap),
    )
    return Configuration(
        (dataclasses.replace(app, conversions=(*app.conversions, *lap), events=(event,)),)
    )


def burst_of(telemetry: Telemetry, block: Block) -> Burst:
    """One burst: every channel's samples of the block, its lap events, the time range."""
    burst = Burst()
    burst.timestamped(telemetry.analog_ids, block.timestamps, block.analog)
    start = int(block.timestamps[0])
    for channel_id, values in zip(telemetry.integer_ids, block.integers, strict=True):
        burst.periodic(channel_id, start, telemetry.interval, values)
    for timestamp, lap, lap_time in block.laps:
        burst.event(
            LAP_EVENT,
            timestamp,
            status_text=f"lap {lap}",
            raw_data=(lap, lap_time),
            app_name="rtastream demo",
        )
    burst.time_range(telemetry.start_ns, int(block.timestamps[-1]))
    return burst


def summary(session: Any, stats: SessionStats, wall_s: float, url: str, private: bool) -> str:
    """What Redis holds for the session (read back, not the writer's own counters)."""
    data_s = 0.0
    if session.time_range:
        data_s = (session.time_range[1] - session.time_range[0]) / 1e9
    kinds = ", ".join(f"{fmt.count(n)} {kind}" for kind, n in sorted(stats.kinds.items()))
    events = sum(e.count for e in stats.events.values())
    values = sum(c.nbytes for c in stats.channels.values())
    ratio = f"{stats.ratio:.2f}" if stats.ratio else "-"
    lines = [
        f"session     {session.identity} on {keys.stream_key(session.stream)} "
        f"(stream session id {session.stream_session_id})",
        f"state       {session.state}",
        f"bursts      {plural(stats.messages, 'stream message')}, "
        f"{fmt.count(stats.data_bursts)} with data; items: {kinds}",
        f"samples     {fmt.count(stats.samples)} in {plural(len(stats.channels), 'channel')}, "
        f"{plural(events, 'event')}, {data_s:.1f} s of data",
        f"bytes       sample values {fmt.size(values)}, messages raw {fmt.size(stats.raw)}, "
        f"compressed {fmt.size(stats.compressed)} (ratio {ratio})",
        f"throughput  {fmt.count(round(stats.samples / wall_s))} samples/s, "
        f"{fmt.size(values / wall_s)}/s of sample values, "
        f"{fmt.size(stats.compressed / wall_s)}/s compressed, over {fmt.duration(wall_s)}",
    ]
    if private:
        lines.append("redis       private server, now stopped (use --redis URL to keep the data)")
    else:
        lines.append(
            f"redis       {redact(url)}; see it: rtastream inspect {session.identity} "
            f"--redis {redact(url)}"
        )
    return "\n".join(lines)
