"""The native core under threads, odd memory layouts and long runs."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rtastream
from encoders import ENCODERS, parse

START = 1_700_000_000_000_000_000


def typical_burst(seed):
    rng = np.random.default_rng(seed)
    burst = rtastream.Burst()
    times = START + np.cumsum(rng.integers(1, 3, 512)) * 10**6
    burst.timestamped(range(64), times, rng.normal(size=(64, 512)))  # ~260 KiB: GIL released
    burst.time_range(START, int(times[-1]))
    return burst


def test_encoding_from_many_threads_gives_the_same_bytes():
    expected = [(typical_burst(s).encode(), typical_burst(s).pack()) for s in range(8)]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            got = list(
                pool.map(lambda s: (typical_burst(s).encode(), typical_burst(s).pack()), range(8))
            )
            assert got == expected


def test_a_burst_shared_between_threads_errors_instead_of_crashing():
    burst = typical_burst(0)
    errors, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                burst.timestamped(range(64), START + np.arange(512), np.ones((64, 512)))
                burst.pack()
                burst.clear()
            except RuntimeError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    stop.wait(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert set(errors) <= {"Burst is in use by another thread; use one Burst per thread"}


@pytest.mark.parametrize("Burst", ENCODERS)
def test_strided_big_endian_readonly_and_fortran_arrays_encode_as_their_values(Burst):
    base = np.arange(60, dtype=">i4").reshape(6, 10)
    readonly = base.copy()
    readonly.flags.writeable = False
    layouts = [base[::2], base[:, ::3].copy(order="F"), readonly[1:3], np.asfortranarray(base)]
    for values in layouts:
        times = (
            np.arange(values.shape[1])[::-1][::-1] * 5
        )  # a view with negative then positive strides
        burst = Burst()
        burst.timestamped(list(range(values.shape[0])), times, values)
        items = [d.timestamped_data for d in parse(burst.encode()).data]
        assert [i.buffer for i in items] == [row.astype("<i4").tobytes() for row in values]


def test_datetime64_timestamps_and_numpy_scalars_are_accepted():
    burst = rtastream.Burst()
    times = np.array(["2024-05-01T11:50:55", "2024-05-01T11:50:59"], dtype="datetime64[s]")
    burst.timestamped(np.uint16(4), times, np.array([1.5, 2.5], dtype=np.float32))
    burst.time_range(times[0], np.int64(5 * 10**18))
    data = parse(burst.encode()).data
    assert data[0].timestamped_data.start_timestamp == times[0].astype("datetime64[ns]").astype(
        np.int64
    )
    assert data[0].timestamped_data.channel_id == 4
    assert data[1].time_range.end_time == 5 * 10**18


def test_no_memory_grows_over_many_bursts():
    burst = rtastream.Burst()
    times = START + np.arange(128) * 10**7
    values = np.ones((64, 128))

    def cycle():
        burst.timestamped(range(64), times, values)
        burst.event(1, START, "lap", [1.0, 2.0])
        burst.pack()
        rtastream.decode(burst.pack()[0])
        burst.clear()

    for _ in range(200):
        cycle()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(2000):
        cycle()
    gc.collect()
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes of Python memory kept after 2000 bursts"


@pytest.mark.parametrize("id_dtype", [np.uint32, np.int64, np.int32, np.uint64, np.uint8])
def test_canonical_arrays_and_converted_input_encode_alike(id_dtype):
    """Plain little-endian arrays take the native fast path; lists, other dtypes and views go
    through the Python checks. Both must give the same bytes and the same errors."""
    times = START + np.arange(5, dtype=np.int64) * 3
    values = np.arange(15, dtype=np.float32).reshape(3, 5)
    fast, slow = rtastream.Burst(), rtastream.Burst()
    fast.timestamped(np.array([1, 2, 3], dtype=id_dtype), times, values)
    slow.timestamped([1, 2, 3], times.tolist(), values.tolist())  # lists: float64 values
    slow_f32 = rtastream.Burst()
    slow_f32.timestamped((1, 2, 3), times.astype(">i8"), values.astype(">f4"))
    assert fast.encode() == slow_f32.encode()
    assert len(fast.encode()) < len(slow.encode())  # float32 kept as float32, lists as float64
    for ids in (np.array([1, -2, 3], dtype=np.int64), np.array([1, 2, 2**32], dtype=np.uint64)):
        with pytest.raises(ValueError, match="channel_ids must fit uint32"):
            fast.timestamped(ids, times, values)
    with pytest.raises(ValueError, match="timestamps go backwards at index 1"):
        fast.timestamped(1, times[::-1].copy(), values[0])
