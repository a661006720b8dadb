"""The page in a real browser (headless Chromium): it draws the demo's live session, and its
own LZ4 and protobuf code (static/rta.js) agrees with python-lz4, the official protobuf
classes and the native encoder, whatever the dtypes, sizes and values."""

from __future__ import annotations

import base64
import re
import struct

import lz4.block
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from browser import chromium, console_errors, demo_page_url
from cli_helpers import T0, interrupt, start_cli
from rtastream import (
    Burst,
    EventItem,
    PeriodicItem,
    RowItem,
    SessionJsonItem,
    TimeRangeItem,
    TimestampedItem,
    decode,
)
from rtastream._proto import model_data_pb2, net_chunks_pb2, net_stream_pb2
from waiting import wait_until

pytestmark = pytest.mark.slow

# Blue stroke pixels drawn on each waveform canvas.
DRAWN = """
return [...document.querySelectorAll('#plots canvas')].map((c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let blue = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 2] > 200 && data[i] < 120) blue++;
  return blue;
});
"""


PAGE_WAIT = dict(timeout=30, every=0.2)
"""A page is slow to ask: every 0.2 s, for up to 30 s."""


def test_the_page_draws_the_demo_live_waveforms(redis_url):
    demo = start_cli("demo", "--serve", "--port", "0", "--channels", "8", "--redis", redis_url)
    try:
        url = demo_page_url(demo, **PAGE_WAIT)
        assert url.startswith("http://127.0.0.1:") and "/#demo-" in url
        driver = chromium()
        try:
            driver.get(url)
            wait_until(
                lambda: (
                    len(driver.execute_script(DRAWN)) == 4
                    and min(driver.execute_script(DRAWN)) > 50
                ),
                what="four waveforms drawn",
                **PAGE_WAIT,
            )
            plots = driver.find_element("id", "plots")
            first = plots.screenshot_as_png
            second = wait_until(
                lambda: (shot := plots.screenshot_as_png) != first and shot,
                10,
                "the waveforms to move",
                every=0.2,
            )
            assert first != second
            assert driver.find_element("id", "state").text == "open"
            assert driver.find_element("id", "status").text == "following live: channels 0-3"
            assert re.fullmatch(
                r"\d\d:\d\d:\d\d\.\d{3} → \d\d:\d\d:\d\d\.\d{3} \(\d+\.\d s\)",
                driver.find_element("id", "range").text,
            )
            live = driver.find_elements("css selector", "#sessions li.live")
            assert [li.get_attribute("data-identity") for li in live] == [url.split("#")[1]]
            assert console_errors(driver) == []
        finally:
            driver.quit()
    finally:
        _, err = interrupt(demo)
    assert demo.returncode == 130 and "ended as truncated" in err


# --- rta.js against the Python side ------------------------------------------------------


@pytest.fixture(scope="module")
def page(redis_server):
    from rtastream.server.background import ServerThread

    server = ServerThread(redis_server.url, "127.0.0.1", 0)
    driver = chromium()
    try:
        driver.get(server.url)
        yield driver
    finally:
        driver.quit()
        server.close()


PLAIN = """
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const plain = (v) => typeof v === 'bigint' ? v.toString()
  : v instanceof BigInt64Array ? Array.from(v, String) : v instanceof Uint8Array ? hex(v) : v;
const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
"""


def js(page, body: str, *args):
    return page.execute_script(PLAIN + body, *args)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def decoded_by_js(page, message: bytes) -> list[dict]:
    return js(
        page,
        """
        return rta.decodeMessage(bytes(arguments[0])).map((item) =>
          Object.fromEntries(Object.entries(item).map(([k, v]) => [k, k === 'rawData'
            ? hex(new Uint8Array(new Float64Array(v).buffer)) : plain(v)])));
    """,
        b64(message),
    )


