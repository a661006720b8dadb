"""A session's channel space: each channel id the stream carries (a configuration's id plus
its binding's channel offset), with what its configuration says of it. What readers, the
command line and the live page show, and how they decode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from rtastream.configuration.model import Configuration
from rtastream.configuration.types import TYPES


class Bound(NamedTuple):
    """A configuration and the channel offset a session binds it with."""

    configuration: Configuration
    channel_offset: int = 0


class ChannelInfo(NamedTuple):
    id: int  # in the session's channel space
    name: str  # its parameter's name, else the channel's own, else ""
    unit: str
    type: str  # RTA's type name (f64, s32, ...)
    source: str
    parameter: str | None  # the id of the parameter it feeds

    @property
    def dtype(self) -> np.dtype[Any] | None:
        """The numpy dtype of its samples (None for 3f32)."""
        return TYPES[self.type]

    def to_json(self) -> dict[str, Any]:
        return {**self._asdict(), "dtype": None if self.dtype is None else self.dtype.name}


def session_channels(bindings: Iterable[Bound]) -> dict[int, ChannelInfo]:
    """Every channel of the bound configurations, by session channel id."""
    out: dict[int, ChannelInfo] = {}
    for config, offset in bindings:
        for _, channel in config.channels():
            parameter = config.parameter_of(channel.id)
            name = parameter.name if parameter else channel.name or ""
            unit = config.unit_of(parameter) if parameter else ""
            number = channel.id + offset
            out[number] = ChannelInfo(
                number,
                name,
                unit,
                channel.type,
                channel.source,
                parameter.id if parameter else None,
            )
    return out


def channel_dtypes(bindings: Iterable[Bound]) -> dict[int, np.dtype[Any]]:
    """The dtype of every channel the bound configurations type (for reader.window)."""
    return {
        number: info.dtype
        for number, info in session_channels(bindings).items()
        if info.dtype is not None
    }
