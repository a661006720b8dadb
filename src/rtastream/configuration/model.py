"""The RTA configuration as Python objects, and their JSON form.

Every class is a frozen dataclass whose fields are the schema's properties in snake_case
(`warn_min` is `warnMin`), except a few renamed to say what they hold: `description` is
`desc`, `conversion` is `conv`, `priority` is `pri`, an event's `conversions` is `convs`, a
parameter's `function` is `func`. None and empty fields are left out of the JSON, except a
channel's `source` and `type`, always written: absent, RTA reads them as row and f64.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from rtastream.configuration import references, schema
from rtastream.configuration.types import KINDS, config_type

T = TypeVar("T")

ONE_TO_ONE = (0.0, 1.0, 0.0, 0.0, 1.0, 0.0)
"""Rational coefficients of the 1:1 conversion (what no conversion means)."""

SIMPLE_FORMAT = "%5.3f"


def _renamed(json_name: str, default: Any = None) -> Any:
    return field(default=default, metadata={"json": json_name})


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # normalising inputs once: the dataclass stays frozen


def _float(value: Any) -> Any:
    """A number as a float (JSON's 1500 and 1500.0 are one value); anything else as it is,
    for the schema to name."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _floats(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, (list, tuple)):
            _set(obj, name, tuple(map(_float, value)))
        else:
            _set(obj, name, _float(value))


def _tuples(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, (list, tuple)):
            _set(obj, name, tuple(value))


@dataclass(frozen=True, kw_only=True)
class ApplicationIdentity:
    comms_path: str
    application_version_id: str


@dataclass(frozen=True, kw_only=True)
class ApplicationRda:
    owner_id: int
    support: str


@dataclass(frozen=True, kw_only=True)
class Function:
    """A virtual parameter's function."""

    code: str
    lang: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParameterGroup:
    id: str
    description: str | None = _renamed("desc")
    groups: tuple[ParameterGroup, ...] = ()
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _tuples(self, "groups", "params")


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """A parameter: `description` defaults to its name (RTA requires one)."""

    id: str
    name: str
    conversion: str = _renamed("conv", "")
    channels: tuple[int, ...] = ()
    description: str = _renamed("desc", "")
    type: str | None = None
    unit: str | None = None
    format: str | None = None
    min: float | None = None
    max: float | None = None
    warn_min: float | None = None
    warn_max: float | None = None
    byte_order: str | None = None
    offset: float | None = None
    mask: str | None = None
    error_mask: str | None = None
    shift: int | None = None
    function: Function | None = _renamed("func")

    def __post_init__(self) -> None:
        if not self.description:
            _set(self, "description", self.name)
        _tuples(self, "channels")
        _floats(self, "min", "max", "warn_min", "warn_max", "offset")


@dataclass(frozen=True, kw_only=True)
class Channel:
    """A channel: `type` is an RTA type name or a numpy dtype (kept as the RTA name)."""

    id: int
    source: str
    type: str
    name: str | None = None
    interval: int | None = None

    def __post_init__(self) -> None:
        try:
            _set(self, "type", config_type(self.type))
        except ValueError as e:
            label = f"{self.id} ({self.name})" if self.name else f"{self.id}"
            raise ValueError(f"channel {label}: {e}") from None

    @property
    def kind(self) -> str | None:
        """The data the writer takes for it (timestamped, periodic, row), or None if RTA does
        not stream its source."""
        return KINDS.get(self.source)


@dataclass(frozen=True, kw_only=True)
class Rational:
    coeffs: tuple[float, ...] = ONE_TO_ONE

    def __post_init__(self) -> None:
        _floats(self, "coeffs")


@dataclass(frozen=True, kw_only=True)
class Table:
    raw: tuple[float, ...]
    calibrated: tuple[float, ...]
    interpolated: bool | None = None

    def __post_init__(self) -> None:
        _floats(self, "raw", "calibrated")


@dataclass(frozen=True, kw_only=True)
class Text:
    keys: tuple[float, ...]
    values: tuple[str, ...]
    default: str | None = None

    def __post_init__(self) -> None:
        _floats(self, "keys")
        _tuples(self, "values")


@dataclass(frozen=True, kw_only=True)
class Formula:
    code: str


@dataclass(frozen=True, kw_only=True)
class Conversion:
    """How raw values become engineering values: at most one of rational, table, text and
    formula (none is 1:1)."""

    name: str
    unit: str | None = None
    format: str | None = None
    rational: Rational | None = None
    table: Table | None = None
    text: Text | None = None
    formula: Formula | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorDefinition:
    name: str
    group: str
    current: str
    logged: str
    description: str | None = _renamed("desc")
    bit: int | None = None


@dataclass(frozen=True, kw_only=True)
class EventDefinition:
    """An event kind. ATLAS shows at most three data values, so at most three conversions."""

    id: int
    code: str | None = None
    description: str | None = _renamed("desc")
    priority: str | None = _renamed("pri")
    conversions: tuple[str, ...] = _renamed("convs", ())

    def __post_init__(self) -> None:
        _tuples(self, "conversions")


@dataclass(frozen=True, kw_only=True)
class Application:
    """One application. `groups` and `params` are its tree: top-level groups, and the
    parameters bound to the application itself."""

    name: str
    description: str | None = _renamed("desc")
    identity: ApplicationIdentity | None = None
    rda: ApplicationRda | None = None
    groups: tuple[ParameterGroup, ...] = ()
    params: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    channels: tuple[Channel, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    errors: tuple[ErrorDefinition, ...] = ()
    events: tuple[EventDefinition, ...] = ()

    def __post_init__(self) -> None:
        _tuples(
            self, "groups", "params", "parameters", "channels", "conversions", "errors", "events"
        )


_TREE = ("groups", "params")


@dataclass(frozen=True)
class Configuration:
    """An RTA configuration: one or more applications. Checked when made (the schema, then
    what refers to what): a bad one raises ValueError naming the field.

    `to_json()` is its canonical JSON (keys sorted, no spaces), `identifier` the SHA-256 of
    that JSON in hex: the same configuration always has the same identifier.
    """

    applications: tuple[Application, ...]

    def __post_init__(self) -> None:
        if isinstance(self.applications, Application):
            _set(self, "applications", (self.applications,))
        # Keyed by name in the JSON: their order means nothing, so one order for equality.
        _set(self, "applications", tuple(sorted(self.applications, key=lambda a: a.name)))
        if not self.applications:
            raise ValueError("a configuration needs at least one application")
        names = [app.name for app in self.applications]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"configuration: two applications are named {name!r}")
        document = self.to_dict()
        schema.check(document)
        references.check(document)

    # -- JSON --

    def to_dict(self) -> dict[str, Any]:
        return {app.name: _application_json(app) for app in self.applications}

    def to_json(self) -> str:
        """The canonical JSON: what is published, and what the identifier is of."""
        return self._canonical

    @cached_property
    def _canonical(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def identifier(self) -> str:
        return hashlib.sha256(self._canonical.encode()).hexdigest()

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Configuration:
        """A configuration from RTA JSON (parsed): checked against the schema first, so an
        error names the document's own field. A property rtastream does not know is refused
        (it would be lost)."""
        schema.check(document)
        return cls(tuple(_application(name, app, name) for name, app in document.items()))

    @classmethod
    def from_json(cls, text: str | bytes) -> Configuration:
        try:
            document = json.loads(text)
        except ValueError as e:
            raise ValueError(f"configuration is not valid JSON: {e}") from None
        if not isinstance(document, dict):
            raise ValueError(
                f"an RTA configuration is a JSON object of applications, not "
                f"{type(document).__name__}"
            )
        return cls.from_dict(document)

    @classmethod
    def coerce(cls, value: Configuration | Mapping[str, Any] | str | bytes) -> Configuration:
        """A configuration from a Configuration, parsed RTA JSON or RTA JSON text."""
        if isinstance(value, Configuration):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        if isinstance(value, (str, bytes)):
            return cls.from_json(value)
        raise TypeError(
            f"config must be a Configuration, a mapping of RTA JSON or its text, not "
            f"{type(value).__name__}"
        )

    # -- the short form --

    @classmethod
    def simple(
        cls,
        app: str,
        channels: Mapping[str, tuple[Any, str, str] | tuple[Any, str, str, int]],
        *,
        first_channel: int = 1,
        events: Mapping[int, str] | None = None,
    ) -> Configuration:
        """The common case: `channels` maps each parameter name to (dtype, source, unit),
        or (dtype, source, unit, interval in ns) for a periodic channel; dtype an RTA type
        name or a numpy dtype, source timestamped, periodic or row. Each gets a channel,
        numbered from `first_channel` in order, and a 1:1 conversion with its unit;
        parameter ids are name:app. `events` maps event ids to their descriptions."""
        parameters, declared, conversions = [], [], []
        for number, (name, spec) in enumerate(channels.items(), start=first_channel):
            if not isinstance(spec, tuple) or len(spec) not in (3, 4):
                raise ValueError(
                    f"channel {name!r}: give (dtype, source, unit[, interval]), e.g. "
                    f"('f64', 'timestamped', 'km/h'), not {spec!r}"
                )
            dtype, source, unit, *interval = spec
            if source not in KINDS:
                raise ValueError(
                    f"channel {name!r}: source {source!r} is not one RTA streams "
                    f"({', '.join(KINDS)})"
                )
            qualified = f"{name}:{app}"
            declared.append(
                Channel(
                    id=number,
                    source=source,
                    type=dtype,
                    name=name,
                    interval=interval[0] if interval else None,
                )
            )
            conversions.append(Conversion(name=qualified, unit=unit, format=SIMPLE_FORMAT))
            parameters.append(
                Parameter(id=qualified, name=name, conversion=qualified, channels=(number,))
            )
        defined = [
            EventDefinition(id=number, description=text, priority="high")
            for number, text in (events or {}).items()
        ]
        application = Application(
            name=app,
            params=tuple(p.id for p in parameters),
            parameters=tuple(parameters),
            channels=tuple(declared),
            conversions=tuple(conversions),
            events=tuple(defined),
        )
        return cls((application,))

    # -- looking things up --

    def channels(self) -> Iterable[tuple[Application, Channel]]:
        for app in self.applications:
            for channel in app.channels:
                yield app, channel

    def parameter_of(self, channel_id: int) -> Parameter | None:
        """The first parameter fed by the channel (its name and unit are the channel's)."""
        for app in self.applications:
            for parameter in app.parameters:
                if channel_id in parameter.channels:
                    return parameter
        return None

    def unit_of(self, parameter: Parameter) -> str:
        """The parameter's unit: its own, else its conversion's."""
        if parameter.unit is not None:
            return parameter.unit
        for app in self.applications:
            for conversion in app.conversions:
                if conversion.name == parameter.conversion:
                    return conversion.unit or ""
        return ""


# ---- to and from JSON, field by field ----


def _json_name(f: dataclasses.Field[Any]) -> str:
    renamed: str | None = f.metadata.get("json")
    if renamed is not None:
        return renamed
    head, *rest = f.name.split("_")
    return head + "".join(part.title() for part in rest)


def _to_json(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None or (value == () and f.default == ()):  # a required list stays
            continue
        out[_json_name(f)] = _value_json(value)
    return out


def _value_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _to_json(value)
    if isinstance(value, tuple):
        return [_value_json(v) for v in value]
    return value


def _application_json(app: Application) -> dict[str, Any]:
    out = _to_json(app)
    out.pop("name")
    tree = {name: out.pop(name) for name in _TREE if name in out}
    if tree:
        out["tree"] = tree
    return out


# What each class's nested fields hold: (class, True if a list of them).
_NESTED: dict[type, dict[str, tuple[type, bool]]] = {
    Application: {
        "identity": (ApplicationIdentity, False),
        "rda": (ApplicationRda, False),
        "groups": (ParameterGroup, True),
        "parameters": (Parameter, True),
        "channels": (Channel, True),
        "conversions": (Conversion, True),
        "errors": (ErrorDefinition, True),
        "events": (EventDefinition, True),
    },
    ParameterGroup: {"groups": (ParameterGroup, True)},
    Parameter: {"function": (Function, False)},
    Conversion: {
        "rational": (Rational, False),
        "table": (Table, False),
        "text": (Text, False),
        "formula": (Formula, False),
    },
}


def _from_json(cls: type[T], data: Mapping[str, Any], where: str, **given: Any) -> T:
    fields = {_json_name(f): f.name for f in dataclasses.fields(cls) if f.name not in given}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(
            f"configuration {where}: unknown {'property' if len(unknown) == 1 else 'properties'} "
            f"{', '.join(map(repr, unknown))} (known: {', '.join(sorted(fields))})"
        )
    nested = _NESTED.get(cls, {})
    values = dict(given)
    for key, value in data.items():
        name = fields[key]
        inner = nested.get(name)
        if inner is None:
            values[name] = value
        elif inner[1]:
            values[name] = tuple(
                _from_json(inner[0], item, f"{where}.{key}[{i}]") for i, item in enumerate(value)
            )
        else:
            values[name] = _from_json(inner[0], value, f"{where}.{key}")
    return cls(**values)


def _application(name: str, data: Mapping[str, Any], where: str) -> Application:
    data = dict(data)
    tree = data.pop("tree", {})
    unknown = sorted(set(tree) - set(_TREE))
    if unknown:
        raise ValueError(f"configuration {where}.tree: unknown properties {unknown}")
    # Channels RTA reads without a source or type have its defaults, written out from here on.
    data["channels"] = [{"source": "row", "type": "f64", **c} for c in data.get("channels", [])]
    return _from_json(Application, {**data, **tree}, where, name=name)
