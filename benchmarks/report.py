"""Turn pytest-benchmark's JSON into the benchmarks page (docs/benchmarks.md) and its plot.

    python -m benchmarks.report RESULTS.json [--markdown PAGE.md] [--plot PLOT.png]

Every ratio is computed here from the best (minimum) time of each variant in the same run;
ratios come first, absolute figures second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections import defaultdict
from pathlib import Path

from benchmarks.workloads import PERIOD, PROFILES

RTA, PURE, LZ4, COPY = "rtastream", "pure-python", "lz4 floor", "copy floor"
FRESH, PER_ITEM, ONE_BLOCK = (
    "rtastream, fresh Burst",
    "rtastream, one call per item",
    "lz4 one block",
)
BARE_THREAD, BARE_INLINE = "floor: bare I/O thread", "floor: bare, caller sends"
SINGLE, CLUSTER = "single Redis", "Redis Cluster, 3 masters"
LIVE_CALL, LIVE_BURST = "live timestamped()", "Burst + write()"

ENCODE_TARGETS = [
    # (workload, minimum speed-up over the pure-Python path, maximum time / lz4 floor)
    ("timestamped 64x128 sine", 9.0, 1.1),
    ("timestamped 1000x8 sine", 15.0, None),
    ("timestamped 3x10 sine", 10.0, None),
]
FLOOR_TARGET = 1.2
"""Encoding: at most this times the LZ4 floor, from 100 B of values up."""
IDS_TARGET = 1.05
THREADS_TARGET = 1.6
DECODE_TARGET = 3.0
WRITE_FLOOR_TARGET = 0.80
END_TO_END_TARGET = 10.0
LIVE_TARGET = 1.2
CONFIGURED_TARGET = 1.05  # the live API with a configuration bound, vs the same calls without
"""The live API: at most this times Burst + write() for the same blocks."""

# Timeless on purpose: what this run's figures were and how steady they were is generated
# from the results (steadiness()), so the prose never outlives the run it describes.
HONESTY = """\
**Benchmarks are hard.** Every figure here comes from one run of `make bench` on the machine
described at the end. Absolute times move with the machine's load from run to run, and the
writer figures, where a redis-server competes with the writer for the same cores, move most.
Every variant of a workload runs in the same session, back to back, and is reported as the
best of its rounds, so the *ratios* are much steadier than the absolute times, but not steady:
compare ratios within one run, not absolute times across runs.
The floors are not competitors: python-lz4 compressing the very bytes rtastream compresses,
message by message (the encoder cannot beat the compression it includes; the sample sweep
also shows the whole burst compressed as one block, as this floor was measured before: that
costs python-lz4 less than the messages do because each of its calls resets LZ4's streaming
state, which keeps 32-bit tables even for small inputs, and copies its output into a new
bytes object, while liblz4's one-shot call compresses the messages as fast as the whole), a
plain copy of the sample values, and
`redis-benchmark` (one connection, 16 pipelined requests) sending the same payload to the same
server. The pure-Python path is what a careful user would write without rtastream: official
protobuf classes (upb), numpy for the deltas and their gcd, one StreamDataBurst, python-lz4,
and a redis-py pipeline per burst; a check in the suite asserts it produces byte-identical
bursts. It always writes one message per burst, even above the protocol's 1 MiB cap (sweep
sizes above ~1 MiB), where rtastream splits; that only flatters the pure-Python path."""


def steadiness(data: dict) -> str:
    """How loaded the machine was and how far each benchmark's rounds spread, in this run."""
    spreads = sorted(
        (median_time(b) / best(b) - 1, b["group"], b["extra_info"].get("variant", b["name"]))
        for b in data["benchmarks"]
    )
    if not spreads:
        return ""
    worst, group, variant = spreads[-1]
    mean = statistics.mean(s for s, _, _ in spreads)
    info = data["machine_info"]
    load = info.get("load_average")
    cores = info.get("cpu", {}).get("count", "?")
    started = (
        f"The load average was {load[0]:.1f} when this run began ({cores} cores). " if load else ""
    )
    return (
        f"{started}Across its {len(spreads)} benchmarks, a benchmark's median round took "
        f"{mean:.0%} longer than its best on average, and at most {worst:.0%} longer "
        f"({group}, {variant})."
    )


