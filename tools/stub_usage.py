"""Typical use of the native API, type-checked with mypy --strict against the installed wheel:
it passes only if the wheel's _native.pyi and py.typed are found and describe the API."""

import numpy as np

import rtastream
from rtastream import _native

burst = rtastream.Burst()
burst.timestamped([1, 2], np.arange(3, dtype=np.int64), np.zeros((2, 3)))
burst.timestamped(3, np.array(["2024-01-01T00:00:00"], dtype="datetime64[ns]"), [1.5])
burst.periodic(4, np.datetime64("2024-01-01T00:00:00", "ns"), 1_000_000, np.ones(4))
burst.row([1, 2], 5, b"\x00" * 16)
burst.event(7, 9, status_text="ok", raw_data=[1.0], app_name="demo")
burst.time_range(0, 10)
burst.session_json({"name": "lap 1"})
messages: list[bytes] = burst.pack(target=4096)
ranges: list[tuple[bytes, tuple[int, int] | None]] = burst.pack_with_time_ranges()
sizes: int = burst.nbytes + len(burst) + _native.MAX_MESSAGE + _native.MAX_SAMPLES
lz4_version: int = _native.LZ4_VERSION
data: bytes = rtastream.unpack(rtastream.compress(burst.encode()))
burst.clear()
for item in rtastream.decode(messages[0]):
    if isinstance(item, rtastream.TimestampedItem):
        times: np.ndarray = item.timestamps
        samples: np.ndarray = item.values(np.float64)
