"""SessionReader gives a session's configuration and decodes with the configured types."""

from __future__ import annotations

import asyncio
import json

import numpy as np

import rtastream
from cli_helpers import run_cli
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


def test_inspect_shows_names_units_and_types_from_the_configuration(r, redis_url):
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("lap1", "cars", config=CONFIG) as session:
            session.timestamped(1, [T0, T0 + 5], np.array([1.5, -2.25], np.float32))
            session.periodic(2, T0, 1000, np.array([-3, 7000], np.int16))
    text = run_cli("inspect", "lap1", "--redis", redis_url)
    assert text.returncode == 0, text.stderr
    assert f"configuration  {CONFIG.identifier} (2 channels)" in text.stdout
    rows = {line.split()[0]: line.split()[1:4] for line in text.stdout.splitlines()[-2:]}
    assert rows == {"1": ["speed", "km/h", "f32"], "2": ["rpm", "1/min", "s16"]}
    document = json.loads(run_cli("inspect", "lap1", "--json", "--redis", redis_url).stdout)
    assert document["configuration"]["bindings"] == [
        {"identifier": CONFIG.identifier, "channelOffset": 0}
    ]
    assert document["configuration"]["channels"]["2"] == {
        "id": 2,
        "name": "rpm",
        "unit": "1/min",
        "type": "s16",
        "source": "periodic",
        "parameter": "rpm:car",
        "dtype": "int16",
    }


def test_the_demo_publishes_a_configuration_matching_what_it_writes(r, redis_url):
    args = ["demo", "--fast", "--duration", "1", "--rate", "100", "--channels", "8"]
    result = run_cli(*args, "--identity", "demo-cfg", "--redis", redis_url)
    assert result.returncode == 0, result.stderr
    with rtastream.SessionReader(redis_url, "demo-cfg", follow=False) as reader:
        ((config, _),) = reader.configurations()
        channels = session_channels(reader.configurations())
        items = list(reader)
    assert [(c.name, c.type, c.source) for c in channels.values()] == [
        *[(f"analog{i}", "f64", "timestamped") for i in range(6)],
        ("gear", "s32", "periodic"),
        ("counter", "s32", "periodic"),
    ]
    seen = {}
    for item in items:
        if isinstance(item, (rtastream.TimestampedItem, rtastream.PeriodicItem)):
            kind = "timestamped" if isinstance(item, rtastream.TimestampedItem) else "periodic"
            seen[item.channel_id] = (kind, len(item.buffer) // max(1, len(item.timestamps)))
    assert seen == {c.id: (c.source, c.dtype.itemsize) for c in channels.values()}
    ((config, _),) = reader.configurations()
    (app,) = config.applications
    assert [(e.id, e.conversions) for e in app.events] == [(1, ("lap:demo", "lapTime:demo"))]


def test_the_asyncio_reader_gives_the_configuration_too(r, redis_url):
    with rtastream.RedisStreamBuffer(redis_url) as buffer:
        with buffer.open_session("lap1", "cars", config=CONFIG) as session:
            session.periodic(2, T0, 1000, np.array([-3, 7000], np.int16))

    async def main():
        async with rtastream.AsyncSessionReader(redis_url, "lap1", follow=False) as reader:
            return await reader.configurations(), await reader.window()

    bound, window = asyncio.run(main())
    assert bound == [(CONFIG, 0)]
    assert window[2].values.tolist() == [-3, 7000]
