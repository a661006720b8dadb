"""report.py on hand-made results, so the report cannot rot between `make bench` runs."""

from __future__ import annotations

import json

import pytest

from benchmarks import report, report_sections
from benchmarks.report_sections import BARE_INLINE, BARE_THREAD, CLUSTER, COPY, PER_ITEM, SINGLE


def bench(group: str, variant: str, seconds: float, **info) -> dict:
    return {
        "group": group,
        "name": variant,
        "stats": {"min": seconds, "data": [seconds, seconds * 1.25]},
        "extra_info": {"variant": variant, **info},
    }


ENCODE = dict(workload="timestamped 64x128 sine", value_bytes=65536, total_samples=8192)
WRITE = dict(messages=1000, message_bytes=57000, about="about the write")


def results() -> dict:
    group = "encode: timestamped 64x128 sine"
    return {
        "datetime": "2026-11-22T23:00:00.000000",
        "version": "5.3.1",
        "machine_info": {
            "cpu": {"brand_raw": "Test CPU", "count": 2},
            "python_version": "3.11.7",
            "versions": {"numpy": "2.4.6"},
            "load_average": [3.94, 3.5, 3.0],
        },
        "benchmarks": [
            bench(group, report.RTA, 30e-6, **ENCODE),
            bench(group, report.PURE, 360e-6, **ENCODE),
            bench(group, report.LZ4, 25e-6, **ENCODE),
            bench(group, COPY, 1e-6, **ENCODE),
            bench(group, PER_ITEM, 35e-6, **ENCODE),
            bench(
                "write: pre-packed",
                report.RTA,
                0.125,
                redis_benchmark_rps=[10000.0, 8000.0],
                **WRITE,
            ),
            bench("write: encode + write", report.RTA, 0.3, **WRITE),
            bench("write: encode + write", report.PURE, 0.6, **WRITE),
            bench("write: encode + write", BARE_THREAD, 0.25, **WRITE),
            bench("write: encode + write", BARE_INLINE, 0.2, **WRITE),
        ],
    }


def test_report_computes_ratios_and_targets(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results()))
    data, groups = report.load(path)
    text = report.markdown(data, groups)
    assert "| timestamped 64x128 sine | 64 KiB | 12x | 1.2x | - | 1.4x | 30x |" in text
    assert "| encode: timestamped 64x128 sine: time vs lz4 floor | <= 1.2x | 1.200x | yes |" in text
    assert (
        "| timestamped 64x128 sine: build + pack time vs lz4 alone | <= 1.1x | 1.200x | **no** |"
        in text
    )
    # 1000 bursts in 0.125 s = 8000/s: 80 % of the best floor; each round 80 % of its own floor.
    assert (
        "vs redis-benchmark XADD (best vs best; median of paired rounds 80%) | >= 80% | 80% | yes"
        in text
    )
    assert (
        "| encode + write: speed-up vs pure-Python (best vs best; medians 2x) | >= 10x | 2x "
        "| **no** |"
    ) in text
    assert "| floor: bare I/O thread | 2.4x | 4,000 |" in text
    assert "rtastream takes 1.20x the time of the bare writer of its own shape" in text
    assert "caller's thread takes 0.80x the bare I/O thread's time" in text
    assert "| CPU | Test CPU, 2 cores" in text
    # Every hand-made benchmark's median round is 1.125x its best (rounds of 1x and 1.25x),
    # printed as 13 %; the last of the equal spreads in sort order is named.
    assert (
        "The load average was 3.9 when this run began (2 cores). Across its 10 benchmarks, a "
        "benchmark's median round took 13% longer than its best on average, and at most 13% "
        "longer (write: encode + write, rtastream)."
    ) in text
    assert "issue" not in text.lower()


def test_report_speed_sections():
    ids = "channel ids: timestamped 64x128 sine"
    threads = "pack threads: timestamped 40x25000 sine"
    decode = "decode: timestamped 64x128 sine"
    info = dict(messages=200, cores=2, value_bytes=8_000_000)
    dec = dict(workload="timestamped 64x128 sine", items=65, message_bytes=66_000)
    benches = [
        bench(ids, "numpy array", 20e-6),
        bench(ids, "list", 21e-6),
        bench(ids, "range", 22e-6),
        bench(threads, "1 thread", 1.6e-3, **info),
        bench(threads, "2 threads", 0.8e-3, **info),
        bench(decode, report.RTA, 9e-6, **dec),
        bench(decode, report.LZ4, 4e-6, **dec),
        bench(decode, "rtastream.unpack", 3e-6, **dec),
        bench(decode, report.PURE, 270e-6, **dec),
    ]
    groups: dict = {}
    for b in benches:
        groups.setdefault(b["group"], {})[b["extra_info"]["variant"]] = b
    text = "\n".join(
        report.targets_section(groups)
        + report.ids_section(groups)
        + report.threads_section(groups)
        + report.decode_section(groups)
    )
    assert f"| {ids}: ids as a list vs a numpy array | <= 1.05x | 1.050x | yes |" in text
    assert f"| {ids}: ids as a range vs a numpy array | <= 1.05x | 1.100x | **no** |" in text
    assert f"| {threads}: speed-up of 2 threads over 1 | >= 1.6x | 2x | yes |" in text
    assert f"| {decode}: time vs lz4 floor (decompression alone) | <= 3x | 2.250x | yes |" in text
    assert "| 2 threads | 800 µs | 2x | 10000 |" in text
    assert (
        "| timestamped 64x128 sine | 65 | 64.5 KiB | 2.25x | 3x | - | 30x | 9 µs | 4 µs |" in text
    )


