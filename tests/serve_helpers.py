"""Helpers for the live-edge tests: the server in-process on a free port, a WebSocket client
that speaks the protocol, and the samples a client received."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import numpy as np
from aiohttp import web

from rtastream import EventItem, SessionJsonItem, TimeRangeItem, TimestampedItem, decode
from rtastream._proto import net_stream_pb2
from rtastream.server import SUBPROTOCOL, make_app


@contextlib.asynccontextmanager
async def served(redis_url: str, **options) -> AsyncIterator[Served]:
    runner = web.AppRunner(make_app(redis_url, **options))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    async with aiohttp.ClientSession() as http:
        yield Served(f"http://{host}:{port}", http)
    await runner.cleanup()


@dataclass
class Served:
    base: str
    http: aiohttp.ClientSession

    def ws(self, identity: str, **options):
        return self.http.ws_connect(
            f"{self.base}/rta/v2/sessions/{identity}/stream", protocols=[SUBPROTOCOL], **options
        )


def request(all_events=False, all_data=False, channels=()) -> bytes:
    message = net_stream_pb2.StreamRequest()
    message.subscribe.all_events = all_events
    message.subscribe.all_data_channels = all_data
    message.subscribe.data_channel_ids.extend(channels)
    return message.SerializeToString()


@dataclass
class Received:
    """Everything a client got, decoded with the protobuf-based decoder."""

    messages: list[list] = field(default_factory=list)
    samples: dict[int, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    close_code: int | None = None
    close_reason: str = ""

    def add(self, data: bytes) -> list:
        items = decode(data)
        self.messages.append(items)
        for item in items:
            if isinstance(item, TimestampedItem):
                for t, v in zip(item.timestamps.tolist(), item.values("<f8").tolist(), strict=True):
                    self.samples[item.channel_id][t] = v
        return items

    def of(self, kind) -> list:
        return [item for items in self.messages for item in items if isinstance(item, kind)]

    @property
    def states(self) -> list[str]:
        return [item.json()["state"] for item in self.of(SessionJsonItem)]

    @property
    def events(self) -> list[EventItem]:
        return self.of(EventItem)

    @property
    def time_ranges(self) -> list[tuple[int, int]]:
        return [(item.start, item.end) for item in self.of(TimeRangeItem)]


async def receive_all(ws, received: Received | None = None, timeout: float = 20) -> Received:
    """Read until the server closes the socket."""
    received = received or Received()

    async def read() -> None:
        async for message in ws:
            assert message.type == aiohttp.WSMsgType.BINARY, message
            received.add(message.data)

    await asyncio.wait_for(read(), timeout)
    received.close_code = ws.close_code
    return received


def sine(channel_index: int, t: np.ndarray) -> np.ndarray:
    """The values cli_helpers.send_data writes for its channel_index-th channel."""
    return np.sin((channel_index + 1) * (t / 1e9))
