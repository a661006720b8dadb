"""The worked example of docs/protocol.md, as literal values taken from the text."""

from datetime import datetime, timezone

import numpy as np
import pytest

from encoders import ENCODERS, parse


def ns(h, m, s):
    return int(datetime(2024, 5, 1, h, m, s, tzinfo=timezone.utc).timestamp()) * 10**9


@pytest.mark.parametrize("Burst", ENCODERS)
def test_three_doubles_at_irregular_seconds(Burst):
    times = [ns(11, 50, 55), ns(11, 50, 59), ns(11, 51, 4)]
    burst = Burst()
    burst.timestamped(1, times, np.array([12.7, 14.9, 21.2]))

    item = parse(burst.encode()).data[0].timestamped_data
    assert item.start_timestamp == times[0]
    assert item.timestamp_deltas_scale == 1_000_000_000
    assert list(item.timestamp_deltas) == [0, 4, 5]
    assert item.buffer == bytes.fromhex("6666666666662940CDCCCCCCCCCC2D403333333333333540")


@pytest.mark.parametrize("Burst", ENCODERS)
def test_constant_10ms_rate_gives_unit_deltas(Burst):
    times = 1_700_000_000_000_000_000 + 10_000_000 * np.arange(128)
    burst = Burst()
    burst.timestamped(5, times, np.zeros(128, dtype=np.float32))
    item = parse(burst.encode()).data[0].timestamped_data
    assert item.timestamp_deltas_scale == 10_000_000
    assert list(item.timestamp_deltas) == [0] + [1] * 127


@pytest.mark.parametrize("Burst", ENCODERS)
@pytest.mark.parametrize("times", [[42], [7, 7, 7]], ids=["one sample", "all equal"])
def test_scale_is_one_without_steps(Burst, times):
    burst = Burst()
    burst.timestamped(1, times, np.ones(len(times)))
    item = parse(burst.encode()).data[0].timestamped_data
    assert item.timestamp_deltas_scale == 1
    assert list(item.timestamp_deltas) == [0] * len(times)