def test_report_plots_and_links_the_plot_from_the_page(tmp_path):
    pytest.importorskip("matplotlib")
    sweep = [
        bench(
            f"sweep channels: {n}",
            variant,
            n * 1e-6,
            channels=n,
            value_bytes=n * 128,
            total_samples=n * 16,
            encoded_bytes=n * 150,
            workload=f"{n}",
        )
        for n in (1, 10)
        for variant in (report.RTA, report.PURE, report.LZ4)
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results() | {"benchmarks": sweep}))
    (tmp_path / "site").mkdir()
    report.main(
        [
            str(path),
            "--markdown",
            str(tmp_path / "site" / "bench.md"),
            "--plot",
            str(tmp_path / "img" / "plot.png"),
        ]
    )
    assert (tmp_path / "img" / "plot.png").stat().st_size > 1000
    text = (tmp_path / "site" / "bench.md").read_text()
    assert "![throughput vs burst size](../img/plot.png)" in text


def test_report_live_edge_table():
    live = {
        "clients": 10,
        "bursts": 100,
        "message_bytes": 66594,
        "delivered": 1000,
        "expected": 1000,
        "server_cpu_share": 0.03,
        "server_cpu_per_client": 0.003,
        "server_cpu_us_per_message": 290.0,
        "server_rss_per_client_bytes": 31_621.1,
        "latency_p50_ms": 3.6,
        "latency_p99_ms": 5.56,
    }
    groups = {"live edge": {"10 clients": bench("live edge", "10 clients", 10.0, **live)}}
    text = "\n".join(report.live_section(groups))
    assert "| 10 | 1,000 of 1,000 | 3.0% | 0.30% | 290 µs | 30.9 KiB | 3.6 ms | 5.6 ms |" in text
    assert "(65 KiB compressed) 10 s long at 10 bursts a second" in text


def cluster_run(variant: str, sessions: int, seconds: float, writer: float, server: float) -> dict:
    return bench(
        f"cluster: {sessions} sessions",
        variant,
        seconds,
        sessions=sessions,
        messages=1200,
        message_bytes=57000,
        writer_cpu_per_burst=writer,
        redis_cpu_per_burst=server,
        cores=2,
        about="about the cluster",
    )


def cluster_text(*runs: dict) -> str:
    groups: dict = {}
    for b in runs:
        groups.setdefault(b["group"], {})[b["extra_info"]["variant"]] = b
    return "\n".join(report.cluster_section(groups))


def test_cluster_section_sets_both_topologies_side_by_side():
    text = cluster_text(
        cluster_run(SINGLE, 1, 0.12, 40e-6, 80e-6),
        cluster_run(CLUSTER, 1, 0.15, 50e-6, 70e-6),
        cluster_run(SINGLE, 12, 0.12, 40e-6, 80e-6),
        cluster_run(CLUSTER, 12, 0.08, 50e-6, 60e-6),
    )
    assert "| 1 | 10,000 | 8,000 | 0.8x | 40 µs | 50 µs | 80 µs | 70 µs |" in text
    assert "| 12 | 10,000 | 15,000 | 1.5x | 40 µs | 50 µs | 80 µs | 60 µs |" in text
    assert "at about 80 µs of server CPU per burst it tops out near 12,500 bursts/s" in text
    assert "What it costs is the writer's time: +10 µs of CPU per burst" in text
    assert "capacity grows by about 16,667 bursts/s (~950 MB/s) per master" in text
    assert "one process writes at most about 20,000 bursts/s" in text


def test_cluster_section_says_when_the_writer_paid_nothing_more():
    text = cluster_text(
        cluster_run(SINGLE, 3, 0.12, 43e-6, 80e-6),
        cluster_run(CLUSTER, 3, 0.08, 42e-6, 60e-6),
    )
    assert "What it costs" not in text
    assert "did not show in this run: 42 µs of writer CPU per burst on the cluster, " in text
    assert "43 µs on a single Redis." in text


def test_report_replicas_table():
    group = "replicas: one ~56 KiB burst per flush()"
    waiting = bench(
        group,
        "wait_replicas=1",
        0.05,
        messages=100,
        message_bytes=57000,
        wait_replicas_0_seconds=[0.04, 0.05],
    )
    text = "\n".join(report.replicas_section({group: {"wait_replicas=1": waiting}}))
    # Rounds of 0.05 and 0.0625 s, each after a baseline of 0.04 and 0.05 s: 1.25x both.
    assert "| one ~56 KiB burst per flush() | 1.25x | 1.25x | 400 µs | 500 µs |" in text


