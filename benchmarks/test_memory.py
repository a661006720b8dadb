"""Memory stays flat over 100 000 bursts (2 000 in smoke mode): the process RSS, the number
of live Python memory blocks and (for encoding) the Python heap traced by tracemalloc are
read at ten checkpoints; a leak that grows with the bursts would show between the first and
the last. The figures go to docs/benchmarks.md through the benchmark's extra_info.
"""

from __future__ import annotations

import os
import resource
import sys
import tracemalloc
from collections.abc import Callable

import rtastream
from benchmarks import variants
from benchmarks.workloads import TYPICAL, Workload

CHECKPOINTS = 10
TINY = Workload(3, 10)


def rss_bytes() -> int:
    """Current resident set size; the peak so far where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def watch(
    benchmark,
    step: Callable[[], object],
    bursts: int,
    traced: bool,
    settle: Callable[[], object] = lambda: None,
    **info: object,
) -> dict[str, list[int]]:
    """Run `step` `bursts` times (timed, once) after a warm-up, reading memory at checkpoints
    (after `settle`, which lets work in flight finish)."""
    for _ in range(bursts // 100):  # warm-up: allocator pools, caches, first-touch pages
        step()
    seen: dict[str, list[int]] = {"rss": [], "blocks": [], "traced": []}

    def run() -> None:
        if traced:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            step()
            info["burst_peak_python_bytes"] = tracemalloc.get_traced_memory()[1] - base
        try:
            for _ in range(CHECKPOINTS):
                for _ in range(bursts // CHECKPOINTS):
                    step()
                settle()
                seen["rss"].append(rss_bytes())
                seen["blocks"].append(sys.getallocatedblocks())
                if traced:
                    seen["traced"].append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()

    benchmark.group = "memory"
    benchmark.pedantic(run, rounds=1, iterations=1)
    span = bursts - bursts // CHECKPOINTS  # bursts between the first and last checkpoint
    growth = {f"{k}_growth_per_burst": (v[-1] - v[0]) / span for k, v in seen.items() if v}
    benchmark.extra_info.update(
        bursts=bursts, peak_rss=max(seen["rss"]), traced=traced, checkpoints=seen, **growth, **info
    )
    return seen


def assert_flat(seen: dict[str, list[int]]) -> None:
    # A leak of even one byte or block per burst adds up to >= 1 800 (smoke) or 90 000 here;
    # the bounds leave room for allocator noise, not for a leak that grows with the bursts.
    rss, blocks, traced = seen["rss"], seen["blocks"], seen["traced"]
    assert rss[-1] - rss[0] < 8 << 20, f"RSS grew: {rss}"
    assert blocks[-1] - blocks[0] < 1000, f"live Python blocks grew: {blocks}"
    if traced:
        assert traced[-1] - traced[0] < 16 << 10, f"Python heap grew: {traced}"


def test_memory_flat_encoding(benchmark, smoke):
    """Build and pack the typical burst, tracemalloc on throughout."""
    seen = watch(
        benchmark,
        variants.rtastream_encoder(TYPICAL),
        2_000 if smoke else 100_000,
        traced=True,
        variant="rtastream",
        workload=f"encode {TYPICAL.name}",
    )
    assert_flat(seen)


def test_memory_flat_writing(benchmark, redis_url, smoke):
    """Build and write small bursts through the sync writer to a trimmed stream (tracemalloc
    off: it would slow the writer's Python code fivefold)."""
    with rtastream.RedisStreamBuffer(redis_url, maxlen=1000) as buffer:
        session = buffer.open_session("bench-memory", "bench")

        def step() -> None:
            burst = rtastream.Burst()
            variants.fill(burst, TINY)
            session.write(burst)

        seen = watch(
            benchmark,
            step,
            2_000 if smoke else 100_000,
            traced=False,
            settle=session.flush,
            variant="rtastream writer",
            workload=f"encode + write {TINY.name}",
        )
    assert_flat(seen)
