"""The writer's checks, over random configurations and calls: a call is taken exactly when
every channel it names is configured with its kind of data and its dtype (in either byte
order), and a refusal names the first channel that is not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtastream.configuration import Configuration
from rtastream.configuration.rules import Rules

# The test's own reading of RTA's types and sources.
NUMPY = {
    "u8": "u1",
    "s8": "i1",
    "u16": "u2",
    "s16": "i2",
    "u32": "u4",
    "s32": "i4",
    "f32": "f4",
    "f64": "f8",
}
KIND = {
    "timestamped": "timestamped",
    "synchro": "timestamped",
    "periodic": "periodic",
    "subSampledPeriodic": "periodic",
    "row": "row",
}
CALLS = {"timestamped": "timestamped", "periodics": "periodic", "rows": "row"}


@st.composite
def setups(draw):
    n = draw(st.integers(1, 6))
    channels = [
        {
            "id": i + 1,
            "source": draw(st.sampled_from([*KIND, "can"])),
            "type": draw(st.sampled_from([*NUMPY, "3f32"])),
        }
        for i in range(n)
    ]
    offset = draw(st.sampled_from([0, 100]))
    config = Configuration.from_dict({"app": {"channels": channels}})
    call = draw(st.sampled_from(list(CALLS)))
    ids = draw(st.lists(st.integers(1 + offset, n + offset + 1), min_size=1, max_size=3))
    dtype = np.dtype(draw(st.sampled_from(list(NUMPY.values())))).newbyteorder(
        draw(st.sampled_from("<>"))
    )
    return channels, offset, config, call, ids, dtype


@settings(deadline=None, max_examples=300)
@given(setups())
def test_a_call_is_taken_exactly_when_its_channels_are_configured_so(setup):
    channels, offset, config, call, ids, dtype = setup
    rules = Rules([(config, offset)])
    by_id = {c["id"] + offset: c for c in channels}

    def allowed(channel: int) -> bool:
        c = by_id.get(channel)
        return (
            c is not None
            and KIND.get(c["source"]) == CALLS[call]
            and NUMPY.get(c["type"]) == dtype.str[1:]
        )

    values = np.zeros((len(ids), 2), dtype=dtype)
    if call == "rows":
        values = values.T  # (instants, channels)
    args = (ids, [1, 2], values) if call != "periodics" else (ids, 1, 1, values)
    refused = [c for c in ids if not allowed(c)]
    if not refused:
        getattr(rules, call)(*args)
        return
    with pytest.raises(ValueError, match=rf"^{call}\(\): channel {refused[0]}\b"):
        getattr(rules, call)(*args)


def test_a_3f32_channel_takes_no_data_whatever_the_dtype():
    # numpy reads `dtype == None` as float64: a type without a dtype must not pass for f64.
    config = Configuration.from_dict({"app": {"channels": [{"id": 1, "type": "3f32"}]}})
    with pytest.raises(ValueError, match=r"channel 1 is configured 3f32, a type rtastream"):
        Rules([(config, 0)]).rows([1], [1], np.zeros((1, 1)))
