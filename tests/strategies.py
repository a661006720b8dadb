"""Hypothesis strategies shared by the encoder and decoder tests: random Burst calls over
dtypes, byte orders, sizes and edge values."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DTYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"]

settings.register_profile(
    "rtastream",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("rtastream")


@st.composite
def sorted_times(draw, n):
    """n non-decreasing int64 timestamps: regular, irregular, equal, huge gaps, pre-1970."""
    start = draw(
        st.one_of(st.integers(INT64_MIN, INT64_MAX), st.integers(-(10**18), 2 * 10**18), st.just(0))
    )
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    room = INT64_MAX - start  # keep every step within int64 and the end within range
    if n > 300:  # too long to draw step by step: a seeded random walk instead
        rng = np.random.default_rng(draw(st.integers(0, 2**32)))
        scale = draw(st.sampled_from([1, 7, 10**6]))
        steps = rng.integers(0, 4, size=n - 1) * scale
        steps = np.minimum(steps, room // n)
        return start + np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
    step = st.one_of(
        st.just(0),
        st.integers(1, 10**3),
        st.sampled_from([10**6, 10**7, 10**9]).map(lambda s: s * draw(st.integers(1, 5))),
        st.integers(0, max(0, min(room // max(n - 1, 1), INT64_MAX))),
    )
    steps = draw(st.lists(step, min_size=n - 1, max_size=n - 1))
    times, t = [start], start
    for s in steps:
        s = min(s, INT64_MAX - t)
        t += s
        times.append(t)
    return np.array(times, dtype=np.int64)


def values_strategy(dtype, shape):
    dtype = np.dtype(dtype)
    if np.prod(shape) > 2000:  # too large to draw element by element: random bytes
        return st.integers(0, 2**32).map(
            lambda seed: (
                np.random.default_rng(seed)
                .integers(0, 256, size=int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
                .view(dtype)
                .reshape(shape)
            )
        )
    elements = None
    if dtype.kind == "f":
        elements = st.floats(width=8 * dtype.itemsize, allow_nan=True, allow_infinity=True)
    return hnp.arrays(dtype, shape, elements=elements)


def as_columns(call):
    """(channel ids as a list, timestamps, values as (channels, samples)) of a timestamped
    call, whichever form it took."""
    ids, times, values = call[1]
    ids = [ids] if np.ndim(ids) == 0 else ids
    return ids, times, np.asarray(values).reshape(len(ids), -1)


@st.composite
def timestamped_call(draw, long=True):
    """long: sometimes more than one item's 10 000 samples."""
    n = draw(st.one_of(st.integers(1, 3), st.integers(1, 300), st.just(10_001 if long else 40)))
    channels = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(DTYPES))
    order = draw(st.sampled_from(["<", ">"]))
    values = draw(values_strategy(np.dtype(dtype).newbyteorder(order), (channels, n)))
    ids = draw(st.lists(st.integers(0, 2**32 - 1), min_size=channels, max_size=channels))
    times = draw(sorted_times(n))
    if channels == 1 and draw(st.booleans()):
        return ("timestamped", (ids[0], times, values[0]))
    return ("timestamped", (ids, times, values))


text = st.text(st.characters(codec="utf-8"), max_size=40)


@st.composite
def other_call(draw):
    kind = draw(st.sampled_from(["periodic", "row", "event", "time_range", "session_json"]))
    if kind == "periodic":
        n = draw(st.integers(1, 200))
        dtype = draw(st.sampled_from(DTYPES))
        interval = draw(st.integers(1, 10**9))
        start = draw(st.integers(INT64_MIN, INT64_MAX - interval * (n - 1)))
        return kind, (
            draw(st.integers(0, 2**32 - 1)),
            start,
            interval,
            draw(values_strategy(dtype, n)),
        )
    if kind == "row":  # raw bytes, 1 to 8 a channel
        ids = draw(st.lists(st.integers(0, 2**32 - 1), max_size=8))
        size = draw(st.integers(len(ids), 8 * len(ids)))
        buffer = draw(st.binary(min_size=size, max_size=size))
        return kind, (ids, draw(st.integers(INT64_MIN, INT64_MAX)), buffer)
    if kind == "event":
        raw = draw(st.lists(st.floats(allow_nan=True), max_size=5))
        return kind, (
            draw(st.integers(-(2**31), 2**31 - 1)),
            draw(st.integers(INT64_MIN, INT64_MAX)),
            draw(text),
            raw,
            draw(text),
        )
    if kind == "time_range":
        a, b = sorted(draw(st.lists(st.integers(INT64_MIN, INT64_MAX), min_size=2, max_size=2)))
        return kind, (a, b)
    return kind, (draw(text),)


calls = st.lists(st.one_of(timestamped_call(), other_call()), min_size=1, max_size=6)
small_calls = st.lists(
    st.one_of(timestamped_call(long=False), other_call()), min_size=1, max_size=4
)
