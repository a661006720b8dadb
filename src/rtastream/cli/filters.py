"""Narrowing what `inspect` and `trim` report on a busy Redis: stream, state, age, a limit."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from rtastream import SessionState
from rtastream.cli import format as fmt
from rtastream.cli.arguments import positive_int, positive_number
from rtastream.reader import SessionRecord

R = TypeVar("R")
DEFAULT_LIMIT = 50
STATES = tuple(state.json_name for state in SessionState)


def add_options(parser: argparse.ArgumentParser, ages: bool = True) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument(
        "--stream",
        action="append",
        metavar="NAME",
        help="only this stream and its sessions (repeatable)",
    )
    group.add_argument(
        "--state",
        action="append",
        choices=STATES,
        metavar="STATE",
        help=f"only sessions in this state (repeatable): {', '.join(STATES)}",
    )
    if ages:
        group.add_argument(
            "--newer-than",
            type=positive_number("seconds"),
            metavar="SECONDS",
            help="only sessions updated less than SECONDS ago",
        )
        group.add_argument(
            "--older-than",
            type=positive_number("seconds"),
            metavar="SECONDS",
            help="only sessions not updated for SECONDS or more",
        )
    group.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"list at most N sessions and N streams, newest first "
        f"(default {DEFAULT_LIMIT}); the summary counts them all",
    )
    group.add_argument("--all", action="store_true", help="list everything (no limit)")


@dataclass(frozen=True)
class Filter:
    streams: frozenset[str] | None
    states: frozenset[str] | None
    newer_than_s: float | None
    older_than_s: float | None
    limit: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Filter:
        return cls(
            frozenset(args.stream) if args.stream else None,
            frozenset(args.state) if args.state else None,
            getattr(args, "newer_than", None),
            getattr(args, "older_than", None),
            None if args.all else args.limit,
        )

    def stream(self, name: str | None) -> bool:
        return self.streams is None or name in self.streams

    def session(self, record: SessionRecord, now_ms: int) -> bool:
        if not self.stream(record.stream):
            return False
        if self.states is not None and record.state not in self.states:
            return False
        age = record.age_s(now_ms)
        if self.newer_than_s is not None and (age is None or age >= self.newer_than_s):
            return False
        return self.older_than_s is None or (age is not None and age >= self.older_than_s)

    def sessions(self, records: Sequence[SessionRecord], now_ms: int) -> list[SessionRecord]:
        """The matching sessions, most recently updated first."""
        kept = [record for record in records if self.session(record, now_ms)]
        return sorted(kept, key=lambda s: (s.last_updated_ms or 0, s.identity), reverse=True)

    def shown(self, rows: list[R]) -> list[R]:
        return rows if self.limit is None else rows[: self.limit]


def state_counts(sessions: Sequence[SessionRecord]) -> str:
    """'3 sessions (open 1, closed 2)'."""
    counts = Counter(s.state for s in sessions)
    detail = ", ".join(f"{state} {fmt.count(n)}" for state, n in counts.most_common())
    return f"{plural(len(sessions), 'session')}" + (f" ({detail})" if detail else "")


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """'1 event', '2 events' (or the given plural)."""
    return f"{fmt.count(n)} {noun if n == 1 else nouns or noun + 's'}"
