"""The decoder fuzz check's two halves, shared by tests/native/test_decode_fuzz.py and `make
fuzz` (tests/fuzz_decoder.py): random edits of a message, and the native decoder held to the
pure-Python twin on whatever comes out."""

from __future__ import annotations

import random

import rtastream
from rtastream import reference

# The one reading the native decoder refuses although protobuf accepts it (it would merge).
REFUSED_ON_PURPOSE = "a StreamData sets the same member twice"


def agree(data: bytes, compressed: bool) -> None:
    """The native decoder accepts only what the twin accepts, and reads it the same way."""
    try:
        native = rtastream.decode(data, compressed=compressed)
    except ValueError as exc:
        native, refusal = None, str(exc)
    try:
        twin = reference.decode(data, compressed=compressed)
    except ValueError:
        twin = None
    if native is not None:
        assert native == twin
    elif twin is not None:
        assert REFUSED_ON_PURPOSE in refusal


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A few random edits: bit flips, edge bytes, insertions, deletions, repeats, truncation."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.choice(["flip", "set", "insert", "delete", "duplicate", "truncate"])
        at = rng.randrange(len(out)) if out else 0
        if op == "flip" and out:
            out[at] ^= 1 << rng.randrange(8)
        elif op == "set" and out:
            out[at] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == "insert":
            out[at:at] = rng.randbytes(rng.randint(1, 12))
        elif op == "delete":
            del out[at : at + rng.randint(1, 16)]
        elif op == "duplicate":
            out[at:at] = out[at : at + rng.randint(1, 32)]
        elif op == "truncate":
            del out[at:]
    return bytes(out)
