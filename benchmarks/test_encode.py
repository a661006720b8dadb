"""Encoding one burst (build + pack) for every workload, each variant side by side."""

from __future__ import annotations

import lz4.block
import pytest

import rtastream
from benchmarks import variants
from benchmarks.workloads import (
    CHANNEL_SWEEP,
    ENCODE_WORKLOADS,
    KIND_WORKLOADS,
    SAMPLE_SWEEP,
    TYPICAL,
    Workload,
)
from rtastream._native import _cores


def _run(benchmark, w: Workload, variant: str, group: str) -> None:
    encode = variants.ENCODERS[variant](w)
    benchmark.group = group
    benchmark.extra_info.update(
        variant=variant,
        workload=w.name,
        kind=w.kind,
        profile=w.profile,
        channels=w.channels,
        samples=w.samples,
        total_samples=w.total_samples,
        value_bytes=w.nbytes,
        encoded_bytes=len(variants.encoded(w)),
    )
    benchmark(encode)


@pytest.mark.parametrize("variant", list(variants.ENCODERS))
@pytest.mark.parametrize("w", ENCODE_WORKLOADS, ids=lambda w: w.name.replace(" ", "-"))
def test_encode(benchmark, w, variant):
    _run(benchmark, w, variant, f"encode: {w.name}")


@pytest.mark.parametrize("w", KIND_WORKLOADS, ids=lambda w: w.name.replace(" ", "-"))
def test_encode_one_call_per_item(benchmark, w):
    """The per-item kinds by one call per item, beside the column APIs above."""
    benchmark.group = f"encode: {w.name}"
    benchmark.extra_info.update(variant="rtastream, one call per item", workload=w.name)
    benchmark(variants.rtastream_encoder(w, variants.per_item_calls))


SWEEP_VARIANTS = ["rtastream", "pure-python", "lz4 floor"]


@pytest.mark.parametrize("variant", SWEEP_VARIANTS)
@pytest.mark.parametrize("w", CHANNEL_SWEEP, ids=lambda w: f"{w.channels}ch")
def test_sweep_channels(benchmark, w, variant):
    _run(benchmark, w, variant, f"sweep channels: {w.name}")


@pytest.mark.parametrize("variant", [*SWEEP_VARIANTS, "lz4 one block"])
@pytest.mark.parametrize("w", SAMPLE_SWEEP, ids=lambda w: f"{w.samples}samples")
def test_sweep_samples(benchmark, w, variant):
    if variant == "lz4 one block":  # the floor as it was: the whole burst as one block
        benchmark.group = f"sweep samples: {w.name}"
        benchmark.extra_info.update(variant=variant, workload=w.name)
        benchmark(variants.lz4_one_block_floor(w))
    else:
        _run(benchmark, w, variant, f"sweep samples: {w.name}")


IDS = {
    "numpy array": lambda w: w.channel_ids,
    "list": lambda w: w.channel_ids.tolist(),
    "tuple": lambda w: tuple(w.channel_ids.tolist()),
    "range": lambda w: range(1, w.channels + 1),
}


@pytest.mark.parametrize("form", list(IDS))
def test_channel_ids_forms(benchmark, form):
    """Issue 10.22: channel ids as a list, tuple or range cost what a numpy array costs."""
    w = TYPICAL
    ids, ts, values = IDS[form](w), w.timestamps, w.values
    burst = rtastream.Burst()

    def encode():
        burst.timestamped(ids, ts, values)
        burst.time_range(int(ts[0]), int(ts[-1]))
        messages = burst.pack()
        burst.clear()
        return messages

    benchmark.group = f"channel ids: {w.name}"
    benchmark.extra_info.update(variant=form, workload=w.name)
    benchmark(encode)


THREAD_WORKLOAD = Workload(40, 25_000)


@pytest.mark.parametrize("threads", [1, 2, None])
def test_pack_threads(benchmark, threads):
    """pack() of a large burst (about 200 messages) on 1, 2 and all cores (None)."""
    w = THREAD_WORKLOAD
    burst = rtastream.Burst()
    variants.fill(burst, w)
    label = "all cores (None)" if threads is None else f"{threads} thread" + "s" * (threads > 1)
    benchmark.group = f"pack threads: {w.name}"
    benchmark.extra_info.update(
        variant=label,
        workload=w.name,
        threads=threads,
        cores=_cores(),
        messages=len(burst.pack(threads=1)),
        value_bytes=w.nbytes,
    )
    benchmark(burst.pack, threads=threads)


@pytest.mark.parametrize("w", ENCODE_WORKLOADS, ids=lambda w: w.name.replace(" ", "-"))
def test_pure_python_path_does_the_same_job(w):
    """The baseline is no straw man: its one message holds exactly the bytes rtastream
    spreads over its messages (items stay whole at these sizes, so they concatenate)."""
    ours = b"".join(rtastream.unpack(m) for m in variants.rtastream_encoder(w)())
    theirs = variants.pure_python_encoder(w)()
    assert lz4.block.decompress(theirs, uncompressed_size=len(ours)) == ours
