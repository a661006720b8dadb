"""Realistic generated telemetry: what the demo streams (and benchmarks can reuse).

Analog channels are sums of a few sines plus sensor noise, quantised the way an ADC's
resolution would (which is also what makes real telemetry compressible); a few integer
channels (gear, counter, status bits) follow them; a lap marker event fires periodically.
Everything is a pure function of the sample index, so any block can be regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADC_STEP = 1 / 1024  # quantisation of the analog channels
LAP_SECONDS = 2.5  # data seconds between lap marker events
LAP_EVENT = 1  # event definition id of the lap marker
INTEGER_NAMES = ("gear", "counter", "status")


@dataclass(frozen=True)
class Block:
    """Samples start..start+len-1 of every channel."""

    timestamps: np.ndarray  # int64 ns since the epoch
    analog: np.ndarray  # float64, (analog channels, samples)
    integers: list[np.ndarray]  # one array per integer channel (int32, int32, uint16)
    laps: list[tuple[int, int, float]]  # (timestamp ns, lap number, lap time s) ending here

    @property
    def nbytes(self) -> int:
        """Bytes of sample values (what the raw data weighs before encoding)."""
        return self.analog.nbytes + sum(values.nbytes for values in self.integers)


class Telemetry:
    """`channels` channels sampled at `rate` Hz from `start_ns`; the last few are integers.

    Channel ids are 0..channels-1: analog first, then up to three integer channels
    (a quarter of the channels at most).
    """

    def __init__(self, channels: int, rate: float, start_ns: int, seed: int = 0) -> None:
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        if not rate > 0:
            raise ValueError(f"rate must be > 0 Hz, got {rate}")
        self.interval = max(1, round(1e9 / rate))  # ns between samples
        self.start_ns = start_ns
        self.n_integer = min(len(INTEGER_NAMES), channels // 4)
        self.n_analog = channels - self.n_integer
        self.analog_ids = list(range(self.n_analog))
        self.integer_ids = list(range(self.n_analog, channels))
        rng = np.random.default_rng(seed)
        # Three sines per channel: a slow trend, a mid wave, a fast vibration.
        self.freqs = rng.uniform([0.05, 0.3, 3.0], [0.2, 1.5, 12.0], size=(self.n_analog, 3))
        self.amps = rng.uniform([20.0, 5.0, 0.5], [80.0, 15.0, 2.0], size=(self.n_analog, 3))
        self.phases = rng.uniform(0, 2 * np.pi, size=(self.n_analog, 3))
        self.offsets = rng.uniform(-50, 150, size=(self.n_analog, 1))
        self.noise = rng.uniform(0.01, 0.2, size=(self.n_analog, 1))
        self.seed = seed

    def channels(self) -> int:
        return self.n_analog + self.n_integer

    def block(self, start: int, count: int) -> Block:
        index = np.arange(start, start + count, dtype=np.int64)
        timestamps = self.start_ns + index * self.interval
        seconds = index * (self.interval / 1e9)
        waves = self.amps[:, :, None] * np.sin(
            2 * np.pi * self.freqs[:, :, None] * seconds + self.phases[:, :, None]
        )
        # Noise drawn per block from the block's position, so blocks are reproducible.
        rng = np.random.default_rng((self.seed, start))
        noise = rng.normal(0, 1, (self.n_analog, count)) * self.noise
        analog = self.offsets + waves.sum(axis=1) + noise
        analog = np.round(analog / ADC_STEP) * ADC_STEP
        return Block(
            timestamps,
            analog,
            self._integers(seconds)[: self.n_integer],
            self._laps(int(timestamps[0]), int(timestamps[-1])) if count else [],
        )

    def _integers(self, seconds: np.ndarray) -> list[np.ndarray]:
        speed = 0.5 + 0.5 * np.sin(2 * np.pi * seconds / 7.0)  # 0..1, a 7 s "lap" rhythm
        gear = (1 + np.floor(speed * 7.999)).astype(np.int32)
        counter = (seconds * 100).astype(np.int32)  # a 100 Hz frame counter
        status = (gear >= 6) * 0x1 | (speed > 0.9) * 0x2 | ((seconds % 5) < 0.5) * 0x4
        return [gear, counter, status.astype(np.uint16)]

    def _laps(self, first_ns: int, last_ns: int) -> list[tuple[int, int, float]]:
        period = int(LAP_SECONDS * 1e9)
        first_lap = -(-(first_ns - self.start_ns) // period)  # ceil: laps at or after first
        laps = []
        lap = max(first_lap, 1)
        while self.start_ns + lap * period <= last_ns:
            laps.append((self.start_ns + lap * period, lap, LAP_SECONDS))
            lap += 1
        return laps
