"""A session's configurations: publishing them (write-once), binding them in its Session
JSON, and checking its data calls against them.

The checks apply once every binding of the session is a configuration given to the writer
(a binding of an identifier published elsewhere says nothing the writer could check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rtastream import keys
from rtastream.configuration import Configuration
from rtastream.configuration.rules import Rules
from rtastream.session import ConfigBinding, Session
from rtastream.writer.commands import Command
from rtastream.writer.live import LiveBurst

ConfigArgument = Configuration | Mapping[str, Any] | str | bytes


class Binding:
    """A configuration (checked) and the channel offset it is bound with."""

    def __init__(self, config: ConfigArgument, channel_offset: Any) -> None:
        if type(channel_offset) is not int or channel_offset < 0:
            raise ValueError(f"channel_offset must be an int >= 0, got {channel_offset!r}")
        self.config = Configuration.coerce(config)
        self.offset = channel_offset
        self.config_binding = ConfigBinding(self.config.identifier, channel_offset)

    def publish(self) -> Command:
        """Written once: a configuration never changes under its identifier."""
        return ("SET", keys.config_key(self.config.identifier), self.config.to_json(), "NX")

    def into(self, session: Session) -> Session:
        """The session with this binding added (once)."""
        if self.config_binding in session.config_bindings:
            return session
        return session.replace(config_bindings=(*session.config_bindings, self.config_binding))


def checked(live: LiveBurst, session: Session, known: Sequence[Binding]) -> LiveBurst | Checked:
    """Where the session's data calls go: the live burst, behind the checks of its
    configurations if the writer knows every one bound."""
    by_binding = {b.config_binding: b for b in known}
    if not session.config_bindings or any(b not in by_binding for b in session.config_bindings):
        live.check_rows(None)
        return live
    rules = Rules([(by_binding[b].config, b.channel_offset) for b in session.config_bindings])
    return Checked(live, rules)


class Checked:
    """The live burst's data calls, each checked against the configuration before it is
    taken: a refused call adds nothing. row(), called once per sample in a loop, is the
    live burst's own, checked there (LiveBurst.check_rows): no call more than without a
    configuration."""

    row: Callable[[Any, Any, Any], None]

    def __init__(self, live: LiveBurst, rules: Rules) -> None:
        self.live, self.rules = live, rules
        live.check_rows(rules)
        self.row = live.row

    def timestamped(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        self.rules.timestamped(channel_ids, timestamps, values)
        self.live.timestamped(channel_ids, timestamps, values)

    def periodic(self, channel_id: Any, start: Any, interval: Any, values: Any) -> None:
        self.rules.periodic(channel_id, start, interval, values)
        self.live.periodic(channel_id, start, interval, values)

    def periodics(self, channel_ids: Any, start: Any, interval: Any, values: Any) -> None:
        self.rules.periodics(channel_ids, start, interval, values)
        self.live.periodics(channel_ids, start, interval, values)

    def rows(self, channel_ids: Any, timestamps: Any, values: Any) -> None:
        self.rules.rows(channel_ids, timestamps, values)
        self.live.rows(channel_ids, timestamps, values)

    def event(self, definition_id: Any, timestamp: Any, *rest: Any) -> None:
        self.rules.event(definition_id, timestamp)
        self.live.event(definition_id, timestamp, *rest)

    def events(self, definition_ids: Any, timestamps: Any, *rest: Any) -> None:
        self.rules.events(definition_ids, timestamps)
        self.live.events(definition_ids, timestamps, *rest)
