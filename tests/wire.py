"""A tiny protobuf wire writer for tests: messages the encoder never writes (fields out of
order or repeated, unpacked repeated fields, unknown fields and groups), so that the
decoders can be held to protobuf's own reading of them."""

from __future__ import annotations

import struct

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = range(6)


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def field(number: int, wire_type: int, value: int | bytes = 0) -> bytes:
    if wire_type == VARINT:
        return key(number, VARINT) + varint(value)
    if wire_type == FIXED64:
        return key(number, FIXED64) + struct.pack("<Q", value & (1 << 64) - 1)
    if wire_type == FIXED32:
        return key(number, FIXED32) + struct.pack("<I", value)
    if wire_type == LEN:
        return key(number, LEN) + varint(len(value)) + value
    if wire_type == START_GROUP:  # value: the group's fields
        return key(number, START_GROUP) + value + key(number, END_GROUP)
    raise ValueError(wire_type)


def entry(kind: int, body: bytes) -> bytes:
    """One StreamDataBurst entry: data (1) { <kind> { body } }."""
    return field(1, LEN, field(kind, LEN, body))


TIMESTAMPED, PERIODIC, ROW, EVENT, TIME_RANGE, SESSION_JSON = 4, 5, 6, 7, 3, 2
