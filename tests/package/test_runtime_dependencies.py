"""The library runs without its test dependencies; the twins say what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.subprocess  # fresh interpreters without the test packages

# Run in a fresh interpreter where importing the test-only packages fails, as it does
# where they are not installed.
BLOCK = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # makes `import name` raise ImportError
"""

TEST_ONLY = ["lz4", "google.protobuf"]


def run(code: str) -> subprocess.CompletedProcess:
    script = BLOCK.format(blocked=TEST_ONLY) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


def test_library_encodes_and_decodes_without_test_dependencies():
    done = run("""
        import numpy as np
        import rtastream, rtastream.aio, rtastream.cli
        burst = rtastream.Burst()
        burst.timestamped([1, 2], [10, 20], np.ones((2, 2)))
        (item, _) = rtastream.decode(burst.pack()[0])
        assert item.values(np.float64).tolist() == [1.0, 1.0]
        print("ok")
    """)
    assert done.stdout == "ok\n", done.stderr


def test_the_twin_says_what_to_install():
    done = run("import rtastream.reference")
    assert (
        "ImportError: rtastream.reference (the pure-Python twins) needs python-lz4 and "
        "protobuf: pip install 'rtastream[test]'" in done.stderr
    )
