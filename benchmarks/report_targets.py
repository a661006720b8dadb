"""The benchmarks page's targets: each a ratio of two variants' best times in the groups of
a prefix, against a bound, declared as data; only the writer's floor (paired rounds against
redis-benchmark) and the configuration's cost (paired rounds, both orders) are computed by
hand."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from fnmatch import fnmatchcase

from benchmarks.report_tables import best, fmt_ratio, markdown_table, median_time

RTA, PURE, LZ4 = "rtastream", "pure-python", "lz4 floor"
LIVE_CALL, LIVE_BURST = "live timestamped()", "Burst + write()"
WRITE_FLOOR_TARGET = 0.80
CONFIGURED_TARGET = 1.05  # the live API with a configuration bound, vs the same calls without
WITH, WITHOUT = ", with configuration", ", without configuration"
ENCODINGS = ("encode", "sweep channels", "sweep samples")
IDS, IDS_FORMS = "{group}: ids as a {top} vs a numpy array", ("list", "tuple", "range")
THREADS, LIVE_LABEL = "speed-up of 2 threads over 1", ": time vs Burst + write()"


@dataclass(frozen=True)
class Target:
    """best(top) / best(bottom) in every group matching `groups` (fnmatch) that has both,
    bounded by `wanted` ("<= 1.2": a time ratio, at most; ">= 9": a speed-up, at least);
    the label may name the {group}, its {name} (less the prefix), the {top} variant and
    the ratio of the {medians}."""

    groups: str
    top: str
    bottom: str
    wanted: str
    label: str
    min_value_bytes: int = 0  # of the top variant's values

    def row(self, group: str, variants: dict[str, dict]) -> list[str] | None:
        top, bottom = variants.get(self.top), variants.get(self.bottom)
        if not fnmatchcase(group, self.groups) or top is None or bottom is None:
            return None
        if top["extra_info"].get("value_bytes", 0) < self.min_value_bytes:
            return None
        got, (sign, bound) = best(top) / best(bottom), self.wanted.split()
        at_most = sign == "<="
        medians = fmt_ratio(median_time(top) / median_time(bottom))
        name = group.partition(": ")[2]
        label = self.label.format(group=group, name=name, top=self.top, medians=medians)
        shown = f"{got:.3f}x" if at_most else fmt_ratio(got)
        return [
            label,
            f"{self.wanted}x",
            shown,
            met(got <= float(bound) if at_most else got >= float(bound)),
        ]


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


SPEEDUP, VS_LZ4 = "{name}: speed-up vs pure-Python", "{group}: time vs lz4 floor"
MEDIANS = " (best vs best; medians {medians})"
FLOOR = "<= 1.2"  # encoding: at most this times the LZ4 floor, from 100 B of values up
E64 = "encode: timestamped 64x128 sine"
# Blocks of targets, each block's rows in the order of the groups in the results.
TARGETS: tuple[tuple[Target, ...], ...] = (
    (
        Target(E64, PURE, RTA, ">= 9", SPEEDUP),
        Target(E64, RTA, LZ4, "<= 1.1", "{name}: build + pack time vs lz4 alone"),
        Target("encode: timestamped 1000x8 sine", PURE, RTA, ">= 15", SPEEDUP),
        Target("encode: timestamped 3x10 sine", PURE, RTA, ">= 10", SPEEDUP),
    ),
    *((Target(f"{kind}: *", RTA, LZ4, FLOOR, VS_LZ4, 100),) for kind in ENCODINGS),
    (
        *(Target("channel ids: *", ids, "numpy array", "<= 1.05", IDS) for ids in IDS_FORMS),
        Target("pack threads: *", "1 thread", "2 threads", ">= 1.6", "{group}: " + THREADS),
        Target(
            "decode: timestamped 64x128 sine", RTA, LZ4, "<= 3", VS_LZ4 + " (decompression alone)"
        ),
    ),
)
LIVE = tuple(
    Target("write: *", LIVE_CALL + f, LIVE_BURST + f, "<= 1.2", "{name}" + f + LIVE_LABEL + MEDIANS)
    for f in ("", " asyncio")
)
END_TO_END = Target("write: *encode + write*", PURE, RTA, ">= 10", SPEEDUP + MEDIANS)
WRITE = "write: "


def targets_section(groups: dict) -> list[str]:
    rows = []
    for block in TARGETS:
        rows += [r for name, v in groups.items() for target in block if (r := target.row(name, v))]
    for name, v in groups.items():
        if name.startswith(WRITE):
            rows += write_targets(name, v)
    if not rows:
        return []
    return ["## Targets", ""] + markdown_table(["target", "wanted", "measured", "met"], rows)


def write_targets(name: str, v: dict[str, dict]) -> list[list[str]]:
    rows = []
    if "pre-packed" in name and RTA in v and "redis_benchmark_rps" in v[RTA]["extra_info"]:
        got, paired = floor_ratios(v[RTA])
        rows.append(
            [
                f"{name[7:]}: rtastream vs redis-benchmark XADD (best vs best; "
                f"median of paired rounds {paired:.0%})",
                f">= {WRITE_FLOOR_TARGET:.0%}",
                f"{got:.0%}",
                met(got >= WRITE_FLOOR_TARGET),
            ]
        )
    rows += [r for target in LIVE if (r := target.row(name, v))]
    for variant in v:
        form = variant.removesuffix(WITH)
        if variant.endswith(WITH) and form + WITHOUT in v:
            rows.append(configured_row(name[7:], v[variant], v[form + WITHOUT]))
    if row := END_TO_END.row(name, v):
        rows.append(row)
    return rows


def floor_ratios(bench: dict) -> tuple[float, float]:
    """(best rate / best redis-benchmark rate, median over rounds of rate / that round's
    redis-benchmark rate): the second pairs each round with the floor measured just before."""
    floor = bench["extra_info"]["redis_benchmark_rps"]
    rates = [bench["extra_info"]["messages"] / t for t in bench["stats"]["data"]]
    paired = statistics.median(rate / f for rate, f in zip(rates, floor, strict=True))
    return bench["extra_info"]["messages"] / best(bench) / max(floor), paired


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


def configured_row(name: str, checked: dict, plain: dict) -> list[str]:
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
        met(got <= CONFIGURED_TARGET),
    ]
