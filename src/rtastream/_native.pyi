"""Types of the compiled core (cext/_native.pyx), for editors and type checkers."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, SupportsIndex, final, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from typing_extensions import Buffer, disjoint_base

MAX_SAMPLES: int
"""Most samples in one TimestampedData or PeriodicData item; longer input is split."""
MAX_MESSAGE: int
"""Largest uncompressed message (1 MiB)."""
LZ4_VERSION: int
"""Version of the liblz4 this module runs with, as LZ4_versionNumber() gives it (10904 = 1.9.4)."""

_Time = SupportsIndex | np.datetime64
"""An instant: int ns since the Unix epoch (numpy integers too) or a datetime64."""
_ChannelIds = Sequence[SupportsIndex] | ArrayLike
"""Channel ids: ints in a list, tuple or range, or an integer array."""
_RowBuffer = Buffer | np.ndarray[Any, Any]
"""One row: one value per channel (a numeric array or typed buffer), a one-record structured
array, or raw bytes already packed (1, 2, 4 or 8 a channel)."""
_RawData = Sequence[float] | ArrayLike
"""An event's raw data: numbers, as a sequence or an array."""

class _HasToJson(Protocol):
    def to_json(self) -> str: ...

def compress(data: Buffer) -> bytes:
    """Compress bytes-like data (at most 1 MiB) as one LZ4 raw block."""

def decompress(data: Buffer) -> bytes:
    """Decompress one LZ4 raw block of at most 1 MiB uncompressed: the inverse of compress()."""

def unpack(message: Buffer) -> bytes:
    """Decompress one message (an LZ4 raw block) into the uncompressed StreamDataBurst bytes."""

@disjoint_base
class Burst:
    """A StreamDataBurst under construction: items are appended in call order."""

    def __init__(self) -> None: ...
    def timestamped(
        self,
        channel_ids: SupportsIndex | _ChannelIds,
        timestamps: ArrayLike,
        values: ArrayLike,
    ) -> None:
        """Append one TimestampedData per channel: values is 1-D (channel_ids an int) or
        2-D (channels, samples) sharing the timestamps (ns since the epoch, or datetime64)."""
    def periodic(
        self, channel_id: SupportsIndex, start: _Time, interval: SupportsIndex, values: ArrayLike
    ) -> None:
        """Append PeriodicData: samples at start, start + interval, ... (ns)."""
    def periodics(
        self,
        channel_ids: _ChannelIds,
        start: _Time,
        interval: SupportsIndex,
        values: ArrayLike,
    ) -> None:
        """Append one PeriodicData per channel, all sampled at start, start + interval, ...
        (ns): values is 2-D (channels, samples)."""
    def rows(
        self,
        channel_ids: _ChannelIds,
        timestamps: ArrayLike,
        values: ArrayLike,
    ) -> None:
        """Append one RowData per timestamp, all of the same channels: values is 2-D
        (instants, channels) of one dtype, or structured, one record per instant and one
        field per channel."""
    def events(
        self,
        definition_ids: _ChannelIds,
        timestamps: ArrayLike,
        status_texts: str | Sequence[str] = "",
        raw_data: ArrayLike = (),
        app_names: str | Sequence[str] = "",
    ) -> None:
        """Append one Event per timestamp: definition_ids one per event, status_texts and
        app_names one str for all or one per event, raw_data 2-D (events, numbers)."""
    def row(
        self,
        channel_ids: _ChannelIds,
        timestamp: _Time,
        buffer: _RowBuffer,
    ) -> None:
        """Append RowData: one row of several channels, packed in channel order."""
    @overload
    def _row_within(
        self, channel_ids: _ChannelIds, timestamp: _Time, buffer: _RowBuffer, widths: None
    ) -> int: ...
    @overload
    def _row_within(
        self, channel_ids: _ChannelIds, timestamp: _Time, buffer: _RowBuffer, widths: bytes | None
    ) -> int | None:
        """row() for the live writer, returning the timestamp; with `widths`, only a
        plain row they pass (else None, nothing appended)."""
    def event(
        self,
        definition_id: SupportsIndex,
        timestamp: _Time,
        status_text: str = "",
        raw_data: _RawData = (),
        app_name: str = "",
    ) -> None:
        """Append an Event."""
    def time_range(self, start: _Time, end: _Time) -> None:
        """Append a StreamTimeRange (inclusive, ns since the epoch)."""
    def session_json(self, text: str | Mapping[str, Any] | _HasToJson) -> None:
        """Append a Session JSON update: a str, a mapping (compact JSON) or a Session."""
    @property
    def nbytes(self) -> int:
        """Size of encode()'s output so far: cheap, for flushing near a target."""
    def __len__(self) -> int:
        """Number of items (StreamData entries)."""
    def clear(self) -> None:
        """Remove every item; the buffers are kept for reuse."""
    def encode(self) -> bytes:
        """The uncompressed StreamDataBurst."""
    def pack(
        self, target: SupportsIndex = 65536, threads: SupportsIndex | None = None
    ) -> list[bytes]:
        """The burst as LZ4 raw-block messages of about `target` uncompressed bytes each;
        threads: how many compress them (None: the cores, when the burst is large)."""
    def pack_with_time_ranges(
        self, target: SupportsIndex = 65536, threads: SupportsIndex | None = None
    ) -> list[tuple[bytes, tuple[int, int] | None]]:
        """Like pack(), as (message, (start, end) or None) pairs."""

