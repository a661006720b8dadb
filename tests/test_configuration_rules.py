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


def taken_exactly_when_allowed(rules, by_id, call, ids, given_ids, dtype) -> None:
    """The call (its ids given as `given_ids`) passes if every channel is configured with
    its kind and dtype (by the test's own reading), else raises naming the first that is not."""

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
    args = (given_ids, [1, 2], values) if call != "periodics" else (given_ids, 1, 1, values)
    refused = [c for c in ids if not allowed(c)]
    if not refused:
        getattr(rules, call)(*args)
        return
    with pytest.raises(ValueError, match=rf"^{call}\(\): channel {refused[0]}\b"):
        getattr(rules, call)(*args)


@settings(deadline=None, max_examples=300)
@given(setups())
def test_a_call_is_taken_exactly_when_its_channels_are_configured_so(setup):
    channels, offset, config, call, ids, dtype = setup
    by_id = {c["id"] + offset: c for c in channels}
    taken_exactly_when_allowed(Rules([(config, offset)]), by_id, call, ids, ids, dtype)


def test_a_3f32_channel_takes_no_data_whatever_the_dtype():
    # numpy reads `dtype == None` as float64: a type without a dtype must not pass for f64.
    config = Configuration.from_dict({"app": {"channels": [{"id": 1, "type": "3f32"}]}})
    with pytest.raises(ValueError, match=r"channel 1 is configured 3f32, a type rtastream"):
        Rules([(config, 0)]).rows([1], [1], np.zeros((1, 1)))


@st.composite
def call_sequences(draw):
    """One configuration of few kinds and types (so that many calls pass) and calls on it
    sharing their channel groups, each with its own kind, dtype and form of ids (a list, a
    tuple, or an ndarray of an integer dtype)."""
    types, sources = ["u8", "f32", "f64"], ["row", "timestamped", "periodic"]
    channels = [
        {
            "id": i + 1,
            "source": draw(st.sampled_from(sources)),
            "type": draw(st.sampled_from(types)),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    offset = draw(st.sampled_from([0, 100]))
    ids = st.lists(st.integers(1 + offset, len(channels) + offset + 1), min_size=1, max_size=3)
    groups = draw(st.lists(ids, min_size=1, max_size=2))
    calls = []
    for _ in range(draw(st.integers(2, 10))):
        dtype = np.dtype(NUMPY[draw(st.sampled_from(types))])
        call, form = draw(st.sampled_from(list(CALLS))), draw(st.sampled_from(list(FORMS)))
        calls.append((call, draw(st.sampled_from(groups)), form, dtype))
    config = Configuration.from_dict({"app": {"channels": channels}})
    return channels, offset, config, calls


FORMS: dict = {"list": list, "tuple": tuple, "u4": lambda i: np.array(i, "u4"), "i8": np.array}


@settings(deadline=None, max_examples=300)
@given(call_sequences())
def test_a_remembered_verdict_passes_only_the_calls_it_was_made_for(sequence):
    channels, offset, config, calls = sequence
    rules = Rules([(config, offset)])  # one for all the calls: it remembers what passed
    by_id = {c["id"] + offset: c for c in channels}
    for call, ids, form, dtype in calls:
        taken_exactly_when_allowed(rules, by_id, call, ids, FORMS[form](ids), dtype)


def test_ids_of_the_same_bytes_in_another_dtype_are_checked_afresh():
    config = Configuration.from_dict({"app": {"channels": [{"id": 1, "type": "f64"}]}})
    rules = Rules([(config, 0)])
    rules.timestamped(np.array([1.0], np.float32), [1], np.zeros((1, 1)))  # the id 1, as a float
    collides = np.array([1.0], np.float32).view(np.int32)  # 1065353216
    with pytest.raises(ValueError, match=r"^timestamped\(\): channel 1065353216 is not in"):
        rules.timestamped(collides, [1], np.zeros((1, 1)))


@pytest.mark.parametrize("form", list(FORMS))
def test_a_group_passed_for_one_kind_or_dtype_is_checked_afresh_for_another(form):
    config = Configuration.from_dict(
        {"app": {"channels": [{"id": 1, "type": "f64", "source": "timestamped"}]}}
    )
    rules = Rules([(config, 0)])
    rules.timestamped(FORMS[form]([1]), [1], np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"^periodics\(\): channel 1 is configured timestamped"):
        rules.periodics(FORMS[form]([1]), 1, 1, np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"^timestamped\(\): channel 1 is configured f64"):
        rules.timestamped(FORMS[form]([1]), [1], np.zeros((1, 1), np.float32))