def load(path: Path) -> tuple[dict, dict[str, dict[str, dict]]]:
    data = json.loads(path.read_text())
    groups: dict[str, dict[str, dict]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        groups[bench["group"]][bench["extra_info"].get("variant", bench["name"])] = bench
    return data, groups


def best(bench: dict) -> float:
    return bench["stats"]["min"]


def median_time(bench: dict) -> float:
    return statistics.median(bench["stats"]["data"])


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(value: float) -> str:
    return f"{value:.3g}x"


def fmt_bytes(n: float) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def machine_section(data: dict) -> list[str]:
    info = data["machine_info"]
    cpu = info.get("cpu", {})
    rows = [
        [
            "CPU",
            f"{cpu.get('brand_raw', info.get('processor') or '?')}, "
            f"{cpu.get('count', '?')} cores ({info.get('machine', '')})",
        ],
        ["OS", f"{info.get('system', '')} {info.get('release', '')}"],
        ["Python", f"{info.get('python_implementation', '')} {info.get('python_version', '')}"],
    ]
    rows += [[name, version] for name, version in info.get("versions", {}).items()]
    rows.append(["pytest-benchmark", data.get("version", "?")])
    return ["## Machine and versions", ""] + table(["", "version"], rows)


def encode_groups(groups: dict, prefix: str) -> list[tuple[dict, dict[str, dict]]]:
    found = []
    for name, variants in groups.items():
        if name.startswith(prefix) and RTA in variants:
            found.append((variants[RTA]["extra_info"], variants))
    return found


def encode_section(groups: dict) -> list[str]:
    found = encode_groups(groups, "encode: ")
    if not found:
        return []
    profiles = [f"- `{name}`: {text}" for name, text in PROFILES.items()]
    ratio_rows, abs_rows = [], []
    for info, v in found:
        rta = best(v[RTA])
        ratio_rows.append(
            [
                info["workload"],
                fmt_bytes(info["value_bytes"]),
                fmt_ratio(best(v[PURE]) / rta) if PURE in v else "-",
                fmt_ratio(rta / best(v[LZ4])) if LZ4 in v else "-",
                *(
                    fmt_ratio(best(v[k]) / best(v[LZ4])) if k in v and LZ4 in v else "-"
                    for k in (FRESH, PER_ITEM)
                ),
                fmt_ratio(rta / best(v[COPY])) if COPY in v else "-",
            ]
        )
        abs_rows.append(
            [
                info["workload"],
                fmt_time(rta),
                *(fmt_time(best(v[k])) if k in v else "-" for k in (PURE, LZ4, COPY)),
                f"{info['value_bytes'] / rta / 1e6:.0f}",
                f"{rta / info['total_samples'] * 1e9:.1f}",
            ]
        )
    return [
        "## Encoding one burst (build + pack)",
        "",
        "An `rtastream.Burst` reused with `clear()` (as the writers keep theirs), the "
        "workload's items plus a time range, then `pack()` (LZ4 raw blocks of about 64 KiB); "
        "periodic, row and event items by the column APIs (`periodics`, `rows`, `events`). "
        "Beside it: a fresh Burst each time, and one call per item. The pure-Python path "
        "builds the same burst with protobuf and compresses it with python-lz4.",
        "",
        f"Workloads are `kind channels x samples profile`, timestamps every {PERIOD // 10**6} ms "
        "unless irregular; `periodic` is one PeriodicData per channel, `row` one RowData per "
        "instant (128 rows of 64 float64), `event` 100 events of 4 raw doubles. Profiles:",
        "",
        *profiles,
        "",
        "Ratios (best of rounds; above 1x in the first column means rtastream is faster, the "
        "floor columns say how many times the floor's time rtastream takes):",
        "",
        *table(
            [
                "workload",
                "values",
                "speed-up vs pure-Python",
                "time vs lz4 floor",
                "fresh Burst vs lz4 floor",
                "one call per item vs lz4 floor",
                "time vs copy floor",
            ],
            ratio_rows,
        ),
        "Absolute (best of rounds):",
        "",
        *table(
            [
                "workload",
                "rtastream",
                "pure-Python",
                "lz4 floor",
                "copy floor",
                "rtastream MB/s of values",
                "rtastream ns/sample",
            ],
            abs_rows,
        ),
    ]


def _floor_rows(groups: dict) -> list[list[str]]:
    """Every encode workload and sweep point from 100 B of values up, against the floor."""
    rows = []
    for prefix in ("encode: ", "sweep channels: ", "sweep samples: "):
        for info, v in encode_groups(groups, prefix):
            if LZ4 in v and info["value_bytes"] >= 100:
                got = best(v[RTA]) / best(v[LZ4])
                rows.append(
                    [
                        f"{prefix}{info['workload']}: time vs lz4 floor",
                        f"<= {FLOOR_TARGET:g}x",
                        f"{got:.3f}x",
                        _met(got <= FLOOR_TARGET),
                    ]
                )
    return rows


def _speed_rows(groups: dict) -> list[list[str]]:
    rows = []
    for name, v in groups.items():
        if name.startswith("channel ids: ") and "numpy array" in v:
            array = best(v["numpy array"])
            for form in ("list", "tuple", "range"):
                if form in v:
                    got = best(v[form]) / array
                    rows.append(
                        [
                            f"{name}: ids as a {form} vs a numpy array",
                            f"<= {IDS_TARGET:g}x",
                            f"{got:.3f}x",
                            _met(got <= IDS_TARGET),
                        ]
                    )
        if name.startswith("pack threads: ") and "1 thread" in v and "2 threads" in v:
            got = best(v["1 thread"]) / best(v["2 threads"])
            rows.append(
                [
                    f"{name}: speed-up of 2 threads over 1",
                    f">= {THREADS_TARGET:g}x",
                    fmt_ratio(got),
                    _met(got >= THREADS_TARGET),
                ]
            )
        if name == "decode: timestamped 64x128 sine" and RTA in v and LZ4 in v:
            got = best(v[RTA]) / best(v[LZ4])
            rows.append(
                [
                    f"{name}: time vs lz4 floor (decompression alone)",
                    f"<= {DECODE_TARGET:g}x",
                    f"{got:.3f}x",
                    _met(got <= DECODE_TARGET),
                ]
            )
    return rows


def targets_section(groups: dict) -> list[str]:
    rows = []
    for workload, speedup, lz4_cap in ENCODE_TARGETS:
        v = groups.get(f"encode: {workload}", {})
        if RTA not in v:
            continue
        rta = best(v[RTA])
        if PURE in v:
            got = best(v[PURE]) / rta
            rows.append(
                [
                    f"{workload}: speed-up vs pure-Python",
                    f">= {speedup:g}x",
                    fmt_ratio(got),
                    _met(got >= speedup),
                ]
            )
        if lz4_cap is not None and LZ4 in v:
            got = rta / best(v[LZ4])
            rows.append(
                [
                    f"{workload}: build + pack time vs lz4 alone",
                    f"<= {lz4_cap:g}x",
                    f"{got:.3f}x",
                    _met(got <= lz4_cap),
                ]
            )
    rows += _floor_rows(groups) + _speed_rows(groups)
    for name, v in groups.items():
        if not name.startswith("write: "):
            continue
        if "pre-packed" in name and RTA in v and "redis_benchmark_rps" in v[RTA]["extra_info"]:
            got, paired = floor_ratios(v[RTA])
            rows.append(
                [
                    f"{name[7:]}: rtastream vs redis-benchmark XADD (best vs best; "
                    f"median of paired rounds {paired:.0%})",
                    f">= {WRITE_FLOOR_TARGET:.0%}",
                    f"{got:.0%}",
                    _met(got >= WRITE_FLOOR_TARGET),
                ]
            )
        for flavour in ("", " asyncio"):
            live, burst = v.get(LIVE_CALL + flavour), v.get(LIVE_BURST + flavour)
            if live and burst:
                got = best(live) / best(burst)
                medians = median_time(live) / median_time(burst)
                rows.append(
                    [
                        f"{name[7:]}{flavour}: time vs Burst + write() (best vs best; "
                        f"medians {fmt_ratio(medians)})",
                        f"<= {LIVE_TARGET:g}x",
                        f"{got:.3f}x",
                        _met(got <= LIVE_TARGET),
                    ]
                )
        for variant in v:
            form, _, configured = variant.partition(", with configuration")
            without = v.get(f"{form}, without configuration")
            if configured or not variant.endswith(", with configuration") or not without:
                continue
            rows.append(_configured_row(name[7:], v[variant], without))
        if "encode + write" in name and RTA in v and PURE in v:
            got = best(v[PURE]) / best(v[RTA])
            medians = median_time(v[PURE]) / median_time(v[RTA])
            rows.append(
                [
                    f"{name[7:]}: speed-up vs pure-Python (best vs best; medians "
                    f"{fmt_ratio(medians)})",
                    f">= {END_TO_END_TARGET:g}x",
                    fmt_ratio(got),
                    _met(got >= END_TO_END_TARGET),
                ]
            )
    if not rows:
        return []
    return ["## Targets", ""] + table(["target", "wanted", "measured", "met"], rows)


def paired_ratios(checked: dict, plain: dict, cpu: bool = False) -> list[float]:
    """Time (or the caller thread's CPU time) with over without a configuration, a ratio
    per pair of rounds: each round of either benchmark over the other variant's round run
    just before it (so both orders count); none if the JSON predates the pairing."""
    pairs = [
        (
            bench["extra_info"].get("caller_cpu") if cpu else bench["stats"]["data"],
            bench["extra_info"].get("caller_cpu_paired_with_other" if cpu else "paired_with_other"),
        )
        for bench in (checked, plain)
    ]
    if any(mine is None or other is None for mine, other in pairs):
        return []
    (times, before), (plain_times, plain_before) = pairs
    return [t / o for t, o in zip(times, before, strict=True)] + [
        o / t for t, o in zip(plain_times, plain_before, strict=True)
    ]


def _spread(ratios: list[float]) -> str:
    q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return f"quartiles {q1:.3f}x to {q3:.3f}x"


def _configured_row(name: str, checked: dict, plain: dict) -> list[str]:
    """The target row of the configuration's check: the median of paired rounds (beside
    it the caller thread's CPU time, paired alike), or best vs best without pairs."""
    bests = best(checked) / best(plain)
    ratios = paired_ratios(checked, plain)
    if not ratios:
        label = f"best vs best; medians {fmt_ratio(median_time(checked) / median_time(plain))}"
        got = bests
    else:
        label = (
            f"median of {len(ratios)} paired rounds, both orders; {_spread(ratios)}; best vs "
            f"best {bests:.3f}x"
        )
        cpu = paired_ratios(checked, plain, cpu=True)
        if cpu:
            label += f"; the caller thread's CPU time {statistics.median(cpu):.3f}x, {_spread(cpu)}"
        got = statistics.median(ratios)
    return [
        f"{name}: time with vs without ({label})",
        f"<= {CONFIGURED_TARGET:g}x",
        f"{got:.3f}x",
        _met(got <= CONFIGURED_TARGET),
    ]


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def sweep_section(groups: dict, plot_link: str) -> list[str]:
    lines = []
    for prefix, key, title in (
        ("sweep channels: ", "channels", "Channels (16 samples each)"),
        ("sweep samples: ", "samples", "Samples per item (4 channels)"),
    ):
        found = sorted(encode_groups(groups, prefix), key=lambda f: f[0][key])
        if not found:
            continue
        rows, split = [], []
        for info, v in found:
            rta = best(v[RTA])
            if LZ4 in v and rta > 10 * best(v[LZ4]) and info["encoded_bytes"] > 65536:
                split.append(str(info[key]))
            rows.append(
                [
                    str(info[key]),
                    fmt_bytes(info["value_bytes"]),
                    fmt_ratio(best(v[PURE]) / rta) if PURE in v else "-",
                    fmt_ratio(rta / best(v[LZ4])) if LZ4 in v else "-",
                    fmt_ratio(rta / best(v[ONE_BLOCK])) if ONE_BLOCK in v else "-",
                    fmt_time(rta),
                    f"{rta / info['total_samples'] * 1e9:.1f}",
                    fmt_time(best(v[PURE])) if PURE in v else "-",
                    f"{best(v[PURE]) / info['total_samples'] * 1e9:.0f}" if PURE in v else "-",
                ]
            )
        lines += [f"### {title}", ""] + table(
            [
                key,
                "values",
                "speed-up vs pure-Python",
                "time vs lz4 floor",
                "time vs lz4 of the burst as one block",
                "rtastream / burst",
                "rtastream ns/sample",
                "pure-Python / burst",
                "pure-Python ns/sample",
            ],
            rows,
        )
        if split:
            lines += [
                f"At {key} = {', '.join(split)}, single items are larger than pack()'s "
                "64 KiB target and are split into pieces; that path costs over 10x the "
                "LZ4 floor here.",
                "",
            ]
    if not lines:
        return []
    return ["## How cost grows", "", f"![throughput vs burst size]({plot_link})", ""] + lines


def ids_section(groups: dict) -> list[str]:
    lines = []
    for name, v in groups.items():
        if name.startswith("channel ids: ") and "numpy array" in v:
            array = best(v["numpy array"])
            rows = [[form, fmt_time(best(b)), fmt_ratio(best(b) / array)] for form, b in v.items()]
            lines += [
                f"### {name}",
                "",
                "Build + pack of the same burst, the channel ids given "
                "in four forms (one Burst reused with `clear()`).",
                "",
            ]
            lines += table(["channel ids as", "time", "vs numpy array"], rows)
    return ["## Channel ids as lists, tuples, ranges", ""] + lines if lines else []


def threads_section(groups: dict) -> list[str]:
    lines = []
    for name, v in groups.items():
        if name.startswith("pack threads: ") and "1 thread" in v:
            one = best(v["1 thread"])
            info = v["1 thread"]["extra_info"]
            rows = [
                [
                    label,
                    fmt_time(best(b)),
                    fmt_ratio(one / best(b)),
                    f"{info['value_bytes'] / best(b) / 1e6:.0f}",
                ]
                for label, b in v.items()
            ]
            lines += [
                f"### {name}",
                "",
                f"`pack(threads=...)` of one built burst ({info['messages']} messages; "
                f"this machine has {info['cores']} cores): the messages are compressed "
                "by a pool of threads, the C core running without the GIL; they are "
                "byte-identical whatever the number.",
                "",
            ]
            lines += table(["threads", "time", "speed-up vs 1 thread", "MB/s of values"], rows)
    return ["## Packing on several cores", ""] + lines if lines else []


def decode_section(groups: dict) -> list[str]:
    rows = []
    for name, v in groups.items():
        if not name.startswith("decode: ") or RTA not in v:
            continue
        info, rta = v[RTA]["extra_info"], best(v[RTA])
        read = v.get("rtastream + timestamps and values")
        rows.append(
            [
                info["workload"],
                str(info["items"]),
                fmt_bytes(info["message_bytes"]),
                fmt_ratio(rta / best(v[LZ4])) if LZ4 in v else "-",
                fmt_ratio(rta / best(v["rtastream.unpack"])) if "rtastream.unpack" in v else "-",
                fmt_ratio(best(read) / best(v[LZ4])) if read and LZ4 in v else "-",
                fmt_ratio(best(v[PURE]) / rta) if PURE in v else "-",
                fmt_time(rta),
                fmt_time(best(v[LZ4])) if LZ4 in v else "-",
            ]
        )
    if not rows:
        return []
    return [
        "## Decoding one message",
        "",
        "`rtastream.decode` (the wire format parsed in C; values are views of the "
        "decompressed message, timestamps computed when read) beside LZ4 decompression "
        "alone: python-lz4 with the 1 MiB cap a reader must give it (the floor), and "
        "`rtastream.unpack`. The pure-Python twin decodes with protobuf.",
        "",
        *table(
            [
                "workload",
                "items",
                "message",
                "time vs lz4 floor",
                "time vs unpack",
                "with every item's timestamps and values, vs lz4 floor",
                "speed-up vs pure-Python",
                "rtastream",
                "lz4 floor",
            ],
            rows,
        ),
    ]


def write_rate(bench: dict) -> float:
    """Bursts per second: the round's count over its best time."""
    return bench["extra_info"]["messages"] / best(bench)


def floor_ratios(bench: dict) -> tuple[float, float]:
    """(best rate / best redis-benchmark rate, median over rounds of rate / that round's
    redis-benchmark rate): the second pairs each round with the floor measured just before."""
    floor = bench["extra_info"]["redis_benchmark_rps"]
    rates = [bench["extra_info"]["messages"] / t for t in bench["stats"]["data"]]
    paired = statistics.median(rate / f for rate, f in zip(rates, floor, strict=True))
    return write_rate(bench) / max(floor), paired


def _shapes_verdict(inline_over_thread: float) -> str:
    """What the bare caller-sends / bare I/O-thread time ratio says."""
    if inline_over_thread < 0.95:
        return (
            "here, where redis-server competes with the writer's threads for the two "
            "cores, a second busy thread costs more than it overlaps."
        )
    if inline_over_thread > 1.05:
        return "the I/O thread's overlap pays for itself in this run."
    return "within noise of each other in this run."


def write_section(groups: dict) -> list[str]:
    lines = []
    for name, v in sorted(groups.items()):
        if not name.startswith("write: "):
            continue
        rows = []
        pure = v.get(PURE)
        has_floor = any("redis_benchmark_rps" in b["extra_info"] for b in v.values())
        # A group without a pure-Python path names the variant its others are set beside.
        baseline = next(
            (b["extra_info"]["baseline"] for b in v.values() if "baseline" in b["extra_info"]), None
        )
        base = v.get(baseline) if baseline else None
        for variant, bench in sorted(v.items()):
            info = bench["extra_info"]
            rate = write_rate(bench)
            row = [variant]
            if has_floor:
                ratio, paired = floor_ratios(bench)
                row += [f"{ratio:.0%}", f"{paired:.0%}"]
            if base is not None:
                row.append(fmt_ratio(best(bench) / best(base)))
            if pure:
                row.append(fmt_ratio(best(pure) / best(bench)) if variant != PURE else "-")
            row += [
                f"{rate:,.0f}",
                f"{rate * info['message_bytes'] / 1e6:.0f}",
                fmt_time(best(bench) / info["messages"]),
            ]
            if has_floor:
                row.append(f"{max(info['redis_benchmark_rps']):,.0f}")
            rows.append(row)
        header = ["variant"]
        if has_floor:
            header += [
                "vs redis-benchmark (best vs best)",
                "vs redis-benchmark (median of paired rounds)",
            ]
        if base is not None:
            header.append(f"time vs {baseline}")
        if pure:
            header.append("speed-up vs pure-Python")
        header += ["bursts/s", "MB/s of messages", "time per burst"]
        if has_floor:
            header.append("redis-benchmark XADD/s (best)")
        about = next(b["extra_info"]["about"] for b in v.values() if "about" in b["extra_info"])
        lines += [f"### {name[7:]}", "", about, ""] + table(header, rows)
        if RTA in v and BARE_THREAD in v and BARE_INLINE in v:
            shapes = best(v[BARE_INLINE]) / best(v[BARE_THREAD])
            lines += [
                f"The bare floors write the same messages with nothing around them "
                f"(benchmarks/barewriter.py: no session records, no error handling, no "
                f"reconnects). rtastream takes {best(v[RTA]) / best(v[BARE_THREAD]):.2f}x the "
                f"time of the bare writer of its own shape (an I/O thread fed by a queue). The "
                f"bare writer that sends from the caller's thread takes {shapes:.2f}x the bare "
                f"I/O thread's time: {_shapes_verdict(shapes)}",
                "",
            ]
    return ["## Writing to Redis", ""] + lines if lines else []


def cluster_section(groups: dict) -> list[str]:
    pairs = sorted(
        (
            (v[SINGLE], v[CLUSTER])
            for name, v in groups.items()
            if name.startswith("cluster: ") and SINGLE in v and CLUSTER in v
        ),
        key=lambda pair: pair[0]["extra_info"]["sessions"],
    )
    if not pairs:
        return []

    def us(bench: dict, what: str) -> str:
        return f"{bench['extra_info'][what] * 1e6:.0f} µs"

    rows = [
        [
            str(single["extra_info"]["sessions"]),
            f"{write_rate(single):,.0f}",
            f"{write_rate(cluster):,.0f}",
            fmt_ratio(best(single) / best(cluster)),
            us(single, "writer_cpu_per_burst"),
            us(cluster, "writer_cpu_per_burst"),
            us(single, "redis_cpu_per_burst"),
            us(cluster, "redis_cpu_per_burst"),
        ]
        for single, cluster in pairs
    ]
    single, cluster = pairs[-1]  # the most sessions: every master busy
    info = cluster["extra_info"]
    redis_single = single["extra_info"]["redis_cpu_per_burst"]
    writer_single = single["extra_info"]["writer_cpu_per_burst"]
    redis_cluster, writer_cluster = info["redis_cpu_per_burst"], info["writer_cpu_per_burst"]
    per_master = 1 / redis_cluster
    return [
        "## Redis Cluster against a single Redis",
        "",
        info["about"],
        "",
        *table(
            [
                "sessions",
                f"{SINGLE}: bursts/s",
                f"{CLUSTER}: bursts/s",
                "cluster vs single (above 1x: cluster faster)",
                "writer CPU / burst: single",
                "writer CPU / burst: cluster",
                "Redis CPU / burst: single",
                "Redis CPU / burst: cluster",
            ],
            rows,
        ),
        f"What the figures mean. Everything shares {info['cores']} cores here: the writer's "
        "process (the caller, an I/O thread per master) and the Redis servers. A single "
        "redis-server executes commands on one thread, so it uses one core at most: at about "
        f"{redis_single * 1e6:.0f} µs of server CPU per burst it tops out near "
        f"{1 / redis_single:,.0f} bursts/s, while the writer needs about "
        f"{writer_single * 1e6:.0f} µs per burst of the other core. The cluster spreads the "
        "servers' work over every core (a burst's XADD runs on its stream's master, its HSET "
        "and EXPIRE on its hash's master, often another), so it can be faster even here. "
        f"{_cluster_writer_cost(writer_single, writer_cluster)} With one master per core, "
        "capacity grows by about "
        f"{per_master:,.0f} bursts/s (~{per_master * info['message_bytes'] / 1e6:.0f} MB/s) "
        f"per master (the {redis_cluster * 1e6:.0f} µs of Redis CPU per burst measured on "
        "the cluster, spread over the masters), until the writer's process is the limit: at "
        f"{writer_cluster * 1e6:.0f} µs per burst, much of it Python that runs one thread at "
        f"a time, one process writes at most about {1 / writer_cluster:,.0f} bursts/s however "
        "many masters there are; beyond that, several writer processes (one per car or rig) "
        "share the cluster.",
        "",
    ]


def _cluster_writer_cost(single: float, cluster: float) -> str:
    """What the cluster's extra work costs the writer, as this run measured it."""
    work = "a MULTI/EXEC block per key and round, a connection and a thread per master"
    extra_us = round((cluster - single) * 1e6)
    if extra_us > 0:
        return f"What it costs is the writer's time: +{extra_us} µs of CPU per burst ({work})."
    return (
        f"What it asks more of the writer ({work}) did not show in this run: "
        f"{cluster * 1e6:.0f} µs of writer CPU per burst on the cluster, "
        f"{single * 1e6:.0f} µs on a single Redis."
    )


def replicas_section(groups: dict) -> list[str]:
    """wait_replicas=1 against its paired wait_replicas=0 rounds (benchmarks/test_replicas.py)."""
    rows = []
    for name, v in sorted(groups.items()):
        bench = v.get("wait_replicas=1")
        if not name.startswith("replicas: ") or bench is None:
            continue
        info = bench["extra_info"]
        baseline = info["wait_replicas_0_seconds"]
        paired = statistics.median(
            t / b for t, b in zip(bench["stats"]["data"], baseline, strict=True)
        )
        rows.append(
            [
                name[10:],
                fmt_ratio(best(bench) / min(baseline)),
                fmt_ratio(paired),
                fmt_time(min(baseline) / info["messages"]),
                fmt_time(best(bench) / info["messages"]),
            ]
        )
    if not rows:
        return []
    return [
        "## Waiting for replicas",
        "",
        "The same writes to a master with one replica on this machine, with `wait_replicas=1` "
        "(each pipeline round ends with `WAIT 1`, and counts as acknowledged once the replica "
        "has it) and with 0; replication runs in both. Each timed round with `wait_replicas=1` "
        "follows a round with 0 measured just before it (benchmarks/test_replicas.py).",
        "",
        *table(
            [
                "writes",
                "time with 1 / with 0 (best vs best)",
                "time with 1 / with 0 (median of paired rounds)",
                "time per burst with 0",
                "time per burst with 1",
            ],
            rows,
        ),
    ]


def memory_section(groups: dict) -> list[str]:
    found = list(groups.get("memory", {}).values())
    if not found:
        return []
    rows = []
    for bench in found:
        info = bench["extra_info"]
        traced = info.get("traced_growth_per_burst")
        peak = info.get("burst_peak_python_bytes")
        rows.append(
            [
                info["workload"],
                f"{info['bursts']:,}",
                fmt_bytes(info["peak_rss"]),
                f"{info['rss_growth_per_burst']:.3f} B",
                f"{info['blocks_growth_per_burst']:.4f}",
                f"{traced:.3f} B" if traced is not None else "-",
                fmt_bytes(peak) if peak is not None else "-",
                fmt_time(best(bench) / info["bursts"]),
            ]
        )
    return [
        "## Memory over many bursts",
        "",
        "Growth is measured between the first and the last of ten checkpoints, after a "
        "warm-up; tracemalloc runs only for encoding (it slows the writer's Python code "
        "fivefold). The peak one burst allocates is the Python memory of its messages.",
        "",
        *table(
            [
                "workload",
                "bursts",
                "peak RSS",
                "RSS growth / burst",
                "live Python blocks growth / burst",
                "Python heap growth / burst (tracemalloc)",
                "Python memory at one burst's peak",
                "time / burst",
            ],
            rows,
        ),
    ]


def queue_section(groups: dict) -> list[str]:
    v = groups.get("queue bound", {})
    if RTA not in v:
        return []
    info = v[RTA]["extra_info"]
    rows = [
        [k.replace("_", " "), str(val)] for k, val in info.items() if k not in ("variant", "about")
    ]
    return ["## The writer's queue under a slow Redis", "", info.get("about", ""), ""] + table(
        ["", "measured"], rows
    )


def per_client_memory(info: dict) -> str:
    """The server's resident memory growth per client (runs before it was measured: -)."""
    grown = info.get("server_rss_per_client_bytes")
    return "-" if grown is None else fmt_bytes(max(0, round(grown)))


def live_section(groups: dict) -> list[str]:
    found = sorted(groups.get("live edge", {}).values(), key=lambda b: b["extra_info"]["clients"])
    if not found:
        return []
    rows = []
    for bench in found:
        info = bench["extra_info"]
        rows.append(
            [
                str(info["clients"]),
                f"{info['delivered']:,} of {info['expected']:,}",
                f"{info['server_cpu_share']:.1%}",
                f"{info['server_cpu_per_client']:.2%}",
                f"{info['server_cpu_us_per_message']:.0f} µs",
                per_client_memory(info),
                f"{info['latency_p50_ms']:.1f} ms",
                f"{info['latency_p99_ms']:.1f} ms",
            ]
        )
    first = found[0]["extra_info"]
    return [
        "## The live edge: `rtastream serve` fanning out one stream",
        "",
        f"One producer XADDs a 64 x 128 float64 burst ({fmt_bytes(first['message_bytes'])} "
        f"compressed) {first['bursts'] / 10:.0f} s long at 10 bursts a second; every client "
        "is subscribed to all channels. Server CPU is the `rtastream serve` process's user + "
        "system time over the run's wall time (one core = 100 %); latency runs from just "
        "before XADD to the client's receive(). The clients share one asyncio process with the "
        "producer, and everything shares two cores with redis-server: from 100 clients on the "
        "clients' own work is part of the latency. Server memory per client is the growth of "
        "its resident memory from before the clients connect to once they are all subscribed, "
        "divided by the clients.",
        "",
        *table(
            [
                "clients",
                "messages delivered",
                "server CPU",
                "server CPU per client",
                "server CPU per message delivered",
                "server memory per client",
                "latency p50",
                "latency p99",
            ],
            rows,
        ),
    ]


REST_PATHS = (
    "served from ready chunks",
    "served, chunked per request",
    "pyarrow alone (floor)",
    "pure Python",
)


def rest_section(groups: dict) -> list[str]:
    """`serve --store`: samples/s to an HTTP client beside the floor, and the list latency."""
    rows = []
    for group, variants in sorted(groups.items()):
        if not group.startswith("rest: ") or not set(REST_PATHS) <= variants.keys():
            continue
        served, chunked, floor, pure = (variants[p] for p in REST_PATHS)
        rate = served["extra_info"]["samples"] / best(served)
        rows.append(
            [
                group.removeprefix("rest: "),
                f"{served['extra_info']['samples']:,}",
                f"{rate / 1e6:.1f} M",
                f"{served['extra_info']['samples'] / best(chunked) / 1e6:.1f} M",
                f"{served['extra_info']['samples'] / best(floor) / 1e6:.1f} M",
                f"{served['extra_info']['samples'] / best(pure) / 1e6:.1f} M",
                fmt_ratio(best(served) / best(floor)),
                fmt_ratio(best(pure) / best(served)),
            ]
        )
    lines = []
    if rows:
        lines += [
            "## Serving the store: `rtastream serve --store`",
            "",
            "Samples per second of a closed session's float64 channels delivered to a "
            "blocking HTTP client on loopback (`GET .../data/timestamped/{channels}`, the "
            "whole session), from the chunks compaction keeps and chunked per request "
            "(a session compacted before chunks were kept), beside reading the same values "
            "from the store's file with pyarrow alone (the floor) and the pure-Python path "
            "(pyarrow, then re-chunked "
            "and encoded with the protobuf classes and python-lz4). Server and client share "
            "one process and two cores.",
            "",
            *table(
                [
                    "what",
                    "samples",
                    "served from ready chunks, samples/s",
                    "chunked per request, samples/s",
                    "floor, samples/s",
                    "pure Python, samples/s",
                    "served / floor (time)",
                    "pure Python / served (time)",
                ],
                rows,
            ),
            "",
        ]
    listing = groups.get("rest: session list", {})
    for bench in listing.values():
        info = bench["extra_info"]
        lines += [
            f"`GET /rta/v2/sessions?pageSize=100` with {info['sessions']:,} sessions in a local "
            f"store (no Redis): p50 {info['p50_s'] * 1e3:.0f} ms, p99 {info['p99_s'] * 1e3:.0f} ms "
            f"over {len(bench['stats']['data'])} requests; the store's index first read in "
            f"{info['first_listing_s']:.2f} s, read again (a folder listing, closed sessions "
            f"cached) in {info['refresh_s'] * 1e3:.0f} ms, at most once a second.",
            "",
        ]
    return lines


def plot(groups: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 4.4), gridspec_kw={"width_ratios": [2, 2, 1, 1.4]})
    axes[1].sharey(axes[0])
    styles = {RTA: ("C0", "o-"), PURE: ("C3", "s-"), LZ4: ("0.4", "--")}
    for ax, prefix, key, title in (
        (axes[0], "sweep channels: ", "channels", "1 to 10 000 channels x 16 samples"),
        (axes[1], "sweep samples: ", "samples", "4 channels x 1 to 10 000 samples"),
    ):
        found = sorted(encode_groups(groups, prefix), key=lambda f: f[0][key])
        for variant, (color, style) in styles.items():
            points = [
                (info["value_bytes"], info["value_bytes"] / best(v[variant]) / 1e6)
                for info, v in found
                if variant in v
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                label = "LZ4 alone (floor)" if variant == LZ4 else variant
                ax.plot(xs, ys, style, color=color, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("sample values per burst (bytes)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("encode throughput (MB/s of sample values)")
    axes[0].legend()
    threads = next((v for name, v in groups.items() if name.startswith("pack threads: ")), {})
    if threads:
        labels = list(threads)
        one = best(threads["1 thread"]) if "1 thread" in threads else None
        short = [label.split()[0] if label[0].isdigit() else "None" for label in labels]
        axes[2].bar(short, [one / best(threads[k]) if one else 0 for k in labels], color="C0")
        axes[2].set_title("pack() of 40 x 25 000")
        axes[2].set_xlabel("threads")
        axes[2].set_ylabel("speed-up vs 1 thread")
        axes[2].grid(True, axis="y", alpha=0.3)
    decoded = [
        (v[RTA]["extra_info"]["workload"], best(v[RTA]) / best(v[LZ4]))
        for name, v in groups.items()
        if name.startswith("decode: ") and RTA in v and LZ4 in v
    ]
    if decoded:
        names, ratios = zip(*decoded, strict=True)
        axes[3].barh(names, ratios, color="C0")
        axes[3].axvline(1.0, color="0.4", linestyle="--")
        axes[3].invert_yaxis()
        axes[3].set_title("decode() of one message")
        axes[3].set_xlabel("time vs LZ4 decompression alone (dashed: 1x)")
        axes[3].grid(True, axis="x", alpha=0.3)
    fig.suptitle(
        "Encoding throughput vs burst size, packing on several cores, decoding (best of rounds)"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def markdown(data: dict, groups: dict, plot_link: str = "benchmarks.png") -> str:
    """The page; plot_link is the plot's path relative to the page."""
    lines = [
        "# rtastream benchmarks",
        "",
        f"Generated by `make bench` ({data['datetime'][:19]} UTC) from pytest-benchmark's JSON by "
        "`benchmarks/report.py`. Times are the best of each benchmark's rounds.",
        "",
        HONESTY,
        "",
        steadiness(data),
        "",
    ]
    lines += targets_section(groups) + encode_section(groups) + sweep_section(groups, plot_link)
    for section in (
        ids_section,
        threads_section,
        decode_section,
        write_section,
        cluster_section,
        replicas_section,
        memory_section,
        queue_section,
        live_section,
        rest_section,
    ):
        lines += section(groups)
    lines += machine_section(data)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="pytest-benchmark JSON (--benchmark-json)")
    parser.add_argument("--markdown", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--plot", type=Path, default=Path("docs/benchmarks.png"))
    args = parser.parse_args(argv)
    data, groups = load(args.results)
    plot_link = os.path.relpath(args.plot, args.markdown.parent)
    args.markdown.write_text(markdown(data, groups, Path(plot_link).as_posix()))
    plot(groups, args.plot)
    print(f"wrote {args.markdown} and {args.plot}")


if __name__ == "__main__":
    main()
