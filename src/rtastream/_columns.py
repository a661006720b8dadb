"""Argument checks and conversions shared by the native Burst and its pure-Python twin.

Everything a caller hands to a Burst passes through here first, so both encoders see the
same canonical inputs (C-contiguous little-endian arrays, range-checked integers) and
raise the same errors with the same messages.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

MAX_SAMPLES = 10_000
"""Most samples in one TimestampedData or PeriodicData item; longer input is split."""

MAX_MESSAGE = 1 << 20
"""Largest uncompressed message: the Stream Service decodes into buffers of this size."""

DEFAULT_TARGET = 64 * 1024
"""Uncompressed size a packed message aims for."""

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
UINT32 = (0, (1 << 32) - 1)

_VALUE_TYPES = "int8..int64, uint8..uint64, float32 or float64"

_NS_RANGE = "1677-09-21T00:12:43.145224193..2262-04-11T23:47:16.854775807"
"""Instants an int64 count of nanoseconds since the epoch can hold (its minimum is NaT)."""


def integer(value: Any, name: str, bounds: tuple[int, int], what: str = "int64") -> int:
    """An int within bounds; numpy integers and datetime64 (as ns) are accepted."""
    if isinstance(value, np.datetime64):
        value = int(_datetime_ns(value, name))
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    lo, hi = bounds
    if not lo <= number <= hi:
        raise ValueError(f"{name} must fit {what} ({lo}..{hi}), got {number}")
    return number


def _datetime_ns(value: Any, name: str) -> np.ndarray:
    """datetime64 values (a scalar or an array, any unit) as int64 ns since the epoch. NaT
    and instants outside the int64 nanosecond range are refused: numpy would wrap them."""
    array = np.asarray(value)
    if np.isnat(array).any():
        raise ValueError(f"{name} is NaT" if array.ndim == 0 else f"{name} contains NaT")
    ns = array.astype("datetime64[ns]")
    if np.datetime_data(array.dtype)[0] not in ("ns", "ps", "fs", "as"):
        # From a coarser unit, a conversion that wrapped does not convert back.
        wrapped = ns.astype(array.dtype) != array
        if wrapped.any():
            raise ValueError(
                f"{name} must be within the int64 nanosecond range ({_NS_RANGE}), "
                f"got {array[wrapped][0] if array.ndim else array}"
            )
    return ns.view(np.int64)


def timestamps(value: Any, name: str = "timestamps") -> np.ndarray:
    """A 1-D C-contiguous little-endian int64 array of ns since the Unix epoch."""
    array = np.asarray(value)
    if array.size == 0 and array.dtype == np.float64:  # [] and the like: no timestamps at all
        array = array.astype(np.int64)
    kind = array.dtype.kind
    if kind == "M":
        array = _datetime_ns(array, name)
    elif kind not in "iu":
        raise TypeError(
            f"{name} must be integer nanoseconds since the Unix epoch or datetime64, "
            f"not {array.dtype}"
        )
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {array.ndim}-D")
    if kind == "u" and array.size and array.max() > INT64[1]:
        raise ValueError(f"{name} must fit int64, got {array.max()}")
    return np.ascontiguousarray(array, dtype="<i8")


def _value_dtype(dtype: np.dtype, name: str) -> np.dtype:
    """The little-endian form of a dtype the wire carries, judged by kind and size whatever
    its byte order."""
    if not (
        (dtype.kind in "iu" and dtype.itemsize in (1, 2, 4, 8))
        or (dtype.kind == "f" and dtype.itemsize in (4, 8))
    ):
        raise TypeError(
            f"{name} must have a fixed-width numeric dtype ({_VALUE_TYPES}), not {dtype}"
        )
    return dtype.newbyteorder("<")


def values(value: Any, name: str = "values", max_ndim: int = 2) -> np.ndarray:
    """A C-contiguous little-endian array of a fixed-width numeric dtype, kept exactly."""
    array = np.asarray(value)
    dtype = _value_dtype(array.dtype, name)
    if not 1 <= array.ndim <= max_ndim:
        shape = "1-D" if max_ndim == 1 else "1-D (one channel) or 2-D (channels, samples)"
        raise ValueError(f"{name} must be {shape}, got {array.ndim}-D")
    return np.ascontiguousarray(array, dtype=dtype)


def channel_ids(value: Any, name: str = "channel_ids") -> np.ndarray:
    """A 1-D uint32 array of channel ids."""
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence of integer channel ids, not {type(value).__name__}"
        )
    if isinstance(value, range) and value:
        # Its ends bound it, however far they lie: numpy would turn ids past int64 into floats.
        _check_uint32(min(value[0], value[-1]), max(value[0], value[-1]), name)
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of channel ids, got {array.ndim}-D")
    if array.size == 0:
        return np.zeros(0, dtype=np.uint32)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer channel ids, not {array.dtype}")
    _check_uint32(int(array.min()), int(array.max()), name)
    return np.ascontiguousarray(array, dtype=np.uint32)


def _check_uint32(lo: int, hi: int, name: str) -> None:
    if lo < UINT32[0] or hi > UINT32[1]:
        bad = lo if lo < UINT32[0] else hi
        raise ValueError(f"{name} must fit uint32 ({UINT32[0]}..{UINT32[1]}), got {bad}")


def timestamped(ids: Any, times: Any, samples: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(channel ids, timestamps, values as a (channels, samples) array) for Burst.timestamped."""
    times = timestamps(times)
    samples = values(samples)
    if samples.ndim == 1:
        if not _is_scalar(ids):
            raise TypeError("channel_ids must be one integer id when values is 1-D")
        ids = np.array([integer(ids, "channel_ids", UINT32, "uint32")], dtype=np.uint32)
        samples = samples.reshape(1, -1)
    else:
        if _is_scalar(ids):
            raise TypeError(
                f"channel_ids must be a sequence of {samples.shape[0]} ids when values is 2-D"
            )
        ids = channel_ids(ids)
        if len(ids) != samples.shape[0]:
            raise ValueError(
                f"channel_ids has {len(ids)} ids but values has {samples.shape[0]} rows"
            )
    if samples.shape[1] != len(times):
        raise ValueError(
            f"timestamps has {len(times)} samples but values has {samples.shape[1]} per channel"
        )
    return ids, times, samples


