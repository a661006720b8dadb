"""Waiting in tests: poll a condition against a deadline rather than sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    condition: Callable[[], Any],
    timeout: float = 20.0,
    what: str = "the condition",
    *,
    every: float = 0.02,
    ignoring: tuple[type[Exception], ...] = (),
) -> Any:
    """condition()'s first true value, asked every `every` seconds until `timeout` seconds
    have passed (then TimeoutError, naming `what`). An exception of `ignoring` (a server
    restarting) counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
