"""The decoder fuzz check of tests/native/test_decode_fuzz.py, for as long as wanted, under
libFuzzer (atheris): `make fuzz` (FUZZ_SECONDS). Every input goes to both decoders, as an
uncompressed burst and as an LZ4 block; a crash, an exception other than ValueError, or a
disagreement with the twin stops the run with the input saved by libFuzzer.

The native code is not instrumented (that needs clang), so libFuzzer gets no coverage to
steer by; the mutator therefore starts half of its inputs afresh from a valid burst of
every item kind, compressed or not, and edits it as the test suite's fuzz check does."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports():
    import rtastream
    from decoder_fuzzing import agree, mutate

CORPUS = Path(__file__).resolve().parent.parent / "build" / "fuzz-corpus"


def seeds() -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for n in (1, 3, 40, 300):
        burst = rtastream.Burst()
        times = np.cumsum(rng.integers(0, 5, n)) * 1000 + 1_700_000_000_000_000_000
        burst.timestamped([1, 2], times, rng.normal(size=(2, n)))
        burst.periodic(3, 5, 10, rng.integers(0, 100, n, dtype=np.int16))
        burst.row([4, 5, 6], 7, np.array([1.0, 2.0, 3.0]))
        burst.event(8, 9, "lap é", [1.5, 2.5], "app")
        burst.time_range(1, 2)
        burst.session_json({"identity": "x", "state": "open"})
        out.append(burst.encode())
        out += [rtastream.unpack(m) for m in burst.pack(512)]
    return out


SEEDS: list[bytes] = []


def mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    start = rng.choice(SEEDS) if rng.random() < 0.5 else data
    return mutate(start, rng)[:max_size]


def one_input(data: bytes) -> None:
    agree(data, compressed=False)
    agree(data, compressed=True)


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for seed in seeds():
        SEEDS.extend([seed, rtastream.compress(seed)])
    for k, seed in enumerate(SEEDS):
        (CORPUS / f"seed-{k}").write_bytes(seed)
    atheris.Setup([*sys.argv, str(CORPUS)], one_input, custom_mutator=mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
