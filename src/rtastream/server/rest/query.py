"""RTA's session query dialect, sort and paging, without I/O: a filter is compiled once into
a predicate over Session JSON models, then the matches are sorted and cut into a page.

Filters (a subset of MongoDB's): `$and`, `$or`, `$nor` over criteria; a property path
(`identifier`, `details.Driver`, `extDetails.Car.Setup`) matched by a literal (equality) or
a condition: `$eq $neq $gt $gte $lt $lte $in $nin $startsWith $endsWith $contains $not`.
Comparisons: numbers with numbers, strings with strings (two ISO 8601 date-times as
instants, whatever their offsets), booleans with booleans; anything else does not match.
A missing property reads as null.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

Model = Mapping[str, Any]
Predicate = Callable[[Model], bool]

MAX_PAGE_SIZE = 10_000
"""The largest page served, and the page size when none is asked for."""

DEFAULT_SORT = (("timestamp", True),)  # newest first, as the dialect requires


class QueryError(ValueError):
    """A query, sort or paging parameter that cannot be read (the message says why)."""


# --- values ----------------------------------------------------------------------------

_INSTANT = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"(Z|[+-]\d\d:?\d\d)?",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=1 << 16)  # a session list sorts the same times at each request
def instant(text: str) -> tuple[int, int] | None:
    """An ISO 8601 date or date-time as (seconds, nanoseconds) since the epoch in UTC (no
    offset: UTC), or None if the text is not one."""
    match = _INSTANT.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return int((moment - epoch).total_seconds()), nanos


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sign(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def compare(a: object, b: object) -> int | None:
    """-1, 0 or 1 when a and b are comparable (see the module doc), else None."""
    if _is_number(a) and _is_number(b):
        return None if a != a or b != b else _sign(a, b)  # NaN compares with nothing
    if isinstance(a, str) and isinstance(b, str):
        ia, ib = instant(a), instant(b)
        return _sign(ia, ib) if ia is not None and ib is not None else _sign(a, b)
    if isinstance(a, bool) and isinstance(b, bool):
        return _sign(a, b)
    if a is None and b is None:
        return 0
    return None


def resolve(model: object, path: str) -> Any:
    """The value at a dotted property path; None where the path leads nowhere."""
    value = model
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


# --- filters ---------------------------------------------------------------------------

_SCALAR = (str, int, float, bool, type(None))


def _scalar(operator: str, operand: object) -> object:
    if not isinstance(operand, _SCALAR):
        raise QueryError(f"{operator} takes a string, number, boolean or null")
    return operand


def _text(operator: str, operand: object) -> str:
    if not isinstance(operand, str):
        raise QueryError(f"{operator} takes a string")
    return operand


def _scalars(operator: str, operand: object) -> list[object]:
    if not isinstance(operand, list):
        raise QueryError(f"{operator} takes an array of strings, numbers, booleans or nulls")
    return [_scalar(operator, item) for item in operand]


Test = Callable[[object], bool]
Build = Callable[[str, object], Test]


def _order(test: Callable[[int], bool]) -> Build:
    def build(operator: str, operand: object) -> Test:
        value = _scalar(operator, operand)

        def matches(found: object) -> bool:
            outcome = compare(found, value)
            return outcome is not None and test(outcome)

        return matches

    return build


def _equal(found: object, value: object) -> bool:
    return compare(found, value) == 0


def _in(operator: str, operand: object) -> Test:
    values = _scalars(operator, operand)
    return lambda found: any(_equal(found, value) for value in values)


def _negated(build: Build) -> Build:
    def negation(operator: str, operand: object) -> Test:
        test = build(operator, operand)
        return lambda found: not test(found)

    return negation


def _string(test: Callable[[str, str], bool]) -> Build:
    def build(operator: str, operand: object) -> Test:
        value = _text(operator, operand)
        return lambda found: isinstance(found, str) and test(found, value)

    return build


def _not(operator: str, operand: object) -> Test:
    if not isinstance(operand, dict):
        raise QueryError(f"{operator} takes a condition object")
    inner = condition(operand, operator)
    return lambda found: not inner(found)


_OPERATORS: dict[str, Build] = {
    "$eq": _order(lambda c: c == 0),
    "$neq": _negated(_order(lambda c: c == 0)),
    "$gt": _order(lambda c: c > 0),
    "$gte": _order(lambda c: c >= 0),
    "$lt": _order(lambda c: c < 0),
    "$lte": _order(lambda c: c <= 0),
    "$in": _in,
    "$nin": _negated(_in),
    "$startsWith": _string(str.startswith),
    "$endsWith": _string(str.endswith),
    "$contains": _string(lambda found, value: value in found),
    "$not": _not,
}


def condition(spec: object, where: str) -> Test:
    """A test of one property's value: a literal (equality) or a condition object. Several
    operators in one object must all hold (the schema allows one; Mongo users write two)."""
    if not isinstance(spec, dict):
        value = _scalar(f"{where}: a literal", spec)
        return lambda found: _equal(found, value)
    if not spec:
        raise QueryError(f"{where}: an empty condition")
    tests = []
    for operator, operand in spec.items():
        build = _OPERATORS.get(operator)
        if build is None:
            raise QueryError(
                f"{where}: unknown operator {operator[:40]!r} (one of {', '.join(_OPERATORS)})"
            )
        tests.append(build(f"{where}: {operator}", operand))
    return lambda found: all(test(found) for test in tests)


def criteria(spec: object, where: str = "query") -> Predicate:
    """The predicate of a FilterCriteria object (every key must match)."""
    if not isinstance(spec, dict):
        raise QueryError(f"{where}: criteria must be a JSON object")
    tests: list[Predicate] = []
    for key, value in spec.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list):
                raise QueryError(f"{where}: {key} takes an array of criteria")
            parts = [criteria(part, f"{where}.{key}[{i}]") for i, part in enumerate(value)]
            tests.append(_logical(key, parts))
        elif key == "$not":  # the dialect's guide negates whole criteria this way
            tests.append(_negation(criteria(value, f"{where}.$not")))
        elif key.startswith("$"):
            raise QueryError(
                f"{where}: unknown operator {key[:40]!r} (criteria take $and, $or, $nor)"
            )
        else:
            tests.append(_property(key, condition(value, key)))
    return lambda model: all(test(model) for test in tests)


def _negation(inner: Predicate) -> Predicate:
    return lambda model: not inner(model)


def _property(path: str, test: Test) -> Predicate:
    return lambda model: test(resolve(model, path))


def _logical(key: str, parts: list[Predicate]) -> Predicate:
    if key == "$and":
        return lambda model: all(part(model) for part in parts)
    if key == "$or":
        return lambda model: any(part(model) for part in parts)
    return lambda model: not any(part(model) for part in parts)


def _no_constant(name: str) -> object:
    raise QueryError(f"query: {name} is not a JSON number")


MAX_DEPTH = 64
"""Nesting a query may have: deeper would exhaust the stack when evaluated."""


def _depth(value: object) -> int:
    """How deeply JSON arrays and objects nest in value (iteratively: any depth)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, level + 1))
        deepest = max(deepest, level)
    return deepest


