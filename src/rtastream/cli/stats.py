"""What the commands show about messages and sessions: counts, channels, sizes, events.

Built on the entries rtastream.reader decodes; the reader does the talking to Redis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rtastream import (
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    SessionReader,
    TimeRangeItem,
    TimestampedItem,
)
from rtastream.reader import Entry

KINDS = {
    TimestampedItem: "timestamped",
    PeriodicItem: "periodic",
    RowItem: "row",
    EventItem: "event",
    TimeRangeItem: "time_range",
    SessionJsonItem: "session_json",
}


@dataclass
class ChannelStats:
    kinds: set[str] = field(default_factory=set)
    samples: int = 0
    nbytes: int = 0
    first: int | None = None
    last: int | None = None

    def add(self, kind: str, samples: int, nbytes: int, first: int, last: int) -> None:
        self.kinds.add(kind)
        self.samples += samples
        self.nbytes += nbytes
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)

    def merge(self, other: ChannelStats) -> None:
        self.kinds |= other.kinds
        self.samples += other.samples
        self.nbytes += other.nbytes
        for t in (other.first, other.last):
            if t is not None:
                self.first = t if self.first is None else min(self.first, t)
                self.last = t if self.last is None else max(self.last, t)

    @property
    def span_ns(self) -> int:
        return 0 if self.first is None or self.last is None else self.last - self.first

    @property
    def rate_hz(self) -> float | None:
        """Samples per second over the channel's span (None below two distinct times)."""
        return (self.samples - 1) * 1e9 / self.span_ns if self.span_ns > 0 else None


@dataclass
class MessageSummary:
    """One stream entry decoded: what `tail` prints and what session statistics add up."""

    entry: Entry
    kinds: Counter[str]
    channels: dict[int, ChannelStats]
    events: list[EventItem]
    time_range: tuple[int, int] | None  # the last StreamTimeRange it carries

    @property
    def raw(self) -> int:
        return self.entry.raw_size

    @property
    def compressed(self) -> int:
        return len(self.entry.data)

    @property
    def states(self) -> list[str]:
        return self.entry.states

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.channels.values())

    @property
    def data_span(self) -> tuple[int, int] | None:
        """First and last sample time over every channel in the message."""
        firsts = [c.first for c in self.channels.values() if c.first is not None]
        lasts = [c.last for c in self.channels.values() if c.last is not None]
        return (min(firsts), max(lasts)) if firsts else None


def summarize(entry: Entry) -> MessageSummary:
    kinds: Counter[str] = Counter()
    channels: dict[int, ChannelStats] = {}
    events: list[EventItem] = []
    time_range = None
    for item in entry.items:
        kind = KINDS[type(item)]
        kinds[kind] += 1
        if isinstance(item, TimestampedItem) and len(item.timestamps):
            stats = channels.setdefault(item.channel_id, ChannelStats())
            stats.add(
                kind,
                len(item.timestamps),
                len(item.buffer),
                int(item.timestamps.min()),
                int(item.timestamps.max()),
            )
        elif isinstance(item, PeriodicItem) and item.samples:
            stats = channels.setdefault(item.channel_id, ChannelStats())
            stats.add(
                kind,
                item.samples,
                len(item.buffer),
                item.start,
                item.start + item.interval * (item.samples - 1),
            )
        elif isinstance(item, RowItem):
            for channel_id in item.channel_ids:  # a row's buffer mixes widths: no bytes per channel
                channels.setdefault(channel_id, ChannelStats()).add(
                    kind, 1, 0, item.timestamp, item.timestamp
                )
        elif isinstance(item, EventItem):
            events.append(item)
        elif isinstance(item, TimeRangeItem):
            time_range = (item.start, item.end)
    return MessageSummary(entry, kinds, channels, events, time_range)


@dataclass
class EventStats:
    count: int = 0
    first: int | None = None
    last: int | None = None
    last_status: str = ""


@dataclass
class SessionStats:
    """What one session's messages add up to."""

    messages: int = 0
    data_bursts: int = 0  # messages carrying samples or events (not only JSON or time range)
    raw_sizes: list[int] = field(default_factory=list)
    compressed_sizes: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    channels: dict[int, ChannelStats] = field(default_factory=dict)
    events: dict[int, EventStats] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    first_entry: str | None = None
    last_entry: str | None = None
    starts_with_json: bool = False
    time_range: tuple[int, int] | None = None
    skipped: int = 0  # bad entries reported and skipped

    def add(self, summary: MessageSummary) -> None:
        if self.messages == 0:
            self.first_entry = summary.entry.id
            self.starts_with_json = bool(summary.kinds["session_json"])
        self.last_entry = summary.entry.id
        self.messages += 1
        if summary.channels or summary.events:
            self.data_bursts += 1
        self.raw_sizes.append(summary.raw)
        self.compressed_sizes.append(summary.compressed)
        self.kinds.update(summary.kinds)
        for channel_id, stats in summary.channels.items():
            self.channels.setdefault(channel_id, ChannelStats()).merge(stats)
        for event in summary.events:
            seen = self.events.setdefault(event.definition_id, EventStats())
            seen.count += 1
            if seen.first is None or event.timestamp < seen.first:
                seen.first = event.timestamp
            if seen.last is None or event.timestamp >= seen.last:
                seen.last, seen.last_status = event.timestamp, event.status_text
        self.states.extend(summary.states)
        if summary.time_range is not None:
            self.time_range = summary.time_range

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.channels.values())

    @property
    def raw(self) -> int:
        return sum(self.raw_sizes)

    @property
    def compressed(self) -> int:
        return sum(self.compressed_sizes)

    @property
    def ratio(self) -> float | None:
        return self.raw / self.compressed if self.compressed else None

    @property
    def final_state(self) -> str | None:
        return self.states[-1] if self.states else None

    def to_json(self) -> dict[str, Any]:
        def sizes(values: list[int]) -> dict[str, Any]:
            if not values:
                return {"total": 0, "min": None, "mean": None, "max": None}
            return {
                "total": sum(values),
                "min": min(values),
                "mean": sum(values) / len(values),
                "max": max(values),
            }

        return {
            "messages": self.messages,
            "data_bursts": self.data_bursts,
            "skipped_entries": self.skipped,
            "first_entry": self.first_entry,
            "last_entry": self.last_entry,
            "starts_with_session_json": self.starts_with_json,
            "states": self.states,
            "final_state": self.final_state,
            "items": dict(sorted(self.kinds.items())),
            "samples": self.samples,
            "raw_bytes": sizes(self.raw_sizes),
            "compressed_bytes": sizes(self.compressed_sizes),
            "compression_ratio": self.ratio,
            "streamed_time_range": list(self.time_range) if self.time_range else None,
            "channels": {
                str(cid): {
                    "kinds": sorted(c.kinds),
                    "samples": c.samples,
                    "bytes": c.nbytes,
                    "first": c.first,
                    "last": c.last,
                    "span_ns": c.span_ns,
                    "rate_hz": c.rate_hz,
                }
                for cid, c in sorted(self.channels.items())
            },
            "events": {
                str(eid): {
                    "count": e.count,
                    "first": e.first,
                    "last": e.last,
                    "last_status_text": e.last_status,
                }
                for eid, e in sorted(self.events.items())
            },
        }


def session_stats(reader: SessionReader) -> SessionStats:
    """What the reader's session adds up to (read to its end or to the stream's end)."""
    stats = SessionStats()
    for entry in reader.entries():
        stats.add(summarize(entry))
    stats.skipped = reader.skipped
    return stats
