"""The benchmarks page's tables as data: a column names a quantity (a time, a ratio of two
variants' times, a rate of a quantity the benchmark recorded in its extra_info, a field), a
table picks its rows (one per group of a prefix, or one per variant of a group), and one
function renders them all (benchmarks/report.py declares the page with them).

Variants in a column are names of the group's benchmarks, or THIS (the row's own
benchmark) or BASELINE (the variant the group's extra_info names as its `baseline`).
A cell whose benchmark is missing prints "-".
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

THIS, BASELINE = "<this>", "<baseline>"
Groups = dict[str, dict[str, dict]]  # the benchmarks by group, then by variant


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


Show = str | Callable[[Any], str]  # a format ("{:,.0f} µs") or a function


def show(how: Show, value: Any) -> str:
    return how.format(value) if isinstance(how, str) else how(value)


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


@dataclass(frozen=True)
class Row:
    """One row's benchmarks: the group's variants and the variant the row stands for."""

    group: str
    variants: dict[str, dict]
    this: str

    @property
    def baseline(self) -> str | None:
        named = (b["extra_info"].get("baseline") for b in self.variants.values())
        return next((n for n in named if n), None)

    @property
    def info(self) -> dict:
        return self.variants[self.this]["extra_info"]

    def bench(self, variant: str) -> dict | None:
        name = {THIS: self.this, BASELINE: self.baseline}.get(variant, variant)
        return self.variants.get(name) if name else None


Cell = Callable[[Row], "str | None"]


def name(row: Row) -> str:
    """The row's variant."""
    return row.this


def of(variant: str, value: Callable[[dict], Any], how: Show = str) -> Cell:
    """value(benchmark) of the row's variant, shown; "-" if it is missing or value is None."""

    def cell(row: Row) -> str | None:
        bench = row.bench(variant)
        got = None if bench is None else value(bench)
        return None if got is None else show(how, got)

    return cell


def time(variant: str = THIS) -> Cell:
    return of(variant, best, fmt_time)


def per(variant: str, quantity: str, how: Show, scale: float = 1.0) -> Cell:
    """The variant's time per unit of a quantity it recorded (bursts, samples)."""
    return of(variant, lambda b: best(b) / b["extra_info"][quantity] * scale, how)


def rate(variant: str, quantity: str, how: Show, scale: float = 1.0) -> Cell:
    """A quantity the variant recorded (samples, bytes, messages) per second of its time."""
    return of(variant, lambda b: b["extra_info"][quantity] / best(b) / scale, how)


def info(key: str, how: Show = str, variant: str = THIS) -> Cell:
    """A figure the variant recorded in its extra_info."""
    return of(variant, lambda b: b["extra_info"].get(key), how)


def group(row: Row) -> str:
    """The row's group, less its prefix."""
    return row.group.partition(": ")[2]


def ratio(top: str, bottom: str, of_itself: bool = True) -> Cell:
    """best(top) / best(bottom); with of_itself False, "-" in the row of the variant itself."""

    def cell(row: Row) -> str | None:
        a, b = row.bench(top), row.bench(bottom)
        if a is None or b is None or (a is b and not of_itself):
            return None
        return fmt_ratio(best(a) / best(b))

    return cell


@dataclass(frozen=True)
class Col:
    header: str  # may name the group's baseline: "time vs {baseline}"
    cell: Cell
    optional: bool = False  # dropped where no row has a value


@dataclass(frozen=True)
class Table:
    """A row per group whose name starts with `prefix` and that has every `needs` variant
    (the first is the row's own), or with `per_variant` a row per variant of those groups."""

    columns: tuple[Col, ...]
    prefix: str
    needs: tuple[str, ...] = ()
    per_variant: bool = False
    order: Callable[[Row], Any] | None = None
    sort_groups: bool = False

    def rows(self, groups: Groups) -> list[Row]:
        names = [
            n
            for n in (sorted(groups) if self.sort_groups else groups)
            if n.startswith(self.prefix) and set(self.needs) <= groups[n].keys()
        ]
        if self.per_variant:
            found = [Row(n, groups[n], variant) for n in names for variant in groups[n]]
        else:
            found = [Row(n, groups[n], self.needs[0]) for n in names]
        return sorted(found, key=self.order) if self.order else found

    def render(self, groups: Groups) -> list[str]:
        rows = self.rows(groups)
        if not rows:
            return []
        cells = [[col.cell(row) for row in rows] for col in self.columns]
        kept = [
            (col.header.format(baseline=rows[0].baseline), column)
            for col, column in zip(self.columns, cells, strict=True)
            if not col.optional or any(c is not None for c in column)
        ]
        body = [
            ["-" if c is None else c for c in line]
            for line in zip(*(c for _, c in kept), strict=True)
        ]
        return markdown_table([header for header, _ in kept], body)


Prose = Callable[[Groups], list[str]]  # lines computed from the figures
Part = str | Table | Prose


@dataclass(frozen=True)
class Section:
    """A `## title` and its parts (prose, tables, hand-written functions of the groups);
    with `each`, the parts repeat under a `### heading` per group of that prefix."""

    title: str
    parts: tuple[Part, ...]
    each: str | None = None
    sort_groups: bool = False
    heading: Callable[[str], str] = field(default=lambda group: group)

    def render(self, groups: Groups) -> list[str]:
        if self.each is None:
            body = render_parts(self.parts, groups)
        else:
            body = []
            for group in sorted(groups) if self.sort_groups else groups:
                if group.startswith(self.each):
                    part = render_parts(self.parts, {group: groups[group]})
                    body += [f"### {self.heading(group)}", "", *part] if part else []
        return [f"## {self.title}", "", *body] if body else []


def render_parts(parts: Iterable[Part], groups: Groups) -> list[str]:
    """The parts in order, or nothing when no table has a row (prose alone says nothing)."""
    parts = tuple(parts)
    if not any(isinstance(part, Table) and part.rows(groups) for part in parts):
        return []
    lines = []
    for part in parts:
        if isinstance(part, Table):
            lines += part.render(groups)
        elif isinstance(part, str):
            lines += [part, ""]
        else:
            lines += part(groups)
    return lines
