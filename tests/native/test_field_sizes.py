"""Fields of every size in one call, the native bytes against the twin's: the native column
calls encode what is shared by their items once (the header for each size of channel id,
the fields after it, a row's channel ids) and copy small fields without memcpy."""

from __future__ import annotations

import numpy as np
import pytest

from encoders import build_both, parse

# Channel ids taking 0 (id 0 is omitted) to 5 bytes, their sizes changing back and forth.
IDS = [0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28, 2**32 - 1, 5, 0, 2**32 - 1, 300]
T0 = 1_767_225_600_000_000_000


def same_bytes(calls):
    native, twin = build_both(calls)
    assert native.encode() == twin.encode()
    assert len(parse(native.encode()).data) == len(native) > 0


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("dtype", ["u1", "<i2", "<f4", "<f8"])
def test_timestamped_and_periodic_channels_of_every_id_size(n, dtype):
    """Values of 1 to 40 bytes, after ids of every size, regular and irregular times."""
    values = np.arange(len(IDS) * n).reshape(len(IDS), n).astype(dtype)
    regular = T0 + 10 * np.arange(n, dtype=np.int64)
    irregular = T0 + np.array([0, 3, 4, 9, 300][:n], dtype=np.int64)
    same_bytes(
        [
            ("timestamped", (IDS, regular, values)),
            ("timestamped", (IDS, irregular, values)),
            ("timestamped", (IDS, np.full(n, T0), values)),
            ("periodics", (IDS, T0, 7, values)),
        ]
    )


def test_rows_share_their_channel_ids_of_every_size():
    values = np.arange(3 * len(IDS), dtype=np.float32).reshape(3, len(IDS))
    same_bytes([("rows", (IDS, np.array([0, T0, T0 + 1]), values)), ("row", (IDS, 0, values[0]))])


@pytest.mark.parametrize("one_for_all", [False, True], ids=["per event", "one for all"])
def test_events_with_texts_of_every_length(one_for_all):
    """Status texts and app names of 0 to 40 bytes, ASCII (read in place) and not."""
    texts = ["x" * k for k in range(41)] + ["é" * k for k in range(0, 21, 5)]
    n = len(texts)
    raw = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    times = T0 + np.arange(n, dtype=np.int64)
    ids = np.arange(-(n // 2), n - n // 2, dtype=np.int32)
    if one_for_all:
        calls = [("events", (ids, times, text, raw, text[::-1])) for text in texts]
    else:
        calls = [("events", (ids, times, texts, raw, texts[::-1]))]
    same_bytes([*calls, ("event", (-1, T0, texts[17], raw[0], texts[33]))])
