"""Formatting for people: sizes, durations, times, aligned tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone


def size(nbytes: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(nbytes) < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def count(n: int) -> str:
    """12345 -> '12,345' (a space would read as two numbers in a sentence: '1 300 rows')."""
    return f"{n:,}"


def duration(seconds: float) -> str:
    """A short human duration: '850 ms', '12.3 s', '4m 05s', '3h 20m', '2d 4h'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def iso_ns(ns: int) -> str:
    """Nanoseconds since the epoch as ISO 8601 UTC with milliseconds."""
    return iso_ms(ns // 1_000_000)


def iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clock_ns(ns: int) -> str:
    """The time of day only ('22:40:01.123'), for dense per-burst lines."""
    return iso_ns(ns)[11:23]


def rate(hz: float) -> str:
    if hz >= 10_000:
        return f"{hz / 1000:.1f} kHz"
    return f"{hz:.1f} Hz"


def ranges(ids: Sequence[int], limit: int = 6) -> str:
    """Channel ids compactly: [0, 1, 2, 3, 7] -> '0-3,7'; long lists are cut with '...'."""
    parts: list[str] = []
    ordered = sorted(set(ids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    if len(parts) > limit:
        parts = parts[:limit] + ["..."]
    return ",".join(parts)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align: str, indent: str = "  "
) -> str:
    """Columns padded to their widest cell; `align` has one '<' or '>' per column."""
    if len(align) != len(headers):
        raise ValueError(f"align {align!r} needs one character per column ({len(headers)})")
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [
            c.rjust(w) if a == ">" else c.ljust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ]
        lines.append((indent + "  ".join(padded)).rstrip())
    return "\n".join(lines)
