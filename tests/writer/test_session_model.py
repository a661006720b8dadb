"""The Session JSON model and the session lifecycle (no Redis)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from rtastream import IllegalTransition, Session, SessionState
from rtastream.session import ConfigBinding, TimeRange
from stream_oracle import STATE_NUMBERS

T = datetime(2025, 6, 15, 15, 6, 40, tzinfo=timezone(timedelta(hours=2)))


def test_state_numbers_match_the_protocol():
    assert {s.json_name: int(s) for s in SessionState} == STATE_NUMBERS
    assert [s.json_name for s in SessionState if s.is_closed] == [
        "closed",
        "truncated",
        "failed",
        "abandoned",
    ]


def test_minimal_json_has_required_properties_and_omits_empty_ones():
    doc = json.loads(Session("run-1", timestamp=T).to_json())
    assert doc == {
        "identity": "run-1",
        "state": "open",
        "identifier": "run-1",
        "timestamp": "2025-06-15T15:06:40+02:00",
    }


def test_full_json_is_camel_case():
    session = Session(
        "run-2",
        state="waiting",
        identifier="Run 2",
        timestamp=T,
        time_range=(10, 20),
        start_timestamp=T,
        end_timestamp=T + timedelta(seconds=1),
        details={"driver": "A", "lap": 3, "wet": False, "at": T},
        ext_details={"k": "v"},
        type="Session",
        quality=0.5,
        group="g",
        version=2,
        children=["c1"],
        alternates=["a1"],
        config_bindings=[ConfigBinding("cfg", 100), {"identifier": "cfg2"}],
    )
    doc = json.loads(session.to_json())
    assert doc == {
        "identity": "run-2",
        "state": "waiting",
        "identifier": "Run 2",
        "timestamp": "2025-06-15T15:06:40+02:00",
        "timeRange": {"startTime": 10, "endTime": 20},
        "startTimestamp": "2025-06-15T15:06:40+02:00",
        "endTimestamp": "2025-06-15T15:06:41+02:00",
        "details": {"driver": "A", "lap": 3, "wet": False, "at": "2025-06-15T15:06:40+02:00"},
        "extDetails": {"k": "v"},
        "type": "Session",
        "quality": 0.5,
        "group": "g",
        "version": 2,
        "children": ["c1"],
        "alternates": ["a1"],
        "configBindings": [
            {"identifier": "cfg", "channelOffset": 100},
            {"identifier": "cfg2", "channelOffset": 0},
        ],
    }
    assert Session.from_json(session.to_json()).to_json() == session.to_json()  # round trip


def test_str_and_dict_are_accepted():
    text = '{"identity": "x", "state": "waiting", "timestamp": "2025-06-15T13:06:40Z"}'
    from_text = Session.coerce(text)
    assert from_text.state is SessionState.WAITING
    assert from_text.timestamp == T
    assert Session.coerce(json.loads(text)) == from_text


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"identity": "x", "colour": "red"}, "unknown Session JSON properties \\['colour'\\]"),
        ({"state": "open"}, "needs an 'identity'"),
        ({"identity": "x", "state": "running"}, "state must be one of"),
        ({"identity": "x", "quality": 2}, "quality must be between 0 and 1"),
        ({"identity": "x", "timeRange": {"startTime": 5, "endTime": 1}}, "ends before it starts"),
        ({"identity": "x", "timestamp": "2025-06-15T13:06:40"}, "needs a time zone"),
        ("[1, 2]", "must be an object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_session_input_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        Session.coerce(bad)


def test_lifecycle_allows_forward_moves_only():
    waiting = Session("x", state="waiting")
    opened = waiting.transition("open")
    assert opened.state is SessionState.OPEN
    for end in ("closed", "truncated", "failed", "abandoned"):
        assert opened.transition(end).state.json_name == end
        assert waiting.transition(end).state.json_name == end
    assert opened.transition("open") == opened  # same state: a metadata update
    with pytest.raises(IllegalTransition, match="cannot change from open to waiting"):
        opened.transition("waiting")
    closed = opened.transition(SessionState.CLOSED)
    with pytest.raises(IllegalTransition, match="from closed to open .*allowed from closed: none"):
        closed.transition(2)
    with pytest.raises(IllegalTransition):
        closed.transition("failed")


def test_time_range_is_inclusive_and_ordered():
    assert TimeRange(5, 5).end_time == 5
    with pytest.raises(ValueError, match="endTime 4 < startTime 5"):
        TimeRange(5, 4)
