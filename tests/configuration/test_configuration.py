"""The configuration API: its JSON is RTA's (checked against the shipped schema with
jsonschema directly), it loads back unchanged, and every bad configuration is refused with
a message naming the field."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings

from config_strategies import configurations
from rtastream.configuration import (
    Application,
    Channel,
    Configuration,
    Conversion,
    EventDefinition,
    Parameter,
    Rational,
    Table,
    Text,
    config_type,
)

SCHEMA = json.loads(
    resources.files("rtastream.configuration").joinpath("rta-config.schema.json").read_text()
)
jsonschema.Draft7Validator.check_schema(SCHEMA)  # once: validate() would check it every call
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)

# RTA's own minimal example document (its docs' JSON tab), as RTA spells it.
RTA_EXAMPLE = {
    "demo": {
        "tree": {"params": ["param:demo"]},
        "parameters": [
            {
                "id": "param:demo",
                "name": "param",
                "desc": "Example Parameter",
                "min": -1500.0,
                "max": 1500.0,
                "warnMin": -1000.0,
                "warnMax": 1000.0,
                "conv": "1to1:demo",
                "channels": [1],
            }
        ],
        "channels": [{"id": 1, "source": "timestamped"}],
        "conversions": [{"name": "1to1:demo", "unit": "", "format": "%5.3f"}],
        "events": [
            {"id": 8, "code": "0008", "desc": "0008:demo Example Event", "pri": "high", "convs": []}
        ],
    }
}


def simple() -> Configuration:
    return Configuration.simple(
        "car",
        {
            "speed": (np.float64, "timestamped", "km/h"),
            "rpm": ("s32", "periodic", "1/min"),
            "gear": (np.dtype("uint8"), "row", ""),
        },
        events={8: "0008:car Pit lane"},
    )


def test_the_short_form_numbers_channels_and_makes_one_to_one_conversions():
    assert simple().to_dict() == {
        "car": {
            "tree": {"params": ["speed:car", "rpm:car", "gear:car"]},
            "parameters": [
                {
                    "id": "speed:car",
                    "name": "speed",
                    "desc": "speed",
                    "conv": "speed:car",
                    "channels": [1],
                },
                {"id": "rpm:car", "name": "rpm", "desc": "rpm", "conv": "rpm:car", "channels": [2]},
                {
                    "id": "gear:car",
                    "name": "gear",
                    "desc": "gear",
                    "conv": "gear:car",
                    "channels": [3],
                },
            ],
            "channels": [
                {"id": 1, "source": "timestamped", "type": "f64", "name": "speed"},
                {"id": 2, "source": "periodic", "type": "s32", "name": "rpm"},
                {"id": 3, "source": "row", "type": "u8", "name": "gear"},
            ],
            "conversions": [
                {"name": "speed:car", "unit": "km/h", "format": "%5.3f"},
                {"name": "rpm:car", "unit": "1/min", "format": "%5.3f"},
                {"name": "gear:car", "unit": "", "format": "%5.3f"},
            ],
            "events": [{"id": 8, "desc": "0008:car Pit lane", "pri": "high"}],
        }
    }
    VALIDATOR.validate(simple().to_dict())


def test_the_full_form_builds_rtas_example_and_always_writes_source_and_type():
    built = Configuration(
        (
            Application(
                name="demo",
                params=["param:demo"],
                parameters=[
                    Parameter(
                        id="param:demo",
                        name="param",
                        description="Example Parameter",
                        min=-1500,
                        max=1500,
                        warn_min=-1000,
                        warn_max=1000,
                        conversion="1to1:demo",
                        channels=[1],
                    )
                ],
                channels=[Channel(id=1, source="timestamped", type=np.float64)],
                conversions=[Conversion(name="1to1:demo", unit="", format="%5.3f")],
                events=[
                    EventDefinition(
                        id=8, code="0008", description="0008:demo Example Event", priority="high"
                    )
                ],
            ),
        )
    )
    expected = json.loads(json.dumps(RTA_EXAMPLE))
    expected["demo"]["channels"][0]["type"] = "f64"  # RTA's default, written out
    del expected["demo"]["events"][0]["convs"]  # empty: left out
    assert built.to_dict() == expected
    assert Configuration.from_dict(RTA_EXAMPLE) == built
    VALIDATOR.validate(built.to_dict())


def test_a_channel_without_source_or_type_loads_with_rtas_defaults_written_out():
    doc = {"a": {"channels": [{"id": 0}]}}
    assert Configuration.from_dict(doc).to_dict() == {
        "a": {"channels": [{"id": 0, "source": "row", "type": "f64"}]}
    }


def test_conversions_of_every_kind_serialise_as_rta_spells_them():
    app = Application(
        name="x",
        conversions=[
            Conversion(name="r:x", rational=Rational(coeffs=[0, 2, 1, 0, 0, 1])),
            Conversion(name="t:x", table=Table(raw=[0, 1], calibrated=[10, 20], interpolated=True)),
            Conversion(name="s:x", text=Text(keys=[0, 1], values=["off", "on"], default="?")),
        ],
    )
    assert Configuration((app,)).to_dict()["x"]["conversions"] == [
        {"name": "r:x", "rational": {"coeffs": [0.0, 2.0, 1.0, 0.0, 0.0, 1.0]}},
        {
            "name": "t:x",
            "table": {"raw": [0.0, 1.0], "calibrated": [10.0, 20.0], "interpolated": True},
        },
        {"name": "s:x", "text": {"keys": [0.0, 1.0], "values": ["off", "on"], "default": "?"}},
    ]


@settings(deadline=None, max_examples=100)
@given(configurations())
def test_json_round_trips_through_objects(config):
    document = json.loads(config.to_json())
    VALIDATOR.validate(document)
    loaded = Configuration.from_dict(document)
    assert loaded == config
    assert loaded.to_json() == config.to_json()
    assert Configuration.from_json(json.dumps(document, indent=2)).identifier == config.identifier


def test_the_identifier_is_the_sha256_of_the_canonical_json():
    config = simple()
    text = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert config.to_json() == text
    assert config.identifier == hashlib.sha256(text.encode()).hexdigest()
    assert Configuration.coerce(config.to_dict()).identifier == config.identifier
    changed = Configuration.simple("car", {"speed": (np.float32, "timestamped", "km/h")})
    assert changed.identifier != config.identifier


@pytest.mark.parametrize(
    ("given_type", "name"),
    [
        (np.uint8, "u8"),
        (np.int8, "s8"),
        (np.uint16, "u16"),
        (np.int16, "s16"),
        (np.uint32, "u32"),
        (np.int32, "s32"),
        (np.float32, "f32"),
        (np.float64, "f64"),
        (np.dtype(">f8"), "f64"),
        ("float32", "f32"),
        ("u8", "u8"),  # RTA's name: an unsigned byte, not numpy's uint64
        ("3f32", "3f32"),
    ],
)
def test_numpy_dtypes_map_to_config_types(given_type, name):
    assert config_type(given_type) == name


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, "int64"])
def test_64_bit_integers_are_refused_with_what_to_do(dtype):
    with pytest.raises(ValueError, match="RTA has no 64-bit integer channels; use float64"):
        config_type(dtype)


def test_a_numpy_type_code_is_refused_as_ambiguous():
    with pytest.raises(ValueError, match="'f4' is not an RTA channel type: give one of u8, s8"):
        config_type("f4")


def test_the_short_form_refuses_a_64_bit_channel_naming_it():
    with pytest.raises(ValueError, match=r"channel 1 \(count\): numpy dtype int64 has no RTA"):
        Configuration.simple("a", {"count": (np.int64, "row", "")})


def test_the_short_form_refuses_a_source_rta_does_not_stream():
    with pytest.raises(ValueError, match="channel 'x': source 'can' is not one RTA streams"):
        Configuration.simple("a", {"x": ("f64", "can", "")})


def _app(**parts):
    base = {
        "parameters": [{"id": "p:a", "name": "p", "desc": "p", "conv": "c:a", "channels": [1]}],
        "channels": [{"id": 1, "source": "row", "type": "f64"}],
        "conversions": [{"name": "c:a"}],
    }
    return {"a": {**base, **parts}}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            _app(parameters=[{"id": "p:a", "name": "p", "desc": "p", "conv": "nope:a"}]),
            "configuration a.parameters[0].conv: 'nope:a' names no conversion "
            "(the configuration's conversions: 'c:a')",
        ),
        (
            _app(
                parameters=[{"id": "p:a", "name": "p", "desc": "p", "conv": "c:a", "channels": [7]}]
            ),
            "configuration a.parameters[0].channels[0]: 7 names no channel",
        ),
        (
            _app(channels=[{"id": 1}, {"id": 1}]),
            "configuration a.channels[1]: channel id 1 is also a.channels[0]'s",
        ),
        (
            _app(events=[{"id": 3}, {"id": 3}]),
            "configuration a.events[1]: event id 3 is also a.events[0]'s",
        ),
        (
            _app(events=[{"id": 3, "convs": ["c:a"] * 4}]),
            "configuration a.events[0].convs: 4 conversions, but ATLAS shows at most 3",
        ),
        (
            _app(events=[{"id": 3, "convs": ["x:a"]}]),
            "configuration a.events[0].convs[0]: 'x:a' names no conversion",
        ),
        (
            _app(tree={"params": ["q:a"]}),
            "configuration a.tree.params[0]: 'q:a' names no parameter",
        ),
        (
            _app(tree={"groups": [{"id": "g", "groups": [{"id": "g"}]}]}),
            "configuration a.tree.groups[0].groups[0]: group id 'g' is also",
        ),
        (
            _app(conversions=[{"name": "c:a", "table": {"raw": [1, 2], "calibrated": [1]}}]),
            "configuration a.conversions[0].table: 2 raw but 1 calibrated",
        ),
        (
            _app(channels=[{"id": 1, "type": "s64"}]),
            "configuration a.channels[0].type: 's64' is not one of",
        ),
        (
            _app(channels=[{"id": 1, "source": "Timestamped"}]),
            "configuration a.channels[0].source: 'Timestamped' is not one of",
        ),
        (
            _app(parameters=[{"id": "p:a", "name": "p", "conv": "c:a"}]),
            "configuration a.parameters[0]: 'desc' is a required property",
        ),
        (
            _app(conversions=[{"name": "c:a", "rational": {"coeffs": [1, 2]}}]),
            "configuration a.conversions[0].rational.coeffs: [1, 2] is too short",
        ),
        (
            _app(
                conversions=[
                    {"name": "c:a", "formula": {"code": "x"}, "rational": {"coeffs": [0] * 6}}
                ]
            ),
            "configuration a.conversions[0]: holds more than one of rational, table, text and "
            "formula (a conversion has at most one)",
        ),
        (
            _app(channels=[{"id": 1, "sauce": "row"}]),
            "configuration a.channels[0]: unknown property 'sauce'",
        ),
        (
            {"a": {"identity": {"commsPath": "x", "applicationVersionId": "12"}}},
            "configuration a.identity.applicationVersionId: '12' does not match",
        ),
    ],
)
def test_bad_configurations_are_refused_naming_the_field(document, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Configuration.from_dict(document)


def test_objects_are_checked_when_made():
    with pytest.raises(ValueError, match=r"configuration a.parameters\[0\].conv: 'c:a' names no"):
        Configuration(
            Application(name="a", parameters=[Parameter(id="p:a", name="p", conversion="c:a")])
        )


def test_text_that_is_not_a_configuration_is_refused():
    with pytest.raises(ValueError, match="configuration is not valid JSON"):
        Configuration.from_json("{")
    with pytest.raises(ValueError, match="a JSON object of applications, not list"):
        Configuration.from_json("[]")
    with pytest.raises(TypeError, match="config must be a Configuration"):
        Configuration.coerce(3)  # type: ignore[arg-type]