def as_plain(item) -> dict:
    """What rta.js should give for an item decoded by the protobuf-based decoder."""
    if isinstance(item, TimestampedItem):
        return {
            "kind": "timestamped",
            "channel": item.channel_id,
            "timestamps": [str(t) for t in item.timestamps.tolist()],
            "buffer": bytes(item.buffer).hex(),
        }
    if isinstance(item, PeriodicItem):
        return {
            "kind": "periodic",
            "channel": item.channel_id,
            "start": str(item.start),
            "interval": str(item.interval),
            "samples": item.samples,
            "buffer": bytes(item.buffer).hex(),
            "timestamps": [str(t) for t in item.timestamps.tolist()],
        }
    if isinstance(item, RowItem):
        return {
            "kind": "row",
            "channels": list(item.channel_ids),
            "timestamp": str(item.timestamp),
            "buffer": bytes(item.buffer).hex(),
        }
    if isinstance(item, EventItem):
        return {
            "kind": "event",
            "definition": item.definition_id,
            "appName": item.app_name,
            "timestamp": str(item.timestamp),
            "statusText": item.status_text,
            "rawData": item.raw_data.astype("<f8").tobytes().hex(),
        }  # NaN is no JSON
    if isinstance(item, TimeRangeItem):
        return {"kind": "timeRange", "start": str(item.start), "end": str(item.end)}
    assert isinstance(item, SessionJsonItem)
    return {"kind": "sessionJson", "text": item.text}


DTYPES = ["<f8", "<f4", "<i8", "<u8", "<i4", "<u4", "<i2", "<u2", "i1", "u1"]
TIMES = st.integers(-(2**62), 2**62)
ID = st.integers(0, 2**32 - 1)


def js_dtype(dtype: np.dtype) -> str:
    """'<f8' -> 'f64', 'u1' -> 'u8': rta.js's names."""
    return f"{dtype.kind}{dtype.itemsize * 8}"


@st.composite
def appends(draw):
    """One call that appends an item to a Burst, with drawn arguments."""
    kind = draw(st.sampled_from(["timestamped", "periodic", "row", "event", "range", "json"]))
    if kind in ("timestamped", "periodic"):
        values = draw(hnp.arrays(st.sampled_from(DTYPES), st.integers(1, 40)))
        if kind == "periodic":
            args = (draw(ID), draw(TIMES), draw(st.integers(1, 10**9)), values)
            return lambda burst: burst.periodic(*args)
        steps = draw(
            st.lists(st.integers(0, 10**9), min_size=len(values) - 1, max_size=len(values) - 1)
        )
        t = draw(TIMES) + np.cumsum([0, *steps], dtype=np.int64)
        channel = draw(ID)
        return lambda burst: burst.timestamped(channel, t, values)
    if kind == "row":  # raw bytes of 1, 2, 4 or 8 a channel
        ids = draw(st.lists(ID, min_size=1, max_size=8))
        size = draw(st.integers(len(ids), 8 * len(ids)))
        args = (ids, draw(TIMES), draw(st.binary(min_size=size, max_size=size)))
        return lambda burst: burst.row(*args)
    if kind == "event":
        args = (
            draw(st.integers(-(2**31), 2**31 - 1)),
            draw(TIMES),
            draw(st.text()),
            draw(st.lists(st.floats(), max_size=6)),
            draw(st.text()),
        )
        return lambda burst: burst.event(*args)
    if kind == "range":
        start = draw(TIMES)
        end = start + draw(st.integers(0, 2**61))
        return lambda burst: burst.time_range(start, end)
    text = draw(st.text())
    return lambda burst: burst.session_json(text)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(appends(), min_size=1, max_size=6))
def test_js_decodes_what_the_native_encoder_writes(page, calls):
    burst = Burst()
    for call in calls:
        call(burst)
    for message in burst.pack():
        assert decoded_by_js(page, message) == [as_plain(item) for item in decode(message)]


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.builds(
            lambda unit, n: unit * n, st.binary(min_size=1, max_size=9), st.integers(1, 20000)
        ),
    ),
    st.sampled_from(["default", "high_compression"]),
)
def test_js_lz4_inflates_what_python_lz4_deflates(page, data, mode):
    block = lz4.block.compress(data, mode=mode, store_size=False)
    assert js(page, "return hex(rta.lz4Block(bytes(arguments[0])));", b64(block)) == data.hex()


REFUSE = """
try { rta.lz4Block(bytes(arguments[0])); return null; } catch (e) { return e.message; }
"""
CUTS = """
return arguments[0].map((text) => {
  try { return hex(rta.lz4Block(bytes(text))); } catch (e) { return 'refused: ' + e.message; }
});
"""


