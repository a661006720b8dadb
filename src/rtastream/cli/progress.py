"""A progress line on stderr: redrawn in place on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TextIO

from rtastream.cli import format as fmt

WINDOW = 1.0  # seconds of history the live rates are averaged over
BAR = 24


class Progress:
    def __init__(self, out: TextIO, total_s: float) -> None:
        self.out = out
        self.total_s = total_s
        self.tty = out.isatty()
        self.every = 0.1 if self.tty else 2.0  # seconds between redraws / lines
        self.last_draw = time.monotonic()  # the first line once there is something to rate
        self.drawn = False
        self.width = 0  # of the last line drawn in place, to blank its leftovers
        # (time, samples, bytes, bursts) snapshots; rates are taken over the last WINDOW.
        self.history: deque[tuple[float, int, int, int]] = deque([(self.last_draw, 0, 0, 0)])

    def due(self) -> bool:
        """Whether the next update() would come on time (a caller may skip work till then)."""
        return time.monotonic() - self.last_draw >= self.every

    def update(self, done_s: float, samples: int, nbytes: int, bursts: int) -> None:
        """Draw: `done_s` data seconds sent; totals of samples, sample bytes, stream entries."""
        now = time.monotonic()
        self.history.append((now, samples, nbytes, bursts))
        while now - self.history[0][0] > WINDOW and len(self.history) > 2:
            self.history.popleft()
        self.last_draw = now
        self.drawn = True
        t0, s0, b0, n0 = self.history[0]
        span = max(now - t0, 1e-9)
        rates = (
            f"{fmt.count(bursts)} bursts ({(bursts - n0) / span:.1f}/s)  "
            f"{fmt.count(round((samples - s0) / span))} samples/s  "
            f"{fmt.size((nbytes - b0) / span)}/s of sample values"
        )
        if math.isinf(self.total_s):  # until Ctrl+C: no bar, no end
            self.out.write(
                ("\r" if self.tty else "demo: ")
                + f"{done_s:.1f} s of data  {rates}"
                + ("" if self.tty else "\n")
            )
            self.out.flush()
            return
        share = min(1.0, done_s / self.total_s) if self.total_s else 1.0
        if self.tty:
            filled = round(share * BAR)
            bar = "#" * filled + "." * (BAR - filled)
            line = f"[{bar}] {share:4.0%}  {done_s:.1f}/{self.total_s:.1f} s  {rates}"
            self.out.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            self.out.write(f"demo: {done_s:.1f}/{self.total_s:.1f} s of data  {rates}\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty and self.drawn:
            self.out.write("\n")
            self.out.flush()
