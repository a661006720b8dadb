"""Channel data types and sources: RTA's names, numpy's dtypes, and the writer calls each
source takes.

RTA names a channel's type u8, s8, u16, s16, u32, s32, f32, 3f32 or f64. Numpy's spelling of
the same characters differs (numpy's "u8" is an unsigned 64-bit integer), so a str here is an
RTA name or numpy's full name ("float32"), never a numpy type code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TYPES: dict[str, np.dtype[Any] | None] = {
    "u8": np.dtype(np.uint8),
    "s8": np.dtype(np.int8),
    "u16": np.dtype(np.uint16),
    "s16": np.dtype(np.int16),
    "u32": np.dtype(np.uint32),
    "s32": np.dtype(np.int32),
    "f32": np.dtype(np.float32),
    "3f32": None,  # a 3-axis float: no numpy scalar dtype, and rtastream does not write it
    "f64": np.dtype(np.float64),
}
"""RTA channel types and the numpy dtype of their samples."""

_BY_DTYPE = {dtype.str[1:]: name for name, dtype in TYPES.items() if dtype is not None}

SOURCES = ("can", "event", "periodic", "synchro", "timestamped", "row", "subSampledPeriodic")
"""Every channel source RTA's configuration names."""

KINDS: dict[str, str] = {
    "timestamped": "timestamped",
    "synchro": "timestamped",  # "functionally equivalent to timestamped", says RTA
    "periodic": "periodic",
    "subSampledPeriodic": "periodic",
    "row": "row",
}
"""The kind of data (the writer calls) each source a live stream carries takes; RTA streams
only these sources."""

CALLS = {
    "timestamped": "timestamped()",
    "periodic": "periodic() or periodics()",
    "row": "row() or rows()",
}


def config_type(value: Any) -> str:
    """The RTA type name of `value`: an RTA type name, numpy's full name of a dtype
    ("float32"), or a numpy dtype or scalar type. 64-bit integers (and anything else RTA
    cannot express) are refused."""
    if isinstance(value, str):
        if value in TYPES:
            return value
        try:
            dtype = np.dtype(value)
        except TypeError:
            dtype = None
        if dtype is None or dtype.name != value:  # a type code ("u8", "f4") is ambiguous
            raise ValueError(
                f"{value!r} is not an RTA channel type: give one of {', '.join(TYPES)}, or a "
                f"numpy dtype (np.float32, 'float32')"
            )
    else:
        try:
            dtype = np.dtype(value)
        except TypeError:
            raise ValueError(
                f"channel type must be an RTA type name ({', '.join(TYPES)}) or a numpy "
                f"dtype, not {value!r}"
            ) from None
    name = _BY_DTYPE.get(dtype.str[1:])
    if name is None:
        hint = (
            ": RTA has no 64-bit integer channels; use float64 (exact to 2**53) or split the "
            "value across two u32 channels"
            if dtype.kind in "iu" and dtype.itemsize == 8
            else ""
        )
        raise ValueError(
            f"numpy dtype {dtype} has no RTA channel type (RTA has "
            f"{', '.join(t for t in TYPES if TYPES[t] is not None)}){hint}"
        )
    return name
