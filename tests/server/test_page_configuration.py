"""The page names each waveform after its parameter, with its unit, and decodes each channel
with its configured type (the demo publishes a configuration); GET /rta/v2/configs/{id}."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from browser import chromium, console_errors, demo_page_url
from cli_helpers import interrupt, start_cli
from rtastream.configuration import Configuration
from serve_helpers import served
from waiting import wait_until

pytestmark = pytest.mark.slow

LABELS = """
return [...document.querySelectorAll('#plots .plot')].map((p) =>
  [p.dataset.id, p.querySelector('b').textContent, p.querySelector('select').value]);
"""


def test_the_page_labels_and_decodes_the_demo_channels_as_configured(redis_url, r):
    demo = start_cli("demo", "--serve", "--port", "0", "--channels", "8", "--redis", redis_url)
    try:
        url = demo_page_url(demo)
        base, _ = url.split("/#")
        (key,) = wait_until(lambda: r.keys("configs:*"), what="the demo's configuration")
        identifier = key.decode().removeprefix("configs:")
        with urllib.request.urlopen(f"{base}/rta/v2/configs/{identifier}") as reply:
            assert reply.headers["Content-Type"] == "application/vnd.mat.config+json"
            assert Configuration.from_json(reply.read()).identifier == identifier
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{base}/rta/v2/configs/nope")
        driver = chromium()
        try:
            driver.get(url)
            driver.find_element("id", "channels").clear()
            wait_until(
                lambda: driver.find_element("id", "subscribe").is_displayed(), what="subscribe"
            )
            driver.find_element("id", "channels").send_keys("0, 6-7\n")
            expected = [  # 0-3 as first shown, then 0, 6 and 7 in their place
                ["0", "analog0", "f64"],
                ["6", "gear", "i32"],
                ["7", "counter", "i32"],
            ]
            wait_until(lambda: driver.execute_script(LABELS) == expected, what="the labels")
            assert console_errors(driver) == []
        finally:
            driver.quit()
    finally:
        interrupt(demo)


def test_a_configuration_is_served_as_published(r, redis_url):
    config = Configuration.simple("car", {"speed": ("f32", "timestamped", "km/h")})
    r.set(f"configs:{config.identifier}", config.to_json())

    async def main():
        async with served(redis_url) as server:
            async with server.http.get(
                f"{server.base}/rta/v2/configs/{config.identifier}"
            ) as reply:
                assert reply.status == 200
                assert json.loads(await reply.read()) == config.to_dict()

    asyncio.run(main())
