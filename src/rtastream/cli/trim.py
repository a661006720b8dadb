"""`rtastream trim`: cap streams like the Stream Service's trimmer and clear out stale sessions."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rtastream import keys
from rtastream._native import Burst
from rtastream.cli import filters
from rtastream.cli import format as fmt
from rtastream.cli.arguments import positive_int, positive_number
from rtastream.cli.connection import Client, connect
from rtastream.reader import read_stream, run, scan_sessions, stream_names
from rtastream.reader.entries import CLOSED_STATES, entry_time_ms
from rtastream.reader.records import SessionRecord
from rtastream.session import Session, SessionState, TimeRange, now

DEFAULT_MAXLEN = 10_000  # the Stream Service trimmer's default target

# Deletes only if still stale when Redis runs it: a writer may have updated in between.
_DELETE_STALE_SESSION = """
local updated = redis.call('HGET', KEYS[1], ARGV[1])
if not updated or tonumber(updated) >= tonumber(ARGV[2]) then return 0 end
return redis.call('DEL', KEYS[1])
"""
# Ends the session only if still stale and unchanged when Redis runs it (ARGV: the cutoff,
# the Session JSON read, the abandoned one); its lastUpdated is left, so it stays stale.
_ABANDON_STALE_SESSION = """
local updated = redis.call('HGET', KEYS[1], ARGV[1])
if not updated or tonumber(updated) >= tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[1], ARGV[3]) ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[5])
return 1
"""
_DELETE_STALE_STREAM = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last and tonumber(string.match(last[1], '^%d+')) >= tonumber(ARGV[1]) then return -1 end
return redis.call('DEL', KEYS[1])
"""


def add_parser(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "trim",
        parents=[parent],
        help="cap stream lengths and remove stale sessions",
        description="Cap every stream listed in the `streams` set to --maxlen entries, as the "
        "Stream Service's trimmer does. With --stale-after, first deal with sessions "
        "whose lastUpdated is older than that (found with SCAN, on every master of a "
        "cluster): one still open has lost its writer (a live writer refreshes "
        "lastUpdated every few seconds) and is ended `abandoned`, with a final Session "
        "JSON message in its stream, which is kept; an ended one's hash is removed (its "
        "messages may be trimmed away). Then streams that no remaining session uses and "
        "that received nothing for that long are removed. The filters narrow what is "
        "trimmed and removed (--stream, --state) and how much is listed (--limit, --all); "
        "the totals come first.",
    )
    parser.add_argument(
        "--maxlen",
        type=positive_int,
        default=DEFAULT_MAXLEN,
        metavar="N",
        help=f"entries to keep per stream (default {DEFAULT_MAXLEN})",
    )
    parser.add_argument(
        "--approx",
        action="store_true",
        help="trim approximately (XTRIM MAXLEN ~): cheaper, keeps at least N",
    )
    parser.add_argument(
        "--stale-after",
        type=positive_number("seconds"),
        metavar="SECONDS",
        help="end open sessions not updated for this long (abandoned), remove ended ones, "
        "and streams left without a session",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be done, change nothing"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    filters.add_options(parser, ages=False)
    parser.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    chosen = filters.Filter.from_args(args)
    client = connect(args.redis)
    with client:
        report = Trimmer(client, args.dry_run, chosen).run(
            args.maxlen, args.approx, args.stale_after
        )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report, args.dry_run, chosen))
    return 0


