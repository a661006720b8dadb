"""The session query dialect, sort and paging (rtastream.server.rest.query): each operator
on hand-picked sessions, then random queries held to a small evaluator written here."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtastream.server.rest.query import (
    MAX_PAGE_SIZE,
    QueryError,
    page,
    parse_page,
    parse_query,
    parse_sort,
    sort_models,
)

SESSIONS = [
    {
        "identity": "a",
        "identifier": "Run 17 Silverstone",
        "state": "closed",
        "timestamp": "2025-06-15T15:00:00+00:00",
        "quality": 0.5,
        "details": {"Driver": "Bob", "Lap": 3, "Wet": False},
        "extDetails": {"Car": {"Setup": "high"}},
    },
    {
        "identity": "b",
        "identifier": "Run 18 Monza",
        "state": "open",
        "timestamp": "2025-06-15T16:30:00+02:00",  # 14:30 UTC: before a
        "quality": 1,
        "details": {"Driver": "Ann", "Lap": 12, "Wet": True},
    },
    {
        "identity": "c",
        "identifier": "test",
        "state": "open",
        "timestamp": "2025-06-15T15:00:00.5Z",
        "details": {"Driver": "Bob", "Lap": "12"},
    },
]


def matching(query: object) -> list[str]:
    test = parse_query(json.dumps(query))
    return [s["identity"] for s in SESSIONS if test(s)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["a", "b", "c"]),
        ({"state": "open"}, ["b", "c"]),  # a literal is equality
        ({"details.Driver": "Bob"}, ["a", "c"]),  # dotted path
        ({"extDetails.Car.Setup": "high"}, ["a"]),
        ({"details.Lap": 12}, ["b"]),  # 12 is not "12"
        ({"quality": None}, ["c"]),  # missing reads as null
        ({"state": {"$eq": "closed"}}, ["a"]),
        ({"state": {"$neq": "closed"}}, ["b", "c"]),
        ({"quality": {"$neq": 1}}, ["a", "c"]),  # missing is not 1
        ({"details.Lap": {"$gt": 3}}, ["b"]),  # "12" is not a number
        ({"details.Lap": {"$gte": 3}}, ["a", "b"]),
        ({"details.Lap": {"$lt": 12}}, ["a"]),
        ({"details.Lap": {"$lte": 12}}, ["a", "b"]),
        ({"quality": {"$lt": 1.0}}, ["a"]),
        ({"details.Wet": {"$lt": True}}, ["a"]),  # booleans order false < true
        # instants, whatever the offset
        ({"timestamp": {"$gt": "2025-06-15T15:00:00Z"}}, ["c"]),
        ({"timestamp": {"$lt": "2025-06-15T17:00:00+02:00"}}, ["b"]),
        ({"timestamp": {"$eq": "2025-06-15T14:30:00Z"}}, ["b"]),
        ({"timestamp": {"$gte": "2025-06-15"}}, ["a", "b", "c"]),
        ({"identifier": {"$gt": "Run 18"}}, ["b", "c"]),  # ordinal, as text
        ({"state": {"$in": ["closed", "waiting"]}}, ["a"]),
        ({"details.Lap": {"$in": [3, "12"]}}, ["a", "c"]),
        ({"details.Lap": {"$nin": [3, "12"]}}, ["b"]),
        ({"quality": {"$in": [None]}}, ["c"]),
        ({"identifier": {"$startsWith": "Run"}}, ["a", "b"]),
        ({"identifier": {"$startsWith": "run"}}, []),  # case matters
        ({"identifier": {"$endsWith": "Monza"}}, ["b"]),
        ({"identifier": {"$contains": "1"}}, ["a", "b"]),
        ({"details.Lap": {"$contains": "1"}}, ["c"]),  # only strings contain
        ({"state": {"$not": {"$eq": "open"}}}, ["a"]),
        ({"identifier": {"$not": {"$startsWith": "Run"}}}, ["c"]),
        ({"$not": {"state": "open"}}, ["a"]),  # the guide's criteria-level $not
        ({"state": "open", "details.Driver": "Bob"}, ["c"]),  # keys AND
        ({"$and": [{"state": "open"}, {"details.Lap": "12"}]}, ["c"]),
        ({"$and": []}, ["a", "b", "c"]),
        ({"$or": [{"identity": "a"}, {"details.Driver": "Ann"}]}, ["a", "b"]),
        ({"$or": []}, []),
        ({"$nor": [{"identity": "a"}, {"details.Driver": "Ann"}]}, ["c"]),
        ({"details.Lap": {"$gt": 1, "$lt": 10}}, ["a"]),  # two operators: both hold
        ({"details": {"$eq": None}}, []),  # an object is not a scalar
        ({"details..Lap": None, "": None}, ["a", "b", "c"]),  # paths to nowhere read null
    ],
)
def test_each_operator(query, expected):
    assert matching(query) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "query is not JSON"),
        ("[]", "query: criteria must be a JSON object"),
        ('{"$where": 1}', "query: unknown operator '$where'"),
        ('{"a": {"$regex": "x"}}', "a: unknown operator '$regex'"),
        ('{"a": {}}', "a: an empty condition"),
        ('{"a": [1]}', "a: a literal takes a string, number, boolean or null"),
        ('{"a": {"$in": 1}}', "a: $in takes an array"),
        ('{"a": {"$in": [[1]]}}', "a: $in takes a string, number"),
        ('{"a": {"$gt": {}}}', "a: $gt takes a string, number"),
        ('{"a": {"$contains": 1}}', "a: $contains takes a string"),
        ('{"a": {"$not": 1}}', "a: $not takes a condition object"),
        ('{"$or": {}}', "query: $or takes an array of criteria"),
        ('{"$and": [1]}', "query.$and[0]: criteria must be a JSON object"),
        ('{"a": NaN}', "query: NaN is not a JSON number"),
        ('{"$and": [' * 5000 + "{}" + "]}" * 5000, "query: nested more than 64 deep"),
        ('{"$and": [' * 40 + "{}" + "]}" * 40, "query: nested more than 64 deep"),
    ],
)
def test_bad_queries_say_why(text, reason):
    with pytest.raises(QueryError) as raised:
        parse_query(text)
    assert str(raised.value).startswith(reason), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_query_nested_to_the_limit_is_evaluated():
    query = '{"$not": ' * 63 + '{"state": "open"}' + "}" * 63  # odd: not open
    assert matching(json.loads(query)) == ["a"]


def test_blank_query_matches_everything():
    assert all(parse_query(None)(s) and parse_query("  ")(s) for s in SESSIONS)


def ids(models):
    return [m["identity"] for m in models]


def test_sort_default_newest_first_and_by_any_path():
    assert ids(sort_models(SESSIONS, parse_sort([]))) == ["c", "a", "b"]
    assert ids(sort_models(SESSIONS, parse_sort(["timestamp:asc"]))) == ["b", "a", "c"]
    assert ids(sort_models(SESSIONS, parse_sort(["details.Driver", "timestamp:desc"]))) == [
        "b",
        "c",
        "a",
    ]
    assert ids(sort_models(SESSIONS, parse_sort(["details.Driver:asc,timestamp:asc"]))) == [
        "b",
        "a",
        "c",
    ]
    # a missing value comes last either way; an unknown field leaves the order by identity
    assert ids(sort_models(SESSIONS, parse_sort(["quality:desc"]))) == ["b", "a", "c"]
    assert ids(sort_models(SESSIONS, parse_sort(["quality:asc"]))) == ["a", "b", "c"]
    assert ids(sort_models(SESSIONS, parse_sort(["nobody.knows:desc"]))) == ["a", "b", "c"]
    # numbers before strings: "12" after 3 and 12 when ascending
    assert ids(sort_models(SESSIONS, parse_sort(["details.Lap:ASC"]))) == ["a", "b", "c"]


def test_sort_terms_never_refused():
    assert parse_sort(["timestamp:up", ":asc", "a:b:DESC", " ", "x, y:desc"]) == [
        ("timestamp:up", False),
        ("a:b", True),
        ("x", False),
        ("y", True),
    ]
    assert list(parse_sort([",", ""])) == [("timestamp", True)]


def test_paging():
    assert parse_page(None, None) == (0, MAX_PAGE_SIZE)
    assert parse_page("2", "0") == (2, 0)
    assert page(list(range(7)), 1, 3) == [3, 4, 5]
    assert page(list(range(7)), 2, 3) == [6]
    assert page(list(range(7)), 10**30, 3) == []
    for index, size in [("-1", "1"), ("0", "-1"), ("0", str(MAX_PAGE_SIZE + 1)), ("x", "1")]:
        with pytest.raises(QueryError):
            parse_page(index, size)


# --- random queries against a small evaluator written here ------------------------------

PATHS = ["identity", "state", "quality", "timestamp", "details.Driver", "details.Lap", "no.such"]
DATES = [
    "2025-06-15T15:00:00+00:00",
    "2025-06-15T17:00:00+02:00",
    "2025-06-15T15:00:00Z",
    "2025-06-15T14:59:59.250000-00:30",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.5, 2.0]),
    st.sampled_from(["Bob", "Ann", "Bobby", "", "open", "closed", *DATES]),
)
CONDITIONS = st.recursive(
    st.one_of(
        SCALARS,
        st.builds(
            lambda op, v: {op: v},
            st.sampled_from(["$eq", "$neq", "$gt", "$gte", "$lt", "$lte"]),
            SCALARS,
        ),
        st.builds(
            lambda op, v: {op: v}, st.sampled_from(["$in", "$nin"]), st.lists(SCALARS, max_size=3)
        ),
        st.builds(
            lambda op, v: {op: v},
            st.sampled_from(["$startsWith", "$endsWith", "$contains"]),
            st.sampled_from(["B", "Bob", "ob", "", "2025", "+02:00"]),
        ),
    ),
    lambda inner: st.builds(lambda c: {"$not": c}, inner.filter(lambda c: isinstance(c, dict))),
    max_leaves=3,
)
CRITERIA = st.recursive(
    st.dictionaries(st.sampled_from(PATHS), CONDITIONS, max_size=2),
    lambda inner: st.one_of(
        st.builds(
            lambda op, parts: {op: parts},
            st.sampled_from(["$and", "$or", "$nor"]),
            st.lists(inner, max_size=3),
        ),
        st.builds(lambda c: {"$not": c}, inner),
    ),
    max_leaves=6,
)
MODELS = st.fixed_dictionaries(
    {"identity": st.sampled_from(["a", "b", "c"])},
    optional={
        "state": SCALARS,
        "quality": SCALARS,
        "timestamp": SCALARS,
        "details": st.fixed_dictionaries({}, optional={"Driver": SCALARS, "Lap": SCALARS}),
    },
)


def oracle_value(model, path):
    for name in path.split("."):
        model = model.get(name) if isinstance(model, dict) else None
    return model


def oracle_moment(text):
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def oracle_compare(a, b):
    kinds = {type(a), type(b)}
    if kinds <= {int, float}:
        return (a > b) - (a < b)
    if kinds == {str}:
        ma, mb = oracle_moment(a), oracle_moment(b)
        if ma and mb:
            return (ma > mb) - (ma < mb)
        return (a > b) - (a < b)
    if kinds == {bool} or (a is None and b is None):
        return (a > b) - (a < b) if kinds == {bool} else 0
    return None


def oracle_operator(found, op, v):
    if op in ("$in", "$nin"):
        inside = any(oracle_compare(found, x) == 0 for x in v)
        return inside if op == "$in" else not inside
    if op in ("$startsWith", "$endsWith", "$contains"):
        if not isinstance(found, str):
            return False
        if op == "$startsWith":
            return found[: len(v)] == v
        if op == "$endsWith":
            return v == "" or found[-len(v) :] == v
        return found.find(v) >= 0
    if op == "$not":
        return not oracle_condition(found, v)
    c = oracle_compare(found, v)
    if op == "$neq":
        return c != 0
    return (
        c is not None
        and {"$eq": c == 0, "$gt": c > 0, "$gte": c >= 0, "$lt": c < 0, "$lte": c <= 0}[op]
    )


def oracle_condition(found, spec):
    if not isinstance(spec, dict):
        return oracle_compare(found, spec) == 0
    return all(oracle_operator(found, op, v) for op, v in spec.items())


def oracle(model, criteria):
    for key, spec in criteria.items():
        if key == "$and" and not all(oracle(model, c) for c in spec):
            return False
        if key == "$or" and not any(oracle(model, c) for c in spec):
            return False
        if key == "$nor" and any(oracle(model, c) for c in spec):
            return False
        if key == "$not" and oracle(model, spec):
            return False
        if not key.startswith("$") and not oracle_condition(oracle_value(model, key), spec):
            return False
    return True


@settings(max_examples=400, deadline=None)
@given(CRITERIA, st.lists(MODELS, max_size=6))
def test_random_queries_agree_with_the_evaluator(criteria, models):
    test = parse_query(json.dumps(criteria))
    assert [test(m) for m in models] == [oracle(m, criteria) for m in models]


def oracle_kind(value):
    if isinstance(value, str) and oracle_moment(value) is not None:
        return "instant"
    return "number" if type(value) in (int, float) else type(value).__name__


@settings(max_examples=200, deadline=None)
@given(st.lists(MODELS, max_size=8), st.sampled_from(PATHS), st.booleans())
def test_random_sorts_order_every_present_value_and_put_missing_last(models, path, descending):
    ordered = sort_models(models, [(path, descending)])
    assert sorted(map(id, ordered)) == sorted(map(id, models))
    values = [oracle_value(m, path) for m in ordered]
    present = [v for v in values if v is not None]
    assert values == present + [None] * (len(values) - len(present))
    for x, y in zip(present, present[1:], strict=False):
        c = oracle_compare(x, y)
        if c is not None and oracle_kind(x) == oracle_kind(y):  # one kind: in the asked order
            assert (c >= 0) if descending else (c <= 0), (x, y)
