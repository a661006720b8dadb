"""Live data accumulated between flushes, for a loop that calls once per row or block.

Consecutive timestamped calls for the same channels, and periodic calls that continue each
other, are merged into one item per channel at flush time: a loop calling once per sample
sends one TimestampedData per channel per burst, not one per call. Every call is checked
when it is made (dtype, order against the previous call, ...), so a bad call raises at once
and the timer's flush never meets bad data. Data kept past the call is a copy: the caller
may reuse its arrays. Not thread-safe: the writers hold a lock.

Time order, per kind. A timestamped series of channels, and a periodic series of a channel,
only goes forward: a call starting before where the previous call for the same channels
ended (in this burst or an earlier one) is refused, since merging it would misplace samples
and its item would overlap the earlier one. Rows and events are instants, each its own item:
they may come in any order (the protocol lets items arrive out of time order), and nothing
is merged across them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rtastream import _columns as columns
from rtastream._native import Burst

if TYPE_CHECKING:
    from rtastream.configuration.rules import Rules

# Protobuf overhead per sample beyond the value bytes: about one varint delta.
_DELTA_BYTES = 2

_Key = tuple[tuple[int, ...], str]
"""A channel group and its dtype: the channel ids and the dtype's str."""


def _group(channel_ids: Any, ndim: int) -> tuple[int, ...]:
    """The ids of a timestamped call the encoder accepted (values of `ndim` dimensions)."""
    if ndim == 1:
        return (columns.integer(channel_ids, "channel_ids", columns.UINT32, "uint32"),)
    if isinstance(channel_ids, np.ndarray):
        return tuple(channel_ids.tolist())
    return tuple(channel_ids)


def _size(values: np.ndarray) -> int:
    """About what samples encode to: their bytes and a varint delta each."""
    return values.nbytes + _DELTA_BYTES * values.size


def _joined(blocks: list[np.ndarray], axis: int = 0) -> np.ndarray:
    """The blocks as one array; a lone block as it is (a block per burst is common)."""
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=axis)


class _Series:
    """Timestamped blocks of one channel group (same ids, same dtype), oldest first."""

    def __init__(self, ids: np.ndarray, last: int | None) -> None:
        self.ids = ids
        self.times: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.last = last  # where these channels' data ended, in this burst or an earlier one

    def add(self, times: np.ndarray, values: np.ndarray, keep: bool) -> None:
        columns.check_order(times, self.last)
        self.times.append(times.copy() if keep else times)
        self.values.append(values.copy() if keep else values)
        self.last = int(times[-1])

    def into(self, burst: Burst) -> None:
        burst.timestamped(self.ids, _joined(self.times), _joined(self.values, axis=1))


class _Run:
    """Periodic blocks (channels, samples) of one channel group, each starting where the
    previous one ended."""

    def __init__(self, key: _Key, ids: np.ndarray, start: int, interval: int) -> None:
        self.key, self.ids, self.start, self.interval = key, ids, start, interval
        self.values: list[np.ndarray] = []
        self.next = start
        self.nbytes = 0

    def continues(self, start: int, interval: int) -> bool:
        return (start, interval) == (self.next, self.interval)

    def extend(self, values: np.ndarray) -> None:
        self.values.append(values)
        self.next += self.interval * values.shape[1]
        self.nbytes += values.nbytes

    def into(self, burst: Burst) -> None:
        burst.periodics(self.ids, self.start, self.interval, _joined(self.values, axis=1))