def _is_scalar(value: Any) -> bool:
    # A list, tuple or range is a sequence, whatever it holds: no need for np.ndim() to
    # convert it (nor can it size a range of more than 2**63 ids).
    return not isinstance(value, (str, bytes, list, tuple, range)) and np.ndim(value) == 0


def interval(value: Any) -> int:
    step = integer(value, "interval", INT64)
    if step <= 0:
        raise ValueError(f"interval must be > 0 ns, got {step}")
    return step


_interval, _values = interval, values  # periodic() takes arguments of these names


def periodic(
    channel_id: Any, start: Any, interval: Any, values: Any
) -> tuple[int, int, int, np.ndarray]:
    """(channel, start, interval, samples) for Burst.periodic: one channel sampled at start,
    start + interval, ..., every sample time within int64."""
    channel = integer(channel_id, "channel_id", UINT32, "uint32")
    start = integer(start, "start", INT64)
    step = _interval(interval)
    samples = _values(values, max_ndim=1)
    check_span(start, step, len(samples))
    return channel, start, step, samples


def check_span(start: int, interval: int, n: int) -> None:
    """The last of n samples' time, start + (n - 1) * interval, fits int64."""
    if n and start + (n - 1) * interval > INT64[1]:
        raise ValueError("periodic: start + (samples - 1) * interval runs past the int64 range")


def check_order(times: np.ndarray, previous: int | None = None) -> None:
    """Timestamps (int64, from timestamps()) never go backwards and each step fits the int64
    delta field; then they do not start before `previous`, where the previous call for the
    same channels ended, nor further from it than a delta holds."""
    if not len(times):
        return
    first, last = int(times[0]), int(times[-1])
    # Timestamps that never go back and span at most int64 take no step past it: the common
    # case needs no step worked out (the live API checks every call).
    if len(times) > 1 and (last - first > INT64[1] or np.count_nonzero(times[1:] < times[:-1])):
        steps = times[1:].view(np.uint64) - times[:-1].view(np.uint64)
        bad = np.flatnonzero((times[1:] < times[:-1]) | (steps > np.uint64(INT64[1])))
        if bad.size:  # the first problem, whichever it is
            raise _order_error(times, int(bad[0]) + 1)
    if previous is not None and first < previous:
        raise ValueError(
            f"timestamps go backwards: this call starts at {first}, before {previous} "
            "where the previous call for these channels ended"
        )
    if previous is not None and first - previous > INT64[1]:
        raise _order_error(np.array([previous, first]), 1)