def parse_query(text: str | None) -> Predicate:
    """The predicate of a `query` parameter (JSON text); None or blank matches everything."""
    if text is None or not text.strip():
        return lambda model: True
    try:
        spec = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise QueryError(f"query: nested more than {MAX_DEPTH} deep") from None
    except ValueError as exc:
        if isinstance(exc, QueryError):
            raise
        raise QueryError(f"query is not JSON: {exc}") from None
    if _depth(spec) > MAX_DEPTH:
        raise QueryError(f"query: nested more than {MAX_DEPTH} deep")
    return criteria(spec)


# --- sort and paging -------------------------------------------------------------------

Sort = Sequence[tuple[str, bool]]  # (property path, descending), highest priority first


def parse_sort(values: Iterable[str]) -> Sort:
    """`sort` parameters (`path`, `path:asc`, `path:desc`; several, or comma-separated).
    Any other text is a path no session has: accepted, and it orders nothing."""
    terms = []
    for value in values:
        for term in value.split(","):
            path, _, order = term.strip().rpartition(":")
            if order.lower() not in ("asc", "desc"):
                path, order = term.strip(), "asc"
            if path:
                terms.append((path, order.lower() == "desc"))
    return terms or DEFAULT_SORT


def _rank(value: object) -> tuple[int, Any]:
    """A total order over JSON values: booleans, numbers, instants, other strings, the rest."""
    if isinstance(value, bool):
        return (0, value)
    if _is_number(value):
        return (1, value) if value == value else (5, "NaN")
    if isinstance(value, str):
        moment = instant(value)
        return (2, moment) if moment is not None else (3, value)
    return (4, json.dumps(value, sort_keys=True, default=str))


def sort_models(models: Iterable[Model], sort: Sort) -> list[Model]:
    """Sorted by each (path, descending) in turn; a missing (or null) value comes last
    either way, so a sort on a property nobody has leaves the order by identity.

    One stable sort per term, the last term first, each value ranked once (a comparison
    function would rank and parse times again at every comparison: seconds at 10 000)."""
    ordered = sorted(models, key=lambda model: str(model.get("identity")))
    for path, descending in reversed(sort):
        ranked = [(resolve(model, path), model) for model in ordered]
        present = [(_rank(value), model) for value, model in ranked if value is not None]
        present.sort(key=lambda pair: pair[0], reverse=descending)  # stable either way
        ordered = [model for _, model in present] + [m for v, m in ranked if v is None]
    return ordered


def parse_page(index: str | None, size: str | None) -> tuple[int, int]:
    """(pageIndex, pageSize): index from 0, size from 0 up to MAX_PAGE_SIZE (the default)."""
    try:
        page_index = int(index) if index is not None else 0
        page_size = int(size) if size is not None else MAX_PAGE_SIZE
    except ValueError:
        raise QueryError("pageIndex and pageSize must be integers") from None
    if page_index < 0 or not 0 <= page_size <= MAX_PAGE_SIZE:
        raise QueryError(f"pageIndex >= 0 and 0 <= pageSize <= {MAX_PAGE_SIZE} expected")
    return page_index, page_size


def page(models: Sequence[Model], index: int, size: int) -> list[Model]:
    return list(models[index * size : (index + 1) * size])
