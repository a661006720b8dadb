"""Live data accumulated between flushes, for a loop that calls once per row or block.

Consecutive timestamped calls for the same channels, and periodic calls that continue each
other, are merged into one item per channel at flush time: a loop calling once per sample
sends one TimestampedData per channel per burst, not one per call. Every call is checked
when it is made (dtype, order against the previous call, ...), so a bad call raises at once
and the timer's flush never meets bad data. Not thread-safe: the writers hold a lock.

Time order, per kind. A timestamped or periodic series of a channel only goes forward: a call
starting before where the previous call for the same channels ended (in this burst or an
earlier one) is refused, since merging it would misplace samples and its item would overlap
the earlier one. Rows and events are instants, each its own item: they may come in any order
(the protocol lets items arrive out of time order), and nothing is merged across them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rtastream import _columns as columns
from rtastream._native import Burst

# Protobuf overhead per sample beyond the value bytes: about one varint delta.
_DELTA_BYTES = 2


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

    def add(self, times: np.ndarray, values: np.ndarray) -> int:
        columns.check_order(times, self.last)
        self.times.append(times)
        self.values.append(values)
        self.last = int(times[-1])
        return values.nbytes + _DELTA_BYTES * values.size

    def into(self, burst: Burst) -> None:
        burst.timestamped(self.ids, _joined(self.times), _joined(self.values, axis=1))


class _Run:
    """Periodic blocks of one channel, each starting where the previous one ended."""

    def __init__(self, channel: int, start: int, interval: int, values: np.ndarray) -> None:
        self.channel, self.start, self.interval = channel, start, interval
        self.values = [values]
        self.next = start + interval * len(values)

    def continues(self, start: int, interval: int, values: np.ndarray) -> bool:
        return (start, interval, values.dtype) == (self.next, self.interval, self.values[0].dtype)

    def extend(self, values: np.ndarray) -> None:
        self.values.append(values)
        self.next += self.interval * len(values)

    def into(self, burst: Burst) -> None:
        burst.periodic(self.channel, self.start, self.interval, _joined(self.values))


class LiveBurst:
    """Rows and blocks accumulated between flushes, with their time span. Same arguments as
    Burst."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.burst = Burst()  # rows and events, in call order; merged series join at take()
        self.spare: Burst | None = Burst()
        self.series: dict[tuple[bytes, str], _Series] = {}
        # Where each series and periodic channel ended, kept across flushes: never overlap.
        self.ends: dict[tuple[bytes, str], int | None] = {}
        self.runs: dict[int, _Run] = {}
        self.run_ends: dict[int, int] = {}
        self.pending = 0  # estimated encoded bytes of the series and runs
        self.first: int | None = None
        self.last: int | None = None

    def _saw(self, first: int, last: int) -> None:
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)

    def timestamped(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        ids, times, samples = columns.timestamped(channel_ids, timestamps, values)
        if not len(times):
            return
        key = (ids.tobytes(), samples.dtype.str)
        series = self.series.get(key) or _Series(ids, self.ends.get(key))
        self.pending += series.add(times, samples)
        self.series[key] = series
        self._saw(int(times[0]), int(times[-1]))

    def periodic(self, channel_id: Any, start: Any, interval: Any, values: Any) -> None:
        channel, start, interval, samples = columns.periodic(channel_id, start, interval, values)
        if not len(samples):
            return
        columns.check_order(np.array([start], dtype=np.int64), self.run_ends.get(channel))
        end = start + interval * (len(samples) - 1)
        self.run_ends[channel] = end
        run = self.runs.get(channel)
        if run is not None and run.continues(start, interval, samples):
            run.extend(samples)
        else:
            if run is not None:  # a gap or a new rate starts a new item
                run.into(self.burst)
            self.runs[channel] = _Run(channel, start, interval, samples)
        self.pending += samples.nbytes
        self._saw(start, end)

    def row(self, channel_ids: Any, timestamp: Any, buffer: Any) -> None:
        t = columns.integer(timestamp, "timestamp", columns.INT64)
        self.burst.row(channel_ids, t, buffer)
        self._saw(t, t)

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

    @property
    def full(self) -> bool:
        return self.burst.nbytes + self.pending >= self.target

    def take(self, core: Any) -> Burst | None:
        """The burst so far, ending with the time-range update [session start, latest
        timestamp] from the session `core`; a fresh one takes its place. give_back() it
        once packed, so its buffers are reused."""
        for series in self.series.values():
            series.into(self.burst)
        for run in self.runs.values():
            run.into(self.burst)
        self.ends.update((key, series.last) for key, series in self.series.items())
        self.series.clear()
        self.runs.clear()
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
