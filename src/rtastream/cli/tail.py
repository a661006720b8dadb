"""`rtastream tail`: follow a stream or one session live, one line per message."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import redis

from rtastream import keys
from rtastream.cli import format as fmt
from rtastream.cli.arguments import positive_int
from rtastream.cli.connection import CliError, connect
from rtastream.cli.readback import (
    CLOSED_STATES,
    MessageSummary,
    entry_time_ms,
    list_sessions,
    read_session,
    read_stream,
    stream_exists,
    summarize,
    to_message,
)

BLOCK_MS = 1000  # one blocking XREAD at a time; short so the loop stays responsive


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "tail", parents=[parent], help="follow a stream or a session live, one line per message",
        description="Follow a stream (every session in it) or one session (by identity) with "
                    "blocking XREAD and print one line per message: entry time, session, item "
                    "kinds, channels, samples, data time range, raw/compressed size. A session "
                    "identity is tried first, then a stream name. Following a session ends when "
                    "it reaches a closed state (closed, truncated, failed, abandoned). "
                    "Ctrl+C stops following and exits with status 0.")
    parser.add_argument("target", metavar="STREAM|IDENTITY",
                        help="a stream name or a session identity")
    parser.add_argument("--from-start", action="store_true",
                        help="start at the session's first message (or the stream's first entry) "
                             "instead of only new messages")
    parser.add_argument("-n", "--count", type=positive_int, metavar="N",
                        help="exit after N messages")
    parser.add_argument("--json", action="store_true", help="print one JSON object per message")
    parser.set_defaults(run=run)


class Follower:
    """Where to read, which messages to keep, and who sent them."""

    def __init__(self, client: redis.Redis, target: str, from_start: bool) -> None:
        self.client = client
        session = read_session(client, target)
        if session is not None:
            if session.stream is None or session.stream_session_id is None:
                raise CliError(f"session {target!r} has no {keys.STREAM_NAME} or "
                               f"{keys.STREAM_SESSION_ID} field: it cannot be followed")
            self.stream = session.stream
            self.only = session.stream_session_id
            self.names = {session.stream_session_id: session.identity}
            self.ended = session.state if session.state in CLOSED_STATES else None
            start = session.stream_position
        elif stream_exists(client, target):
            self.stream, self.only, self.names, self.ended = target, None, {}, None
            start = keys.NO_STREAM_POSITION
        else:
            raise CliError(f"unknown stream or session {target!r}: no {keys.session_key(target)} "
                           f"hash and no stream {target!r} in {keys.STREAMS!r}")
        self.key = keys.stream_key(self.stream)
        self.last_id = start if from_start else (read_stream(client, self.stream).last_id or start)
        self.looked_up: set[str] = set()

    def name(self, stream_session_id: str) -> str:
        """The identity behind a stream session id (sessions are listed again once per new id)."""
        if stream_session_id not in self.names and stream_session_id not in self.looked_up:
            self.looked_up.add(stream_session_id)
            self.names.update({s.stream_session_id: s.identity for s in list_sessions(self.client)
                               if s.stream == self.stream and s.stream_session_id})
        return self.names.get(stream_session_id, f"#{stream_session_id}")

    def read(self) -> list[MessageSummary]:
        reply = self.client.xread({self.key: self.last_id}, count=100, block=BLOCK_MS)
        summaries = []
        for _key, entries in reply or []:
            for entry_id, fields in entries:
                message = to_message(entry_id, fields)
                self.last_id = message.entry_id
                if self.only is None or message.stream_session_id == self.only:
                    summaries.append(summarize(message))
        return summaries


def run(args: argparse.Namespace) -> int:
    client = connect(args.redis)
    with client:
        follower = Follower(client, args.target, args.from_start)
        if follower.ended and not args.from_start:
            print(f"session {args.target} has ended ({follower.ended}); --from-start replays it",
                  file=sys.stderr)
            return 0
        shown = 0
        try:
            print(f"following {follower.key}" + (f" for session {args.target}" if follower.only
                                                 else "") + " (Ctrl+C to stop)",
                  file=sys.stderr, flush=True)
            while True:
                for summary in follower.read():
                    who = follower.name(summary.message.stream_session_id)
                    print(json.dumps(as_json(summary, who)) if args.json else line(summary, who),
                          flush=True)
                    shown += 1
                    if args.count and shown >= args.count:
                        return 0
                    ended = [s for s in summary.states if s in CLOSED_STATES]
                    if follower.only and ended:
                        print(f"session {who} ended: {ended[-1]}", file=sys.stderr, flush=True)
                        return 0
        except KeyboardInterrupt:
            return 0


def kinds(summary: MessageSummary) -> str:
    parts = []
    for kind, n in sorted(summary.kinds.items()):
        if kind == "session_json":
            parts.append("json " + "/".join(summary.states))
        else:
            parts.append(f"{n} {kind}")
    return ", ".join(parts)


def line(summary: MessageSummary, who: str) -> str:
    arrived = entry_time_ms(summary.message.entry_id) * 1_000_000
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
    span = summary.data_span
    return {"entry": summary.message.entry_id, "session": who,
            "stream_session_id": summary.message.stream_session_id,
            "items": dict(sorted(summary.kinds.items())), "states": summary.states,
            "channels": sorted(summary.channels), "samples": summary.samples,
            "first": span[0] if span else None, "last": span[1] if span else None,
            "time_range": list(summary.time_range) if summary.time_range else None,
            "events": len(summary.events),
            "raw_bytes": summary.raw, "compressed_bytes": summary.compressed}

