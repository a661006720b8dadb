"""A client that does what ATLAS does (RTA's data-bindings guide): the session from REST,
the configurations bound to it, the data its channels name, then the WebSocket for a
session REST shows open. Chunks are read by the tests' own reader (python-lz4, protobuf);
every sample is compared with what the writer was given, and REST's history joined with
the WebSocket's leading edge must be the whole session, no gap."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from cli_helpers import T0
from rest_helpers import atlas_history, timestamps_of
from rtastream import Burst, RedisStreamBuffer, Session, keys
from rtastream.session import ConfigBinding
from serve_helpers import Received, receive_all, request, served

MS = 1_000_000
OFFSET = 0x100  # the binding's channelOffset: data is asked for in session channel space
CONFIG = {
    "demo": {
        "parameters": [
            {"id": f"p{c}:demo", "name": f"p{c}", "conv": "1to1:demo", "channels": [c]}
            for c in (1, 2)
        ],
        "channels": [{"id": 1, "source": "timestamped"}, {"id": 2, "source": "timestamped"}],
        "conversions": [{"name": "1to1:demo", "unit": "V", "format": "%5.3f"}],
        "events": [{"id": 8, "code": "0008", "desc": "lap", "pri": "high", "convs": []}],
    }
}


def values(channel: int, t: np.ndarray) -> np.ndarray:
    return np.cos(t / 1e9 * channel)


def burst(second: int) -> Burst:
    t = T0 + (second * 1000 + np.arange(1000, dtype=np.int64)) * MS
    b = Burst()
    channels = [OFFSET + 1, OFFSET + 2]
    b.timestamped(channels, t, np.stack([values(c, t) for c in channels]))
    b.event(8, int(t[0]), status_text=f"lap {second}", raw_data=(float(second),))
    b.time_range(T0, int(t[-1]))
    return b


def test_atlas_flow_session_configs_data_then_websocket(redis_url, r):
    r.set(keys.config_key("demo-config-1"), json.dumps(CONFIG))
    model = Session(
        "atlas-1",
        identifier="ATLAS flow",
        details={"Driver": "Ann"},
        config_bindings=(ConfigBinding("demo-config-1", OFFSET),),
    )
    buffer = RedisStreamBuffer(redis_url)
    session = buffer.open_session("atlas-1", "cars", model)
    for second in range(12):  # history before ATLAS looks
        session.write(burst(second))
    session.flush()

    async def main():
        async with served(redis_url) as server:
            http, base = server.http, server.base + "/rta/v2"
            async with http.get(base + "/info") as reply:
                assert reply.status == 200
            async with http.post(base + "/sessions", data={"query": '{"state": "open"}'}) as reply:
                listed = [s["identity"] for s in (await reply.json())["sessions"]]
            assert listed == ["atlas-1"]
            async with http.get(base + "/sessions/atlas-1") as reply:
                found = await reply.json()
            assert found["state"] == "open"
            channels, history, events = await atlas_history(http, base, found, "atlas-1")
            # REST showed it open: the live edge from here on.
            async with server.ws("atlas-1") as ws:
                await ws.send_bytes(request(all_events=True, channels=channels))
                first = await ws.receive(timeout=10)
                received = Received()
                received.add(first.data)
                for second in range(12, 20):
                    await asyncio.to_thread(session.write, burst(second))
                await asyncio.to_thread(session.close)
                live = await receive_all(ws, received)
            return channels, history, events, live

    try:
        channels, history, events, live = asyncio.run(main())
    finally:
        buffer.close()
    assert channels == [OFFSET + 1, OFFSET + 2]
    every = T0 + np.arange(20 * 1000, dtype=np.int64) * MS
    for channel in channels:
        rest = {}
        for chunk in history:
            for data in chunk.payload.timestamped_data:
                if data.channel_id == channel:
                    rest.update(
                        zip(
                            timestamps_of(data),
                            np.frombuffer(data.buffer, "<f8").tolist(),
                            strict=True,
                        )
                    )
        assert sorted(rest) == every[: 12 * 1000].tolist()  # everything written before
        joined = rest | live.samples[channel]
        assert sorted(joined) == every.tolist(), "REST history and the live edge leave a gap"
        expected = dict(zip(every.tolist(), values(channel, every).tolist(), strict=True))
        assert all(joined[t] == expected[t] for t in joined)
    assert [e.status_text for c in events for e in c.payload.events] == [
        f"lap {s}" for s in range(12)
    ]
    assert live.states[-1] == "closed"