def test_js_lz4_refuses_bad_blocks_with_a_message(page):
    data = bytes(range(256)) * 40
    block = lz4.block.compress(data, store_size=False)
    assert js(page, REFUSE, b64(b"")) == "empty LZ4 block"
    # A cut block is refused, or (cut at a sequence's end) is a shorter valid block.
    for got in js(page, CUTS, [b64(block[:cut]) for cut in range(1, len(block))]):
        assert got.startswith("refused: LZ4 block ") or data.hex().startswith(got), got
    assert js(page, REFUSE, b64(bytes([0x0F, 1, 0xFF, 0xFF]))) == (
        "LZ4 block has a bad match offset"
    )
    huge = lz4.block.compress(bytes((1 << 20) + 1), store_size=False)
    assert js(page, REFUSE, b64(huge)) == "LZ4 block decompresses to more than 1048576 bytes"


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.booleans(), st.lists(ID, max_size=20))
def test_js_subscription_is_what_protobuf_serializes(page, all_events, all_data, channels):
    expected = net_stream_pb2.StreamRequest()
    expected.subscribe.all_events = all_events
    expected.subscribe.all_data_channels = all_data
    expected.subscribe.data_channel_ids.extend(channels)
    got = js(
        page,
        "return hex(rta.encodeSubscription("
        "{allEvents: arguments[0], allData: arguments[1], channels: arguments[2]}));",
        all_events,
        all_data,
        channels,
    )
    assert got == expected.SerializeToString().hex()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DTYPES).flatmap(lambda d: hnp.arrays(d, st.integers(0, 30))))
def test_js_reads_samples_of_every_dtype(page, values):
    got = js(
        page,
        "return hex(new Uint8Array(rta.samples(bytes(arguments[0]), arguments[1]).buffer));",
        b64(values.tobytes()),
        js_dtype(values.dtype),
    )
    assert got == values.astype("<f8").tobytes().hex()  # as JavaScript numbers (doubles)


# --- rta.js's chunk reader against the protobuf classes and python-lz4 --------------------

CHUNK_KINDS = ("timestamped", "periodic", "row", "events")
INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)


@st.composite
def list_items(draw, kind: str) -> list:
    """The messages of one data list of `kind`, drawn field by field."""
    count = st.integers(0, 4)
    if kind == "timestamped":
        return [
            model_data_pb2.TimestampedData(
                channel_id=draw(ID),
                start_timestamp=draw(TIMES),
                timestamp_deltas_scale=draw(st.integers(0, 10**6)),
                timestamp_deltas=draw(st.lists(st.integers(0, 10**6), max_size=20)),
                buffer=draw(st.binary(max_size=40)),
            )
            for _ in range(draw(count))
        ]
    if kind == "periodic":
        return [
            model_data_pb2.PeriodicData(
                channel_id=draw(ID),
                start_timestamp=draw(TIMES),
                interval=draw(st.integers(0, 10**9)),
                samples=draw(st.integers(0, 20)),
                buffer=draw(st.binary(max_size=40)),
            )
            for _ in range(draw(count))
        ]
    if kind == "row":
        return [
            model_data_pb2.RowData(
                channel_ids=draw(st.lists(ID, max_size=5)),
                timestamp=draw(TIMES),
                buffer=draw(st.binary(max_size=40)),
            )
            for _ in range(draw(count))
        ]
    return [
        model_data_pb2.Event(
            event_definition_id=draw(INT32),
            app_name=draw(st.text(max_size=8)),
            timestamp=draw(TIMES),
            status_text=draw(st.text(max_size=8)),
            raw_data=draw(st.lists(st.floats(allow_nan=False), max_size=4)),
        )
        for _ in range(draw(count))
    ]


LIST_OF = {
    "timestamped": lambda items: model_data_pb2.TimestampedDataList(timestamped_data=items),
    "periodic": lambda items: model_data_pb2.PeriodicDataList(periodic_data=items),
    "row": lambda items: model_data_pb2.RowDataList(row_data=items),
    "events": lambda items: model_data_pb2.EventsList(events=items),
}


def expected_item(kind: str, m) -> dict:
    """What rta.js should give for a list's message, from its protobuf fields."""
    if kind == "timestamped":
        t = np.cumsum(np.array(m.timestamp_deltas, dtype=np.int64) * m.timestamp_deltas_scale)
        times = (m.start_timestamp + t).tolist() if len(t) else []
        return {"kind": "timestamped", "channel": m.channel_id, "buffer": m.buffer.hex(),
                "timestamps": [str(x) for x in times]}  # fmt: skip
    if kind == "periodic":
        times = [m.start_timestamp + m.interval * k for k in range(m.samples)]
        return {"kind": "periodic", "channel": m.channel_id, "start": str(m.start_timestamp),
                "interval": str(m.interval), "samples": m.samples, "buffer": m.buffer.hex(),
                "timestamps": [str(x) for x in times]}  # fmt: skip
    if kind == "row":
        return {"kind": "row", "channels": list(m.channel_ids), "timestamp": str(m.timestamp),
                "buffer": m.buffer.hex()}  # fmt: skip
    return {"kind": "event", "definition": m.event_definition_id, "appName": m.app_name,
            "timestamp": str(m.timestamp), "statusText": m.status_text,
            "rawData": np.array(m.raw_data, dtype="<f8").tobytes().hex()}  # fmt: skip


