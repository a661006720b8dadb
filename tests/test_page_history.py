"""The page draws a session's history from the REST data endpoints, a window at a time, and
follows a live one over the WebSocket from where that history ended: in headless Chromium,
against a real `serve` and Redis. What the page holds (`rtaPage.samples`, exact ns) is
compared with what the writer wrote, computed here."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from browser import chromium, console_errors
from cli_helpers import T0
from rtastream import RedisStreamBuffer
from rtastream.configuration import Configuration
from waiting import wait_until

pytestmark = pytest.mark.slow

MS = 1_000_000
SECOND = 1000 * MS
WINDOW = 10 * SECOND  # what the page shows
SECONDS = 90  # the closed session: nine windows, never fetched whole
KEEP = 6 * WINDOW  # what the page holds beyond either side of its view
CONFIG = Configuration.simple(
    "car",
    {
        "speed": (np.float64, "timestamped", "km/h"),  # channel 1, 1 kHz
        "rpm": (np.int32, "periodic", "1/min", 10 * MS),  # channel 2, 100 Hz
    },
)
PAGE_WAIT = dict(timeout=20, every=0.1)

# Blue stroke pixels of each waveform canvas, and of its first 3 % of columns.
DRAWN = """
return [...document.querySelectorAll('#plots canvas')].map((c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let blue = 0, left = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 2] > 200 && data[i] < 120) {
      blue++;
      if ((i / 4) % c.width < c.width * 0.03) left++;
    }
  }
  return [blue, left];
});
"""
LABELS = """
return [...document.querySelectorAll('#plots .plot')].map((p) =>
  [p.querySelector('b').textContent, p.querySelector('select').value]);
"""


def speed(t: np.ndarray) -> np.ndarray:
    return (t - T0) / SECOND * 2.5 + 100


def rpm(t: np.ndarray) -> np.ndarray:
    return ((t - T0) // (10 * MS) % 7000 + 1000).astype(np.int32)


def write_second(session, second: int) -> None:
    """One second of both channels, as a logger sends it."""
    t = T0 + second * SECOND + np.arange(1000, dtype=np.int64) * MS
    session.timestamped(1, t, speed(t))
    start = T0 + second * SECOND
    session.periodic(2, start, 10 * MS, rpm(start + np.arange(100, dtype=np.int64) * 10 * MS))
    session.flush()


def written(last: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Channel -> (times, values) of seconds 0 to `last` - 1."""
    t1 = T0 + np.arange(last * 1000, dtype=np.int64) * MS
    t2 = T0 + np.arange(last * 100, dtype=np.int64) * 10 * MS
    return {1: (t1, speed(t1)), 2: (t2, rpm(t2).astype(np.float64))}


@pytest.fixture(scope="module")
def server(redis_server):
    from rtastream.server.background import ServerThread

    served = ServerThread(redis_server.url, "127.0.0.1", 0)
    yield served
    served.close()


@pytest.fixture(scope="module")
def driver():
    browser = chromium()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def closed(redis_server) -> str:
    with RedisStreamBuffer(redis_server.url) as buffer:
        with buffer.open_session("history-closed", "cars", config=CONFIG) as session:
            for second in range(SECONDS):
                write_second(session, second)
    return "history-closed"


def state(driver) -> dict | None:
    return driver.execute_script("return rtaPage.state()")


def held(driver, channel: int) -> tuple[np.ndarray, np.ndarray]:
    got = driver.execute_script("return rtaPage.samples(arguments[0])", channel)
    return np.array(got["times"], dtype=np.int64), np.array(got["values"], dtype=np.float64)


def settled(driver, check) -> dict:
    """The page's state once it holds all of its view and `check(state)` holds."""
    return wait_until(
        lambda: (s := state(driver)) and s["complete"] and not s["fetching"] and check(s) and s,
        what="the page settled",
        **PAGE_WAIT,
    )


def assert_as_written(driver, channel: int, last_second: int, gaps: bool = False) -> np.ndarray:
    """Every sample the page holds of `channel` was written, at that time with that value,
    and is held once; unless `gaps`, none is missing between the first and the last held.
    Its times."""
    times, values = held(driver, channel)
    t, v = written(last_second)[channel]
    assert len(times) and np.all(np.diff(times) > 0), "out of order or repeated"
    at = np.searchsorted(t, times)
    assert np.array_equal(t[at], times), "a sample never written"
    assert np.array_equal(v[at], values)
    if not gaps:
        assert np.array_equal(np.diff(at), np.ones(len(at) - 1)), "a gap"
    return times


def holds_every_sample(times: np.ndarray, channel: int, lo: int, hi: int) -> bool:
    """Whether every sample written of `channel` in [lo, hi] is among `times`."""
    t = written(SECONDS)[channel][0]
    return bool(np.isin(t[(t >= lo) & (t <= hi)], times).all())


def fetched_spans(s: dict) -> list[int]:
    """The ns each REST request asked for (an open end: up to the page's end)."""
    return [int(end or s["end"]) - int(start) for start, end in s["fetches"]]


