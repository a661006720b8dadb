"""SessionReader gives a session's configuration and decodes with the configured types."""

from __future__ import annotations

import numpy as np

import rtastream
from rtastream.configuration import Configuration, session_channels

T0 = 1_750_000_000_000_000_000
CONFIG = Configuration.simple(
    "car",
    {
        "speed": (np.float32, "timestamped", "km/h"),
        "rpm": (np.int16, "periodic", "1/min"),
    },
)


def test_the_reader_gives_the_configuration_and_decodes_with_its_types(r, redis_url):
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("lap1", "cars", config=CONFIG, channel_offset=10) as session:
            session.timestamped(11, [T0, T0 + 5], np.array([1.5, -2.25], np.float32))
            session.periodic(12, T0, 1000, np.array([-3, 7000], np.int16))
    with rtastream.SessionReader(redis_url, "lap1", follow=False) as reader:
        ((config, offset),) = reader.configurations()
        assert (config, offset) == (CONFIG, 10)
        channels = session_channels(reader.configurations())
        assert [(c.id, c.name, c.unit, c.type) for c in channels.values()] == [
            (11, "speed", "km/h", "f32"),
            (12, "rpm", "1/min", "s16"),
        ]
        window = reader.window()
    assert window[11].values.dtype == np.float32
    assert window[11].values.tolist() == [1.5, -2.25]
    assert window[12].values.tolist() == [-3, 7000]
    assert window[12].timestamps.tolist() == [T0, T0 + 1000]


def test_a_session_without_configuration_has_none(r, redis_url):
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("lap1", "cars") as session:
            session.timestamped(1, [T0], np.array([1.0]))
    with rtastream.SessionReader(redis_url, "lap1", follow=False) as reader:
        assert reader.configurations() == []
        assert reader.window() == {}
