"""Stream entries decoded, bad entries reported, and per-channel arrays over a time window.

Nothing here does I/O: an entry is what XREAD or XRANGE returned for one stream entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import DTypeLike

from rtastream import keys
from rtastream._native import unpack
from rtastream.decoding import (
    DecodedItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    TimeRangeItem,
    TimestampedItem,
    decode,
)
from rtastream.session import SessionState

CLOSED_STATES = frozenset(state.json_name for state in SessionState if state.is_closed)
"""Session JSON states after which a session streams nothing more."""

_ID_FIELD = keys.ENTRY_ID.encode()
_DATA_FIELD = keys.ENTRY_DATA.encode()


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def entry_time_ms(entry_id: str) -> int:
    """The millisecond timestamp Redis put in a stream entry id ('1700000000000-0')."""
    return int(entry_id.split("-", 1)[0])


def state_of(item: SessionJsonItem) -> str:
    """The `state` a Session JSON update carries ('(bad json)' when it cannot be read)."""
    try:
        model = item.json()
    except ValueError:
        return "(bad json)"
    return str(model.get("state", "(no state)")) if isinstance(model, dict) else "(bad json)"


def identity_of(items: Iterable[DecodedItem]) -> str | None:
    """The identity the first readable Session JSON update among the items names."""
    for item in items:
        if isinstance(item, SessionJsonItem):
            try:
                model = item.json()
            except ValueError:
                continue
            if isinstance(model, dict) and isinstance(model.get("identity"), str):
                return str(model["identity"])
    return None


@dataclass(frozen=True)
class Entry:
    """One stream entry (one message): who sent it, what it weighs, its decoded items."""

    id: str
    stream_session_id: int
    data: bytes  # as stored: one LZ4 raw block
    raw_size: int  # bytes of the StreamDataBurst once decompressed
    items: tuple[DecodedItem, ...]

    @property
    def time_ms(self) -> int:
        """When Redis received it (from the entry id)."""
        return entry_time_ms(self.id)

    @property
    def states(self) -> list[str]:
        """The state of each Session JSON update it carries, in order."""
        return [state_of(item) for item in self.items if isinstance(item, SessionJsonItem)]

    @property
    def final_state(self) -> str | None:
        """The closed state it ends its session with, if it does."""
        ended = [state for state in self.states if state in CLOSED_STATES]
        return ended[-1] if ended else None


@dataclass(frozen=True)
class BadEntry:
    """An entry that could not be read (foreign fields, corrupt data): reported and skipped."""

    stream: str  # the stream's key
    id: str
    reason: str

    def __str__(self) -> str:
        return f"skipped entry {self.id} of {self.stream}: {self.reason}"


def entry_header(fields: Mapping[bytes, bytes]) -> tuple[int, bytes] | str:
    """(stream session id, data) of an entry's fields, or why they are not an RTA message."""
    missing = [
        name
        for name, key in ((keys.ENTRY_ID, _ID_FIELD), (keys.ENTRY_DATA, _DATA_FIELD))
        if key not in fields
    ]
    if missing:
        names = ", ".join(repr(text(k)) for k in fields) or "none"
        return f"no {' or '.join(repr(m) for m in missing)} field (fields: {names})"
    session_id = fields[_ID_FIELD]
    if not session_id.isdigit():
        return f"stream session id {session_id[:40]!r} is not a decimal number"
    return int(session_id), fields[_DATA_FIELD]


def decode_entry(stream: str, entry_id: str, session_id: int, data: bytes) -> Entry | BadEntry:
    try:
        raw = unpack(data)
        items = decode(raw, compressed=False)
    except (ValueError, TypeError) as exc:
        return BadEntry(stream, entry_id, f"cannot decode its data ({len(data)} bytes): {exc}")
    return Entry(entry_id, session_id, data, len(raw), tuple(items))


# --- per-channel arrays ----------------------------------------------------------------


class Series(NamedTuple):
    """One channel's samples in time order."""

    timestamps: np.ndarray  # int64 ns since the epoch, ascending, no repeats
    values: np.ndarray


