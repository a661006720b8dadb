"""Mutated messages into the native decoder: it never crashes, raises only ValueError, and
whatever it accepts the twin (protobuf + python-lz4) reads the same way. A few seconds in the
normal run; `make fuzz` runs the same check for longer under libFuzzer (atheris)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

import rtastream
from rtastream import reference
from strategies import small_calls

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


def encoded(calls) -> bytes:
    burst = rtastream.Burst()
    for name, args in calls:
        getattr(burst, name)(*args)
    return burst.encode()


bursts = small_calls.map(encoded)


@settings(max_examples=200)
@given(bursts, st.randoms(use_true_random=False))
def test_mutated_bursts(data, rng):
    agree(mutate(data, rng), compressed=False)


@settings(max_examples=200)
@given(bursts.map(rtastream.compress), st.randoms(use_true_random=False))
def test_mutated_lz4_blocks(data, rng):
    agree(mutate(data, rng), compressed=True)
