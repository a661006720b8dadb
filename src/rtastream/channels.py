"""Channel expressions of the data endpoints: comma-separated hexadecimal channel ids and
ranges, a range open at either end (`-5,7,B-D,14-`; `-` is every channel). Sans-I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHANNEL = 0xFFFFFFFF  # channel ids are uint32 on the wire
_TERM = re.compile(r"([0-9a-fA-F]{1,8})?(-([0-9a-fA-F]{1,8})?)?")


@dataclass(frozen=True)
class Channels:
    """Inclusive ranges of channel ids, as the expression gave them."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, channel_id: object) -> bool:
        return isinstance(channel_id, int) and any(lo <= channel_id <= hi for lo, hi in self.ranges)

    def any_of(self, channel_ids: tuple[int, ...]) -> bool:
        return any(c in self for c in channel_ids)


def parse_channels(expression: str) -> Channels:
    """The channels of an expression; ValueError saying which term is wrong."""
    ranges = []
    for term in expression.split(","):
        match = _TERM.fullmatch(term)
        if not term or match is None:
            raise ValueError(
                f"bad channel term {term[:40]!r} in {expression[:80]!r}: expected a hex id "
                "(up to 8 digits) or a range such as B-D, -5 or 14-"
            )
        lo_text, dash, hi_text = match.group(1), match.group(2), match.group(3)
        lo = int(lo_text, 16) if lo_text else 0
        hi = (int(hi_text, 16) if hi_text else MAX_CHANNEL) if dash else lo
        if lo > hi:
            raise ValueError(f"channel range {term!r} runs backwards ({lo:X} > {hi:X})")
        ranges.append((lo, hi))
    return Channels(tuple(ranges))
