"""Shared data generators: the bursts every benchmark encodes, deterministic and realistic.

A Workload is a burst shape (channels x samples per item, data kind) plus a value profile.
Values are generated once per workload and reused by every variant, so the variants
(rtastream, the pure-Python path, the floors) always work on the very same input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

T0 = 1_767_225_600_000_000_000
"""2026-01-01T00:00:00Z in ns: a realistic epoch timestamp (8 bytes as sfixed64 anyway)."""

PERIOD = 10_000_000
"""10 ms between samples (100 Hz), the common telemetry rate."""

PROFILES = {
    "sine": "smooth float64 sines, a different frequency and phase per channel "
    "(nearly incompressible)",
    "adc": "quantized int16 ADC counts: a sine plus noise, rounded",
    "constant": "slow or constant float64 channels (highly compressible)",
    "irregular": "float64 sines at irregular timestamps (jittered by up to 1 ms, ns resolution)",
}


@dataclass(frozen=True)
class Workload:
    """One burst to encode: `channels` items of `samples` each (kind: timestamped,
    periodic, row or event)."""

    channels: int
    samples: int
    profile: str = "sine"
    kind: str = "timestamped"
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            label = f"{self.kind} {self.channels}x{self.samples} {self.profile}"
            object.__setattr__(self, "name", label)

    @property
    def total_samples(self) -> int:
        return self.channels * self.samples

    @cached_property
    def channel_ids(self) -> np.ndarray:
        return np.arange(1, self.channels + 1, dtype=np.uint32)

    @cached_property
    def timestamps(self) -> np.ndarray:
        steps = np.full(self.samples, PERIOD, dtype=np.int64)
        if self.profile == "irregular":
            steps += _rng(self).integers(-1_000_000, 1_000_000, self.samples)
        steps[0] = 0
        return T0 + np.cumsum(steps)

    @cached_property
    def values(self) -> np.ndarray:
        """(channels, samples) array in the profile's dtype; events: (events, 4) float64."""
        rng = _rng(self)
        t = np.arange(self.samples)[None, :]
        channel = np.arange(self.channels)[:, None]
        sine = np.sin(t * (0.001 + 0.0007 * channel) + channel) * (10.0 + channel)
        if self.profile == "adc":
            counts = sine * 1000 + rng.normal(0, 8, sine.shape)
            return np.clip(np.rint(counts), -32768, 32767).astype(np.int16)
        if self.profile == "constant":
            # A third of the channels constant, the rest change in slow 0.5 steps.
            levels = np.floor(t * (channel % 3) / 64.0) * 0.5 + channel
            return levels.astype(np.float64)
        return sine

    @cached_property
    def rows(self) -> np.ndarray:
        """Row kind: (samples, channels), each row one RowData buffer."""
        return np.ascontiguousarray(self.values.T)

    @cached_property
    def event_timestamps(self) -> np.ndarray:
        """Event kind: one event every ms."""
        return self.timestamps[0] + np.arange(self.channels, dtype=np.int64) * 1_000_000

    @cached_property
    def time_span(self) -> tuple[int, int]:
        """The burst's time range (first, last) as ints."""
        ts = self.event_timestamps if self.kind == "event" else self.timestamps
        return int(ts[0]), int(ts[-1])

    @cached_property
    def event_texts(self) -> list[str]:
        """Event kind: one status text per event."""
        return [event_text(i) for i in range(self.channels)]

    @property
    def nbytes(self) -> int:
        """Bytes of sample values the burst carries."""
        return self.values.nbytes


def _rng(workload: Workload) -> np.random.Generator:
    return np.random.default_rng([workload.channels, workload.samples, len(workload.profile)])


def event_text(i: int) -> str:
    return f"lap {i}: pit limiter on"


# The typical burst: about 64 KiB of samples, the protocol's target message size.
TYPICAL = Workload(64, 128)

WRITE_WORKLOAD = Workload(55, 128)
"""The largest sine burst that packs into one message at the default 64 KiB target:
63.4 KiB uncompressed, about 56 KiB compressed (sines barely compress)."""

SHAPES = [TYPICAL, Workload(8, 1024), Workload(1000, 8), Workload(3, 10), Workload(10_000, 1)]
"""Burst shapes of issue 5, smooth float64 sines."""

PROFILE_WORKLOADS = [Workload(64, 128, profile) for profile in ("adc", "constant", "irregular")]
"""The typical shape with the other value profiles."""

KIND_WORKLOADS = [
    Workload(64, 128, kind="periodic"),
    Workload(64, 128, kind="row"),
    Workload(100, 4, kind="event"),
]
"""The typical shape as PeriodicData (one item per channel) and RowData (one per instant),
and 100 events of 4 raw doubles each."""

ENCODE_WORKLOADS = SHAPES + PROFILE_WORKLOADS + KIND_WORKLOADS

CHANNEL_SWEEP = [Workload(n, 16) for n in (1, 10, 100, 1000, 10_000)]
"""Channels 1..10 000 at 16 samples each."""

SAMPLE_SWEEP = [Workload(4, n) for n in (1, 10, 100, 1000, 10_000)]
"""Samples per item 1..10 000 at 4 channels."""
