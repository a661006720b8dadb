"""`rtastream inspect`: every stream and session in Redis, or one session decoded."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rtastream import keys
from rtastream.cli import format as fmt
from rtastream.cli.connection import CliError, connect, redact
from rtastream.cli.readback import (
    SessionRecord,
    SessionStats,
    entry_time_ms,
    list_sessions,
    read_session,
    read_stream,
    session_stats,
    stream_names,
)


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "inspect", parents=[parent], help="show what is in Redis: streams, sessions, one session",
        description="Without IDENTITY: every stream listed in the `streams` set (entries, first "
                    "and last entry time, memory) and every session hash (state, stream, time "
                    "range, last update, TTL). With IDENTITY: decode that session's messages and "
                    "report channels, item kinds, samples, rates, events, burst sizes and "
                    "compression.")
    parser.add_argument("identity", nargs="?", metavar="IDENTITY", help="a session identity")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    client = connect(args.redis)
    now_ms = int(time.time() * 1000)
    with client:
        if args.identity is None:
            streams = [read_stream(client, name) for name in stream_names(client)]
            sessions = list_sessions(client)
            if args.json:
                print(json.dumps({"redis": redact(args.redis), "time_ms": now_ms,
                                  "streams": [s.to_json() for s in streams],
                                  "sessions": [s.to_json(now_ms) for s in sessions]}, indent=2))
            else:
                print(overview(redact(args.redis), now_ms, streams, sessions))
            return 0
        session = read_session(client, args.identity)
        if session is None:
            raise CliError(f"unknown session {args.identity!r}: "
                           f"no hash at {keys.session_key(args.identity)}")
        if session.stream is None or session.stream_session_id is None:
            raise CliError(f"session {args.identity!r} has no {keys.STREAM_NAME} or "
                           f"{keys.STREAM_SESSION_ID} field: it cannot be located in a stream")
        stats = session_stats(client, session)
    if args.json:
        print(json.dumps({"session": session.to_json(now_ms), "model": session.model,
                          "messages": stats.to_json()}, indent=2))
    else:
        print(session_report(session, stats, now_ms))
    return 0


def overview(url: str, now_ms: int, streams: list, sessions: list[SessionRecord]) -> str:
    lines = [f"Redis {url} at {fmt.iso_ms(now_ms)}", "", f"Streams ({len(streams)})"]
    if streams:
        rows = []
        for s in streams:
            if s.length is None:
                rows.append([s.name, "(missing)", "", "", ""])
                continue
            rows.append([s.name, fmt.count(s.length),
                         fmt.iso_ms(entry_time_ms(s.first_id)) if s.first_id else "-",
                         fmt.iso_ms(entry_time_ms(s.last_id)) if s.last_id else "-",
                         fmt.size(s.memory) if s.memory is not None else "-"])
        lines.append(fmt.table(["name", "entries", "first entry", "last entry", "memory"],
                               rows, "<>>>>"))
    lines += ["", f"Sessions ({len(sessions)})"]
    if sessions:
        rows = []
        for s in sessions:
            time_range = s.time_range
            age = s.age_s(now_ms)
            rows.append([s.identity, s.state, s.stream or "-", s.stream_session_id or "-",
                         fmt.iso_ns(time_range[0]) if time_range else "-",
                         fmt.iso_ns(time_range[1]) if time_range else "-",
                         f"{fmt.duration(age)} ago" if age is not None else "-",
                         fmt.duration(s.ttl) if s.ttl is not None else "never"])
        lines.append(fmt.table(["identity", "state", "stream", "id", "start", "end", "updated",
                                "expires in"], rows, "<<<><<>>"))
    return "\n".join(lines)


def session_report(session: SessionRecord, stats: SessionStats, now_ms: int) -> str:
    model = session.model
    age = session.age_s(now_ms)
    lines = [f"Session {session.identity}"]
    facts: list[tuple[str, str]] = [
        ("identifier", str(model.get("identifier", "-"))),
        ("state", session.state),
        ("stream", f"{session.stream} (stream session id {session.stream_session_id}, "
                   f"after entry {session.stream_position})"),
    ]
    if session.time_range:
        facts.append(("time range", time_range(*session.time_range)))
    facts.append(("updated", (f"{fmt.duration(age)} ago" if age is not None else "never")
                  + (f", expires in {fmt.duration(session.ttl)}" if session.ttl is not None
                     else ", never expires")))
    facts.append(("messages", f"{stats.messages} ({stats.data_bursts} with data)"))
    if stats.messages:
        facts += [
            ("state updates", " -> ".join(stats.states) or "-"),
            ("items", ", ".join(f"{kind} {fmt.count(n)}"
                                for kind, n in sorted(stats.kinds.items()))),
            ("samples", f"{fmt.count(stats.samples)} in {len(stats.channels)} channels"),
            ("burst size", f"raw {spread(stats.raw_sizes)}; "
                           f"compressed {spread(stats.compressed_sizes)}"),
            ("total", f"raw {fmt.size(stats.raw)}, compressed {fmt.size(stats.compressed)}, "
                      f"ratio {stats.ratio:.2f}"),
        ]
    width = max(len(label) for label, _ in facts)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in facts]
    if not stats.messages:
        lines.append(f"  note: no messages with id {session.stream_session_id} after "
                     f"{session.stream_position} in {keys.stream_key(session.stream or '')} "
                     "(not started yet, or trimmed away)")
    elif not stats.starts_with_json:
        lines.append("  note: the first message found is not a Session JSON update "
                     "(the stream was probably trimmed past the session's start)")
    if stats.channels:
        rows = []
        for channel_id, c in sorted(stats.channels.items()):
            width_b = f"{c.nbytes / c.samples:g} B" if c.nbytes else "-"
            rows.append([channel_id, "+".join(sorted(c.kinds)), fmt.count(c.samples), width_b,
                         fmt.iso_ns(c.first), fmt.iso_ns(c.last), fmt.duration(c.span_ns / 1e9),
                         fmt.rate(c.rate_hz) if c.rate_hz else "-"])
        lines += ["", f"Channels ({len(stats.channels)})",
                  fmt.table(["channel", "kinds", "samples", "sample", "first", "last", "span",
                             "rate"], rows, "><>><<>>")]
    if stats.events:
        rows = [[event_id, e.count, fmt.iso_ns(e.first), fmt.iso_ns(e.last), e.last_status or "-"]
                for event_id, e in sorted(stats.events.items())]
        lines += ["", f"Events ({sum(e.count for e in stats.events.values())})",
                  fmt.table(["definition", "count", "first", "last", "last status text"],
                            rows, ">><<<")]
    return "\n".join(lines)


def time_range(start: int, end: int) -> str:
    return f"{fmt.iso_ns(start)} -> {fmt.iso_ns(end)} ({fmt.duration((end - start) / 1e9)})"


def spread(sizes: list[int]) -> str:
    """'mean 16.1 KiB (15.9 KiB-16.4 KiB)'."""
    mean = sum(sizes) / len(sizes)
    return f"mean {fmt.size(mean)} ({fmt.size(min(sizes))}-{fmt.size(max(sizes))})"