def test_write_section_sets_variants_beside_the_baseline_they_name():
    group = "write: live API, one call per sample"
    info = dict(messages=1000, message_bytes=24, baseline="blocks", about="about the calls")
    groups = {
        group: {
            "blocks": bench(group, "blocks", 0.001, **info),
            "one call each": bench(group, "one call each", 0.01, **info),
        }
    }
    text = "\n".join(report.write_section(groups))
    header = "| variant | time vs blocks | bursts/s | MB/s of messages | time per burst |"
    assert header in text
    assert "| one call each | 10x | 100,000 | 2 | 10 µs |" in text
    assert "| blocks | 1x | 1,000,000 | 24 | 1 µs |" in text


def test_the_configuration_row_is_the_median_of_paired_rounds_both_orders():
    group = "write: live API with and without a configuration, row per sample"
    checked, plain = (
        bench(group, "row per sample, with configuration", 1.0),
        bench(group, "row per sample, without configuration", 1.0),
    )
    # Rounds with a configuration after one without, and without after one with.
    checked["stats"]["data"], checked["extra_info"]["paired_with_other"] = [1.0, 1.2], [1.0, 1.0]
    plain["stats"]["data"], plain["extra_info"]["paired_with_other"] = [1.0, 2.0], [1.1, 2.2]
    # Ratios with / without: 1.0, 1.2 and 1.1, 1.1: median 1.1, quartiles (statistics'
    # exclusive method) at 1.25 and 3.75 of 1.0, 1.1, 1.1, 1.2; best vs best 1.0 / 1.0.
    groups = {group: {b["extra_info"]["variant"]: b for b in (checked, plain)}}
    text = "\n".join(report.targets_section(groups))
    assert (
        "| live API with and without a configuration, row per sample: time with vs without "
        "(median of 4 paired rounds, both orders; quartiles 1.025x to 1.175x; best vs best "
        "1.000x) | <= 1.05x | 1.100x | **no** |"
    ) in text
    # The caller's CPU: ratios 1.0, 1.0 and 1.04, 1.0: median 1.0, quartiles 1.0 and 1.03.
    checked["extra_info"].update(caller_cpu=[0.5, 0.5], caller_cpu_paired_with_other=[0.5, 0.5])
    plain["extra_info"].update(caller_cpu=[0.5, 0.5], caller_cpu_paired_with_other=[0.52, 0.5])
    assert (
        "best vs best 1.000x; the caller thread's CPU time 1.000x, quartiles 1.000x to 1.030x) "
        "| <= 1.05x | 1.100x | **no** |"
    ) in "\n".join(report.targets_section(groups))
    del checked["extra_info"]["paired_with_other"]  # a JSON from before the pairing
    # Median rounds 1.1 and 1.5.
    assert "time with vs without (best vs best; medians 0.733x) | <= 1.05x | 1.000x | yes |" in (
        "\n".join(report.targets_section(groups))
    )


def test_rest_section_sets_serving_beside_the_floor_and_the_list_latency():
    group = "rest: 1 channel of a 1-hour session"
    runs = {
        "served from ready chunks": 0.5,
        "served, chunked per request": 1.0,
        "pyarrow alone (floor)": 0.1,
        "pure Python": 2.0,
    }
    groups = {group: {v: bench(group, v, t, samples=3_600_000) for v, t in runs.items()}}
    listing = dict(sessions=10_000, p50_s=0.05, p99_s=0.39, first_listing_s=0.72, refresh_s=0.09)
    groups["rest: session list"] = {"list": bench("rest: session list", "list", 0.05, **listing)}
    text = "\n".join(report.rest_section(groups))
    assert "| 1 channel of a 1-hour session | 3,600,000 | 7.2 M | 3.6 M | 36.0 M | 1.8 M |" in text
    assert "with 10,000 sessions in a local store (no Redis): p50 50 ms, p99 390 ms" in text


def test_recorder_section_gives_the_share_of_the_writer_its_cpu_and_freshness():
    keeping = "recorder: keeping up"
    figures = dict(
        written_samples_per_s=80e6,
        recorded_samples_per_s=32e6,
        ratio_to_writer=0.4,
        recorder_cpu_s_per_million_samples=0.02,
        compaction_cpu_s_per_million_samples=0.145,
    )
    fresh = dict(measured=60, median_s=0.77, p99_s=1.12, worst_s=1.13)
    read = "store: one channel of a closed 1 h, 1 kHz session"
    groups = {
        keeping: {"1000 channels": bench(keeping, "1000 channels", 5.0, **figures)},
        "recorder: freshness": {"f": bench("recorder: freshness", "f", 60.0, **fresh)},
        read: {
            "Store.read": bench(read, "Store.read", 0.03),
            "floor: pyarrow, a plain file": bench(read, "floor: pyarrow, a plain file", 0.04),
        },
    }
    text = "\n".join(report_sections.RECORDER.render(groups))
    assert "| 1000 channels | 80,000,000 | 32,000,000 | 0.40 | 0.020 | 0.145 |" in text
    assert "median 0.77 s, 99th percentile 1.12 s, worst 1.13 s" in text
    assert "30 ms, 0.75x the time" in text