@st.composite
def chunk_bodies(draw) -> tuple[str, bytes, list[dict]]:
    """(kind, an application/vnd.mat.protobuf+chunked body, what each chunk holds)."""
    kind = draw(st.sampled_from(CHUNK_KINDS))
    compression = draw(st.sampled_from([0, 1]))  # the first chunk's; the rest keep it
    body, expected = b"", []
    previous_start = previous_duration = 0
    for k in range(draw(st.integers(0, 4))):
        # Starts whose differences fit the header's sint64.
        start, duration = draw(st.integers(-(2**61), 2**61)), draw(st.integers(0, 2**40))
        channels = draw(st.lists(ID, max_size=3))
        items = draw(list_items(kind))
        raw = LIST_OF[kind](items).SerializeToString()
        packed = lz4.block.compress(raw, store_size=False) if compression else raw
        header = net_chunks_pb2.ChunkTransferHeader(
            chunk_start_time_delta=start - previous_start,
            chunk_duration_delta=duration - previous_duration,
            channel_ids=channels,
            compression_delta=compression if k == 0 else 0,
            unpacked_length=len(raw),
            packed_length=len(packed),
        ).SerializeToString()
        body += struct.pack("<i", len(header)) + header + packed
        previous_start, previous_duration = start, duration
        expected.append({"start": str(start), "end": str(start + duration),
                         "channels": channels,
                         "items": [expected_item(kind, m) for m in items]})  # fmt: skip
    return kind, body, expected


DECODE_CHUNKS = """
return rta.decodeChunks(bytes(arguments[0]), arguments[1]).map((c) => ({
  start: plain(c.start), end: plain(c.end), channels: c.channels,
  items: c.items.map((item) => Object.fromEntries(Object.entries(item).map(([k, v]) =>
    [k, k === 'rawData' ? hex(new Uint8Array(new Float64Array(v).buffer)) : plain(v)]))),
}));
"""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk_bodies())
def test_js_reads_chunks_as_the_protobuf_classes_and_python_lz4_write_them(page, drawn):
    kind, body, expected = drawn
    assert js(page, DECODE_CHUNKS, b64(body), kind) == expected


CHUNK_REFUSED = """
try { rta.decodeChunks(bytes(arguments[0]), 'timestamped'); return null; }
catch (e) { return e.message; }
"""


CHUNKS_CUT = """
return arguments[0].map((text) => {
  try { rta.decodeChunks(bytes(text), 'timestamped'); return 'read'; }
  catch (e) { return e.message; }
});
"""


def test_js_refuses_cut_or_lying_chunks_with_a_message(page):
    t = T0 + np.arange(300, dtype=np.int64) * 1_000_000
    raw = model_data_pb2.TimestampedDataList(
        timestamped_data=[
            model_data_pb2.TimestampedData(
                channel_id=1,
                start_timestamp=int(t[0]),
                timestamp_deltas_scale=1_000_000,
                timestamp_deltas=[0] + [1] * 299,
                buffer=np.sin(t / 1e9).tobytes(),
            )
        ]
    ).SerializeToString()
    packed = lz4.block.compress(raw, store_size=False)

    def body(**fields):
        header = net_chunks_pb2.ChunkTransferHeader(
            **{
                "compression_delta": 1,
                "unpacked_length": len(raw),
                "packed_length": len(packed),
                **fields,
            }  # fmt: skip
        ).SerializeToString()
        return struct.pack("<i", len(header)) + header + packed

    whole = body()
    for got in js(page, CHUNKS_CUT, [b64(whole[:cut]) for cut in range(1, len(whole))]):
        assert got.startswith(("chunk truncated", "protobuf truncated")), got
    assert js(page, CHUNK_REFUSED, b64(body(unpacked_length=len(raw) + 1))) == (
        f"chunk unpacked to {len(raw)} bytes, its header says {len(raw) + 1}"
    )
    assert js(page, CHUNK_REFUSED, b64(body(compression_delta=2))) == (
        "chunk compression 2 is not LZ4 (1)"
    )
    assert js(page, CHUNK_REFUSED, b64(body(unpacked_length=5 << 20))) == (
        "chunk unpacks to 5242880 bytes: a list is at most 4194304"
    )
