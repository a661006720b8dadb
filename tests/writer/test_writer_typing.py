"""The session API as a type checker sees it: mypy --strict catches on a session what it
catches on a Burst (a list where a row's bytes belong), sync and asyncio alike."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.subprocess  # mypy, in its own process

SNIPPET = """
import numpy as np
import rtastream
import rtastream.aio

def sync(buffer: rtastream.RedisStreamBuffer) -> None:
    rtastream.Burst().row([1], 0, [1.0])
    with buffer.open_session("a", "s") as session:
        session.row([1], 0, [1.0])
        session.row([1], 0, np.zeros(1))
        session.timestamped(range(2), [0], np.zeros((2, 1)))
        session.periodic(1, np.datetime64(0, "ns"), 10, [1.0])
        session.event(1, 0, "text", [1.0], "app")
        session.periodics([1, 2], 0, 10, np.zeros((2, 3)))
        session.rows(range(2), [0], np.zeros((1, 2)))
        session.events([1], [0], ["text"], np.zeros((1, 1)), "app")
        session.events([1], [0], app_names=[b"app"])
        session.write_messages(rtastream.Burst().pack())

async def aio(buffer: rtastream.aio.RedisStreamBuffer) -> None:
    async with buffer.open_session("a", "s") as session:
        await session.row([1], 0, [1.0])
        await session.event(1, 0, status_text=3)
        await session.periodics([1], 0, 10, np.zeros((1, 3)))
        await session.rows([1], [0], np.zeros((1, 1)))
        await session.events([1], [0], status_texts=3)
"""


@pytest.mark.slow
def test_mypy_strict_checks_session_calls(tmp_path):
    pytest.importorskip("mypy")
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(SNIPPET))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    errors = [
        line.split(": error: ")[1] for line in result.stdout.splitlines() if ": error: " in line
    ]
    row = (
        'Argument 3 to "row" of "{}" has incompatible type "list[float]"; '
        'expected "Buffer | ndarray[Any, Any]"  [arg-type]'
    )
    assert errors == [
        row.format("Burst"),
        row.format("StreamSession"),
        'List item 0 has incompatible type "bytes"; expected "str"  [list-item]',
        row.format("StreamSession"),
        'Argument "status_text" to "event" of "StreamSession" has incompatible '
        'type "int"; expected "str"  [arg-type]',
        'Argument "status_texts" to "events" of "StreamSession" has incompatible '
        'type "int"; expected "str | Sequence[str]"  [arg-type]',
    ], result.stdout
