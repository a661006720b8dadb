"""`rtastream inspect`: the streams and sessions in Redis, or one session decoded."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from rtastream import SessionNotFound, SessionReader
from rtastream.cli import filters
from rtastream.cli import format as fmt
from rtastream.cli.connection import CliError, connect, redact
from rtastream.cli.stats import SessionStats, session_stats
from rtastream.configuration import Bound, ChannelInfo, session_channels
from rtastream.reader import (
    BadEntry,
    SessionRecord,
    StreamRecord,
    list_sessions,
    read_stream,
    run,
    stream_names,
)
from rtastream.reader.entries import entry_time_ms


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "inspect",
        parents=[parent],
        help="show what is in Redis: streams, sessions, one session",
        description="Without IDENTITY: a summary (how many streams and sessions, by state), "
        "then the streams listed in the `streams` set (entries, first and last "
        "entry time, memory) and the session hashes (state, stream, time range, "
        "last update, TTL), most recently updated first, narrowed by the filters. "
        "The sessions are found with SCAN on a single Redis (about half a microsecond of "
        "Redis CPU per key), and from the listed streams' Session JSON messages on a Redis "
        "Cluster, where scanning the keyspace is discouraged (Redis reads each stream whole: "
        "about 0.3 ms of CPU per 56 KiB entry, some 3 s for a stream of 10,000 entries); "
        "--scan or --from-streams chooses. Only SCAN finds a hash whose Session JSON "
        "messages are trimmed away, or whose stream is not listed. "
        "With IDENTITY: decode that session's messages and report channels, item "
        "kinds, samples, rates, events, burst sizes and compression; a bad entry is "
        "reported on stderr in one line and skipped.",
    )
    parser.add_argument("identity", nargs="?", metavar="IDENTITY", help="a session identity")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--scan",
        action="store_const",
        const=False,
        dest="from_streams",
        help="find every session hash with SCAN (on every master of a cluster), also those "
        "no listed stream names any more (the default on a single Redis)",
    )
    how.add_argument(
        "--from-streams",
        action="store_const",
        const=True,
        dest="from_streams",
        help="find the sessions the listed streams' Session JSON messages name, reading "
        "each stream whole, without scanning the keyspace (the default on a cluster)",
    )
    filters.add_options(parser)
    parser.set_defaults(run=run_command)


def report_bad_entry(bad: BadEntry) -> None:
    print(f"rtastream: {bad}", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    client = connect(args.redis)
    now_ms = int(time.time() * 1000)
    with client:
        if args.identity is None:
            print(show_overview(client, args, now_ms))
            return 0
        try:
            with SessionReader(
                client, args.identity, follow=False, on_bad_entry=report_bad_entry
            ) as reader:
                session = reader.session
                bound = reader.configurations()
                stats = session_stats(reader)
        except SessionNotFound as exc:
            raise CliError(str(exc)) from None
    if not args.json:
        print(session_report(session, stats, now_ms, bound))
        return 0
    bindings = [{"identifier": c.identifier, "channelOffset": offset} for c, offset in bound]
    channels = {str(i): info.to_json() for i, info in session_channels(bound).items()}
    document = {
        "session": session.to_json(now_ms),
        "model": session.model,
        "configuration": {"bindings": bindings, "channels": channels},
        "messages": stats.to_json(),
    }
    print(json.dumps(document, indent=2))
    return 0


def show_overview(client: Any, args: argparse.Namespace, now_ms: int) -> str:
    """Every stream and session the filters choose, as text or JSON."""
    chosen = filters.Filter.from_args(args)
    streams = [
        run(client, read_stream(name))
        for name in run(client, stream_names())
        if chosen.stream(name)
    ]
    every = run(client, list_sessions(from_streams=args.from_streams))
    sessions = chosen.sessions(every, now_ms)
    if not args.json:
        return overview(redact(args.redis), now_ms, streams, sessions, len(every), chosen)
    summary = {"streams": len(streams), "sessions": len(sessions), "sessions_in_redis": len(every)}
    document = {
        "redis": redact(args.redis),
        "time_ms": now_ms,
        "summary": summary,
        "streams": [s.to_json() for s in chosen.shown(streams)],
        "sessions": [s.to_json(now_ms) for s in chosen.shown(sessions)],
    }
    return json.dumps(document, indent=2)


def overview(
    url: str,
    now_ms: int,
    streams: list[StreamRecord],
    sessions: list[SessionRecord],
    in_redis: int,
    chosen: filters.Filter,
) -> str:
    narrowed = len(sessions) != in_redis
    lines = [
        f"Redis {url} at {fmt.iso_ms(now_ms)}",
        f"{filters.plural(len(streams), 'stream')}, {filters.state_counts(sessions)}"
        + (f" matching, of {fmt.count(in_redis)} in Redis" if narrowed else ""),
    ]
    shown_streams = chosen.shown(streams)
    lines += ["", section("Streams", len(shown_streams), len(streams))]
    if shown_streams:
        lines.append(streams_table(shown_streams))
    shown_sessions = chosen.shown(sessions)
    lines += ["", section("Sessions", len(shown_sessions), len(sessions))]
    if shown_sessions:
        lines.append(sessions_table(shown_sessions, now_ms))
    return "\n".join(lines)


def streams_table(streams: list[StreamRecord]) -> str:
    rows = []
    for s in streams:
        if s.length is None:
            rows.append([s.name, "(missing)", "", "", ""])
            continue
        rows.append(
            [
                s.name,
                fmt.count(s.length),
                fmt.iso_ms(entry_time_ms(s.first_id)) if s.first_id else "-",
                fmt.iso_ms(entry_time_ms(s.last_id)) if s.last_id else "-",
                fmt.size(s.memory) if s.memory is not None else "-",
            ]
        )
    return fmt.table(["name", "entries", "first entry", "last entry", "memory"], rows, "<>>>>")


def sessions_table(sessions: list[SessionRecord], now_ms: int) -> str:
    rows = []
    for session in sessions:
        time_range = session.time_range
        age = session.age_s(now_ms)
        rows.append(
            [
                session.identity,
                session.state_at(now_ms),
                session.stream or "-",
                session.stream_session_id or "-",
                fmt.iso_ns(time_range[0]) if time_range else "-",
                fmt.iso_ns(time_range[1]) if time_range else "-",
                f"{fmt.duration(age)} ago" if age is not None else "-",
                fmt.duration(session.ttl) if session.ttl is not None else "never",
            ]
        )
    return fmt.table(
        ["identity", "state", "stream", "id", "start", "end", "updated", "expires in"],
        rows,
        "<<<><<>>",
    )


def section(title: str, shown: int, total: int) -> str:
    """'Sessions (3)', or 'Sessions (50 of 10,000; --all lists every one)'."""
    if shown == total:
        return f"{title} ({fmt.count(total)})"
    return f"{title} ({fmt.count(shown)} of {fmt.count(total)}; --all lists every one)"


def session_report(
    session: SessionRecord, stats: SessionStats, now_ms: int, bound: list[Bound] | None = None
) -> str:
    """The report of one session; channel names, units and types from its configurations
    (`bound`) where it has some."""
    facts = session_facts(session, now_ms, bound or []) + message_facts(stats)
    width = max(len(label) for label, _ in facts)
    lines = [f"Session {session.identity}"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in facts]
    lines += notes(session, stats)
    if stats.channels:
        configured = session_channels(bound or [])
        lines += ["", f"Channels ({len(stats.channels)})", channels_table(stats, configured)]
    if stats.events:
        count = sum(e.count for e in stats.events.values())
        lines += ["", f"Events ({count})", events_table(stats)]
    return "\n".join(lines)


def session_facts(session: SessionRecord, now_ms: int, bound: list[Bound]) -> list[tuple[str, str]]:
    """What the session hash says: (label, value) lines."""
    model = session.model
    age = session.age_s(now_ms)
    facts: list[tuple[str, str]] = [
        ("identifier", str(model.get("identifier", "-"))),
        ("state", session.state_at(now_ms)),
        (
            "stream",
            f"{session.stream} (stream session id {session.stream_session_id}, "
            f"after entry {session.stream_position})",
        ),
    ]
    if session.time_range:
        facts.append(("time range", time_range(*session.time_range)))
    for config, offset in bound:
        facts.append(
            (
                "configuration",
                f"{config.identifier} ({filters.plural(len(list(config.channels())), 'channel')}"
                + (f", channel offset {offset})" if offset else ")"),
            )
        )
    facts.append(
        (
            "updated",
            (f"{fmt.duration(age)} ago" if age is not None else "never")
            + (
                f", expires in {fmt.duration(session.ttl)}"
                if session.ttl is not None
                else ", never expires"
            ),
        )
    )
    return facts


def message_facts(stats: SessionStats) -> list[tuple[str, str]]:
    """What the session's messages hold: (label, value) lines."""
    facts = [
        (
            "messages",
            f"{fmt.count(stats.messages)} ({fmt.count(stats.data_bursts)} "
            "with data)"
            + (
                f", {filters.plural(stats.skipped, 'bad entry', 'bad entries')} skipped"
                if stats.skipped
                else ""
            ),
        )
    ]
    if stats.messages:
        facts += [
            ("state updates", " -> ".join(stats.states) or "-"),
            (
                "items",
                ", ".join(f"{kind} {fmt.count(n)}" for kind, n in sorted(stats.kinds.items())),
            ),
            (
                "samples",
                f"{fmt.count(stats.samples)} in {filters.plural(len(stats.channels), 'channel')}",
            ),
            (
                "burst size",
                f"raw {spread(stats.raw_sizes)}; compressed {spread(stats.compressed_sizes)}",
            ),
            (
                "total",
                f"raw {fmt.size(stats.raw)}, compressed {fmt.size(stats.compressed)}, "
                f"ratio {stats.ratio:.2f}",
            ),
        ]
    return facts


