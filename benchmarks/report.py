"""Turn pytest-benchmark's JSON into the benchmarks page (docs/benchmarks.md) and its plot.

    python -m benchmarks.report RESULTS.json [--markdown PAGE.md] [--plot PLOT.png]

Every ratio is computed here from the best (minimum) time of each variant in the same run;
ratios come first, absolute figures second. The sections are declared in
benchmarks/report_sections.py and the targets in benchmarks/report_targets.py, from what
each benchmark records in its extra_info (its variant, the quantities it moved).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections import defaultdict
from pathlib import Path

from benchmarks import report_sections as sections
from benchmarks.report_tables import best, markdown_table, median_time
from benchmarks.report_targets import LZ4, PURE, RTA, targets_section

# The sections by the names the tests use.
ids_section, threads_section = sections.IDS.render, sections.THREADS.render
decode_section, write_section = sections.DECODE.render, sections.WRITE.render
cluster_section, replicas_section = sections.CLUSTER_SECTION.render, sections.REPLICAS.render
live_section, rest_section = sections.LIVE.render, sections.REST.render

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
    return ["## Machine and versions", ""] + markdown_table(["", "version"], rows)


def plot(groups: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 4.4), gridspec_kw={"width_ratios": [2, 2, 1, 1.4]})
    axes[1].sharey(axes[0])
    styles = {RTA: ("C0", "o-"), PURE: ("C3", "s-"), LZ4: ("0.4", "--")}
    for ax, key, title in (
        (axes[0], "channels", "1 to 10 000 channels x 16 samples"),
        (axes[1], "samples", "4 channels x 1 to 10 000 samples"),
    ):
        found = sections.SWEEPS[key].rows(groups)
        for variant, (color, style) in styles.items():
            points = [
                (
                    row.info["value_bytes"],
                    row.info["value_bytes"] / best(row.variants[variant]) / 1e6,
                )
                for row in found
                if variant in row.variants
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
    lines += targets_section(groups) + sections.ENCODE.render(groups)
    lines += sections.sweep_section(groups, plot_link)
    for section in sections.AFTER_THE_SWEEPS:
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
