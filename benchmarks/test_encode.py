"""Encoding one burst (build + pack) for every workload, each variant side by side."""

from __future__ import annotations

import lz4.block
import pytest

import rtastream
from benchmarks import variants
from benchmarks.workloads import CHANNEL_SWEEP, ENCODE_WORKLOADS, SAMPLE_SWEEP, Workload


def _run(benchmark, w: Workload, variant: str, group: str) -> None:
    encode = variants.ENCODERS[variant](w)
    benchmark.group = group
    benchmark.extra_info.update(
        variant=variant, workload=w.name, kind=w.kind, profile=w.profile,
        channels=w.channels, samples=w.samples, total_samples=w.total_samples,
        value_bytes=w.nbytes, encoded_bytes=len(variants.encoded(w)),
    )
    benchmark(encode)


@pytest.mark.parametrize("variant", list(variants.ENCODERS))
@pytest.mark.parametrize("w", ENCODE_WORKLOADS, ids=lambda w: w.name.replace(" ", "-"))
def test_encode(benchmark, w, variant):
    _run(benchmark, w, variant, f"encode: {w.name}")


SWEEP_VARIANTS = ["rtastream", "pure-python", "lz4 floor"]


@pytest.mark.parametrize("variant", SWEEP_VARIANTS)
@pytest.mark.parametrize("w", CHANNEL_SWEEP, ids=lambda w: f"{w.channels}ch")
def test_sweep_channels(benchmark, w, variant):
    _run(benchmark, w, variant, f"sweep channels: {w.name}")


@pytest.mark.parametrize("variant", SWEEP_VARIANTS)
@pytest.mark.parametrize("w", SAMPLE_SWEEP, ids=lambda w: f"{w.samples}samples")
def test_sweep_samples(benchmark, w, variant):
    _run(benchmark, w, variant, f"sweep samples: {w.name}")


@pytest.mark.parametrize("w", ENCODE_WORKLOADS, ids=lambda w: w.name.replace(" ", "-"))
def test_pure_python_path_does_the_same_job(w):
    """The baseline is no straw man: its one message holds exactly the bytes rtastream
    spreads over its messages (items stay whole at these sizes, so they concatenate)."""
    ours = b"".join(rtastream.unpack(m) for m in variants.rtastream_encoder(w)())
    theirs = variants.pure_python_encoder(w)()
    assert lz4.block.decompress(theirs, uncompressed_size=len(ours)) == ours
