"""Headless Chromium for the page tests: Debian's chromium and chromium-driver, driven by
selenium (`make system` installs them). Tests skip when they are missing."""

from __future__ import annotations

import re
import shutil

import pytest

from waiting import wait_until

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


def chromium():
    """A headless Chromium whose console messages can be read with get_log('browser')."""
    binary = next((path for path in map(shutil.which, CHROMIUM) if path), None)
    driver = shutil.which(DRIVER)
    if binary is None or driver is None:
        pytest.skip(
            "no chromium and chromedriver on PATH (apt-get install chromium "
            "chromium-driver): the page tests are skipped"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def demo_page_url(demo, **wait) -> str:
    """The page's URL that a running `rtastream demo --serve` prints."""
    found = wait_until(
        lambda: re.search(r"watch it live: (\S+)", demo.stderr.readline()),
        what="the demo's URL",
        **wait,
    )
    return found.group(1)