def test_a_closed_session_is_drawn_from_rest_a_window_at_a_time(server, driver, closed):
    driver.get(f"{server.url}#{closed}")
    end = T0 + SECONDS * SECOND - MS  # the last speed sample
    s = settled(driver, lambda s: s["view"] == [str(end - WINDOW), str(end)])
    assert (s["live"], s["following"], s["since"]) == (False, True, None)
    assert s["start"] == str(T0) and s["end"] == str(end)
    assert s["received"]["socket"] == 0  # no WebSocket for a closed session
    for channel in (1, 2):
        times = assert_as_written(driver, channel, SECONDS)
        assert holds_every_sample(times, channel, end - WINDOW, end)  # the whole view
    assert max(fetched_spans(s)) <= 2 * WINDOW  # a window and some, not the session
    assert len(held(driver, 1)[0]) < SECONDS * 1000 / 2
    wait_until(
        lambda: driver.execute_script(LABELS) == [["speed [km/h]", "f64"], ["rpm [1/min]", "i32"]],
        what="names, units and types from the configuration",
        **PAGE_WAIT,
    )
    wait_until(
        lambda: min(b for b, _ in driver.execute_script(DRAWN)) > 100, what="drawn", **PAGE_WAIT
    )
    assert (
        driver.find_element("id", "status").text == "recorded: drawn from the REST data endpoints"
    )
    assert console_errors(driver) == []


def test_a_closed_session_scrolls_back_to_its_first_sample(server, driver, closed):
    driver.get(f"{server.url}#{closed}")
    end = T0 + SECONDS * SECOND - MS
    settled(driver, lambda s: s["view"][1] == str(end))
    driver.find_element("id", "earlier").click()  # half a window back
    s = settled(driver, lambda s: s["view"][1] == str(end - WINDOW // 2))
    assert not s["following"]
    plots = driver.find_element("id", "plots")
    plots.send_keys("\ue011")  # Home: the session's start, from the keyboard
    s = settled(driver, lambda s: s["view"] == [str(T0), str(T0 + WINDOW)])
    for channel in (1, 2):
        times = assert_as_written(driver, channel, SECONDS, gaps=True)
        assert times[0] == T0  # the first sample written
        assert holds_every_sample(times, channel, T0, T0 + WINDOW)
    # Only windows near the view were fetched, never the gap between start and end.
    assert max(fetched_spans(s)) <= 2 * WINDOW
    assert len(held(driver, 1)[0]) < SECONDS * 1000 * 0.75
    wait_until(
        lambda: min(left for _, left in driver.execute_script(DRAWN)) > 0,
        what="the first samples drawn at the left edge",
        **PAGE_WAIT,
    )
    wait_until(  # what lies far from the view is forgotten
        lambda: held(driver, 1)[0][-1] <= T0 + WINDOW + KEEP, what="the end forgotten", **PAGE_WAIT
    )
    plots.send_keys("\ue014")  # Arrow right: a tenth of a window later
    settled(driver, lambda s: s["view"] == [str(T0 + SECOND), str(T0 + WINDOW + SECOND)])
    slider = driver.find_element("id", "position")
    slider.send_keys("\ue010")  # End, on the slider: back to the end, fetched again
    s = settled(driver, lambda s: s["following"] and s["view"][1] == str(end))
    assert holds_every_sample(
        assert_as_written(driver, 1, SECONDS, gaps=True), 1, end - WINDOW, end
    )
    assert console_errors(driver) == []


def test_a_live_session_opened_mid_way_joins_history_and_live_edge_exactly(
    server, driver, redis_server
):
    """History over REST up to the moment the page opens, then the socket from that seam:
    one run of samples, none missing, none twice, while the writer keeps writing."""
    buffer = RedisStreamBuffer(redis_server.url)
    session = buffer.open_session("history-live", "cars", config=CONFIG)
    for second in range(20):
        write_second(session, second)
    seconds = [20]
    stop = threading.Event()

    def keep_writing():
        while not stop.wait(0.05):  # a second of data every 50 ms
            write_second(session, seconds[0])
            seconds[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        driver.get(f"{server.url}#history-live")
        s = settled(driver, lambda s: s["since"] is not None and s["received"]["socket"] > 0)
        opened_at = int(s["since"])  # the seam: the last sample REST had
        wait_until(
            lambda: int(state(driver)["end"]) > opened_at + 3 * SECOND,
            what="live data",
            **PAGE_WAIT,
        )
    finally:
        stop.set()
        writer.join()
    session.close()
    buffer.close()
    last = seconds[0]
    s = settled(driver, lambda s: not s["live"] and s["end"] == str(T0 + last * SECOND - MS))
    assert driver.find_element("id", "state").text == "closed"
    for channel in (1, 2):
        times = assert_as_written(driver, channel, last)
        assert times[0] < opened_at - WINDOW < opened_at < times[-1]  # history, then live
        assert times[-1] >= T0 + last * SECOND - 10 * MS  # up to the last sample written
    assert s["fetches"][0][1] is None  # the history asked up to the live edge
    # The socket sent from the seam on (whole items reach back a little), not the session.
    assert opened_at - SECOND <= int(s["received"]["from"]["socket"]) <= opened_at
    assert console_errors(driver) == []
