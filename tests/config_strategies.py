"""Hypothesis strategies of valid RTA configurations, built as rtastream objects with every
reference resolved (conversions, channels, parameters), over every optional property."""

from __future__ import annotations

from hypothesis import strategies as st

from rtastream.configuration import (
    Application,
    ApplicationIdentity,
    ApplicationRda,
    Channel,
    Configuration,
    Conversion,
    ErrorDefinition,
    EventDefinition,
    Formula,
    Function,
    Parameter,
    ParameterGroup,
    Rational,
    Table,
    Text,
)
from rtastream.configuration.types import SOURCES, TYPES

text = st.text(min_size=1, max_size=8)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
maybe = st.none
small_ints = st.integers(-(2**31), 2**31)


def optional(strategy):
    return st.one_of(maybe(), strategy)


@st.composite
def conversion(draw, name: str):
    kind = draw(st.sampled_from(["none", "rational", "table", "text", "formula"]))
    n = draw(st.integers(0, 4))
    mapping = {
        "none": {},
        "rational": {"rational": Rational(coeffs=draw(st.lists(numbers, min_size=6, max_size=6)))},
        "table": {
            "table": Table(
                raw=draw(st.lists(numbers, min_size=n, max_size=n)),
                calibrated=draw(st.lists(numbers, min_size=n, max_size=n)),
                interpolated=draw(optional(st.booleans())),
            )
        },
        "text": {
            "text": Text(
                keys=draw(st.lists(numbers, min_size=n, max_size=n)),
                values=draw(st.lists(st.text(max_size=5), min_size=n, max_size=n)),
                default=draw(optional(st.text(max_size=5))),
            )
        },
        "formula": {"formula": Formula(code=draw(text))},
    }[kind]
    return Conversion(
        name=name,
        unit=draw(optional(st.text(max_size=5))),
        format=draw(optional(st.sampled_from(["%5.3f", "%d", "%g"]))),
        **mapping,
    )


@st.composite
def application(draw, name: str, first_channel: int, first_event: int):
    n_conv = draw(st.integers(1, 3))
    convs = [draw(conversion(f"c{i}:{name}")) for i in range(n_conv)]
    conv_names = [c.name for c in convs]
    n_chan = draw(st.integers(0, 4))
    channels = [
        Channel(
            id=first_channel + i,
            source=draw(st.sampled_from(SOURCES)),
            type=draw(st.sampled_from(list(TYPES))),
            name=draw(optional(text)),
            interval=draw(optional(st.integers(0, 10**9))),
        )
        for i in range(n_chan)
    ]
    ids = [c.id for c in channels]
    n_par = draw(st.integers(0, 4))
    parameters = [
        Parameter(
            id=f"p{i}:{name}",
            name=draw(text),
            description=draw(st.one_of(st.just(""), text)),
            conversion=draw(st.sampled_from(conv_names)),
            channels=draw(st.lists(st.sampled_from(ids), max_size=2)) if ids else (),
            type=draw(optional(st.sampled_from(["std", "virt"]))),
            unit=draw(optional(st.text(max_size=4))),
            format=draw(optional(st.just("%.1f"))),
            min=draw(optional(numbers)),
            max=draw(optional(numbers)),
            warn_min=draw(optional(numbers)),
            warn_max=draw(optional(numbers)),
            byte_order=draw(optional(st.sampled_from(["le", "be"]))),
            offset=draw(optional(numbers)),
            mask=draw(optional(st.just("ffff"))),
            error_mask=draw(optional(st.just("1"))),
            shift=draw(optional(st.integers(-8, 8))),
            function=draw(
                optional(
                    st.builds(Function, code=text, lang=optional(st.sampled_from(["fdl", "C#"])))
                )
            ),
        )
        for i in range(n_par)
    ]
    param_ids = [p.id for p in parameters]
    some_params = st.lists(st.sampled_from(param_ids), max_size=3) if param_ids else st.just([])
    groups = [
        ParameterGroup(
            id=f"g{i}:{name}",
            description=draw(optional(st.text(max_size=4))),
            params=draw(some_params),
            groups=[ParameterGroup(id=f"g{i}.0:{name}", params=draw(some_params))]
            if draw(st.booleans())
            else (),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    events = [
        EventDefinition(
            id=first_event + i,
            code=draw(optional(text)),
            description=draw(optional(text)),
            priority=draw(optional(st.sampled_from(["debug", "low", "medium", "high"]))),
            conversions=draw(st.lists(st.sampled_from(conv_names), max_size=3)),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    errors = (
        [
            ErrorDefinition(
                name=draw(text),
                group=f"Analogue:{name}",
                current=draw(st.sampled_from(param_ids)),
                logged=draw(st.sampled_from(param_ids)),
                description=draw(optional(text)),
                bit=draw(optional(st.integers(0, 31))),
            )
        ]
        if param_ids and draw(st.booleans())
        else []
    )
    return Application(
        name=name,
        description=draw(optional(text)),
        identity=draw(
            optional(
                st.builds(
                    ApplicationIdentity,
                    comms_path=text,
                    application_version_id=st.from_regex(r"\A[0-9a-fA-F]{8}\Z"),
                )
            )
        ),
        rda=draw(
            optional(
                st.builds(
                    ApplicationRda,
                    owner_id=small_ints,
                    support=st.sampled_from(["supported", "notSupported"]),
                )
            )
        ),
        groups=groups,
        params=draw(some_params),
        parameters=parameters,
        channels=channels,
        conversions=convs,
        errors=errors,
        events=events,
    )


@st.composite
def configurations(draw):
    names = draw(
        st.lists(st.from_regex(r"\A[a-z][a-z0-9]{0,5}\Z"), min_size=1, max_size=3, unique=True)
    )
    apps = [draw(application(name, 1 + 10 * i, 100 + 10 * i)) for i, name in enumerate(names)]
    return Configuration(tuple(apps))