@disjoint_base
class _Item:
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

class _Buffered(_Item):
    @property
    def buffer(self) -> memoryview:
        """The values as written: a read-only memoryview of the message, no copy."""

@final
class TimestampedItem(_Buffered):
    """TimestampedData: one channel's samples at the given timestamps."""

    def __init__(self, channel_id: int, timestamps: ArrayLike, buffer: Buffer) -> None: ...
    @property
    def channel_id(self) -> int: ...
    @property
    def timestamps(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """int64 ns since the epoch, computed once (start + cumulated deltas x scale)."""
    def values(self, dtype: DTypeLike) -> np.ndarray[Any, Any]:
        """The samples as the channel's dtype: a read-only view of the message, no copy."""

@final
class PeriodicItem(_Buffered):
    """PeriodicData: samples at start, start + interval, ..."""

    def __init__(
        self, channel_id: int, start: int, interval: int, samples: int, buffer: Buffer
    ) -> None: ...
    @property
    def channel_id(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def interval(self) -> int: ...
    @property
    def samples(self) -> int: ...
    @property
    def timestamps(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """int64 ns since the epoch: start + k * interval."""
    def values(self, dtype: DTypeLike) -> np.ndarray[Any, Any]:
        """The samples as the channel's dtype: a read-only view of the message, no copy."""

@final
class RowItem(_Buffered):
    """RowData: one instant of several channels, packed in channel order."""

    def __init__(self, channel_ids: Iterable[int], timestamp: int, buffer: Buffer) -> None: ...
    @property
    def channel_ids(self) -> tuple[int, ...]: ...
    @property
    def timestamp(self) -> int: ...
    def values(self, dtype: DTypeLike) -> np.ndarray[Any, Any]:
        """The row as an array of dtype: one value per channel, or a one-element structured
        array of the channels' packed dtype."""

@final
class EventItem(_Item):
    """Event: an occurrence of an event definition, with its text and raw data."""

    def __init__(
        self,
        definition_id: int,
        timestamp: int,
        status_text: str,
        raw_data: ArrayLike,
        app_name: str,
    ) -> None: ...
    @property
    def definition_id(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def status_text(self) -> str: ...
    @property
    def app_name(self) -> str: ...
    @property
    def raw_data(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """float64 array."""

@final
class TimeRangeItem(_Item):
    """StreamTimeRange: the session's time span so far (inclusive, ns since the epoch)."""

    def __init__(self, start: int, end: int) -> None: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...

@final
class SessionJsonItem(_Item):
    """A Session JSON update."""

    def __init__(self, text: str) -> None: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...

def decode(
    message: Buffer | Any, *, compressed: bool = True
) -> list[TimestampedItem | PeriodicItem | RowItem | EventItem | TimeRangeItem | SessionJsonItem]:
    """The items of one message, in order (see rtastream.decoding)."""