DTypes = DTypeLike | Mapping[int, DTypeLike]
"""One dtype for every channel, or a dtype per channel id."""


def collect(
    items: Iterable[DecodedItem],
    dtype: DTypes,
    start: int | None = None,
    end: int | None = None,
    channels: Iterable[int] | None = None,
) -> dict[int, Series]:
    """Every sample of `channels` (default: all, or the keys of a dtype mapping) with a
    timestamp in [start, end], per channel, in time order.

    `dtype` is the channels' dtype, or a mapping of channel id to dtype: the type lives in
    configuration, not in the message. Items may come in any time order and overlap (a
    writer re-sends after a reconnect): samples are sorted and a repeated timestamp is kept
    once. A row is read only when the dtype of each of its channels is known.
    """
    wanted: set[int] | None = set(channels) if channels is not None else None
    if isinstance(dtype, Mapping):
        mapping = cast("Mapping[int, DTypeLike]", dtype)
        per_channel = {int(c): np.dtype(d) for c, d in mapping.items()}
        wanted = set(per_channel) if wanted is None else wanted
        dtype_of: Callable[[int], np.dtype | None] = per_channel.get
    else:
        single = np.dtype(dtype)

        def dtype_of(channel_id: int) -> np.dtype | None:
            return single

    pieces: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for item in items:
        if isinstance(item, (TimestampedItem, PeriodicItem)):
            if wanted is None or item.channel_id in wanted:
                dt = dtype_of(item.channel_id)
                if dt is None:
                    continue
                pieces.setdefault(item.channel_id, []).append(
                    (np.asarray(item.timestamps, dtype=np.int64), _values(item, dt))
                )
        elif isinstance(item, RowItem):
            if wanted is not None and not wanted.intersection(item.channel_ids):
                continue
            for channel_id, value in _row_values(item, dtype_of):
                if wanted is None or channel_id in wanted:
                    pieces.setdefault(channel_id, []).append(
                        (np.array([item.timestamp], dtype=np.int64), value)
                    )
    return {channel_id: _window(parts, start, end) for channel_id, parts in sorted(pieces.items())}


def _values(item: TimestampedItem | PeriodicItem, dt: np.dtype) -> np.ndarray:
    """The item's values as `dt`; a dtype that does not fit is named with its channel."""
    try:
        return item.values(dt)
    except ValueError as exc:
        raise ValueError(f"channel {item.channel_id}: {exc}") from None


def _row_values(
    item: RowItem, dtype_of: Callable[[int], np.dtype | None]
) -> list[tuple[int, np.ndarray]]:
    offset, found = 0, []
    buffer = memoryview(item.buffer).cast("B")
    for channel_id in item.channel_ids:
        dt = dtype_of(channel_id)
        if dt is None:
            raise ValueError(
                f"the row at {item.timestamp} holds channel {channel_id}, whose "
                "dtype is not given: a row can be read only knowing every channel's"
            )
        value = np.frombuffer(buffer[offset : offset + dt.itemsize], dtype=dt.newbyteorder("<"))
        if len(value) != 1:
            raise ValueError(
                f"the row at {item.timestamp} is {len(buffer)} bytes, too short for "
                f"its channels {list(item.channel_ids)}"
            )
        found.append((channel_id, value))
        offset += dt.itemsize
    return found


def _window(
    parts: list[tuple[np.ndarray, np.ndarray]], start: int | None, end: int | None
) -> Series:
    timestamps = np.concatenate([t for t, _ in parts])
    values = np.concatenate([v for _, v in parts])
    inside = np.ones(len(timestamps), dtype=bool)
    if start is not None:
        inside &= timestamps >= start
    if end is not None:
        inside &= timestamps <= end
    timestamps, values = timestamps[inside], values[inside]
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]
    first = np.ones(len(timestamps), dtype=bool)
    first[1:] = timestamps[1:] != timestamps[:-1]
    return Series(timestamps[first], values[first])


def time_range_of(items: Iterable[DecodedItem]) -> tuple[int, int] | None:
    """The last StreamTimeRange among the items."""
    found = None
    for item in items:
        if isinstance(item, TimeRangeItem):
            found = (item.start, item.end)
    return found
