"""What the writer checks each data call against: a table made once per binding, channel id
(in the session's channel space: the configuration's id plus the binding's offset) to its
kind and dtype, and the defined event ids. One lookup per channel of a call, none per
sample. Each method refuses (ValueError) a call its configuration does not allow, naming the
channel or event id and what the configuration says; what the call would write is unknown
to the encoder, so a call with ids it cannot take is left for it to refuse.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from rtastream.configuration.model import Configuration
from rtastream.configuration.types import CALLS, TYPES


class Rule(NamedTuple):
    kind: str | None  # timestamped, periodic, row; None: RTA streams no data of its source
    type: str  # the RTA type
    code: str  # the dtype's str without its byte order ("f8"), or the RTA type if none
    width: int  # bytes per sample (0 if rtastream does not write the type)
    label: str  # how a message names it


def _rule(config: Configuration, channel: Any, offset: int) -> Rule:
    dtype = TYPES[channel.type]
    parameter = config.parameter_of(channel.id)
    names = [parameter.id if parameter else channel.name]
    if offset:
        names.append(f"configuration channel {channel.id} + offset {offset}")
    label = ", ".join(n for n in names if n)
    return Rule(
        channel.kind,
        channel.type,
        channel.type if dtype is None else dtype.str[1:],
        0 if dtype is None else dtype.itemsize,
        f"channel {channel.id + offset}" + (f" ({label})" if label else ""),
    )


# The hot path compares types (`type(x) is`) and dtype objects, not strings: numpy's
# builtin dtypes are singletons, so a matching call costs a dict lookup per channel.


def _ids(channel_ids: Any) -> Sequence[Any]:
    kind = type(channel_ids)
    if kind is list or kind is tuple:
        return channel_ids  # type: ignore[no-any-return]
    if kind is np.ndarray:
        ids = channel_ids.tolist()
        return ids if type(ids) is list else (ids,)
    return (channel_ids,)


def _dtype(values: Any) -> np.dtype[Any]:
    return values.dtype if type(values) is np.ndarray else np.asarray(values).dtype


PASSED_GROUPS = 4096
"""Channel groups whose verdict a session remembers (forgotten all at once past this)."""


def _group(kind: str, channel_ids: Any, dtype: np.dtype[Any]) -> Hashable | None:
    """What a call's verdict depends on, as a key costing far less than the check of many
    channels: its kind, dtype and ids (an array's by its dtype, shape and bytes); None for
    ids of another form. Keys that compare equal hold ids the check finds alike (it too
    looks them up in a dict)."""
    kind_of = type(channel_ids)
    if kind_of is np.ndarray:
        return (kind, dtype, channel_ids.dtype, channel_ids.shape, channel_ids.tobytes())
    if kind_of is not list and kind_of is not tuple:
        return None
    group = (kind, dtype, tuple(channel_ids))
    try:
        hash(group)
    except TypeError:  # an id that is not hashable: the check or the encoder says why
        return None
    return group


ROW_TABLE_IDS = 1 << 20
"""Channel ids the native row check covers (a byte each); rows of larger ids are checked by
Rules.row()."""


def _row_table(widths: dict[int, int]) -> bytes:
    """Each row channel's width at its id (0: none), for the encoder's own check of a row
    (Burst._row_within); empty if an id is past ROW_TABLE_IDS, so every row is checked here."""
    if not widths or max(widths) >= ROW_TABLE_IDS:
        return b""
    table = bytearray(max(widths) + 1)
    for channel, width in widths.items():
        table[channel] = width
    return bytes(table)


class Rules:
    """The checks of a session bound to these (configuration, channel offset) pairs."""

    def __init__(self, bindings: Sequence[tuple[Configuration, int]]) -> None:
        self.channels: dict[int, Rule] = {}
        self.accepted: dict[int, tuple[str | None, np.dtype[Any]]] = {}
        self.row_widths: dict[int, int] = {}  # of the row channels rtastream writes
        self.event_ids: set[int] = set()
        self.passed: set[Hashable] = set()  # channel groups (_group) already checked and passed
        for config, offset in bindings:
            for _, channel in config.channels():
                number = channel.id + offset
                if number in self.channels:
                    raise ValueError(
                        f"two bound configurations both have channel {number} (configuration "
                        f"{config.identifier} with offset {offset}): give a channel_offset "
                        f"that keeps them apart"
                    )
                rule = self.channels[number] = _rule(config, channel, offset)
                dtype = TYPES[channel.type]
                if dtype is not None:  # not None: numpy reads dtype == None as float64
                    self.accepted[number] = (rule.kind, dtype)
                if rule.kind == "row" and rule.width:
                    self.row_widths[number] = rule.width
            for app in config.applications:
                self.event_ids.update(event.id for event in app.events)
        self.row_table = _row_table(self.row_widths)

    # -- the calls, with the writer's arguments --

    def timestamped(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        self._check_group("timestamped", "timestamped()", channel_ids, _dtype(values))

    def periodic(self, channel_id: Any, start: Any, interval: Any, values: Any) -> None:
        self._check("periodic", "periodic()", (channel_id,), _dtype(values))

    def periodics(self, channel_ids: Any, start: Any, interval: Any, values: Any) -> None:
        self._check_group("periodic", "periodics()", channel_ids, _dtype(values))

    def row(self, channel_ids: Any, timestamp: Any, buffer: Any) -> None:
        ids = channel_ids if type(channel_ids) is list else _ids(channel_ids)  # the common case
        if type(buffer) is bytes:
            size = len(buffer)
        elif isinstance(buffer, np.ndarray) and buffer.dtype.names:
            self._fields("row()", ids, buffer.dtype)
            return
        else:
            try:
                size = memoryview(buffer).nbytes
            except TypeError:
                return  # not a buffer: the encoder says so
        widths, width = self.row_widths, 0
        for channel in ids:
            step = widths.get(channel)
            if step is None:
                self._refuse(channel, self.channels.get(channel), "row", "row()", None)
                return
            width += step
        if size != width:
            types = ", ".join(self.channels[c].type for c in ids)
            raise ValueError(
                f"row(): the buffer holds {size} bytes, but channels {list(ids)} are "
                f"configured as {types}: {width} bytes"
            )

    def rows(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        dtype = _dtype(values)
        if dtype.names:
            self._fields("rows()", _ids(channel_ids), dtype)
        else:
            self._check_group("row", "rows()", channel_ids, dtype)

    def event(self, definition_id: Any, timestamp: Any, *rest: Any) -> None:
        if definition_id not in self.event_ids:
            self._undefined(definition_id)

    def events(self, definition_ids: Any, timestamps: Any, *rest: Any) -> None:
        for definition_id in _ids(definition_ids):
            if definition_id not in self.event_ids:
                self._undefined(definition_id)

    # -- checking --

    def _check_group(self, kind: str, call: str, channel_ids: Any, dtype: np.dtype[Any]) -> None:
        """_check() once per channel group: then a lookup (a block of many channels is
        written call after call)."""
        group = _group(kind, channel_ids, dtype)
        if group is not None and group in self.passed:
            return
        self._check(kind, call, _ids(channel_ids), dtype)
        if group is not None:
            if len(self.passed) >= PASSED_GROUPS:
                self.passed.clear()
            self.passed.add(group)

    def _check(self, kind: str, call: str, ids: Sequence[Any], dtype: np.dtype[Any]) -> None:
        """Each channel known, of `kind` and of that dtype (in either byte order)."""
        wanted = (kind, dtype)
        accepted = self.accepted
        for channel in ids:
            if accepted.get(channel) != wanted:
                rule = self.channels.get(channel)
                if rule is None or rule.kind != kind or rule.code != dtype.str[1:]:
                    self._refuse(channel, rule, kind, call, dtype)

    def _fields(self, call: str, ids: Sequence[Any], dtype: np.dtype[Any]) -> None:
        """A structured row: each field is its channel's value."""
        names = dtype.names or ()
        if len(names) != len(ids):
            return  # the encoder refuses it
        for channel, name in zip(ids, names, strict=True):
            self._check("row", call, (channel,), dtype.fields[name][0])  # type: ignore[index]

    def _refuse(
        self, channel: Any, rule: Rule | None, kind: str, call: str, dtype: np.dtype[Any] | None
    ) -> None:
        try:
            operator.index(channel)
        except TypeError:
            return  # not a channel id at all: the encoder refuses it
        if rule is None:
            known = ", ".join(r.label for r in list(self.channels.values())[:12])
            raise ValueError(
                f"{call}: channel {channel} is not in the session's configuration (it has "
                f"{known or 'no channels'}{', ...' if len(self.channels) > 12 else ''})"
            )
        if rule.kind is None:
            raise ValueError(
                f"{call}: {rule.label} is configured with a source RTA does not stream: "
                f"no data can be written to it"
            )
        if rule.kind != kind:
            raise ValueError(
                f"{call}: {rule.label} is configured {rule.kind}: write it with "
                f"{CALLS[rule.kind]}, not {call}"
            )
        if not rule.width:
            raise ValueError(
                f"{call}: {rule.label} is configured {rule.code}, a type rtastream does not write"
            )
        wanted = np.dtype(rule.code).name
        raise ValueError(
            f"{call}: {rule.label} is configured {rule.type} (numpy {wanted}), got {dtype} "
            f"values: convert them (np.asarray(values, dtype=np.{wanted})) or configure the "
            f"channel's type as they are"
        )

    def _undefined(self, definition_id: Any) -> None:
        try:
            operator.index(definition_id)
        except TypeError:
            return
        defined = ", ".join(map(str, sorted(self.event_ids))) or "none"
        raise ValueError(
            f"event id {definition_id} is not defined in the session's configuration "
            f"(defined: {defined})"
        )
