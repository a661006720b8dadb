"""Memory stays flat: encode the typical burst 100 000 times (2 000 in smoke mode) and watch
the process RSS and the Python heap (tracemalloc) between checkpoints.

Reports, through the benchmark's extra_info: RSS and traced Python memory at each
checkpoint, their growth per burst after warm-up, and the Python memory one burst
allocates at its peak (transient: the output messages and their list).
"""

from __future__ import annotations

import os
import resource
import tracemalloc

from benchmarks import variants
from benchmarks.workloads import TYPICAL

CHECKPOINTS = 10


def rss_bytes() -> int:
    """Current resident set size; the peak so far where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_memory_flat_over_many_bursts(benchmark, smoke):
    bursts = 2_000 if smoke else 100_000
    encode = variants.rtastream_encoder(TYPICAL)
    for _ in range(bursts // 100):  # warm-up: allocator pools, caches, first-touch pages
        encode()
    stats: dict[str, object] = {}

    def run() -> None:
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            encode()
            stats["burst_peak_python_bytes"] = tracemalloc.get_traced_memory()[1] - base
            rss, traced = [], []
            for _ in range(CHECKPOINTS):
                for _ in range(bursts // CHECKPOINTS):
                    encode()
                rss.append(rss_bytes())
                traced.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        stats.update(rss=rss, traced=traced)

    benchmark.group = "memory"
    benchmark.pedantic(run, rounds=1, iterations=1)
    rss, traced = stats["rss"], stats["traced"]
    span = bursts - bursts // CHECKPOINTS  # bursts between the first and last checkpoint
    benchmark.extra_info.update(
        variant="rtastream", workload=TYPICAL.name, bursts=bursts,
        burst_peak_python_bytes=stats["burst_peak_python_bytes"],
        rss_checkpoints=rss, traced_checkpoints=traced, peak_rss=max(rss),
        rss_growth_per_burst=(rss[-1] - rss[0]) / span,
        traced_growth_per_burst=(traced[-1] - traced[0]) / span,
    )
    # A leak of even one byte per burst would show as >= 1.8 KB (smoke) or 90 KB here;
    # the bounds leave room for allocator noise, not for a leak that scales with bursts.
    assert traced[-1] - traced[0] < 16 * 1024, f"Python heap grew: {traced}"
    assert rss[-1] - rss[0] < 8 * 1024 * 1024, f"RSS grew: {rss}"
