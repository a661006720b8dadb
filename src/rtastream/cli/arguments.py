"""Argument types for argparse: each names what it expected in its error."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

RECONNECT_TIMEOUT = 10.0
"""Seconds Redis may be away, by default (the readers', writers' and server's default too)."""


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return number


def natural_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return number


def positive_number(unit: str, limit: float = math.inf) -> Callable[[str], float]:
    """A type for a finite number > 0 (and <= limit) of `unit`."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and 0 < number <= limit):
            bound = f" up to {limit:g}" if math.isfinite(limit) else ""
            raise argparse.ArgumentTypeError(
                f"expected a positive number of {unit}{bound}, got {value!r}"
            )
        return number

    parse.__name__ = unit  # argparse names the type in some messages
    return parse


def port_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 0 to 65535, got {value!r}")
    return number


def add_reconnect_timeout(parser: Any, then: str) -> None:
    """The --reconnect-timeout option; `then`: what the command does once it has passed."""
    parser.add_argument(
        "--reconnect-timeout",
        type=positive_number("seconds"),
        default=RECONNECT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long Redis may be away (lost, restarting, frozen: no reply) before {then} "
        f"(default: {RECONNECT_TIMEOUT:g})",
    )