class LiveBurst:
    """Rows and blocks accumulated between flushes, with their time span. Same arguments as
    Burst. A call that leaves it `full` is taken (take()) before the call returns."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.burst = Burst()  # rows, events and ended runs in call order; the rest at take()
        self.spare: Burst | None = Burst()
        self.series: dict[_Key, _Series] = {}
        # Where each series and periodic channel ended, kept across flushes: never overlap.
        self.ends: dict[_Key, int | None] = {}
        self.runs: dict[_Key, _Run] = {}
        self.run_of: dict[int, _Run] = {}  # each channel's latest run in this burst
        self.run_ends: dict[int, int] = {}
        self.pending = 0  # estimated encoded bytes of the series and runs
        self.first: int | None = None
        self.last: int | None = None
        # A bound configuration's checks of row(), and their table for the encoder's call.
        self.row_rules: Rules | None = None
        self.row_table: bytes | None = None

    def check_rows(self, rules: Rules | None) -> None:
        """Check each row() against these rules from now on (none: no check)."""
        self.row_rules = rules
        self.row_table = None if rules is None else rules.row_table

    def _saw(self, first: int, last: int) -> None:
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)

    def _keeps(self, size: int) -> bool:
        """Whether `size` more bytes of series or runs outlive the call (a copy is kept):
        they do unless they fill the burst, which is then taken at once."""
        return self.burst.nbytes + self.pending + size < self.target

    def timestamped(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        if self._whole(channel_ids, timestamps, values):
            return
        ids, times, samples = columns.timestamped(channel_ids, timestamps, values)
        if not len(times):
            return
        key = (tuple(ids.tolist()), samples.dtype.str)
        series = self.series.get(key) or _Series(ids, self.ends.get(key))
        size = _size(samples)
        series.add(times, samples, self._keeps(size))
        self.series[key] = series
        self.pending += size
        self._saw(int(times[0]), int(times[-1]))

    def _whole(self, channel_ids: Any, timestamps: Any, values: Any) -> bool:
        """The first call of a burst that fills it alone is encoded at once, checked by the
        encoder as Burst.timestamped() checks it (nothing in the burst can merge with it),
        then against where its channels ended. False if it is not such a call; nothing is
        added then, nor when it raises: the burst was empty, and is again."""
        if (
            not isinstance(values, np.ndarray)
            or self.series
            or self.runs
            or len(self.burst)
            or _size(values) < self.target
        ):
            return False
        self.burst.timestamped(channel_ids, timestamps, values)
        try:
            if self.burst.nbytes < self.target:  # smaller than it looked: merged as usual
                self.burst.clear()
                return False
            # Its key and times as the other calls have them (what the encoder took converts).
            key = (_group(channel_ids, values.ndim), values.dtype.newbyteorder("<").str)
            times = columns.timestamps(timestamps)
            columns.check_order(times[:1], self.ends.get(key))
        except BaseException:
            self.burst.clear()
            raise
        self.ends[key] = int(times[-1])
        self._saw(int(times[0]), int(times[-1]))
        return True

    def periodic(self, channel_id: Any, start: Any, interval: Any, values: Any) -> None:
        channel, start, interval, samples = columns.periodic(channel_id, start, interval, values)
        ids = np.array([channel], dtype=np.uint32)
        self._periodics(ids, start, interval, samples.reshape(1, -1))

    def periodics(self, channel_ids: Any, start: Any, interval: Any, values: Any) -> None:
        self._periodics(*columns.periodics(channel_ids, start, interval, values))

    def _periodics(self, ids: np.ndarray, start: int, interval: int, samples: np.ndarray) -> None:
        """Each channel's samples continue its run if they start where it ended, at the
        same rate, dtype and with the same channels; else they start a new run."""
        if not samples.size:
            return
        channels = ids.tolist()
        ends = [self.run_ends[c] for c in channels if c in self.run_ends]
        if ends:  # the latest end refuses going back, the earliest a jump past int64
            at = np.array([start], dtype=np.int64)
            columns.check_order(at, max(ends))
            columns.check_order(at, min(ends))
        key = (tuple(channels), samples.dtype.str)
        run = self.runs.get(key)
        if run is None or not run.continues(start, interval):
            # A run sharing a channel ends here, or its next samples would overlap these.
            for other in dict.fromkeys(map(self.run_of.get, channels)):
                if other is not None and self.runs.get(other.key) is other:
                    self._end(other)
            run = self.runs[key] = _Run(key, ids, start, interval)
            self.run_of.update(dict.fromkeys(channels, run))
        run.extend(samples.copy() if self._keeps(samples.nbytes) else samples)
        end = start + interval * (samples.shape[1] - 1)
        self.run_ends.update(dict.fromkeys(channels, end))
        self.pending += samples.nbytes
        self._saw(start, end)

    def _end(self, run: _Run) -> None:
        """A run that cannot go on goes into the burst now, in call order."""
        run.into(self.burst)
        del self.runs[run.key]
        self.pending -= run.nbytes

    def row(self, channel_ids: Any, timestamp: Any, buffer: Any) -> None:
        """Checked (with rules) in the encoder's call, which costs a lookup per channel; a
        row its table does not pass goes through the rules, which refuse it or let it be."""
        t = self.burst._row_within(channel_ids, timestamp, buffer, self.row_table)
        if t is None:
            assert self.row_rules is not None
            self.row_rules.row(channel_ids, timestamp, buffer)
            t = self.burst._row_within(channel_ids, timestamp, buffer, None)
        self._saw(t, t)

    def rows(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        self.burst.rows(channel_ids, timestamps, values)
        self._saw_instants(timestamps)

    def event(
        self,
        definition_id: Any,
        timestamp: Any,
        status_text: str = "",
        raw_data: Any = (),
        app_name: str = "",
    ) -> None:
        t = columns.integer(timestamp, "timestamp", columns.INT64)
        self.burst.event(definition_id, t, status_text, raw_data, app_name)
        self._saw(t, t)

    def events(
        self,
        definition_ids: Any,
        timestamps: Any,
        status_texts: Any = "",
        raw_data: Any = (),
        app_names: Any = "",
    ) -> None:
        self.burst.events(definition_ids, timestamps, status_texts, raw_data, app_names)
        self._saw_instants(timestamps)

    def _saw_instants(self, timestamps: Any) -> None:
        """The span of instants the burst has just accepted (so they convert), in any order."""
        times = columns.timestamps(timestamps)
        if len(times):
            self._saw(int(times.min()), int(times.max()))

    @property
    def full(self) -> bool:
        return self.burst.nbytes + self.pending >= self.target

    def take(self, core: Any) -> Burst | None:
        """The burst so far, ending with the time-range update [session start, latest
        timestamp] from the session `core`; a fresh one takes its place. give_back() it
        once packed, so its buffers are reused."""
        for key, series in self.series.items():
            series.into(self.burst)
            self.ends[key] = series.last
        for run in self.runs.values():
            run.into(self.burst)
        self.series.clear()
        self.runs.clear()
        self.run_of.clear()
        self.pending = 0
        if not len(self.burst):
            return None
        core.see(self.first, self.last)
        burst, self.burst, self.spare = self.burst, self.spare or Burst(), None
        burst.time_range(*core.time_range())
        self.first = self.last = None
        return burst

    def give_back(self, burst: Burst) -> None:
        burst.clear()
        self.spare = burst if self.spare is None else self.spare
