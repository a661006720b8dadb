"""periodics(), rows() and events(): many items from columns in one call, the same bytes as
one call per item, and the same errors in both encoders."""

from __future__ import annotations

import re

import numpy as np
import pytest

from encoders import ENCODERS

T = np.array([10, 20, 30], dtype=np.int64)


@pytest.fixture(params=ENCODERS)
def Burst(request):
    return request.param


def same_bytes(Burst, columns, per_item):
    a, b = Burst(), Burst()
    columns(a)
    per_item(b)
    assert a.encode() == b.encode() and len(a) == len(b) > 0


@pytest.mark.parametrize("ids", [[4, 5], (4, 5), range(4, 6), np.array([4, 5], dtype=np.int64)])
def test_periodics_are_periodic_per_channel(Burst, ids):
    values = np.arange(8, dtype=">i4").reshape(2, 4)
    same_bytes(
        Burst,
        lambda b: b.periodics(ids, 7, 3, values),
        lambda b: [b.periodic(c, 7, 3, v) for c, v in zip([4, 5], values, strict=True)],
    )


def test_rows_are_row_per_instant(Burst):
    values = np.arange(6.0).reshape(3, 2)
    same_bytes(
        Burst,
        lambda b: b.rows([1, 2], T, values),
        lambda b: [b.row([1, 2], t, v) for t, v in zip(T.tolist(), values, strict=True)],
    )
    mixed = np.array([(1.5, 7), (2.5, 65535), (0.0, 3)], dtype=[("a", ">f8"), ("b", "<u2")])
    same_bytes(
        Burst,
        lambda b: b.rows(range(2), T.astype("datetime64[ns]"), mixed),
        lambda b: [
            b.row([0, 1], t, r) for t, r in zip(T.tolist(), mixed.reshape(3, 1), strict=True)
        ],
    )


def test_events_are_event_per_timestamp(Burst):
    raw = np.arange(6.0).reshape(3, 2)
    same_bytes(
        Burst,
        lambda b: b.events([1, 2, -3], T, ["a", "é", ""], raw, "app"),
        lambda b: [
            b.event(d, t, s, r, "app")
            for d, t, s, r in zip([1, 2, -3], T.tolist(), ["a", "é", ""], raw, strict=True)
        ],
    )
    same_bytes(
        Burst,
        lambda b: b.events(np.array([1, 2, 3]), T.tolist(), "same", app_names=["x", "y", "z"]),
        lambda b: [
            b.event(d, t, "same", (), a)
            for d, t, a in zip([1, 2, 3], T.tolist(), "xyz", strict=True)
        ],
    )


def raises(exc, message):
    return pytest.raises(exc, match=re.escape(message))


def test_column_errors(Burst):
    burst = Burst()
    with raises(ValueError, "values must be 2-D (channels, samples), got 1-D"):
        burst.periodics([1], 0, 1, np.ones(3))
    with raises(ValueError, "channel_ids has 1 ids but values has 2 rows"):
        burst.periodics([1], 0, 1, np.ones((2, 3)))
    with raises(ValueError, "periodic: start + (samples - 1) * interval runs past the int64 range"):
        burst.periodics([1, 2], 2**63 - 2, 1, np.ones((2, 3)))
    with raises(ValueError, "values has 3 columns but channel_ids has 2 ids"):
        burst.rows([1, 2], T, np.ones((3, 3)))
    with raises(ValueError, "timestamps has 3 instants but values has 2 rows"):
        burst.rows([1, 2], T, np.ones((2, 2)))
    with raises(ValueError, "definition_ids has 2 ids but timestamps has 3 events"):
        burst.events([1, 2], T)
    with raises(
        ValueError, "definition_ids must fit int32 (-2147483648..2147483647), got 2147483648"
    ):
        burst.events([1, 2, 2**31], T)
    with raises(ValueError, "status_texts has 2 texts but timestamps has 3 events"):
        burst.events([1, 2, 3], T, ["a", "b"])
    with raises(ValueError, "raw_data has 1 rows but timestamps has 3 events"):
        burst.events([1, 2, 3], T, raw_data=np.ones((1, 2)))
    assert len(burst) == 0
