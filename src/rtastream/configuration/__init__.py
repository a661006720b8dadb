"""RTA configuration: what ATLAS needs to show a session's channels (names, units, types,
sources, conversions), built in Python, checked, and in RTA's JSON form.

Floor plan:
- `types`: RTA's channel types and sources, numpy's dtypes, the writer calls of each source.
- `model`: the configuration as frozen dataclasses, their JSON form, the short form, the
  identifier (SHA-256 of the canonical JSON).
- `schema`: the shipped JSON Schema (`rta-config.schema.json`) and checking against it.
- `references`: what a schema cannot check (references, unique ids, matching lengths).
- `rules`: the table the writer checks each data call against.
- `channels`: a session's channels (configuration ids plus offsets) with their names, units
  and dtypes, for readers and viewers.

Nothing here does I/O: the writers publish and bind, the readers fetch.
"""

from rtastream.configuration.channels import Bound, ChannelInfo, channel_dtypes, session_channels
from rtastream.configuration.model import (
    ONE_TO_ONE,
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
from rtastream.configuration.schema import load as json_schema
from rtastream.configuration.types import SOURCES, TYPES, config_type

__all__ = [
    "ONE_TO_ONE",
    "SOURCES",
    "TYPES",
    "Application",
    "Bound",
    "ChannelInfo",
    "ApplicationIdentity",
    "ApplicationRda",
    "Channel",
    "Configuration",
    "Conversion",
    "ErrorDefinition",
    "EventDefinition",
    "Formula",
    "Function",
    "Parameter",
    "ParameterGroup",
    "Rational",
    "Table",
    "Text",
    "channel_dtypes",
    "config_type",
    "json_schema",
    "session_channels",
]