class Trimmer:
    def __init__(self, client: Client, dry_run: bool, chosen: filters.Filter) -> None:
        self.client = client
        self.dry_run = dry_run
        self.chosen = chosen
        self.now_ms = int(time.time() * 1000)

    def run(self, maxlen: int, approx: bool, stale_after: float | None) -> dict[str, Any]:
        report: dict[str, Any] = {
            "dry_run": self.dry_run,
            "maxlen": maxlen,
            "approx": approx,
            "stale_after_s": stale_after,
            "sessions": [],
            "idle_streams": [],
            "streams": [],
        }
        names = [name for name in run(self.client, stream_names()) if self.chosen.stream(name)]
        if stale_after is not None:
            cutoff = self.now_ms - int(stale_after * 1000)
            live = self.remove_stale_sessions(cutoff, report["sessions"])
            names = [
                n
                for n in names
                if not self.remove_idle_stream(n, n in live, cutoff, report["idle_streams"])
            ]
        for name in names:
            report["streams"].append(self.trim(name, maxlen, approx))
        return report

    def remove_stale_sessions(self, cutoff: int, out: list[dict[str, Any]]) -> set[str | None]:
        """Delete stale session hashes; the stream names the remaining ones use."""
        live: set[str | None] = set()
        for session in run(self.client, scan_sessions()):  # stale ones may be in no stream
            updated = session.last_updated_ms
            if not self.chosen.session(session, self.now_ms) or (
                updated is not None and updated >= cutoff
            ):  # left alone: its stream is in use
                live.add(session.stream)
                continue
            if session.state not in CLOSED_STATES and session.location is not None:
                action = self.abandon_session(session, cutoff)
            else:
                action = self.remove_session(session.identity, updated, cutoff)
            if action.startswith(("kept", "abandoned", "would abandon")):
                live.add(session.stream)
            out.append(
                {
                    "identity": session.identity,
                    "stream": session.stream,
                    "last_updated_ms": updated,
                    "action": action,
                }
            )
        return live

    def remove_session(self, identity: str, updated: int | None, cutoff: int) -> str:
        if updated is None:
            return f"kept: no {keys.LAST_UPDATED} field"
        if self.dry_run:
            return "would remove"
        if self.client.eval(
            _DELETE_STALE_SESSION, 1, keys.session_key(identity), keys.LAST_UPDATED, cutoff
        ):
            return "removed"
        return "kept: updated meanwhile"

    def abandon_session(self, session: SessionRecord, cutoff: int) -> str:
        """End an open session whose writer is gone: its hash's Session JSON `abandoned`,
        then that JSON as the session's last message (with its time range), as the
        writer's close() would have written it. Its stream, shared with live sessions
        perhaps, is left alone."""
        assert session.location is not None and session.json is not None
        try:
            model = Session.from_json(session.json)
            span = session.time_range
            final = model.transition(
                SessionState.ABANDONED,
                end_timestamp=model.end_timestamp or now(),
                time_range=TimeRange(*span) if span else model.time_range,
            )
        except ValueError as e:
            return f"kept: its Session JSON cannot be ended ({e})"
        if self.dry_run:
            return "would abandon"
        text = final.to_json()
        key = keys.session_key(session.identity)
        args = (keys.LAST_UPDATED, cutoff, keys.JSON, session.json, text)
        if not self.client.eval(_ABANDON_STALE_SESSION, 1, key, *args):
            return "kept: updated meanwhile"
        burst = Burst()
        if span:
            burst.time_range(*span)
        burst.session_json(text)
        stream, session_id = session.location
        for message in burst.pack():
            self.client.xadd(
                keys.stream_key(stream), {keys.ENTRY_ID: session_id, keys.ENTRY_DATA: message}
            )
        return "abandoned"

    def remove_idle_stream(
        self, name: str, in_use: bool, cutoff: int, out: list[dict[str, Any]]
    ) -> bool:
        """Remove a stream no live session uses and nobody wrote to since the cutoff."""
        if in_use:
            return False
        stream = run(self.client, read_stream(name))
        last_ms = entry_time_ms(stream.last_id) if stream.last_id else None
        if last_ms is not None and last_ms >= cutoff:
            return False
        entry = {"name": name, "length": stream.length, "last_entry_ms": last_ms}
        if self.dry_run:
            entry["action"] = "would remove"
        else:
            # Unlisted first, so a writer starting a session now lists it again.
            self.client.srem(keys.STREAMS, name)
            if self.client.eval(_DELETE_STALE_STREAM, 1, keys.stream_key(name), cutoff) < 0:
                self.client.sadd(keys.STREAMS, name)
                entry["action"] = "kept: written meanwhile"
                out.append(entry)
                return False
            entry["action"] = "removed"
        out.append(entry)
        return True

    def trim(self, name: str, maxlen: int, approx: bool) -> dict[str, Any]:
        key = keys.stream_key(name)
        length = self.client.xlen(key)
        if self.dry_run:
            removed = max(0, length - maxlen)
            action = "would trim" if removed else "kept"
        else:
            removed = self.client.xtrim(key, maxlen=maxlen, approximate=approx)
            action = "trimmed" if removed else "kept"
        return {"name": name, "length": length, "removed": removed, "action": action}


def render(report: dict[str, Any], dry_run: bool, chosen: filters.Filter) -> str:
    now_ms = int(time.time() * 1000)
    mode = "~" if report["approx"] else "="
    verb = "would remove" if dry_run else "removed"
    gone_sessions = sum(s["action"] in ("removed", "would remove") for s in report["sessions"])
    gone_streams = sum(s["action"] in ("removed", "would remove") for s in report["idle_streams"])
    ended = sum(s["action"] in ("abandoned", "would abandon") for s in report["sessions"])
    trimmed = sum(s["removed"] for s in report["streams"])
    lines = [
        ("dry run: " if dry_run else "")
        + f"trimming to MAXLEN {mode} {report['maxlen']}"
        + (
            f", stale after {fmt.duration(report['stale_after_s'])}"
            if report["stale_after_s"]
            else ""
        ),
        f"{verb} {fmt.count(trimmed)} entries from {len(report['streams'])} stream(s), "
        f"{gone_sessions} session(s), {gone_streams} stream(s)"
        + (
            f"; {'would abandon' if dry_run else 'abandoned'} {ended} open session(s)"
            if ended
            else ""
        ),
    ]

    def ago(ms: int | None) -> str:
        return f"{fmt.duration((now_ms - ms) / 1000)} ago" if ms is not None else "never"

    more: list[str] = []

    def listed(rows: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        shown = chosen.shown(rows)
        if len(shown) < len(rows):
            more.append(f"... {len(rows) - len(shown)} more {what} (--all lists every one)")
        return shown

    for s in listed(report["sessions"], "sessions"):
        lines.append(
            f"session {s['identity']} (stream {s['stream']}, updated "
            f"{ago(s['last_updated_ms'])}): {s['action']}"
        )
    for s in listed(report["idle_streams"], "idle streams"):
        lines.append(
            f"stream {s['name']} (no live session, last entry "
            f"{ago(s['last_entry_ms'])}): {s['action']}"
        )
    for s in listed(report["streams"], "streams"):
        if s["action"] == "kept":
            lines.append(f"stream {s['name']}: {fmt.count(s['length'])} entries, kept")
        else:
            bound = "up to " if dry_run and report["approx"] else ""
            lines.append(
                f"stream {s['name']}: {fmt.count(s['length'])} entries, {s['action']} "
                f"{bound}{fmt.count(s['removed'])}"
            )
    if not report["streams"] and not report["idle_streams"]:
        lines.append(f"no streams listed in the {keys.STREAMS!r} set")
    return "\n".join(lines + more)