def notes(session: SessionRecord, stats: SessionStats) -> list[str]:
    """Why the messages may not show the whole session."""
    if not stats.messages:
        return [
            f"  note: no messages with id {session.stream_session_id} after "
            f"{session.stream_position} in stream:{session.stream} "
            "(not started yet, or trimmed away)"
        ]
    if not stats.starts_with_json:
        return [
            "  note: the first message found is not a Session JSON update "
            "(the stream was probably trimmed past the session's start)"
        ]
    return []


def channels_table(stats: SessionStats, configured: dict[int, ChannelInfo]) -> str:
    rows = []
    for channel_id, c in sorted(stats.channels.items()):
        width_b = f"{c.nbytes / c.samples:g} B" if c.nbytes else "-"
        info = configured.get(channel_id)
        named = [info.name, info.unit, info.type] if info else ["-", "", "-"]
        rows.append(
            [
                channel_id,
                *named,
                "+".join(sorted(c.kinds)),
                fmt.count(c.samples),
                width_b,
                when(c.first),
                when(c.last),
                fmt.duration(c.span_ns / 1e9),
                fmt.rate(c.rate_hz) if c.rate_hz else "-",
            ]
        )
    return fmt.table(
        ["channel", "name", "unit", "type", "kinds", "samples", "sample", "first", "last"]
        + ["span", "rate"],
        rows,
        "><<<<>><<>>",
    )


def events_table(stats: SessionStats) -> str:
    rows = [
        [event_id, e.count, when(e.first), when(e.last), e.last_status or "-"]
        for event_id, e in sorted(stats.events.items())
    ]
    return fmt.table(["definition", "count", "first", "last", "last status text"], rows, ">><<<")


def when(ns: int | None) -> str:
    return "-" if ns is None else fmt.iso_ns(ns)


def time_range(start: int, end: int) -> str:
    return f"{fmt.iso_ns(start)} -> {fmt.iso_ns(end)} ({fmt.duration((end - start) / 1e9)})"


def spread(sizes: list[int]) -> str:
    """'mean 16.1 KiB (15.9 KiB-16.4 KiB)'."""
    mean = sum(sizes) / len(sizes)
    return f"mean {fmt.size(mean)} ({fmt.size(min(sizes))}-{fmt.size(max(sizes))})"