_channel_ids = channel_ids  # the column functions take arguments of this name


def periodics(
    channel_ids: Any, start: Any, interval: Any, values: Any
) -> tuple[np.ndarray, int, int, np.ndarray]:
    """(channel ids, start, interval, samples as (channels, samples)) for Burst.periodics:
    several channels sampled alike, every sample time within int64."""
    samples = _values(values)
    if samples.ndim != 2:
        raise ValueError(f"values must be 2-D (channels, samples), got {samples.ndim}-D")
    ids = _channel_ids(channel_ids)
    if len(ids) != samples.shape[0]:
        raise ValueError(f"channel_ids has {len(ids)} ids but values has {samples.shape[0]} rows")
    start = integer(start, "start", INT64)
    step = _interval(interval)
    check_span(start, step, samples.shape[1])
    return ids, start, step, samples


def rows(
    channel_ids: Any, timestamps_: Any, values_: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(channel ids, timestamps, rows as bytes (instants, row bytes)) for Burst.rows: values
    2-D (instants, channels) of one dtype, or a structured array of one record per instant
    and one field per channel."""
    ids, times = _channel_ids(channel_ids), timestamps(timestamps_)
    value = np.asarray(values_)
    if value.dtype.names is not None:
        if value.ndim != 1:
            raise ValueError(f"values must be 1-D when structured, got {value.ndim}-D")
        packed = _packed(value.dtype, "values", len(ids))
        data = _row_bytes(np.ascontiguousarray(value.astype(packed)), packed.itemsize)
    else:
        array = _values(value)
        if array.ndim != 2:
            raise ValueError(f"values must be 2-D (instants, channels), got {array.ndim}-D")
        if array.shape[1] != len(ids):
            raise ValueError(
                f"values has {array.shape[1]} columns but channel_ids has {len(ids)} ids"
            )
        data = _row_bytes(array, array.shape[1] * array.itemsize)
    if len(data) != len(times):
        raise ValueError(f"timestamps has {len(times)} instants but values has {len(data)} rows")
    return ids, times, data


def _row_bytes(array: np.ndarray, width: int) -> np.ndarray:
    """Each row of a C-contiguous array as its `width` bytes (zero rows too)."""
    return array.view(np.uint8).reshape(len(array), width)


def events(
    definition_ids: Any, timestamps_: Any, status_texts: Any, raw_data_: Any, app_names: Any
) -> tuple[np.ndarray, np.ndarray, list[bytes], np.ndarray, list[bytes]]:
    """(definition ids as int32, timestamps, status texts, raw data as (events, doubles),
    app names) for Burst.events: texts are one str for all or one per event."""
    times = timestamps(timestamps_)
    n = len(times)
    ids = np.asarray(definition_ids)
    if ids.ndim != 1 or ids.size and ids.dtype.kind not in "iu":
        raise TypeError(f"definition_ids must be a sequence of integers, not {ids.dtype}")
    if len(ids) != n:
        raise ValueError(f"definition_ids has {len(ids)} ids but timestamps has {n} events")
    for bad in ids[(ids < INT32[0]) | (ids > INT32[1])][:1]:
        raise ValueError(f"definition_ids must fit int32 ({INT32[0]}..{INT32[1]}), got {bad}")
    raw = (
        np.zeros((n, 0))
        if isinstance(raw_data_, tuple) and not raw_data_
        else raw_data(raw_data_, ndim=2)
    )
    if len(raw) != n:
        raise ValueError(f"raw_data has {len(raw)} rows but timestamps has {n} events")
    return (
        np.ascontiguousarray(ids, dtype=np.int32),
        times,
        _texts(status_texts, "status_texts", n),
        raw,
        _texts(app_names, "app_names", n),
    )


def _texts(value: Any, name: str, n: int) -> list[bytes]:
    if isinstance(value, str):
        return [text(value, name)] * n
    texts = [text(t, name) for t in value]
    if len(texts) != n:
        raise ValueError(f"{name} has {len(texts)} texts but timestamps has {n} events")
    return texts


def _packed(dtype: np.dtype, name: str, nchannels: int) -> np.dtype:
    """A structured dtype of one field per channel, as its packed little-endian form."""
    names = dtype.names or ()
    if len(names) != nchannels:
        raise ValueError(f"{name} has {len(names)} fields but channel_ids has {nchannels} ids")
    fields: Mapping[str, Any] = dtype.fields or {}
    return np.dtype([(f, _value_dtype(fields[f][0], f"{name} field {f!r}")) for f in names])


def row_buffer(value: Any, nchannels: int) -> bytes | memoryview | np.ndarray:
    """The row's bytes, little-endian, from one of:
    - one value per channel: a numeric array or typed buffer, any byte order and layout;
    - a one-record structured array, one field per channel (widths may differ);
    - raw bytes already packed, 1, 2, 4 or 8 per channel: nchannels to 8 * nchannels bytes.
    """
    if isinstance(value, np.ndarray) and value.dtype.names is not None:
        if value.size != 1:
            raise ValueError(f"buffer must hold one row, got {value.size}")
        return value.astype(_packed(value.dtype, "buffer", nchannels)).tobytes()
    if not isinstance(value, np.ndarray):
        try:
            view = memoryview(value)
        except TypeError:
            raise TypeError(
                "buffer must be a numeric array, a one-row structured array or bytes-like, "
                f"not {type(value).__name__}"
            ) from None
        if view.format in ("B", "b", "c"):
            if not nchannels <= view.nbytes <= 8 * nchannels:
                raise ValueError(
                    f"a raw row buffer of {nchannels} channels takes {nchannels} to "
                    f"{8 * nchannels} bytes (1, 2, 4 or 8 a channel), got {view.nbytes}"
                )
            return view.cast("B") if view.c_contiguous else view.tobytes()
        value = np.asarray(view)  # typed: array.array, a memoryview of numbers, ...
    dtype = _value_dtype(value.dtype, "buffer")
    if value.size != nchannels:
        raise ValueError(f"buffer has {value.size} values but channel_ids has {nchannels} ids")
    return np.ascontiguousarray(value.ravel(), dtype=dtype)


def text(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not encodable as UTF-8: {exc.reason}") from None


def session_json(value: Any) -> bytes:
    """Session JSON text: a str, a mapping (compact JSON), or an object with to_json()."""
    if hasattr(value, "to_json"):
        value = value.to_json()
    elif isinstance(value, Mapping):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text(value, "session_json")


def raw_data(value: Any, ndim: int = 1) -> np.ndarray:
    """float64 numbers: a flat sequence (ndim 1), or one row per event (ndim 2)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("raw_data must be a sequence of numbers") from None
    if array.ndim != ndim:
        shape = "a flat sequence of numbers" if ndim == 1 else "2-D (events, numbers)"
        raise ValueError(f"raw_data must be {shape}, got {array.ndim}-D")
    return np.ascontiguousarray(array, dtype="<f8")


def target(value: Any) -> int:
    size = integer(value, "target", INT64)
    if not 1 <= size <= MAX_MESSAGE:
        raise ValueError(f"target must be between 1 and {MAX_MESSAGE} bytes, got {size}")
    return size


def threads(value: Any) -> int:
    count = integer(value, "threads", INT64)
    if count < 1:
        raise ValueError(
            f"threads must be at least 1, or None for the machine's cores, got {count}"
        )
    return count


# Errors found while encoding, worded once for both encoders.


def _order_error(times: np.ndarray, index: int) -> ValueError:
    if times[index] < times[index - 1]:
        return ValueError(
            f"timestamps go backwards at index {index}: {times[index]} < {times[index - 1]}"
        )
    return ValueError(
        f"timestamps step from {times[index - 1]} to {times[index]} at index {index}, "
        "more than an int64 delta can hold"
    )


def too_large_error(what: str, size: int) -> ValueError:
    return ValueError(
        f"{what} encodes to {size} bytes, over the {MAX_MESSAGE}-byte (1 MiB) limit of one message"
    )
