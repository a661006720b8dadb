"""Mutated messages into the native decoder: it never crashes, raises only ValueError, and
whatever it accepts the twin (protobuf + python-lz4) reads the same way. A few seconds in the
normal run; `make fuzz` runs the same check for longer under libFuzzer (atheris)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import rtastream
from decoder_fuzzing import agree, mutate
from strategies import small_calls


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
