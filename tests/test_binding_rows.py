"""A bound configuration's check of row(), made in the encoder's own call (a table of row
widths by channel id) and, for what that table cannot pass, by the configuration's rules: a
row is appended exactly when every channel is a row channel of a type rtastream writes and
the buffer holds their widths; a refused row names its channel and appends nothing, whatever
form its ids, timestamp and buffer take."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtastream.configuration import Configuration
from rtastream.configuration.rules import ROW_TABLE_IDS, Rules
from rtastream.writer.live import LiveBurst

# The test's own reading of RTA's types: bytes per sample, None for one rtastream does not write.
WIDTHS = {"u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4, "f32": 4, "f64": 8}
SOURCES = ["row", "timestamped", "periodic", "can"]
T0 = 1_750_000_000_000_000_000


def live_checked(channels: list[dict], offset: int = 0) -> LiveBurst:
    config = Configuration.from_dict({"app": {"channels": channels}})
    live = LiveBurst(1 << 30)
    live.check_rows(Rules([(config, offset)]))
    return live


@st.composite
def row_calls(draw):
    n = draw(st.integers(1, 5))
    channels = [
        {
            "id": i + 1,
            "source": draw(st.sampled_from(SOURCES)),
            "type": draw(st.sampled_from([*WIDTHS, "3f32"])),
        }
        for i in range(n)
    ]
    offset = draw(st.sampled_from([0, 100, ROW_TABLE_IDS]))  # the last: past the table
    ids = draw(st.lists(st.integers(1 + offset, n + offset + 1), min_size=1, max_size=3))
    form = draw(st.sampled_from([list, tuple, np.array]))
    size = draw(st.integers(len(ids), 8 * len(ids)))
    when = draw(st.sampled_from([T0, np.int64(T0), np.datetime64(T0, "ns")]))
    return channels, offset, ids, form, size, when


@settings(deadline=None, max_examples=300)
@given(row_calls())
def test_a_row_is_appended_exactly_when_the_configuration_allows_it(call):
    channels, offset, ids, form, size, when = call
    by_id = {c["id"] + offset: c for c in channels}
    live = live_checked(channels, offset)

    def width(channel: int) -> int | None:
        c = by_id.get(channel)
        return WIDTHS.get(c["type"]) if c is not None and c["source"] == "row" else None

    widths = [width(c) for c in ids]
    refused = [c for c, w in zip(ids, widths, strict=True) if w is None]
    args = (form(ids), when, b"\1" * size)
    if not refused and size == sum(widths):
        live.row(*args)
        assert (len(live.burst), live.first, live.last) == (1, T0, T0)
        return
    pattern = rf"^row\(\): channel {refused[0]}\b" if refused else r"^row\(\): the buffer holds"
    with pytest.raises(ValueError, match=pattern):
        live.row(*args)
    assert (len(live.burst), live.first) == (0, None)


CHANNELS = [
    {"id": 1, "source": "row", "type": "u8"},
    {"id": 2, "source": "row", "type": "f32"},
    {"id": 3, "source": "periodic", "type": "s32"},
]


def test_a_refusal_comes_before_what_is_wrong_with_the_timestamp():
    # As when the configuration was checked first, in Python: its refusal is what the caller sees.
    live = live_checked(CHANNELS)
    with pytest.raises(ValueError, match=re.escape("row(): channel 3 is configured periodic")):
        live.row([3], "not a time", b"\0\0\0\0")
    with pytest.raises(TypeError, match="timestamp must be an integer, not str"):
        live.row([1], "not a time", b"\0")
    assert len(live.burst) == 0


def test_a_structured_row_is_checked_field_by_field():
    live = live_checked(CHANNELS)
    with pytest.raises(ValueError, match=re.escape("row(): channel 2 is configured f32")):
        live.row([1, 2], T0, np.zeros(1, dtype=[("a", "u1"), ("b", "f8")]))
    live.row([1, 2], T0, np.zeros(1, dtype=[("a", "u1"), ("b", "<f4")]))
    assert len(live.burst) == 1


def test_without_rules_a_row_is_not_checked():
    live = live_checked(CHANNELS)
    live.check_rows(None)
    live.row([3], T0, b"\0\0\0\0")
    assert len(live.burst) == 1
