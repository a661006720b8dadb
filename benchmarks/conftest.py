"""Fixtures of the benchmark suite: smoke mode, version records, the packed workload. The
Redis fixtures are the tests' own (tests/redis_fixtures.py)."""

from __future__ import annotations

import os
import subprocess

import hiredis
import lz4
import numpy
import pytest
import redis
from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation

import rtastream
from benchmarks import variants
from benchmarks.workloads import WRITE_WORKLOAD
from rtastream import _native
from rtastream.redis_server import server_binary

pytest_plugins = ["redis_fixtures"]  # the tests' Redis fixtures (tests/redis_fixtures.py)


@pytest.fixture(scope="session")
def smoke(request) -> bool:
    """True under --benchmark-disable (`make bench-smoke`): run everything once, small."""
    return bool(request.config.getoption("benchmark_disable"))


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the versions that decide the figures next to them in the JSON, and how busy
    the machine was when the run began."""
    machine_info["versions"] = versions()
    machine_info["load_average"] = os.getloadavg()


def versions() -> dict[str, str]:
    lib = _native.LZ4_VERSION
    return {
        "rtastream": rtastream.__version__,
        "numpy": numpy.__version__,
        "protobuf": f"{protobuf_version} ({api_implementation.Type()})",
        "lz4 (python-lz4)": lz4.__version__,
        "liblz4 (rtastream._native.LZ4_VERSION)": f"{lib // 10000}.{lib // 100 % 100}.{lib % 100}",
        "redis-py": redis.__version__,
        "hiredis": hiredis.__version__,
        "redis-server": redis_server_version(),
    }


def redis_server_version() -> str:
    binary = server_binary()
    if binary is None:
        return "not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return next((part[2:] for part in out.split() if part.startswith("v=")), out.strip())


@pytest.fixture(scope="module")
def prepacked():
    """The write workload's burst packed once: [(message, (start, end))], (start, end)."""
    ts = WRITE_WORKLOAD.timestamps
    burst = rtastream.Burst()
    variants.fill(burst, WRITE_WORKLOAD)
    messages = burst.pack_with_time_ranges()
    assert len(messages) == 1, "the write workload must pack into one message"
    return messages, (int(ts[0]), int(ts[-1]))
