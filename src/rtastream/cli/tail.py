"""`rtastream tail`: follow a stream or one session live, one line per message."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rtastream import SessionNotFound, SessionReader
from rtastream.cli import format as fmt
from rtastream.cli.arguments import add_reconnect_timeout, natural_int, positive_int
from rtastream.cli.connection import Client, CliError, connect
from rtastream.cli.inspect import report_bad_entry
from rtastream.cli.stats import MessageSummary, summarize
from rtastream.reader import (
    Entry,
    StreamReader,
    read_session,
    read_stream,
    run,
    stream_sessions,
)
from rtastream.reader.entries import CLOSED_STATES, identity_of
from rtastream.reader.retry import client_options

BLOCK = 1.0  # seconds each XREAD BLOCK waits (the readers' default)


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "tail",
        parents=[parent],
        help="follow a stream or a session live, one line per message",
        description="Follow a stream (every session in it) or one session (by identity) with "
        "blocking XREAD and print one line per message: entry time, session, item "
        "kinds, channels, samples, data time range, raw/compressed size. A session "
        "identity is tried first, then a stream name; a stream that does not exist "
        "yet is waited for, as `tail -F` does. Following a session ends when it "
        "reaches a closed state (closed, truncated, failed, abandoned). A bad entry "
        "is reported on stderr in one line and skipped. Ctrl+C stops following and "
        "exits with status 0.",
    )
    parser.add_argument(
        "target", metavar="STREAM|IDENTITY", help="a stream name or a session identity"
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--from-start",
        action="store_true",
        help="start at the session's first message (or the stream's first entry)",
    )
    start.add_argument(
        "--last",
        type=natural_int,
        metavar="N",
        help="start with the last N messages of the stream or session (0: only "
        "new ones, the default unless --count is given alone)",
    )
    parser.add_argument(
        "-n",
        "--count",
        type=positive_int,
        metavar="N",
        help="exit after N messages; alone, it starts with the last N messages "
        "(as --last N does), so it ends at once on a stream that has them",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per message")
    add_reconnect_timeout(parser, "tail gives up with an error")
    parser.set_defaults(run=run_command)


class Names:
    """The identity behind each stream session id of a stream: from the Session JSON
    messages tailed, else from the stream's own (read again once per new id)."""

    def __init__(self, client: Client, stream: str, known: dict[int, str]) -> None:
        self.client = client
        self.stream = stream
        self.names = known
        self.looked_up: set[int] = set()

    def __call__(self, entry: Entry) -> str:
        session_id = entry.stream_session_id
        identity = identity_of(entry.items)
        if identity is not None:
            self.names[session_id] = identity
        elif session_id not in self.names and session_id not in self.looked_up:
            self.looked_up.add(session_id)
            self.names.update(run(self.client, stream_sessions(self.stream)))
        return self.names.get(session_id, f"#{session_id}")


def run_command(args: argparse.Namespace) -> int:
    last = args.count if args.last is None else args.last
    start = "first" if args.from_start else last or "new"
    client = connect(
        args.redis, **client_options(BLOCK, args.reconnect_timeout, asynchronous=False)
    )
    options: dict[str, Any] = dict(
        start=start,
        block=BLOCK,
        reconnect_timeout=args.reconnect_timeout,
        on_bad_entry=report_bad_entry,
    )
    with client:
        session = run(client, read_session(args.target))
        reader: SessionReader | StreamReader
        if session is not None:
            if session.state in CLOSED_STATES and start == "new":
                print(
                    f"session {args.target} has ended ({session.state}); --from-start or "
                    "--last N replays it",
                    file=sys.stderr,
                )
                return 0
            reader = SessionReader(client, args.target, **options)
            try:
                stream, session_id = reader.session.location or ("", 0)
            except SessionNotFound as exc:
                raise CliError(str(exc)) from None
            names = Names(client, stream, {session_id: args.target})
        else:
            stream = args.target
            if run(client, read_stream(stream)).length is None:
                say(
                    f"no stream or session {stream!r} yet: waiting for stream:{stream} to "
                    "appear (Ctrl+C to stop)"
                )
            reader = StreamReader(client, stream, **options)
            names = Names(client, stream, {})
            reader.open()  # where it starts: what arrives from now on is shown
        say(
            f"following stream:{stream}"
            + (f" for session {args.target}" if session else "")
            + " (Ctrl+C to stop)"
        )
        try:
            return follow(reader, args, names)
        except KeyboardInterrupt:
            return 0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def follow(reader: SessionReader | StreamReader, args: argparse.Namespace, name: Names) -> int:
    shown = 0
    for entry in reader.entries():
        summary = summarize(entry)
        who = name(entry)
        print(json.dumps(as_json(summary, who)) if args.json else line(summary, who), flush=True)
        shown += 1
        if args.count and shown >= args.count:
            return 0
    if isinstance(reader, SessionReader):
        say(f"session {args.target} ended: {reader.state}")
    return 0


def kinds(summary: MessageSummary) -> str:
    parts = []
    for kind, n in sorted(summary.kinds.items()):
        if kind == "session_json":
            parts.append("json " + "/".join(summary.states))
        else:
            parts.append(f"{fmt.count(n)} {kind}")
    return ", ".join(parts)


def line(summary: MessageSummary, who: str) -> str:
    arrived = summary.entry.time_ms * 1_000_000
    fields = [fmt.clock_ns(arrived), who, kinds(summary)]
    if summary.channels:
        fields.append(f"ch {fmt.ranges(list(summary.channels))} ({len(summary.channels)})")
        fields.append(f"{fmt.count(summary.samples)} samples")
    span = summary.data_span or summary.time_range
    if span:
        fields.append(f"{fmt.clock_ns(span[0])}-{fmt.clock_ns(span[1])}")
    fields.append(f"{fmt.size(summary.raw)} -> {fmt.size(summary.compressed)}")
    return "  ".join(fields)


def as_json(summary: MessageSummary, who: str) -> dict[str, Any]:
    entry: Entry = summary.entry
    span = summary.data_span
    return {
        "entry": entry.id,
        "session": who,
        "stream_session_id": str(entry.stream_session_id),
        "items": dict(sorted(summary.kinds.items())),
        "states": summary.states,
        "channels": sorted(summary.channels),
        "samples": summary.samples,
        "first": span[0] if span else None,
        "last": span[1] if span else None,
        "time_range": list(summary.time_range) if summary.time_range else None,
        "events": len(summary.events),
        "raw_bytes": summary.raw,
        "compressed_bytes": summary.compressed,
    }
