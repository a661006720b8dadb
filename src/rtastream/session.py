"""The RTA session model (Session JSON) and its lifecycle, in one place.

A session starts `waiting` or `open` and ends in one of the closed states (number >= 4).
Both writers change state only through `Session.transition`, so the rules live here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rtastream.errors import RtaStreamError


class SessionState(enum.IntEnum):
    """Session states with their (gRPC) numbers; the JSON uses the camelCase names."""

    UNKNOWN = 0
    WAITING = 1
    OPEN = 2
    CLOSED = 4
    TRUNCATED = 12
    FAILED = 28
    ABANDONED = 44

    @property
    def json_name(self) -> str:
        return self.name.lower()

    @property
    def is_closed(self) -> bool:
        return self >= SessionState.CLOSED

    @classmethod
    def parse(cls, value: Any) -> SessionState:
        """A state from a SessionState, its number or its (case-insensitive) name."""
        if isinstance(value, SessionState):
            return value
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                pass
        names = ", ".join(s.json_name for s in cls)
        raise ValueError(f"state must be one of {names} (or their numbers), got {value!r}")


_ENDINGS = frozenset(
    {SessionState.CLOSED, SessionState.TRUNCATED, SessionState.FAILED, SessionState.ABANDONED}
)
ALLOWED_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.UNKNOWN: frozenset({SessionState.WAITING, SessionState.OPEN}) | _ENDINGS,
    SessionState.WAITING: frozenset({SessionState.OPEN}) | _ENDINGS,
    SessionState.OPEN: _ENDINGS,
    # A closed session is final; only a cleanup tool may mark a stale one abandoned.
    SessionState.CLOSED: frozenset(),
    SessionState.TRUNCATED: frozenset(),
    SessionState.FAILED: frozenset(),
    SessionState.ABANDONED: frozenset(),
}


class IllegalTransition(RtaStreamError, ValueError):
    """A state change the session lifecycle does not allow (e.g. closed -> open)."""


def check_transition(old: SessionState, new: SessionState) -> None:
    if new != old and new not in ALLOWED_TRANSITIONS[old]:
        allowed = ", ".join(sorted(s.json_name for s in ALLOWED_TRANSITIONS[old])) or "none"
        raise IllegalTransition(
            f"session state cannot change from {old.json_name} to {new.json_name} "
            f"(allowed from {old.json_name}: {allowed})"
        )


@dataclass(frozen=True)
class ConfigBinding:
    identifier: str
    channel_offset: int = 0


@dataclass(frozen=True)
class TimeRange:
    """Inclusive, ns since the Unix epoch."""

    start_time: int
    end_time: int

    def __post_init__(self) -> None:
        if self.end_time < self.start_time:
            raise ValueError(
                f"timeRange ends before it starts: endTime {self.end_time} "
                f"< startTime {self.start_time}"
            )


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Session:
    """One RTA session as streamed in Session JSON updates (immutable; use `replace`).

    `to_json()` gives camelCase JSON with nulls and empty collections left out.
    """

    identity: str
    state: SessionState = SessionState.OPEN
    identifier: str = ""
    timestamp: datetime = field(default_factory=now)
    time_range: TimeRange | None = None
    start_timestamp: datetime | None = None
    end_timestamp: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    ext_details: Mapping[str, Any] = field(default_factory=dict)
    type: str | None = None
    quality: float | None = None
    group: str | None = None
    version: int | None = None
    children: tuple[str, ...] = ()
    alternates: tuple[str, ...] = ()
    config_bindings: tuple[ConfigBinding, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.identity, str) or not self.identity:
            raise ValueError(f"session identity must be a non-empty str, got {self.identity!r}")
        set_ = object.__setattr__  # normalise inputs once, the dataclass stays frozen
        set_(self, "state", SessionState.parse(self.state))
        if not self.identifier:
            set_(self, "identifier", self.identity)
        for name in ("timestamp", "start_timestamp", "end_timestamp"):
            set_(self, name, _datetime(getattr(self, name), name))
        if isinstance(self.time_range, (tuple, list)):
            set_(self, "time_range", TimeRange(*self.time_range))
        elif isinstance(self.time_range, Mapping):
            set_(
                self,
                "time_range",
                TimeRange(int(self.time_range["startTime"]), int(self.time_range["endTime"])),
            )
        if self.quality is not None and not 0 <= self.quality <= 1:
            raise ValueError(f"session quality must be between 0 and 1, got {self.quality}")
        set_(self, "children", tuple(self.children))
        set_(self, "alternates", tuple(self.alternates))
        set_(self, "config_bindings", tuple(_binding(b) for b in self.config_bindings))

    def replace(self, **changes: Any) -> Session:
        return dataclasses.replace(self, **changes)

    def transition(self, state: Any, **changes: Any) -> Session:
        """A copy in `state`, or IllegalTransition if the lifecycle forbids it."""
        new = SessionState.parse(state)
        check_transition(self.state, new)
        return self.replace(state=new, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = _jsonable(getattr(self, f.name))
            if value is None or value == {} or value == []:
                continue
            out[_camel(f.name)] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        """A Session from camelCase Session JSON properties (unknown ones are an error)."""
        names = {_camel(f.name): f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown Session JSON properties {unknown}; known: {sorted(names)}")
        if "identity" not in data:
            raise ValueError("Session JSON needs an 'identity'")
        return cls(**{names[k]: v for k, v in data.items() if v is not None})

    @classmethod
    def from_json(cls, text: str | bytes) -> Session:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ValueError(f"session is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"Session JSON must be an object, got {type(data).__name__}")
        return cls.from_dict(data)

    @classmethod
    def coerce(cls, value: Session | Mapping[str, Any] | str) -> Session:
        """A Session from a Session, a camelCase mapping or Session JSON text."""
        if isinstance(value, Session):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        if isinstance(value, (str, bytes)):
            return cls.from_json(value)
        raise TypeError(
            f"session must be a Session, a mapping or JSON text, not {type(value).__name__}"
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _datetime(value: Any, name: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} needs a time zone (ISO 8601 with offset), got {value}")
        return value
    if isinstance(value, str):
        return _datetime(datetime.fromisoformat(value.replace("Z", "+00:00")), name)
    raise TypeError(f"{name} must be a datetime or ISO 8601 text, not {type(value).__name__}")


def _binding(value: Any) -> ConfigBinding:
    if isinstance(value, ConfigBinding):
        return value
    if isinstance(value, Mapping):
        return ConfigBinding(value["identifier"], int(value.get("channelOffset", 0)))
    raise TypeError(f"configBindings entries must be ConfigBinding or mappings, not {value!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, SessionState):
        return value.json_name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value):
        return {
            _camel(f.name): _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value
